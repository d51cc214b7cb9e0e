"""Replace secret values before anything is printed, logged or saved for reading.

What is secret is data: the schema's ``x-secret`` annotation. In free-form sections the
schema cannot describe (``rancherValues``, ``extraConfig``, unknown keys), keys whose
names say secret (password, token, secret, credential, private key) are redacted too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ros_init.config.schema import SchemaWalker, load_schema

REDACTED = "<redacted>"
_SECRET_NAME = r"(pass(word|wd|phrase)?|token|secret|credential|private[_-]?key|api[_-]?key)$"  # compiled on first use


def redact(value: object, schema: str | dict = "cloud-config") -> object:
    """A deep copy of ``value`` with every secret value replaced by ``<redacted>``."""
    walker = SchemaWalker(load_schema(schema) if isinstance(schema, str) else schema)
    return _redact(value, [walker.root], walker)


def _redact(value: object, nodes: list[dict], walker: SchemaWalker) -> object:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            children = [c for n in nodes for c in walker.child(n, key)]
            secret = walker.annotation(children, "x-secret") if children else re.search(_SECRET_NAME, str(key), re.I)
            out[key] = REDACTED if secret and item is not None else _redact(item, children, walker)
        return out
    if isinstance(value, list):
        items = [c for n in nodes for c in walker.child(n, 0)]
        return [_redact(item, items, walker) for item in value]
    return value


class Scrubber:
    """Replaces known secret values in any text that leaves the engine (logs, status, errors).

    The stages already keep secrets out of summaries; this is the second line: a secret that
    an exception or a command's output happens to carry is replaced before it is shown.
    """

    MIN_LEN = 4  # a secret field's value (password, token)
    MIN_CONTENT_LEN = 16  # a line of a file's content (keys, certificates): short lines are
    # words that appear in paths and messages ("br_netfilter") and hold nothing secret

    def __init__(self, secrets: Iterable[str] = (), contents: Iterable[str] = ()) -> None:
        values = {s for s in secrets if len(s) >= self.MIN_LEN}
        for text in list(secrets) + list(contents):
            values.update(line.strip() for line in text.splitlines() if len(line.strip()) >= self.MIN_CONTENT_LEN)
        self._values = sorted(values, key=len, reverse=True)

    def __call__(self, text: str | None) -> str | None:
        if not text or not self._values:
            return text
        for value in self._values:
            if value in text:
                text = text.replace(value, "<redacted>")
        return text

def secret_values(config: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The strings of ``config`` that ``redact`` hides, and the file contents."""
    out: list[str] = []

    def walk(orig: Any, red: Any) -> None:
        if isinstance(orig, dict) and isinstance(red, dict):
            for k, v in orig.items():
                walk(v, red.get(k))
        elif isinstance(orig, list) and isinstance(red, list):
            for a, b in zip(orig, red, strict=False):
                walk(a, b)
        elif red == REDACTED and orig != REDACTED:
            collect(orig)

    def collect(value: Any) -> None:
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                collect(v)
        elif isinstance(value, list):
            for v in value:
                collect(v)

    walk(config, redact(config))
    contents = [item["content"] for item in config.get("write_files") or []
                if isinstance(item, dict) and isinstance(item.get("content"), str)]
    return out, contents
