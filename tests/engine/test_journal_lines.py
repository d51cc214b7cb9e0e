"""The engine's log lines, written without the logging module (engine.logs.JournalLines)."""

from __future__ import annotations

import io

from ros_init.config.redact import Scrubber
from ros_init.core.logger import INFO, WARNING, logger, set_sink
from ros_init.engine.logs import JournalLines, journal


def test_one_line_per_event_with_the_journal_priority(monkeypatch) -> None:
    monkeypatch.setenv("JOURNAL_STREAM", "8:1234")
    out = io.StringIO()
    lines = JournalLines("boot", Scrubber(), WARNING, out)
    lines(INFO, "hidden below the level %s", ("x",))
    lines(WARNING, "%s: skipped, %s", ("files", "users failed"))
    lines(40, "a\nforged line\x1b[2J", ())
    lines(WARNING, "%(name)s is %(what)s", ({"name": "n1", "what": "a dict"},))
    assert out.getvalue().splitlines() == ["<4>ros-init[boot] files: skipped, users failed",
                                           "<3>ros-init[boot] a\\nforged line\\x1b[2J",
                                           "<4>ros-init[boot] n1 is a dict"]


def test_a_bad_format_is_written_unformatted_never_raised() -> None:
    out = io.StringIO()
    JournalLines("initramfs", Scrubber(), INFO, out)(INFO, "%d changes", ("many",))
    assert out.getvalue() == "ros-init[initramfs] %d changes\n"


def test_the_ros_init_loggers_write_there_for_the_phase_only(capsys) -> None:
    log = logger("ros_init.sources.test")
    with journal("network", Scrubber(), INFO):
        log.info("waiting up to %.1fs for %s", 2.0, "the config URL")
        logger("elsewhere").warning("not ours")  # other loggers keep going through logging
    log.info("after the phase: through logging again")
    assert capsys.readouterr().err.splitlines()[0] == "ros-init[network] waiting up to 2.0s for the config URL"
    assert set_sink(None) is None  # nothing left behind
