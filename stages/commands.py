"""The commands stage: ``runcmd`` and user-data scripts (once per instance), in that order,
each with a timeout. ``bootcmd`` (once per boot) is the ``bootcmd`` stage, which runs first
in the boot phase with the same machinery (``stages/bootcmd.py``).

A string runs with ``sh -c``, a list as an argv. A command's output goes to the log, line by
line, prefixed with its label (``runcmd[2] |``); its text is not logged (it may carry a
token), only its label, program name and exit status. Guards are written only after
success (``ros_init.state.once``), so a failed or interrupted command runs again next time, and a
command that succeeded for this instance does not. A failed command stops the later ones
(they may rely on it); they run on the next attempt.

Where commands run is decided by ``ros_init.system.sandbox``: with the root ``/``, on the
host. With another root, inside it, in a sandbox of its own (new PID, UTS, IPC, network and
mount namespaces, the root pivoted in, a fresh /proc, a read-only /sys and a minimal /dev),
which vanishes when the command ends. When no sandbox can isolate it the command is skipped
with the reason. A command from a config never changes the host that merely prepares another
root, and ``ros-init demo`` never runs any (``StageContext.run_commands``).
"""

from __future__ import annotations

import os
import re
import time

from ros_init.core.findings import Refusals, SpecError
from ros_init.core.logger import logger
from ros_init.core.record import NamedTuple

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from typing import Any

    from ros_init.core.changes import RunCommand
    from ros_init.core.model import Change, Config, StageContext
    from ros_init.core.root import Root

NAME = "commands"
STOP_AFTER_FAILED_STEP = True

DEFAULT_TIMEOUT = 300.0
MAX_LOGGED_LINES = 2000

log = logger("ros_init.stages.commands")


class CommandFailed(Exception):
    """A command exited non-zero or timed out (the message has the label and status only)."""


def _key(kind: str, value: Any) -> str:
    import json

    from ros_init.core.changes import sha256_hex

    text = json.dumps(value, sort_keys=True, default=str) if not isinstance(value, bytes) else value.hex()
    return f"{kind}-{sha256_hex(text.encode())[:16]}"


def to_argv(entry: Any) -> tuple[str, ...] | None:
    """A runcmd/bootcmd entry -> argv (``sh -c`` for a string); None for an empty entry."""
    if entry is None:
        return None
    if isinstance(entry, list):
        argv = tuple(str(a) for a in entry)
        return argv or None
    text = str(entry)
    return ("/bin/sh", "-c", text) if text.strip() else None


def program_name(argv: tuple[str, ...]) -> str:
    """A name for a summary that cannot leak a secret: the program, or '...'."""
    if argv[:2] == ("/bin/sh", "-c"):
        words = argv[2].split()
        first = words[0] if words else ""
    else:
        first = argv[0]
    if re.fullmatch(r"[A-Za-z0-9_./+-]{1,64}", first):
        return os.path.basename(first) or first
    return "..."


class CommandsSpec(NamedTuple):
    """The commands of one kind, as (label, argv, entry as given) in run order."""

    kind: str  # "bootcmd" | "runcmd"
    commands: tuple[tuple[str, tuple[str, ...], Any], ...]


def _entry_problem(entry: Any) -> str | None:
    """Pure: why one command entry cannot run, or None."""
    if entry is not None and not isinstance(entry, str | list):
        return "expected a string, a list of strings or null"
    if isinstance(entry, list) and not all(isinstance(a, str | int | float) and not isinstance(a, bool)
                                           for a in entry):
        return "an argv holds strings only"
    if isinstance(entry, str) and "\0" in entry or isinstance(entry, list) and any("\0" in str(a) for a in entry):
        return "holds a NUL byte"
    return None


def parse_kind(config: Config, kind: str) -> CommandsSpec:
    """Pure: ``bootcmd`` or ``runcmd`` as argvs; null items and empty lists are skipped."""
    raw = config.get(kind)
    if raw is None:
        return CommandsSpec(kind, ())
    if not isinstance(raw, list):
        raise SpecError("expected a list of commands", kind)
    out = []
    refusals = Refusals()
    for i, entry in refusals.accepted(raw, kind, _entry_problem):
        argv = to_argv(entry)
        if argv is not None:
            out.append((f"{kind}[{i}]", argv, entry))
    refusals.check()
    return CommandsSpec(kind, tuple(out))


def parse(config: Config) -> CommandsSpec:
    return parse_kind(config, "runcmd")


def wanted_items(spec: CommandsSpec, ctx: StageContext) -> list[tuple[str, str, Any, str]]:
    """(kind, label, entry, guard key) of every command and script, in run order (pure).

    A guard key is the content's hash and its occurrence number: inserting a command runs
    only the new one; an identical command twice runs twice. Scripts come with runcmd.
    """
    out = []
    seen: dict[str, int] = {}

    def key(kind: str, value: Any) -> str:
        base = _key(kind, value)
        seen[base] = seen.get(base, 0) + 1
        return f"{base}-{seen[base]}"

    for label, _argv, entry in spec.commands:
        out.append((spec.kind, label, entry, key(spec.kind, entry)))
    if spec.kind == "runcmd":
        for script in ctx.scripts:
            out.append(("script", f"script {script.name}", script, key("script", script.content)))
    return out


def plan(spec: CommandsSpec, root: Root, ctx: StageContext) -> list[Change]:
    from ros_init.core.changes import RunCommand
    from ros_init.core.model import Change
    from ros_init.state import once  # plan and apply only: validate imports this module for parse

    changes = []
    boot = once.boot_id()
    mode, why = where_to_run(root, ctx) if ctx.dry_run else ("", None)
    skip_note = f"; will be skipped: {why}" if mode == "skip" else ""
    for kind, label, entry, key in wanted_items(spec, ctx):
        if kind == "bootcmd":
            marker = once.boot_marker(ctx.run_dir, boot, key)
            when = "every boot"
        else:
            marker = once.instance_marker(ctx.state_dir, ctx.instance_id or "unknown", key)
            when = "once per instance"
        if once.is_done(root, marker):
            continue
        if kind == "script":
            cp = RunCommand(kind, label, None, entry.content, marker)
            what = "user-data script"
        else:
            argv = to_argv(entry)
            assert argv is not None
            cp = RunCommand(kind, label, argv, None, marker)
            what = program_name(argv)
        changes.append(Change(spec.kind if kind == "bootcmd" else NAME, "run-command", label,
                              f"run {label}: {what} ({when}{skip_note})", payload=cp))
    return changes


# -- where and how to run ---------------------------------------------------------------
def where_to_run(root: Root, ctx: StageContext, euid: int | None = None) -> tuple[str, str | None]:
    """("host" | "sandbox", None) or ("skip", why): ``sandbox.decide`` is the one place."""
    from ros_init.system import sandbox

    placed = sandbox.decide(root, ctx.run_commands, euid)
    return placed.mode, placed.why


def run_logged(argv: list[str], label: str, timeout: float, cwd: str = "/") -> tuple[int | None, float]:
    """Run ``argv``, log its output lines, kill its process group at the timeout.

    Returns (exit status or None when timed out, seconds).
    """
    import signal
    import subprocess
    import threading

    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            cwd=cwd, start_new_session=True)
    assert proc.stdout is not None

    def pump() -> None:
        for n, raw in enumerate(proc.stdout, start=1):  # type: ignore[arg-type]
            if n <= MAX_LOGGED_LINES:
                log.info("commands: %s | %s", label, raw.decode("utf-8", "replace").rstrip("\n"))
            elif n == MAX_LOGGED_LINES + 1:
                log.info("commands: %s | (more output not logged)", label)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        code: int | None = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        code = None
        for sig, grace in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                continue
    reader.join(timeout=2.0)
    proc.stdout.close()
    return code, time.monotonic() - t0


def apply(change: Change, root: Root, ctx: StageContext) -> str:
    from ros_init.core.model import SkipStep
    from ros_init.state import once

    cp: RunCommand = change.payload
    mode, why = where_to_run(root, ctx)
    if mode == "skip":
        raise SkipStep(why)
    if cp.script is not None:
        path = f"{ctx.state_dir.rstrip('/')}/instances/{once.safe_name(ctx.instance_id or 'unknown')}/scripts/" \
               f"{once.safe_name(cp.label.split(' ', 1)[-1])}"
        root.makedirs(os.path.dirname(ctx.state_dir.rstrip("/")) or "/", mode=0o755)
        root.write_file(path, cp.script, mode=0o700, dir_mode=0o700)
        inner = [path if mode == "sandbox" else root.resolve(path)]
    else:
        assert cp.argv is not None
        inner = list(cp.argv)
    from ros_init.system import sandbox

    timeout = float(ctx.settings.get("command_timeout") or DEFAULT_TIMEOUT)
    argv = sandbox.command_argv(root, inner) if mode == "sandbox" else inner
    log.info("commands: %s: started%s", cp.label, " (sandbox)" if mode == "sandbox" else "")
    try:
        code, secs = run_logged(argv, cp.label, timeout)
    except OSError as exc:
        raise CommandFailed(f"{cp.label}: cannot start: {exc.strerror}") from None
    if code is None:
        raise CommandFailed(f"{cp.label}: timed out after {timeout:g} s (killed)")
    if code == sandbox.SETUP_FAILED and mode == "sandbox":
        raise CommandFailed(f"{cp.label}: the sandbox could not be built (see the log); not run")
    if code != 0:
        raise CommandFailed(f"{cp.label}: exit status {code}")
    once.mark_done(root, cp.marker, f"{cp.label} exit 0")
    return f"exit 0 in {secs:.2f} s"
