"""First process of a command sandbox: builds the target root's view, then runs the command.

Started by ``ros_init.system.sandbox`` through ``unshare --fork --pid --uts --ipc --net
--mount``, so it is PID 1 of fresh PID, UTS, IPC, network and mount namespaces, still seeing
the host's files. Run by path with ``python -I -S``: standard library only, no imports of
ros_init (the target root may hold anything).

It mounts, inside the target root: a fresh ``/proc`` of the new PID namespace (its kernel
knobs, ``/proc/sys`` and friends, read-only), a read-only ``/sys``, and a ``/dev`` that is a
small read-only tmpfs holding only null, zero, full, random, urandom and tty (plus a writable
``/dev/shm``). It then makes the target root the root with ``pivot_root`` and detaches the
host's tree, so no path leads back to it (not ``/proc/*/root``, nor ``/proc/*/cwd``: the
host's processes are not in this PID namespace). Finally it drops, from the capability
bounding set, what could reach the host kernel or devices anyway (module loading, raw I/O,
mount, mknod, reboot, clock, open-by-handle...), forks the command, reaps every process and
exits with the command's status; the kernel kills whatever the command left behind.

Usage: sandbox_init.py ROOT HOSTNAME -- ARGV...
Exit status 125 with a ``ros-init sandbox:`` line on stderr when the sandbox cannot be built.
"""

import ctypes
import os
import stat
import sys
import warnings  # noqa: F401 - os.execvpe imports it lazily, and after pivot_root it is gone

SETUP_FAILED = 125

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_CAPBSET_DROP, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 24, 47, 4
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "s390x": 217, "ppc64le": 203}

# Dropped from the bounding set: each reaches past the namespaces (kernel, devices, clock,
# other mounts, host files by handle) or would let the command undo the read-only mounts.
DROPPED_CAPS = {
    "CAP_DAC_READ_SEARCH": 2, "CAP_LINUX_IMMUTABLE": 9, "CAP_SYS_MODULE": 16, "CAP_SYS_RAWIO": 17,
    "CAP_SYS_PTRACE": 19, "CAP_SYS_PACCT": 20, "CAP_SYS_ADMIN": 21, "CAP_SYS_BOOT": 22,
    "CAP_SYS_TIME": 25, "CAP_SYS_TTY_CONFIG": 26, "CAP_MKNOD": 27, "CAP_AUDIT_CONTROL": 30,
    "CAP_MAC_OVERRIDE": 32, "CAP_MAC_ADMIN": 33, "CAP_SYSLOG": 34, "CAP_WAKE_ALARM": 35,
    "CAP_BLOCK_SUSPEND": 36, "CAP_PERFMON": 38, "CAP_BPF": 39, "CAP_CHECKPOINT_RESTORE": 40,
}
DEVICES = {"null": (1, 3), "zero": (1, 5), "full": (1, 7), "random": (1, 8), "urandom": (1, 9), "tty": (5, 0)}
PROC_READ_ONLY = ("sys", "sysrq-trigger", "irq", "bus", "fs")
ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root",
       "LANG": "C.UTF-8", "TERM": "dumb"}

_libc = ctypes.CDLL(None, use_errno=True)


class SetupError(Exception):
    pass


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise SetupError(f"{what}: {os.strerror(err)}")


def mount(source: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(_libc.mount(source.encode(), target.encode(), fstype.encode() if fstype else None,
                       ctypes.c_ulong(flags), data.encode() if data else None), f"mount {target}")


def bind_read_only(path: str) -> None:
    mount(path, path, None, MS_BIND | MS_REC)
    mount(path, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def folder(path: str) -> None:
    st = os.lstat(path) if os.path.lexists(path) else None
    if st is None:
        os.mkdir(path, 0o555)
    elif not stat.S_ISDIR(st.st_mode):
        raise SetupError(f"{path} is not a folder")


def build(root: str, hostname: str) -> None:
    mount("none", "/", None, MS_REC | MS_PRIVATE)
    mount(root, root, None, MS_BIND | MS_REC)  # pivot_root needs a mount point
    for name in ("proc", "sys", "dev"):
        folder(os.path.join(root, name))
    proc = os.path.join(root, "proc")
    mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    for name in PROC_READ_ONLY:
        if os.path.exists(os.path.join(proc, name)):
            bind_read_only(os.path.join(proc, name))
    mount("sysfs", os.path.join(root, "sys"), "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
    dev = os.path.join(root, "dev")
    mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k")
    for name, (major, minor) in DEVICES.items():
        os.mknod(os.path.join(dev, name), 0o666 | stat.S_IFCHR, os.makedev(major, minor))
        os.chmod(os.path.join(dev, name), 0o666)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2")):
        os.symlink(target, os.path.join(dev, name))
    os.mkdir(os.path.join(dev, "shm"), 0o1777)
    os.mkdir(os.path.join(dev, "pts"), 0o755)
    mount(dev, dev, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC)
    mount("shm", os.path.join(dev, "shm"), "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=64m")
    os.chdir(root)
    number = SYS_PIVOT_ROOT.get(os.uname().machine)
    if number is None:
        raise SetupError(f"pivot_root: unknown system call number on {os.uname().machine}")
    _check(_libc.syscall(number, b".", b"."), "pivot_root")
    _check(_libc.umount2(b".", MNT_DETACH), "detach the host's tree")
    os.chdir("/")
    name = hostname.encode()
    _check(_libc.sethostname(name, len(name)), "sethostname")
    for number in DROPPED_CAPS.values():
        if _libc.prctl(PR_CAPBSET_DROP, number, 0, 0, 0) != 0 and ctypes.get_errno() != 22:  # EINVAL: unknown
            raise SetupError(f"drop capability {number}: {os.strerror(ctypes.get_errno())}")
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)


def run(argv: list[str]) -> int:
    """Fork the command, reap everything until it ends, return its status."""
    child = os.fork()
    if child == 0:
        try:
            os.execvpe(argv[0], argv, ENV)
        except OSError as exc:
            sys.stderr.write(f"{argv[0]}: {exc.strerror}\n")
        finally:
            os._exit(127)
    while True:
        pid, status = os.wait()
        if pid == child:
            return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


def main(args: list[str]) -> int:
    if len(args) < 4 or args[2] != "--":
        sys.stderr.write("ros-init sandbox: usage: sandbox_init.py ROOT HOSTNAME -- ARGV...\n")
        return SETUP_FAILED
    root, hostname, argv = args[0], args[1], args[3:]
    if os.getpid() != 1:
        sys.stderr.write("ros-init sandbox: not the first process of a new PID namespace\n")
        return SETUP_FAILED
    try:
        build(root, hostname)
    except Exception as exc:  # noqa: BLE001 - any failure here means: not isolated, not run
        sys.stderr.write(f"ros-init sandbox: cannot isolate the command: {exc}\n")
        return SETUP_FAILED
    sys.stdout.flush()
    return run(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
