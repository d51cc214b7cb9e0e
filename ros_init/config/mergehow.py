"""cloud-init's per-document merge directives (``merge_how`` / ``merge_type``), exactly.

Only for parts of one user-data payload (MIME parts, archive parts, included documents)
when one of them carries a directive: then those parts are folded cloud-init's way, in
order, each part merged into what came before it by its OWN directive (cloud-init's
``CloudConfigPartHandler``), a part without one by cloud-init's default for user-data,
``dict(replace)+list()+str()`` (a later part's top-level keys replace earlier ones). The
result is one document that ros-init's schema-driven merge then layers like any other.

Mergers, as cloud-init implements them (``cloudinit/mergers``):

- ``dict``: ``no_replace`` (default) keeps existing scalars, merges nested mappings, and
  merges lists/strings only with ``recurse_list`` / ``recurse_str``; ``replace`` takes the
  new value of every key as is; ``allow_delete`` drops a key whose new value is null.
- ``list``: ``replace`` (default) replaces item by item (a longer old list keeps its tail);
  ``append`` / ``prepend`` concatenate; ``no_replace`` keeps the old list;
  ``recurse_dict`` / ``recurse_list`` / ``recurse_str`` merge items at the same index.
- ``str``: the new string, or with ``append`` the old one followed by the new one.

A type the directive does not name is not merged: the old value stays (cloud-init's
"unknown" merger), so ``merge_how: list(append)`` alone keeps the earlier document's keys.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping

Spec = dict[str, frozenset[str]]

_NAME = re.compile(r"^([a-z_][a-z0-9_]*)\((.*?)\)$")
KNOWN = {
    "dict": {"replace", "no_replace", "allow_delete", "recurse_str", "recurse_array", "recurse_list", "recurse_dict"},
    "list": {"append", "prepend", "replace", "no_replace", "recurse_str", "recurse_dict", "recurse_array",
             "recurse_list"},
    "str": {"append", "recurse_str", "recurse_dict", "recurse_array", "recurse_list"},
}
USER_DATA_DEFAULT = "dict(replace)+list()+str()"


class MergeHowError(ValueError):
    """A directive that cloud-init would refuse; the message says what is wrong."""


def parse(value: object) -> Spec:
    """``merge_how`` in its string or list form -> {merger name: options}.

    The first merger named for a type wins (cloud-init looks mergers up in order).
    """
    pairs: list[tuple[str, list[str]]] = []
    if isinstance(value, str):
        for part in value.split("+"):
            name = part.strip().lower().replace("-", "_")
            if not name:
                continue
            m = _NAME.match(name)
            if not m:
                raise MergeHowError(f"`{part.strip()}` is not a merger: write it like `list(append)` or `dict()`")
            pairs.append((m.group(1), [o.strip() for o in m.group(2).split(",") if o.strip()]))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, Mapping):
                name, opts = item.get("name"), item.get("settings", [])
            elif isinstance(item, list) and item:
                name, opts = item[0], item[1:]
            else:
                raise MergeHowError(f"item {i}: expected `{{name: list, settings: [append]}}`")
            if not isinstance(name, str) or not isinstance(opts, list) or not all(isinstance(o, str) for o in opts):
                raise MergeHowError(f"item {i}: `name` must be a string and `settings` a list of strings")
            pairs.append((name.strip().lower().replace("-", "_"), [o.strip().lower() for o in opts]))
    else:
        raise MergeHowError("must be a string like `list(append)+dict(recurse_list)` or a list of"
                            " `{name, settings}` mappings")
    spec: Spec = {}
    for name, opts in pairs:
        if name not in KNOWN:
            raise MergeHowError(f"unknown merger `{name}`: cloud-init has `dict`, `list` and `str`")
        bad = [o for o in opts if o not in KNOWN[name]]
        if bad:
            raise MergeHowError(f"`{name}` has no option `{bad[0]}` (it has {', '.join(sorted(KNOWN[name]))})")
        spec.setdefault(name, frozenset(opts))
    return spec


def _method(opts: frozenset[str], order: tuple[str, ...], default: str) -> str:
    return next((m for m in order if m in opts), default)


def merge(old: object, new: object, spec: Spec) -> object:
    """``new`` merged into ``old`` by ``spec``; inputs are not mutated."""
    if isinstance(old, dict) and "dict" in spec:
        return _on_dict(old, new, spec["dict"], spec)
    if isinstance(old, list) and "list" in spec:
        return _on_list(old, new, spec["list"], spec)
    if isinstance(old, str) and "str" in spec:
        return _on_str(old, new, spec["str"])
    return copy.deepcopy(old)  # no merger for this type: the old value stays


def _recurse(opts: frozenset[str], new: object, *, dicts_default: bool) -> bool:
    if isinstance(new, list):
        return bool(opts & {"recurse_array", "recurse_list"})
    if isinstance(new, str):
        return "recurse_str" in opts
    if isinstance(new, dict):
        return dicts_default or "recurse_dict" in opts
    return False


def _on_dict(old: dict, new: object, opts: frozenset[str], spec: Spec) -> object:
    if not isinstance(new, dict):
        return copy.deepcopy(old)
    replace = _method(opts, ("replace", "no_replace"), "no_replace") == "replace"
    out = copy.deepcopy(old)
    for k, v in new.items():
        if k not in out:
            out[k] = copy.deepcopy(v)
        elif v is None and "allow_delete" in opts:
            del out[k]
        elif replace:
            out[k] = copy.deepcopy(v)
        elif _recurse(opts, v, dicts_default=True):  # dicts always recurse (cloud-init's backward compat)
            out[k] = merge(out[k], v, spec)
    return out


def _on_list(old: list, new: object, opts: frozenset[str], spec: Spec) -> object:
    method = _method(opts, ("append", "prepend", "replace", "no_replace"), "replace")
    if not isinstance(new, list):
        return copy.deepcopy(new) if method == "replace" else copy.deepcopy(old)
    if method == "append":
        return copy.deepcopy(old + new)
    if method == "prepend":
        return copy.deepcopy(new + old)
    out = copy.deepcopy(old)
    if method == "no_replace":
        return out
    for i in range(min(len(old), len(new))):
        v = new[i]
        out[i] = merge(out[i], v, spec) if _recurse(opts, v, dicts_default=False) else copy.deepcopy(v)
    return out


def _on_str(old: str, new: object, opts: frozenset[str]) -> object:
    if "append" in opts and isinstance(new, str):
        return old + new
    return copy.deepcopy(new)


def directive(data: Mapping) -> object | None:
    """The document's own directive: ``merge_how``, else ``merge_type`` (cloud-init's order)."""
    if data.get("merge_how") is not None:
        return data["merge_how"]
    return data.get("merge_type")


def fold(parts: list[tuple[dict, object | None]]) -> dict:
    """cloud-init's fold of user-data parts: each ``(data, directive or None)`` merged in order
    into the accumulated config by its own directive (default: USER_DATA_DEFAULT). The
    directive keys themselves are dropped from the result, as cloud-init pops them."""
    acc: dict = {}
    default = parse(USER_DATA_DEFAULT)
    for data, how in parts:
        body = {k: v for k, v in data.items() if k not in ("merge_how", "merge_type")}
        spec = parse(how) if how is not None else default
        merged = merge(acc, body, spec)
        acc = merged if isinstance(merged, dict) else acc
    return acc
