"""The config reference (docs/config-reference.md), rendered from the JSON Schema.

The schema is the documentation of record: descriptions, defaults, secrets, merge rules and ignored
cloud-init keys all live there, and this module only lays them out as Markdown, so the reference
cannot drift from what the validator enforces. Regenerate with
``python -m ros_init.config.reference > docs/config-reference.md``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

Schema = dict[str, Any]

_BRANCHES = ("anyOf", "allOf", "oneOf")


def render_reference(schema: Schema) -> str:
    """Markdown reference of a cloud-config schema: one section per implemented top-level key,
    with a table of its fields, then one table of the accepted-but-ignored keys."""
    defs = schema.get("$defs", {})
    props = schema.get("properties", {})
    implemented = {k: v for k, v in props.items() if "x-ignored" not in v}
    ignored = {k: v for k, v in props.items() if "x-ignored" in v}

    out = [
        f"# {schema.get('title', 'Config reference')}",
        "",
        "<!-- Generated from schemas/cloud-config.v1.json by `python -m ros_init.config.reference`; do not edit. -->",
        "",
        _text(schema.get("description", "")),
        "",
        f"Schema: `{schema.get('$id', '')}` (JSON Schema draft 2020-12). A user-data document starts with "
        "`#cloud-config`. **Secret** values are never printed in findings, logs or status files. "
        "**Merge** says how a key combines when several documents set it (no entry: objects merge "
        "key by key, other values are replaced by the later document).",
        "",
        "## Top-level keys",
        "",
        "| Key | Type | Phase | Description |",
        "|---|---|---|---|",
    ]
    for name, sub in implemented.items():
        full = _resolve(sub, defs)
        out.append(f"| [`{name}`](#{_anchor(name)}) | {_type(full, defs)} | {full.get('x-phase', '')} | "
                   f"{_cell(_first_sentence(full.get('description', '')))} |")
    out.append(f"| (cloud-init keys) | | | {len(ignored)} keys accepted with a warning, "
               "[listed below](#accepted-but-not-implemented). |")
    out.append("")

    for name, sub in implemented.items():
        out.extend(_section(name, sub, defs))

    out += [
        "## Accepted but not implemented",
        "",
        "Every top-level key of cloud-init's own schema is accepted, so a config written for cloud-init is "
        "never an error here. The keys below are not acted on: each one produces a warning naming it.",
        "",
        "| Key | Why / what to use instead |",
        "|---|---|",
    ]
    for name in sorted(ignored):
        secret = " (secret)" if ignored[name].get("x-secret") else ""
        out.append(f"| `{name}`{secret} | {_cell(ignored[name]['x-ignored'])} |")
    out.append("")
    return "\n".join(out)


def _section(name: str, sub: Schema, defs: Schema) -> list[str]:
    full = _resolve(sub, defs)
    out = [f"## {name}", "", _text(full.get("description", "")), ""]
    facts = [("Type", _type(full, defs))]
    if "default" in full:
        facts.append(("Default", f"`{json.dumps(full['default'])}`"))
    for key, label in (("x-phase", "Phase"), ("x-deprecated", "Deprecated")):
        if key in full:
            facts.append((label, str(full[key])))
    if "x-merge" in full:
        facts.append(("Merge", _merge(full)))
    if full.get("x-secret"):
        facts.append(("Secret", "yes"))
    if full.get("x-passthrough"):
        facts.append(("Free-form", "unknown fields are allowed and passed on"))
    out += [f"- **{label}**: {value}" for label, value in facts]
    for example in full.get("examples", [])[:2]:
        out.append(f"- **Example**: `{json.dumps(example)}`")
    out.append("")
    rows: dict[str, Schema] = {}
    ignored: dict[tuple[str, str], list[str]] = {}
    for path, field in _fields(sub, name, defs, set()):
        if path in rows or any(path in names for names in ignored.values()):
            continue  # the same field seen again through an if/then or allOf branch
        why = _resolve(field, defs).get("x-ignored")
        if why:
            parent, _, leaf = path.rpartition(".")
            ignored.setdefault((parent, why), []).append(leaf)
        else:
            rows[path] = field
    if rows or ignored:
        out += ["| Field | Type | Default | Secret | Description |", "|---|---|---|---|---|"]
        out += [_row(path, field, defs) for path, field in rows.items()]
        for (parent, why), leaves in ignored.items():
            names = ", ".join(f"`{parent}.{leaf}`" for leaf in leaves)
            out.append(f"| {names} | any | | | *Ignored*: {_cell(why)}. |")
        out.append("")
    return out


def _row(path: str, field: Schema, defs: Schema) -> str:
    full = _resolve(field, defs)
    desc = full.get("description", "")
    notes = []
    if "x-deprecated" in full:
        notes.append(f"*Deprecated*: {full['x-deprecated']}.")
    if "x-merge" in full:
        notes.append(f"*Merge*: {_merge(full)}.")
    if full.get("x-passthrough"):
        notes.append("*Free-form*.")
    default = f"`{json.dumps(full['default'])}`" if "default" in full else ""
    secret = "yes" if full.get("x-secret") else ""
    text = " ".join([desc, *notes]).strip()
    return f"| `{path}` | {_type(full, defs)} | {_cell(default)} | {secret} | {_cell(text)} |"


def _fields(sub: Schema, path: str, defs: Schema, seen: set[str]) -> Iterator[tuple[str, Schema]]:
    """(dotted path, schema) of every field under ``sub``; each $def is expanded once per section."""
    for view in _views(sub, defs, seen):
        for name, field in view.get("properties", {}).items():
            yield f"{path}.{name}", field
            yield from _fields(field, f"{path}.{name}", defs, seen)
        items = view.get("items")
        if isinstance(items, dict):
            yield from _fields(items, f"{path}[]", defs, seen)
        for key in ("additionalProperties",):
            value = view.get(key)
            if isinstance(value, dict):
                yield from _fields(value, f"{path}.<name>", defs, seen)
        for value in view.get("patternProperties", {}).values():
            yield from _fields(value, f"{path}.<name>", defs, seen)


def _views(sub: Schema, defs: Schema, seen: set[str]) -> Iterator[Schema]:
    """The schema and the parts of it that describe the same value (refs, branches, if/then/else)."""
    if not isinstance(sub, dict):
        return
    ref = sub.get("$ref")
    if ref:
        if ref in seen:
            return
        seen.add(ref)
        yield from _views(_deref(ref, defs), defs, seen)
    yield sub
    for key in _BRANCHES:
        for branch in sub.get(key, []):
            yield from _views(branch, defs, seen)
    for key in ("then", "else"):
        if key in sub:
            yield from _views(sub[key], defs, seen)


def _resolve(sub: Schema, defs: Schema) -> Schema:
    """The schema with its $ref target folded in (the referring schema's own keys win)."""
    ref = sub.get("$ref")
    if not ref:
        return sub
    merged = dict(_resolve(_deref(ref, defs), defs))
    merged.update({k: v for k, v in sub.items() if k != "$ref"})
    return merged


def _deref(ref: str, defs: Schema) -> Schema:
    prefix = "#/$defs/"
    if not ref.startswith(prefix):
        raise ValueError(f"only local $defs references are supported: {ref}")
    return defs[ref[len(prefix):]]


def _type(sub: Schema, defs: Schema) -> str:
    sub = _resolve(sub, defs)
    if "const" in sub:
        return f"`{json.dumps(sub['const'])}`"
    if "enum" in sub:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in sub["enum"])
    kind = sub.get("type")
    if kind == "array":
        items = sub.get("items")
        if not isinstance(items, dict) or not items:
            return "array"
        inner = _type(items, defs)
        return f"array of ({inner})" if " or " in inner else f"array of {inner}"
    if kind == "object":
        extra = sub.get("additionalProperties")
        if isinstance(extra, dict) and not sub.get("properties"):
            return f"map of {_type(extra, defs)}"
        return "object"
    if kind:
        return str(kind)
    branches = sub.get("anyOf") or sub.get("oneOf")
    if branches:
        names: list[str] = []
        for branch in branches:
            name = _type(branch, defs)
            if name not in names:
                names.append(name)
        return " or ".join(names)
    return "any"


def _merge(sub: Schema) -> str:
    rule = sub["x-merge"]
    if rule == "keyed":
        return f"one entry per `{sub.get('x-merge-key', '?')}`, later entries merged over earlier ones"
    return {"union": "union without duplicates", "append": "appended", "replace": "replaced whole"}.get(rule, rule)


def _first_sentence(text: str) -> str:
    text = _text(text)
    end = text.find(". ")
    return text if end < 0 else text[: end + 1]


def _text(text: str) -> str:
    return " ".join(text.split())


def _cell(text: str) -> str:
    return _text(text).replace("|", "\\|")


def _anchor(name: str) -> str:
    return "".join(c for c in name.lower() if c.isalnum() or c in "-_ ").replace(" ", "-")


MERGE_MODES = {
    "keyed": "one entry per `{key}`: a later document's entry is merged over the earlier one, new entries are added",
    "union": "union without duplicates, in the order first seen",
    "append": "the later document's items are added after the earlier ones",
    "replace": "the later document's value replaces the earlier one whole",
}


def merge_rules(schema: Schema) -> list[tuple[str, str, str | None]]:
    """(key path, x-merge mode, x-merge-key) of every annotated value of the schema, in
    schema order: the data ``ros_init.config.merge`` acts on."""
    defs = schema.get("$defs", {})
    out: list[tuple[str, str, str | None]] = []

    def walk(node: Schema, path: str, seen: frozenset[str]) -> None:
        ref = node.get("$ref", "")
        if ref.startswith("#/$defs/"):
            name = ref.rsplit("/", 1)[1]
            if name in seen:
                return
            seen = seen | {name}
        full = _resolve(node, defs)
        if "x-merge" in full and path:
            out.append((path, full["x-merge"], full.get("x-merge-key")))
        for key, sub in (full.get("properties") or {}).items():
            if isinstance(sub, dict) and "x-ignored" not in sub:
                walk(sub, f"{path}.{key}" if path else key, seen)
        if isinstance(full.get("items"), dict):
            walk(full["items"], f"{path}[]", seen)
        for branch in _BRANCHES:
            for sub in full.get(branch, []) or []:
                if isinstance(sub, dict):
                    walk(sub, path, seen)
        for cond in ("then", "else"):
            if isinstance(full.get(cond), dict):
                walk(full[cond], path, seen)

    walk(schema, "", frozenset())
    return list(dict.fromkeys(out))


def render_merge_table(schema: Schema) -> str:
    """The README's merge table: every key with a merge rule of its own; the rest follows
    the defaults stated under the table."""
    lines = ["| key | when several documents set it |", "|---|---|"]
    for path, mode, key in merge_rules(schema):
        lines.append(f"| `{path}` | {MERGE_MODES.get(mode, mode).format(key=key or 'name')} |")
    lines += ["", "Any other mapping merges key by key (a later scalar wins); any other list is replaced "
              "by the later document's."]
    return "\n".join(lines) + "\n"


README_BEGIN = "<!-- merge-rules: generated by `python -m ros_init.config.reference --readme`; do not edit -->"
README_END = "<!-- /merge-rules -->"


def with_merge_table(readme: str, schema: Schema) -> str:
    """``readme`` with the text between the merge-rules markers replaced by the current table."""
    head, sep, rest = readme.partition(README_BEGIN)
    _, sep2, tail = rest.partition(README_END)
    if not sep or not sep2:
        raise ValueError("README.md has no merge-rules markers")
    return f"{head}{README_BEGIN}\n{render_merge_table(schema)}{README_END}{tail}"


def main(argv: list[str] | None = None) -> None:
    import sys
    from importlib import resources

    args = sys.argv[1:] if argv is None else argv
    schema = json.loads(resources.files("ros_init.schemas").joinpath("cloud-config.v1.json").read_text())
    if args == ["--readme"]:  # rewrite README.md's merge table in place (run from the repo root)
        with open("README.md", encoding="utf-8") as fh:
            text = fh.read()
        with open("README.md", "w", encoding="utf-8") as fh:
            fh.write(with_merge_table(text, schema))
        return
    print(render_reference(schema), end="")


if __name__ == "__main__":
    main()
