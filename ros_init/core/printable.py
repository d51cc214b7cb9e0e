"""Text that reaches a terminal, a log line or ``ros-init status`` shown safely.

A value from a config (a path, a user name, a command's output) may hold a newline, which
would forge a whole log line with ros-init's own prefix, or an ESC sequence, which would
drive the reader's terminal. ``printable`` shows every such character as an escape
(``\\n``, ``\\x1b``, ``\\u2028``), so one event is always one line, and the text stays
readable. JSON output needs none of this: the encoder escapes them already.
"""

from __future__ import annotations

import re

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# C0 controls, DEL, C1 controls, line/paragraph separators, bidirectional overrides/isolates
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object) -> str:
    """``text`` with every control, line-breaking or direction-changing character escaped."""
    s = str(text)
    if not _UNSAFE.search(s):
        return s
    return _UNSAFE.sub(_escape, s)
