"""Replace secret values before anything is printed, logged or saved for reading."""

from __future__ import annotations

from typing import Any

REDACTED = "<redacted>"
_SECRET_KEYS = {"passwd", "plain_text_passwd", "hashed_passwd", "password", "token", "agentToken"}


def redact(value: Any) -> Any:
    """A deep copy of ``value`` with secret fields replaced. (First version: by key name.)"""
    if isinstance(value, dict):
        return {k: (REDACTED if k in _SECRET_KEYS and v is not None else redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value
