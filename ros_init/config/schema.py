"""The JSON Schemas in ``schemas/``: loading, walking, annotations, ``ros-init schema``.

Behaviour that depends on a field (is it a secret? how do lists of it merge?) is read from
the schema's ``x-*`` annotations through this module, so it is data, not code. Loading uses
the package folder directly (no importlib.resources: it costs more than the whole validation
of a typical config at start-up). The editor and portable variants that ``ros-init schema``
prints are generated from the same file by ``schema_variants`` (imported only for them).
"""

from __future__ import annotations

import json
import os
import re

SCHEMA_FILES = {"cloud-config": "cloud-config.v1.json", "settings": "settings.v1.json"}
_cache: dict[str, dict] = {}


def schema_path(name: str = "cloud-config") -> str:
    import ros_init.schemas as pkg

    return os.path.join(os.path.dirname(pkg.__file__), SCHEMA_FILES[name])


def load_schema(name: str = "cloud-config") -> dict:
    """The parsed schema ``name`` (cached for the life of the process)."""
    doc = _cache.get(name)
    if doc is None:
        with open(schema_path(name), "rb") as fh:
            doc = json.loads(fh.read())
        _cache[name] = doc
    return doc


class SchemaWalker:
    """Finds the sub-schemas that apply to an element, following $ref and combinators."""

    def __init__(self, root: dict) -> None:
        self.root = root

    def deref(self, node: object) -> dict:
        seen = 0
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise ValueError(f"only local $ref are supported, got {ref}")
            target: object = self.root
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]  # type: ignore[index]
            # Annotations beside a $ref (description, x-secret) stay visible: merge them in.
            extra = {k: v for k, v in node.items() if k != "$ref"}
            node = {**target, **extra} if extra else target  # type: ignore[dict-item]
            seen += 1
            if seen > 50:
                raise ValueError(f"$ref cycle at {ref}")
        return node if isinstance(node, dict) else {}

    def branches(self, node: object) -> list[dict]:
        """The node and every anyOf/oneOf/allOf branch (recursively), dereferenced."""
        out: list[dict] = []
        stack = [node]
        while stack:
            n = self.deref(stack.pop())
            out.append(n)
            for comb in ("allOf", "anyOf", "oneOf"):
                stack.extend(n.get(comb, ()))
            for cond in ("then", "else"):
                if cond in n:
                    stack.append(n[cond])
        return out

    def child(self, node: object, key: str | int) -> list[dict]:
        """Sub-schemas for member ``key`` of an object, or item ``key`` of an array."""
        out: list[dict] = []
        for b in self.branches(node):
            if isinstance(key, int):
                if "items" in b and isinstance(b["items"], dict):
                    out.append(self.deref(b["items"]))
                continue
            props = b.get("properties", {})
            if key in props:
                out.append(self.deref(props[key]))
                continue
            pat = b.get("patternProperties")
            if pat:
                out.extend(self.deref(s) for p, s in pat.items() if schema_pattern(p).search(key))
            ap = b.get("additionalProperties")
            if isinstance(ap, dict) and key not in props:
                out.append(self.deref(ap))
        return out

    def annotation(self, nodes: list[dict], name: str) -> object:
        """The first value of annotation ``name`` among nodes and their branches."""
        for n in nodes:
            for b in self.branches(n):
                if name in b:
                    return b[name]
        return None


_PATTERNS: dict[str, re.Pattern[str]] = {}


def schema_pattern(pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled with JSON Schema's (ECMA-262) meaning of ``$``: the end of the
    string. In Python's ``re`` a final ``$`` also matches before a trailing newline, so
    ``"node\\n"`` would pass ``^...$``; every ``$`` outside a character class becomes ``\\Z``.
    The schema keeps the portable ``$`` that editors understand."""
    compiled = _PATTERNS.get(pattern)
    if compiled is None:
        out, i, in_class = [], 0, False
        while i < len(pattern):
            ch = pattern[i]
            if ch == "\\":
                out.append(pattern[i:i + 2])
                i += 2
                continue
            if in_class:
                in_class = ch != "]"
            elif ch == "[":
                in_class = True
                if pattern[i + 1:i + 2] == "]":  # "[]...]": a literal ']' first
                    out.append("[]")
                    i += 2
                    continue
            elif ch == "$":
                ch = "\\Z"
            out.append(ch)
            i += 1
        compiled = _PATTERNS[pattern] = re.compile("".join(out))
    return compiled
