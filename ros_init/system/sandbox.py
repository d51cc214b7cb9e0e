"""Where a config's command runs: the one place that decides, and the argv that does it.

With the root ``/`` (a real boot) a command runs on the host, as the config means. With any
other root the host is only preparing that root, so a command must not be able to change
the host at all: it runs in new PID, UTS, IPC, network and mount namespaces, with the target
root pivoted in as ``/`` and the host's tree detached (``sandbox_init.py`` builds that view).
The engine is util-linux ``unshare`` (present on every system ros-init supports; it makes
the namespaces, ``sandbox_init.py`` does the rest). When it cannot isolate (not root, no
``unshare``, a kernel without these namespaces, a root without ``/bin/sh``) the command is
skipped with the reason: there is no weaker fallback, a plain chroot shares the host's
``/proc``, hostname and network.
"""

from __future__ import annotations

import functools
import os
import stat
import sys

from ros_init.core.record import record
from ros_init.core.root import Root

NAMESPACES = ("pid", "uts", "ipc", "net", "mnt")
SETUP_FAILED = 125  # sandbox_init's status when it could not build the sandbox
_INIT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sandbox_init.py")


@record(frozen=True)
class Placement:
    """``mode`` is "host", "sandbox" or "skip"; ``why`` says why a command is skipped."""

    mode: str
    why: str | None = None


def decide(root: Root, run_commands: bool = True, euid: int | None = None) -> Placement:
    """Pure but for cheap looks at the machine: where a command of this run would go."""
    if not run_commands:
        return Placement("skip", "config commands are never run here (ros-init demo: planned only)")
    if root.is_host:
        return Placement("host")
    euid = os.geteuid() if euid is None else euid
    if euid != 0:
        return Placement("skip", f"running inside {root.path} needs root (namespaces); not run on this host")
    st = root.stat("/bin/sh")
    if st is None or not stat.S_ISREG(st.st_mode):
        return Placement("skip", f"{root.path} has no /bin/sh: not an OS root to run in; not run on this host")
    missing = engine_missing()
    if missing:
        return Placement("skip", f"no sandbox can isolate a command here ({missing}); not run on this host")
    return Placement("sandbox")


@functools.cache
def engine_missing() -> str | None:
    """Why ``unshare`` cannot make the sandbox's namespaces here, or None when it can (probed once)."""
    import shutil
    import subprocess  # here, not at the top: a boot whose commands are skipped never starts one

    unshare = shutil.which("unshare")
    if unshare is None:
        return "util-linux unshare is not installed"
    for ns in NAMESPACES:
        if not os.path.exists(f"/proc/self/ns/{ns}"):
            return f"the kernel has no {ns} namespace"
    try:
        probe = subprocess.run([unshare, *_unshare_flags(), "--", "/bin/true"], stdin=subprocess.DEVNULL,
                               capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unshare failed: {exc}"
    if probe.returncode != 0:
        return "unshare cannot create namespaces: " + probe.stderr.decode("utf-8", "replace").strip()[:200]
    return None


def _unshare_flags() -> list[str]:
    return ["--fork", "--kill-child", "--pid", "--uts", "--ipc", "--net", "--mount", "--propagation", "private"]


def hostname_of(root: Root) -> str:
    """The sandbox's hostname: the target's own ``/etc/hostname`` when sane, else ``localhost``."""
    data = root.read_bytes("/etc/hostname", limit=256) if root.stat("/etc/hostname") else None
    name = (data or b"").decode("ascii", "replace").strip().split("\n")[0]
    ok = 0 < len(name) <= 64 and all(c.isalnum() or c in "-." for c in name)
    return name if ok else "localhost"


def command_argv(root: Root, inner: list[str]) -> list[str]:
    """The host argv that runs ``inner`` (an argv inside the root) in the sandbox."""
    import shutil

    unshare = shutil.which("unshare") or "unshare"
    return [unshare, *_unshare_flags(), "--", sys.executable, "-I", "-S", _INIT,
            root.path, hostname_of(root), "--", *inner]
