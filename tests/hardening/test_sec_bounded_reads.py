"""Security, bounded reads: no file ros-init reads can make it hang or grow.

Before: the 8 MiB limit was checked on the file's size only: ``validate /dev/zero`` grew to
GBs, ``run --config /dev/zero`` never ended, and a FIFO at status.json, /etc/passwd or the
settings path hung ``run`` and ``status``. Each case runs the real CLI in a subprocess with
a memory cap and a deadline.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ros_init.cli.demo import make_os_skeleton

MEMORY_CAP = 1024 * 1024 * 1024  # 1 GiB of address space: /dev/zero read whole blows it at once
DEADLINE = 30


def _cli(*argv: str) -> tuple[int, str, float]:
    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))

    t0 = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, "-m", "ros_init", *argv], capture_output=True, text=True,
                              timeout=DEADLINE, preexec_fn=cap, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail(f"ros-init {' '.join(argv)} hung for {DEADLINE} s")
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, proc.stdout + proc.stderr, time.monotonic() - t0


def test_validate_and_run_refuse_dev_zero(tmp_path: Path) -> None:
    root = make_os_skeleton(tmp_path / "root")
    code, text, _ = _cli("validate", "/dev/zero")
    assert code == 2 and "not a regular file" in text
    code, text, _ = _cli("run", "--phase", "boot", "--root", str(root), "--config", "/dev/zero")
    assert code == 1 and "not a regular file" in text
    code, text, _ = _cli("run", "--phase", "boot", "--root", str(root), "--settings", "/dev/zero")
    assert code == 1 and "not a regular file" in text


@pytest.mark.parametrize("where", ["config", "settings-arg"])
def test_a_fifo_given_on_the_command_line_is_refused(tmp_path: Path, where: str) -> None:
    root = make_os_skeleton(tmp_path / "root")
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    if where == "config":
        code, text, _ = _cli("validate", str(fifo))
        assert code == 2 and "a FIFO" in text
        code, text, _ = _cli("run", "--phase", "boot", "--root", str(root), "--config", str(fifo))
    else:
        code, text, _ = _cli("status", "--root", str(root), "--settings", str(fifo))
        code, text, _ = _cli("run", "--phase", "boot", "--root", str(root), "--settings", str(fifo))
    assert code == 1 and "a FIFO" in text


@pytest.mark.parametrize("planted", ["/run/ros-init/status.json", "/var/lib/ros-init/status.json", "/etc/passwd",
                                     "/etc/ros-init/ros-init.yaml", "/etc/login.defs"])
def test_a_fifo_planted_in_the_root_does_not_hang_run_or_status(tmp_path: Path, planted: str) -> None:
    root = make_os_skeleton(tmp_path / "root")
    path = root / planted.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    os.mkfifo(path)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("users: [{name: bob}]\nhostname: node-a\n")
    code, text, secs = _cli("run", "--phase", "boot", "--root", str(root), "--config", str(cfg))
    assert code in (0, 1) and secs < DEADLINE
    if planted in ("/etc/passwd", "/etc/login.defs", "/etc/ros-init/ros-init.yaml"):
        assert code == 1 and "not a regular file" in text
    code, text, secs = _cli("status", "--root", str(root))
    assert code in (0, 1, 2) and secs < DEADLINE


def test_a_huge_file_in_the_root_is_refused_without_reading_it(tmp_path: Path) -> None:
    root = make_os_skeleton(tmp_path / "root")
    with open(root / "etc/passwd", "r+b") as fh:
        fh.truncate(3 * 1024 * 1024 * 1024)  # sparse 3 GiB: more than the memory cap
    cfg = tmp_path / "c.yaml"
    cfg.write_text("users: [{name: bob}]\n")
    code, text, _ = _cli("run", "--phase", "boot", "--root", str(root), "--config", str(cfg))
    assert code == 1 and "larger than" in text
