"""One "indentation" finding where a key lost its indent, instead of the 2-3 errors that
the slip causes downstream (a YAML syntax error, or an unknown key at the wrong level).

Two pure checks: on the text, when YAML cannot parse it (the key of a list item that is not
aligned with the item's first key), and on the parsed data, when YAML parsed it but the key
landed one level too high (``devices:`` under ``growpart:`` written at column 1): the key is
not allowed where it is, and the schema allows it in the mapping (or list item) just above.
"""

from __future__ import annotations

import re

from ros_init.core.findings import Finding, Location

_ITEM = re.compile(r"^(\s*)-\s+([^\s#][^:#]*?):(\s|$)")
_KEY = re.compile(r"^(\s*)([^\s#-][^:#]*?):(\s|$)")


def syntax_hint(lines: list[str], line: int, problem: str) -> tuple[int, int, str] | None:
    """(line, column, message) of the culprit key when a YAML error at 1-based ``line`` comes
    from a list item's key that is not aligned with the item's first key."""
    if not any(p in problem for p in ("expected key", "'-' indicator", "mapping values are not allowed",
                                      "could not find expected ':'")):
        return None
    for culprit in (line - 1, line) if "mapping values" in problem else (line,):
        if not 1 <= culprit <= len(lines):
            continue
        m = _KEY.match(lines[culprit - 1])
        if not m:
            continue
        col = len(m.group(1)) + 1
        for above in range(culprit - 1, 0, -1):
            text = lines[above - 1]
            if not text.strip() or text.lstrip().startswith("#"):
                continue
            item = _ITEM.match(text)
            indent = len(text) - len(text.lstrip(" "))
            if item:
                dash = len(item.group(1))
                rest = text[dash + 1:]
                want = dash + 1 + (len(rest) - len(rest.lstrip(" "))) + 1  # 1-based column of the item's first key
                if dash + 1 <= col < want:
                    return (culprit, col, f"indentation: `{m.group(2).strip()}` is at column {col}, but the keys of the"
                                          f" list item on line {above} (`{item.group(2).strip()}`) are at column {want}:"
                                          f" indent it to column {want}")
                break
            if indent < col - 1 or indent == 0:
                break
    return None


def explain_indentation(findings: list[Finding], data: object, key_positions: dict[str, Location],
                        allowed: object) -> list[Finding]:
    """Unknown-key findings that are an indentation slip become one "indentation" finding.

    ``allowed(parent_value_path, key)`` says whether the schema declares ``key`` for the mapping
    at that path (a path of the data, like ``growpart`` or ``write_files[0]``).
    """
    from ros_init.config.yamlsource import join_path, parent_path

    out = []
    by_parent: dict[str, tuple[object, dict[str, str], list[tuple[Location, str]]]] = {}
    for f in findings:
        if f.code != "unknown-key" or f.severity != "error" or f.location is None:
            out.append(f)
            continue
        parent = parent_path(f.path)
        if parent not in by_parent:  # once per mapping: a hostile file has 20 000 keys in one
            container = _at(data, parent)
            paths = {join_path(parent, k): k for k in container} if isinstance(container, dict) else {}
            located = [(key_positions[p], k) for p, k in paths.items() if p in key_positions]
            by_parent[parent] = (container, paths, located)
        container, paths, located = by_parent[parent]
        if not isinstance(container, dict):
            out.append(f)
            continue
        key = paths.get(f.path)
        here = key_positions.get(f.path)
        before = [(loc, k) for loc, k in located if k != key and here is not None and loc.line < here.line]
        if key is None or not before:
            out.append(f)
            continue
        loc, prev = max(before, key=lambda x: x[0].line)
        prev_path = join_path(parent, prev)
        value = container[prev]
        hint = None
        where = "a top-level key" if parent == "" else f"a key of `{parent}`"
        if isinstance(value, dict) and allowed(prev_path, key):
            hint = f"`{key}` is not {where} but one of `{prev}` (line {loc.line}): indent it under `{prev}`"
        elif isinstance(value, list) and value and isinstance(value[-1], dict):
            item_path = join_path(prev_path, len(value) - 1)
            if allowed(item_path, key):
                first = next(iter(value[-1]), None)
                at = key_positions.get(join_path(item_path, first)) if first is not None else None
                like = f" like `{first}` (line {at.line}, column {at.column})" if at else ""
                hint = f"`{key}` is not {where} but one of the last item of `{prev}` (line {loc.line}): indent it{like}"
        if hint is None:
            out.append(f)
        else:
            out.append(Finding("error", "indentation", f.path, f"indentation: {hint}", f.location))
    return out


def _at(data: object, path: str) -> object:
    """The value at ``path`` in ``data`` (None when there is none)."""
    from ros_init.config.yamlsource import join_path

    if path == "":
        return data
    stack = [("", data)]
    while stack:
        cur, value = stack.pop()
        if cur == path:
            return value
        children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        for k, v in children:
            p = join_path(cur, k)
            if path == p or path.startswith(p + ".") or path.startswith(p + "["):
                stack.append((p, v))
    return None


def schema_allows(walker: object, data: object):  # -> Callable[[str, str], bool]
    """``allowed(path, key)`` for explain_indentation: does the schema declare ``key`` in the
    mapping at ``path`` of ``data``?"""
    from ros_init.config.yamlsource import join_path

    def nodes_at(path: str) -> list[dict]:
        nodes, cur, value = [walker.root], "", data  # type: ignore[attr-defined]
        while cur != path:
            children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
            for k, v in children:
                p = join_path(cur, k)
                if path == p or path.startswith(p + ".") or path.startswith(p + "["):
                    nodes = [c for n in nodes for c in walker.child(n, k)]  # type: ignore[attr-defined]
                    cur, value = p, v
                    break
            else:
                return []
        return nodes

    def allowed(path: str, key: str) -> bool:
        return any(key in b.get("properties", {}) for n in nodes_at(path) for b in walker.branches(n))  # type: ignore[attr-defined]

    return allowed
