"""The engine's log lines: one line per event, secrets scrubbed, a syslog priority prefix
when stderr is the journal."""

from __future__ import annotations

import logging
import os
import sys

from ros_init.config.redact import Scrubber
from ros_init.core.printable import printable

log = logging.getLogger("ros_init")


class _JournalFormatter(logging.Formatter):
    """One line per event; a ``<N>`` syslog priority prefix when stderr is the journal."""

    _PRIO = {logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6, logging.DEBUG: 7}

    def __init__(self, phase: str, journal: bool, scrub: Scrubber) -> None:
        super().__init__()
        self.phase, self.journal, self.scrub = phase, journal, scrub

    def format(self, record: logging.LogRecord) -> str:
        # one event, one line: a newline or ESC from a config value is shown escaped, never
        # obeyed (it would forge a line with our prefix, or drive the terminal)
        text = printable(self.scrub(record.getMessage()) or "")
        prefix = f"<{self._PRIO.get(record.levelno, 6)}>" if self.journal else ""
        return f"{prefix}ros-init[{self.phase}] {text}"

def setup_logging(phase: str, scrub: Scrubber, level: int = logging.INFO) -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JournalFormatter(phase, bool(os.environ.get("JOURNAL_STREAM")), scrub))
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False
    return handler
