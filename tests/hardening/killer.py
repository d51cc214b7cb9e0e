"""Run ``ros-init run`` (both phases, as a boot does) and SIGKILL it at the N-th mutation.

Test-only fault injection: no hook in product code. Every call that changes the file
system (os.open for writing, os.write, os.fsync, os.rename, os.replace, os.unlink, os.mkdir,
os.chmod/fchmod, os.chown/fchown, os.symlink, os.link, builtins.open for writing) counts as a
point; the process kills itself with SIGKILL just before point N, so the tree is left
exactly as a crash at that moment leaves it (the page cache survives a process kill).

    python killer.py N ROOT CONFIG      kill before point N (N >= 1)
    python killer.py 0 ROOT CONFIG      no kill; print the number of points
"""

from __future__ import annotations

import builtins
import os
import signal
import sys

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_count = 0
_kill_at = 0


def _point() -> None:
    global _count
    _count += 1
    if _count == _kill_at:
        os.kill(os.getpid(), signal.SIGKILL)


def _wrap(name: str, predicate=None) -> None:
    real = getattr(os, name)

    def wrapper(*args, **kwargs):
        if predicate is None or predicate(*args, **kwargs):
            _point()
        return real(*args, **kwargs)

    setattr(os, name, wrapper)


def install(kill_at: int) -> None:
    global _kill_at
    _kill_at = kill_at
    _wrap("open", lambda path, flags, *a, **k: bool(flags & _WRITE_FLAGS))
    for name in ("write", "fsync", "rename", "replace", "unlink", "mkdir", "chmod", "fchmod", "chown", "fchown",
                 "symlink", "link", "truncate", "ftruncate"):
        _wrap(name)
    real_open = builtins.open

    def open_wrapper(file, mode="r", *args, **kwargs):
        if any(c in mode for c in "wax+"):
            _point()
        return real_open(file, mode, *args, **kwargs)

    builtins.open = open_wrapper


def points() -> int:
    return _count


def run_boot(root: str, config: str) -> int:
    """Both phases, in the order of a boot; the worst exit code."""
    from ros_init.cli import main as cli

    code = 0
    for phase in ("initramfs", "boot"):
        code = max(code, cli(["run", "--phase", phase, "--root", root, "--config", config]))
    return code


def killed_in_child(kill_at: int, root: str, config: str) -> tuple[int, int]:
    """Fork; the child runs the boot and is killed before point ``kill_at`` (0: never).

    Returns (signal that ended the child or 0, its exit code or the number of points).
    Forking keeps a trial at a few milliseconds: the modules are already imported.
    """
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            install(kill_at)
            run_boot(root, config)
            os.write(w, str(points()).encode())
        finally:
            os._exit(0)
    os.close(w)
    _, status = os.waitpid(pid, 0)
    with os.fdopen(r, "rb") as fh:
        out = fh.read()
    if os.WIFSIGNALED(status):
        return os.WTERMSIG(status), 0
    return 0, int(out or b"0")


def main() -> int:
    kill_at, root, config = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    install(kill_at)
    code = run_boot(root, config)
    if kill_at == 0:
        print(_count)
    return code


if __name__ == "__main__":
    sys.exit(main())
