"""A failed step's cause as one line, from the exception (no traceback)."""

from __future__ import annotations


def describe_error(exc: BaseException) -> str:
    """A one-line cause for a failed step, from the exception (no traceback)."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror}{where}"
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else ""
    if type(exc) in _BUG_TYPES or not text:  # a bug, not a domain error: its type says more
        return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text

_BUG_TYPES = {KeyError, TypeError, AttributeError, IndexError, ValueError, ZeroDivisionError, AssertionError,
              NameError, UnboundLocalError, RecursionError, NotImplementedError, LookupError, RuntimeError}
