"""Merging config documents: one pure function, precedence by layer, list rules from the schema.

Precedence (lowest first): image defaults < datasource metadata < vendor-data < user-data
< kernel command line (``model.Layer``); documents of the same layer apply in the order
given. Mappings merge deeply and later scalars win. Lists follow the ``x-merge`` annotation of
their schema: ``keyed`` (one entry per key, a later entry merged over the earlier one),
``union`` (de-duplicated), ``append`` (every item of the later list after the earlier ones,
duplicates kept: ``runcmd``, ``bootcmd``, ``write_files`` apply each item in turn),
``replace`` or no annotation (the later list replaces the earlier one). Keyed lists keep one
entry per key even within one document, so merging a document with itself changes nothing but
its ``append`` lists. A ``#cloud-config-jsonp`` document (``patches``) applies its RFC 6902
operations to the config merged so far, at its place in that order.
Each document is first put in canonical form (``ros_init.config.normalize``: alias keys renamed,
every form of ``users`` as a list of mappings). Inputs are never mutated.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ros_init.config.schema import SchemaWalker, load_schema
from ros_init.core.model import Config, ConfigDocument


def merge_documents(docs: Sequence[ConfigDocument], schema: str | dict = "cloud-config") -> Config:
    """The merged config of ``docs`` (see the module docstring for the rules)."""
    from ros_init.config.normalize import normalize

    schema_doc = load_schema(schema) if isinstance(schema, str) else schema
    walker = SchemaWalker(schema_doc)
    out: Config = {}
    for doc in sorted(docs, key=lambda d: d.layer):  # sorted() is stable: same layer keeps order
        if getattr(doc, "patches", None) is not None:
            out = _patched(out, doc.patches, doc.source, schema_doc)  # type: ignore[arg-type]
        elif isinstance(doc.data, dict):
            out = merge_values(out, normalize(doc.data, schema_doc), [walker.root], walker)
    return out


def _patched(config: Config, ops: list, source: str, schema_doc: dict) -> Config:
    """A ``#cloud-config-jsonp`` document applied to the config merged so far (see ``apply_jsonp``)."""
    result = apply_jsonp(config, ops, source)
    if result is config:
        return config
    from ros_init.config.normalize import normalize

    return normalize(result, schema_doc)


def apply_jsonp(config: Config, ops: list, source: str) -> Config:
    """RFC 6902 ``ops`` applied to a copy of ``config``. An operation that does not apply (a
    path that is not there) skips the whole patch with a logged warning, as cloud-init does:
    ``config`` itself is returned, never half-patched. The one rule for the merge and for
    user-data parts folded by ``merge_how``."""
    import jsonpatch

    from ros_init.core.logger import logger

    try:
        result = jsonpatch.JsonPatch(ops).apply(config, in_place=False)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError) as exc:
        logger("ros_init.config.merge").warning("%s: #cloud-config-jsonp not applied: %s", source, exc)
        return config
    if not isinstance(result, dict):
        logger("ros_init.config.merge").warning("%s: #cloud-config-jsonp not applied: the result is not a mapping",
                                                source)
        return config
    return result


def provenance(docs: Sequence[ConfigDocument]) -> dict[str, list[str]]:
    """For each top-level key, the sources that set it, lowest precedence first."""
    out: dict[str, list[str]] = {}
    for doc in sorted(docs, key=lambda d: d.layer):
        if isinstance(doc.data, dict):
            for key in doc.data:
                out.setdefault(key, [])
                if doc.source not in out[key]:
                    out[key].append(doc.source)
    return out


def merge_values(base: object, over: object, nodes: list[dict], walker: SchemaWalker) -> object:
    """``over`` merged onto ``base``; ``nodes`` are the schemas that apply to both."""
    mode = walker.annotation(nodes, "x-merge") if nodes else None
    if isinstance(base, dict) and isinstance(over, dict) and mode != "replace":
        out = dict(base)
        for key, value in over.items():
            children = [c for n in nodes for c in walker.child(n, key)]
            if key in base:
                out[key] = merge_values(base[key], value, children, walker)
            else:
                out[key] = _normalized(value, children, walker)
        return out
    if isinstance(base, list) and isinstance(over, list):
        items = [c for n in nodes for c in walker.child(n, 0)]
        if mode == "keyed":
            key = walker.annotation(nodes, "x-merge-key") or "name"
            return _keyed(base + over, str(key), items, walker)
        if mode == "append":  # every item of both, in order: a command or file item given twice applies twice
            return list(base) + [_normalized(v, items, walker) for v in over]
        if mode == "union":
            out_list = _unique(base)
            for item in over:
                if not any(_same(item, seen) for seen in out_list):
                    out_list.append(_copy(item))
            return out_list
    return _normalized(over, nodes, walker)


def _normalized(value: object, nodes: list[dict], walker: SchemaWalker) -> object:
    """A deep copy of ``value`` with keyed lists reduced to one entry per key."""
    if isinstance(value, dict):
        return {k: _normalized(v, [c for n in nodes for c in walker.child(n, k)], walker) for k, v in value.items()}
    if isinstance(value, list):
        mode = walker.annotation(nodes, "x-merge") if nodes else None
        items = [c for n in nodes for c in walker.child(n, 0)]
        if mode == "keyed":
            return _keyed(value, str(walker.annotation(nodes, "x-merge-key") or "name"), items, walker)
        if mode == "union":
            return _unique(value)
        return [_normalized(v, items, walker) for v in value]
    return _copy(value)


_ATOMS = (str, int, float, bytes, type(None))  # immutable: a deep copy is the value itself


def _copy(value: object) -> object:
    """``copy.deepcopy``, without importing ``copy`` (and ``weakref``) for the scalars that
    make up nearly every config."""
    if isinstance(value, _ATOMS):
        return value
    import copy

    return copy.deepcopy(value)


def _item_key(item: object, key: str) -> object:
    if isinstance(item, dict):
        value = item.get(key)
        return value if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    if isinstance(item, str):
        return item.strip()
    return None


def _keyed(items: list, key: str, item_nodes: list[dict], walker: SchemaWalker) -> list:
    out: list = []
    index: dict[object, int] = {}
    for item in items:
        k = _item_key(item, key)
        if k is None:  # no usable key (the validator reports it): kept once, so merging stays idempotent
            norm = _normalized(item, item_nodes, walker)
            if not any(_same(norm, seen) for seen in out):
                out.append(norm)
        elif k in index:
            prev = out[index[k]]
            if isinstance(prev, dict) and isinstance(item, dict):
                out[index[k]] = merge_values(prev, item, item_nodes, walker)
            elif isinstance(item, dict) or not isinstance(prev, dict):
                out[index[k]] = _normalized(item, item_nodes, walker)
            # a bare name after a full entry adds nothing
        else:
            index[k] = len(out)
            out.append(_normalized(item, item_nodes, walker))
    return out


def _unique(items: list) -> list:
    out: list = []
    for item in items:
        if not any(_same(item, seen) for seen in out):
            out.append(_copy(item))
    return out


def _same(a: object, b: object) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return re.sub(r"\s+", " ", a.strip()) == re.sub(r"\s+", " ", b.strip())
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b
