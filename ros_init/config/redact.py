"""Replace secret values before anything is printed, logged or saved for reading.

What is secret is data: the schema's ``x-secret`` annotation. In free-form sections the
schema cannot describe (``rancherValues``, ``extraConfig``, unknown keys), keys whose
names say secret (password, token, secret, credential, private key) are redacted too.
"""

from __future__ import annotations

import re

from ros_init.config.schema import SchemaWalker, load_schema

REDACTED = "<redacted>"
_SECRET_NAME = re.compile(r"(pass(word|wd|phrase)?|token|secret|credential|private[_-]?key|api[_-]?key)$", re.I)


def redact(value: object, schema: str | dict = "cloud-config") -> object:
    """A deep copy of ``value`` with every secret value replaced by ``<redacted>``."""
    walker = SchemaWalker(load_schema(schema) if isinstance(schema, str) else schema)
    return _redact(value, [walker.root], walker)


def _redact(value: object, nodes: list[dict], walker: SchemaWalker) -> object:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            children = [c for n in nodes for c in walker.child(n, key)]
            secret = walker.annotation(children, "x-secret") if children else _SECRET_NAME.search(str(key))
            out[key] = REDACTED if secret and item is not None else _redact(item, children, walker)
        return out
    if isinstance(value, list):
        items = [c for n in nodes for c in walker.child(n, 0)]
        return [_redact(item, items, walker) for item in value]
    return value
