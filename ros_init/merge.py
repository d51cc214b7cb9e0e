"""Merging of config documents by precedence. (Minimal first version; schema-driven next.)"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from ros_init.model import Config, ConfigDocument


def _merge(a: Any, b: Any) -> Any:
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        for k, v in b.items():
            out[k] = _merge(a[k], v) if k in a else copy.deepcopy(v)
        return out
    return copy.deepcopy(b)


def merge_documents(docs: Sequence[ConfigDocument]) -> Config:
    """Merge documents: higher ``Layer`` wins; within a layer, later documents win."""
    out: Config = {}
    for doc in sorted(docs, key=lambda d: d.layer):  # sorted() is stable
        out = _merge(out, doc.data)
    return out
