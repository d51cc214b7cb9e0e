"""The commands stage: ``bootcmd`` (once per boot), ``runcmd`` and user-data scripts (once
per instance), in that order, each with a timeout.

A string runs with ``sh -c``, a list as an argv. A command's output goes to the log, line by
line, prefixed with its label (``runcmd[2] |``); its text is not logged (it may carry a
token), only its label, program name and exit status. Guards are written only after
success (``ros_init.state.once``), so a failed or interrupted command runs again next time, and a
command that succeeded for this instance does not. A failed command stops the later ones
(they may rely on it); they run on the next attempt.

Where commands run: with the root ``/``, on the host. With another root, inside it: a chroot
in a private mount namespace with /proc, /sys and /dev mounted, which vanish with the
namespace when the command ends, whatever happens. That needs root and a target that looks
like an OS (``/bin/sh``); otherwise the commands are skipped with a note. A command from a
config never runs on the host that merely prepares another root, and ``ros-init demo``
never runs any (``StageContext.run_commands``).
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import time
from typing import Any, NamedTuple

from ros_init.core.model import Change, Config, SkipStep, StageContext
from ros_init.core.root import Root
from ros_init.state import once

NAME = "commands"
STOP_AFTER_FAILED_STEP = True

DEFAULT_TIMEOUT = 300.0
MAX_LOGGED_LINES = 2000

log = logging.getLogger("ros_init.stages.commands")

# Runs on the HOST inside a fresh private mount namespace; paths come as arguments.
_CHROOT_WRAPPER = (
    'set -e; r=$1; mount -t proc proc "$2"; mount --rbind /sys "$3"; mount --rbind /dev "$4"; '
    'shift 4; cd "$r"; exec chroot "$r" "$@"'
)


class CommandFailed(Exception):
    """A command exited non-zero or timed out (the message has the label and status only)."""


class CommandPlan(NamedTuple):
    kind: str  # "bootcmd" | "runcmd" | "script"
    label: str  # runcmd[2], script part-001
    argv: tuple[str, ...] | None  # None for scripts
    script: bytes | None
    marker: once.Marker


def _key(kind: str, value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str) if not isinstance(value, bytes) else value.hex()
    return f"{kind}-{once.sha256_hex(text.encode())[:16]}"


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


def wanted_items(config: Config, ctx: StageContext) -> list[tuple[str, str, Any, str]]:
    """(kind, label, entry, guard key) of every command and script, in run order (pure).

    A guard key is the content's hash and its occurrence number: inserting a command runs
    only the new one; an identical command twice runs twice.
    """
    out = []
    seen: dict[str, int] = {}

    def key(kind: str, value: Any) -> str:
        base = _key(kind, value)
        seen[base] = seen.get(base, 0) + 1
        return f"{base}-{seen[base]}"

    for kind in ("bootcmd", "runcmd"):
        for i, entry in enumerate(config.get(kind) or []):
            if to_argv(entry) is not None:
                out.append((kind, f"{kind}[{i}]", entry, key(kind, entry)))
    for script in ctx.scripts:
        out.append(("script", f"script {script.name}", script, key("script", script.content)))
    return out


def plan(config: Config, root: Root, ctx: StageContext) -> list[Change]:
    changes = []
    boot = once.boot_id()
    mode, why = where_to_run(root, ctx) if ctx.dry_run else ("", None)
    skip_note = f"; will be skipped: {why}" if mode == "skip" else ""
    for kind, label, entry, key in wanted_items(config, ctx):
        if kind == "bootcmd":
            marker = once.boot_marker(ctx.run_dir, boot, key)
            when = "every boot"
        else:
            marker = once.instance_marker(ctx.state_dir, ctx.instance_id or "unknown", key)
            when = "once per instance"
        if once.is_done(root, marker):
            continue
        if kind == "script":
            cp = CommandPlan(kind, label, None, entry.content, marker)
            what = "user-data script"
        else:
            argv = to_argv(entry)
            assert argv is not None
            cp = CommandPlan(kind, label, argv, None, marker)
            what = program_name(argv)
        changes.append(Change(NAME, "run-command", label, f"run {label}: {what} ({when}{skip_note})", payload=cp))
    return changes


# -- where and how to run ---------------------------------------------------------------
def where_to_run(root: Root, ctx: StageContext, euid: int | None = None) -> tuple[str, str | None]:
    """("host" | "chroot", None) or ("skip", why)."""
    if not ctx.run_commands:
        return "skip", "config commands are never run here (ros-init demo: planned only)"
    if root.is_host:
        return "host", None
    euid = os.geteuid() if euid is None else euid
    if euid != 0:
        return "skip", f"running inside {root.path} needs root (chroot); not run on this host"
    st = root.stat("/bin/sh")
    if st is None or not stat.S_ISREG(st.st_mode):
        return "skip", f"{root.path} has no /bin/sh: not an OS root to chroot into; not run on this host"
    return "chroot", None


def _mount_points(root: Root) -> list[str]:
    points = []
    for name in ("/proc", "/sys", "/dev"):
        if root.lstat(name) is None:
            root.makedirs(name, mode=0o555)
        host = root.resolve(name)
        if not os.path.isdir(host) or os.path.islink(host):
            raise CommandFailed(f"{name} in the target root is not a folder: cannot chroot")
        points.append(host)
    return points


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
    cp: CommandPlan = change.payload
    mode, why = where_to_run(root, ctx)
    if mode == "skip":
        raise SkipStep(why)
    if cp.script is not None:
        path = f"{ctx.state_dir.rstrip('/')}/instances/{once.safe_name(ctx.instance_id or 'unknown')}/scripts/" \
               f"{once.safe_name(cp.label.split(' ', 1)[-1])}"
        root.makedirs(os.path.dirname(ctx.state_dir.rstrip("/")) or "/", mode=0o755)
        root.write_file(path, cp.script, mode=0o700, dir_mode=0o700)
        inner = [path if mode == "chroot" else root.resolve(path)]
    else:
        assert cp.argv is not None
        inner = list(cp.argv)
    timeout = float(ctx.settings.get("command_timeout") or DEFAULT_TIMEOUT)
    if mode == "chroot":
        argv = ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", _CHROOT_WRAPPER,
                "ros-init-chroot", root.path, *_mount_points(root), *inner]
    else:
        argv = inner
    log.info("commands: %s: started%s", cp.label, " (chroot)" if mode == "chroot" else "")
    try:
        code, secs = run_logged(argv, cp.label, timeout)
    except OSError as exc:
        raise CommandFailed(f"{cp.label}: cannot start: {exc.strerror}") from None
    if code is None:
        raise CommandFailed(f"{cp.label}: timed out after {timeout:g} s (killed)")
    if code != 0:
        raise CommandFailed(f"{cp.label}: exit status {code}")
    once.mark_done(root, cp.marker, f"{cp.label} exit 0")
    return f"exit 0 in {secs:.2f} s"
