"""Security, commands: a config for another root cannot change the host, whatever it runs.

Before: with ``--root DIR``, runcmd/bootcmd/scripts ran chrooted in a private mount namespace
only, sharing the host's PID, UTS, IPC and network namespaces and a live, writable /proc,
/sys and /dev: ``echo x > /proc/$PPID/root/tmp/marker`` wrote on the host, ``hostname x``
renamed it. Each attack here is tried from runcmd, bootcmd and a user-data script, through
``ros-init run`` as a user would.
"""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

import pytest
from engine.roots import add_busybox
from facilities import need_root

from ros_init.cli import main
from ros_init.cli.demo import make_os_skeleton
from ros_init.core.root import Root
from ros_init.system import sandbox

TOOLS = ("hostname", "mknod", "mkdir", "readlink", "grep", "wc", "sysctl", "umount", "chroot", "ls", "head",
         "mount")


def _attacks(outside: Path) -> dict[str, str]:
    """name -> shell text; each tries to reach the host and records what it managed inside the root."""
    m = outside
    return {
        "ppid-root": f"echo x > /proc/$PPID/root{m}/ppid-root; true",
        "pid1-root": f"echo x > /proc/1/root{m}/pid1-root; true",
        "cwd": f"for p in /proc/[0-9]*; do echo x > $p/cwd{m}/cwd 2>/dev/null; echo x > $p/root{m}/cwd; done; true",
        "path": f"mkdir -p {m} && echo x > {m}/path; true",
        "hostname": "hostname evil-from-config; echo evil > /proc/sys/kernel/hostname; true",
        "mknod": "mknod /tmp/hostdisk b 7 0 && echo x > /tmp/hostdisk; true",
        "mount": "mount -t proc proc /mnt; mount -o remount,rw /proc/sys; echo 1 > /proc/sys/vm/drop_caches; true",
        "chroot-escape": f"mkdir -p /x && chroot /x /bin/sh -c 'echo x > {m}/chroot' 2>/dev/null; true",
        "report": "ls /proc | grep -c '^[0-9]' > /report-procs; ls /dev > /report-dev; hostname > /report-host; "
                  "ls /sys/class/net > /report-net",
    }


def _root(base: Path) -> Path:
    root = add_busybox(make_os_skeleton(base / "root"))
    for tool in TOOLS:
        link = root / "bin" / tool
        if not link.exists():
            os.symlink("busybox", link)
    (root / "mnt").mkdir(exist_ok=True)
    (root / "tmp").mkdir(exist_ok=True)
    return root


def _mime(config: str, script: str) -> str:
    b = "BOUNDARY-" + uuid.uuid4().hex
    return (f'Content-Type: multipart/mixed; boundary="{b}"\nMIME-Version: 1.0\n\n'
            f'--{b}\nContent-Type: text/cloud-config\n\n{config}\n'
            f'--{b}\nContent-Type: text/x-shellscript\nContent-Disposition: attachment; filename="attack.sh"\n\n'
            f'{script}\n--{b}--\n')


@pytest.mark.parametrize("where", ["runcmd", "bootcmd", "script"])
def test_commands_for_another_root_cannot_touch_the_host(tmp_path: Path, capsys, where: str) -> None:
    need_root()
    if sandbox.engine_missing():
        pytest.skip(f"no sandbox engine: {sandbox.engine_missing()}")
    outside = tmp_path / f"outside-{uuid.uuid4().hex}"
    outside.mkdir()
    root = _root(tmp_path)
    host_name = socket.gethostname()
    host_links = sorted(os.listdir("/sys/class/net"))
    text = "\n".join(_attacks(outside).values())
    if where == "script":
        (root / "etc/ros-init/ros-init.yaml").write_text("datasources: [file]\n")
        (root / "oem").mkdir()
        (root / "oem/50.yaml").write_text(_mime("hostname: node-a", "#!/bin/sh\n" + text))
        argv = ["run", "--phase", "boot", "--root", str(root)]
    else:
        cfg = tmp_path / "c.yaml"
        import yaml

        cfg.write_text("#cloud-config\n" + yaml.safe_dump({"hostname": "node-a", where: [text]}))
        argv = ["run", "--phase", "boot", "--root", str(root), "--config", str(cfg)]
    try:
        code = main(argv)
    finally:
        changed = socket.gethostname()
        if changed != host_name:  # the finding itself: put the host back before failing
            socket.sethostname(host_name)
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    assert list(outside.iterdir()) == []  # no marker outside the root, by any path
    assert changed == host_name
    assert sorted(os.listdir("/sys/class/net")) == host_links
    assert (root / "report-net").read_text().split() == ["lo"]  # a network namespace of its own
    assert int((root / "report-procs").read_text()) <= 5  # its own PID namespace: init, sh, ls, grep
    assert set((root / "report-dev").read_text().split()) <= {"null", "zero", "full", "random", "urandom", "tty",
                                                              "fd", "stdin", "stdout", "stderr", "shm", "pts"}
    assert (root / "report-host").read_text().strip() in ("node-a", "localhost")
    assert not (root / "tmp/hostdisk").exists() or not (root / "tmp/hostdisk").is_block_device()
    with open("/proc/self/mountinfo") as fh:
        assert str(root) not in fh.read()  # nothing left mounted


def test_sysctl_cannot_change_the_host(tmp_path: Path, capsys) -> None:
    need_root()
    if sandbox.engine_missing():
        pytest.skip(f"no sandbox engine: {sandbox.engine_missing()}")
    root = _root(tmp_path)
    before = Path("/proc/sys/kernel/domainname").read_text()
    cfg = tmp_path / "c.yaml"
    cfg.write_text("runcmd:\n  - sysctl -w kernel.domainname=evil; echo evil > /proc/sys/kernel/domainname; true\n")
    try:
        code = main(["run", "--phase", "boot", "--root", str(root), "--config", str(cfg)])
    finally:
        after = Path("/proc/sys/kernel/domainname").read_text()
        Path("/proc/sys/kernel/domainname").write_text(before)  # the finding: undo it before failing
    capsys.readouterr()
    assert code == 0
    assert after == before


def test_no_engine_means_skipped_with_the_reason_never_a_weaker_chroot(tmp_path: Path, monkeypatch) -> None:
    root = Root(_root(tmp_path))
    sandbox.engine_missing.cache_clear()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    try:
        placed = sandbox.decide(root, euid=0)
    finally:
        sandbox.engine_missing.cache_clear()
    assert placed.mode == "skip" and "unshare is not installed" in (placed.why or "")
    assert sandbox.decide(Root("/")).mode == "host"
