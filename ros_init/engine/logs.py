"""The engine's log lines: one line per event, secrets scrubbed, a syslog priority prefix
when stderr is the journal.

While a phase runs (``journal``), every ``ros_init`` logger (``core.logger``) writes here
directly: the line a ``logging`` handler with this format would write, without importing
``logging`` (a boot phase pays its start-up three times per boot). When ``logging`` is
loaded anyway (a library that logs), the ``ros_init`` logger gets the same lines through a
handler, so nothing logged under ``ros_init`` bypasses the format.
"""

from __future__ import annotations

import contextlib
import os
import sys

from ros_init.config.redact import Scrubber
from ros_init.core.logger import CRITICAL, DEBUG, ERROR, INFO, WARNING, logger, set_sink
from ros_init.core.printable import printable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

log = logger("ros_init")
_PRIO = {CRITICAL: 2, ERROR: 3, WARNING: 4, INFO: 6, DEBUG: 7}


class JournalLines:
    """Writes one event as one line: ``[<N>]ros-init[PHASE] message``, at ``level`` and above."""

    def __init__(self, phase: str, scrub: Scrubber, level: int = INFO, stream: object = None) -> None:
        import _thread

        self.phase, self.scrub, self.level = phase, scrub, level
        self.journal = bool(os.environ.get("JOURNAL_STREAM"))
        self.stream = stream if stream is not None else sys.stderr
        self._lock = _thread.allocate_lock()  # network sources log from their threads

    def line(self, levelno: int, message: str) -> str:
        # one event, one line: a newline or ESC from a config value is shown escaped, never
        # obeyed (it would forge a line with our prefix, or drive the terminal)
        text = printable(self.scrub(message) or "")
        prefix = f"<{_PRIO.get(levelno, 6)}>" if self.journal else ""
        return f"{prefix}ros-init[{self.phase}] {text}"

    def __call__(self, levelno: int, msg: object, args: tuple, exc_info: object = None) -> None:
        if levelno < self.level:
            return
        if len(args) == 1 and isinstance(args[0], dict) and args[0]:  # as logging.LogRecord does
            args = args[0]  # type: ignore[assignment]
        try:
            message = str(msg) % args if args else str(msg)
        except (TypeError, ValueError, KeyError):  # a message and its arguments that do not match:
            message = str(msg)  # the line as written, never an exception in the step that logged
        text = self.line(levelno, message) + "\n"
        with self._lock:
            try:
                self.stream.write(text)  # type: ignore[attr-defined]
                self.stream.flush()  # type: ignore[attr-defined]
            except (OSError, ValueError):  # stderr closed: the status still records the run
                pass


def _handler(sink: JournalLines) -> object:
    """A ``logging`` handler writing ``sink``'s lines, for records that come through ``logging``."""
    import logging

    class _JournalFormatter(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            return sink.line(record.levelno, record.getMessage())

    handler = logging.StreamHandler(sink.stream)
    handler.setFormatter(_JournalFormatter())
    return handler


@contextlib.contextmanager
def journal(phase: str, scrub: Scrubber, level: int = INFO) -> Iterator[JournalLines]:
    """The phase's log lines, for the duration of the block; the loggers as they were after it."""
    sink = JournalLines(phase, scrub, level)
    previous = set_sink(sink)
    saved = None
    if "logging" in sys.modules:  # something already loaded it: its ros_init records too
        import logging

        root = logging.getLogger("ros_init")
        saved = (root.level, list(root.handlers), root.propagate)
        root.handlers[:] = [_handler(sink)]
        root.setLevel(level)
        root.propagate = False
    try:
        yield sink
    finally:
        set_sink(previous)
        if saved is not None:
            import logging

            root = logging.getLogger("ros_init")
            root.setLevel(saved[0])
            root.handlers[:], root.propagate = saved[1], saved[2]
