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


def test_the_ros_init_loggers_write_there_for_the_phase_only(capsys, caplog) -> None:
    log = logger("ros_init.sources.test")
    with journal("network", Scrubber(), INFO):
        log.info("waiting up to %.1fs for %s", 2.0, "the config URL")
        logger("elsewhere").warning("not ours")  # other loggers keep going through logging
    log.warning("after the phase: through logging again")
    # the phase's line only: not ours, and after the phase, go to logging's handlers (here pytest's)
    assert capsys.readouterr().err.splitlines() == ["ros-init[network] waiting up to 2.0s for the config URL"]
    assert [(r.name, r.getMessage()) for r in caplog.records] == [
        ("elsewhere", "not ours"), ("ros_init.sources.test", "after the phase: through logging again")]
    assert set_sink(None) is None  # nothing left behind


def test_a_logging_record_of_ours_inside_the_phase_is_written_in_its_format(capsys) -> None:
    """Where ``logging`` is already loaded (a library, pytest), a record sent to a ``ros_init``
    logger through it during the phase still comes out as the phase's line."""
    import logging

    with journal("boot", Scrubber(), INFO):
        logging.getLogger("ros_init.x").warning("through logging: %s", "formatted")
    assert "ros-init[boot] through logging: formatted" in capsys.readouterr().err.splitlines()
