"""One canonical form per config: what merging and the stages can rely on.

cloud-init accepts several spellings of the same thing; ``ros-init validate`` reports them
on the raw files, and this module rewrites each document before it is merged:
- deprecated key spellings marked ``x-alias-of`` in the schema become the canonical key
  (``lock-passwd`` -> ``lock_passwd``; the canonical key wins if both are given);
- ``users`` in every accepted form (``"a, b"``, ``[a, {name: b}]``, ``{a: {...}, b: true}``,
  nested lists of names) becomes a list of user mappings; cloud-init's ``default`` user stays
  as ``{name: default}`` (the image's default user: ``ros_init.accounts.defaultuser`` resolves
  it before the stages parse; without one it is validated and ignored with a warning); a
  dict-form user whose value is false (``{bob: "no"}``: do not create bob). This is the one
  users normaliser: the users and sshkeys stages read users through it too.
Pure: the input is not modified.
"""

from __future__ import annotations

import re

from ros_init.config.schema import SchemaWalker, load_schema


def normalize(data: dict, schema: str | dict = "cloud-config") -> dict:
    walker = SchemaWalker(load_schema(schema) if isinstance(schema, str) else schema)
    out = _aliases(data, [walker.root], walker)
    if "users" in out:
        out["users"] = normalize_users(out["users"])
    return out


def _aliases(value: object, nodes: list[dict], walker: SchemaWalker) -> object:
    if isinstance(value, dict):
        out: dict = {}
        renamed: dict = {}
        for key, item in value.items():
            children = [c for n in nodes for c in walker.child(n, key)]
            target = walker.annotation(children, "x-alias-of") if children else None
            canonical = target if isinstance(target, str) else key
            if canonical != key:
                children = [c for n in nodes for c in walker.child(n, canonical)]
                renamed[canonical] = _aliases(item, children, walker)
            else:
                out[key] = _aliases(item, children, walker)
        for key, item in renamed.items():
            out.setdefault(key, item)
        return out
    if isinstance(value, list):
        items = [c for n in nodes for c in walker.child(n, 0)]
        return [_aliases(v, items, walker) for v in value]
    return value


_FALSE_WORDS = ("false", "no", "off", "0", "")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\$?")  # a declined bad name is kept, for validation to report


def _declined(spec: object) -> bool:
    """A dict-form value saying "do not create this user": null, false, "no", "off" ..."""
    return spec is None or spec is False or (isinstance(spec, str) and spec.strip().lower() in _FALSE_WORDS)


def normalize_users(users: object) -> list:
    """Every accepted form of ``users`` as a list of mappings with a ``name``.

    What is not one of the accepted forms is passed on unchanged (a number, a null item),
    so that validating the merged config reports it instead of it vanishing here.
    """
    if not isinstance(users, str | dict | list):
        return users  # type: ignore[return-value]
    return [entry for entry, _, _ in written_users(users)]


def written_users(users: str | dict | list, base: str = "users") -> list[tuple[object, str, bool]]:
    """``normalize_users``' entries, each with where it is written (``users.bob`` for the
    mapping form, ``users[2]``, ``users[0][1]``, ``users`` for a comma-separated string) and
    whether it was written as a mapping holding its ``name`` (else the name is the key or the
    text at that place): what the findings about a user name, so that they match the file."""
    from ros_init.config.yamlsource import join_path

    out: list[tuple[object, str, bool]] = []

    def add_names(text: str, path: str) -> None:
        names = [name.strip() for name in text.split(",")]
        if not all(names):  # "a,,b", "": kept as written, for validation to report (never half-read)
            out.append((text, path, False))
            return
        out.extend(({"name": name}, path, False) for name in names)

    if isinstance(users, str):
        add_names(users, base)
    elif isinstance(users, dict):
        for name, spec in users.items():
            if _declined(spec) and _NAME.fullmatch(str(name)):
                continue  # cloud-init's dict form: a false value means "do not create"
            entry = {"name": str(name)}
            if isinstance(spec, dict):
                entry.update({k: v for k, v in spec.items() if k != "name"})
            out.append((entry, join_path(base, name), False))
    elif isinstance(users, list):
        for i, item in enumerate(users):
            at = f"{base}[{i}]"
            if isinstance(item, str):
                add_names(item, at)
            elif isinstance(item, list):
                for j, name in enumerate(item):
                    if isinstance(name, str):
                        add_names(name, f"{at}[{j}]")
                    else:
                        out.append((name, f"{at}[{j}]", False))
            elif isinstance(item, dict):  # a `default` entry too: validated, then ignored by the stages
                out.append((dict(item), at, True))
            else:
                out.append((item, at, False))
    return out
