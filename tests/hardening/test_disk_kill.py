"""Crash consistency of the disks stage: ``ros-init run`` SIGKILLed inside a disk tool, then
run again, as the next boot would.

The whole process group (ros-init and the tool it runs) is killed at a moment chosen inside
``sfdisk``, ``mkfs``, ``resize2fs`` or ``xfs_growfs``. The rerun must either complete the
declared layout (and a third run then changes nothing) or refuse with the reason; in
every case the files on the partitions that hold data are intact, and nothing is left
mounted. Loop devices only, fenced by ``restrict_to``.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

import pytest

from ros_init.cli.demo import make_os_skeleton

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
from tests.disks.rig import InDisk, InPart, LoopRig, M, OutDisk, OutPart  # noqa: E402

KEEP = {"keep/me.txt": b"precious bytes\n", "big.bin": bytes(range(256)) * 256}
SEED = int(os.environ.get("ROS_INIT_KILL_SEED", "18"))


@dataclass
class Trial:
    id: str
    disk: InDisk
    config: str  # YAML body; $d is the loop device
    tool: str  # process name to kill inside
    out: OutDisk
    enlarge: int | None = None
    delays_ms: tuple[float, ...] = (0.0,)
    files: dict[str, str] = field(default_factory=dict)  # partition suffix -> must keep KEEP


BLANK = """disks:
  - device: $d
    partitions:
      - {label: DATA, size: 32M, filesystem: {format: ext4, label: data, mount: {path: /data}}}
      - {label: SWAP, size: 16M, filesystem: {format: swap, label: sw}}
      - {label: LOGS, filesystem: {format: xfs, label: logs}}
"""
BLANK_OUT = OutDisk("gpt", [OutPart(1, "DATA", 32 * M, fs="ext4", fs_label="data"),
                            OutPart(2, "SWAP", 16 * M, fs="swap", fs_label="sw"),
                            OutPart(3, "LOGS", min_size=300 * M, fs="xfs", fs_label="logs")])
GROW_EXT4 = """disks:
  - device: $d
    partitions:
      - {number: 1, label: DATA, grow: true, filesystem: {format: ext4, label: data}}
      - {label: NEW, size: 32M, filesystem: {format: ext4, label: new}}
"""
GROW_XFS = """disks:
  - device: $d
    partitions:
      - {number: 1, label: DATA, grow: true, filesystem: {format: xfs, label: data}}
      - {label: NEW, size: 32M, filesystem: {format: ext4, label: new}}
"""
TRIALS = [
    Trial("blank-in-sfdisk", InDisk(400 * M, None), BLANK, "sfdisk", BLANK_OUT, delays_ms=(1.0,)),
    Trial("blank-in-mkfs.ext4", InDisk(400 * M, None), BLANK, "mkfs.ext4", BLANK_OUT, delays_ms=(2.0, 8.0)),
    Trial("blank-in-mkfs.xfs", InDisk(400 * M, None), BLANK, "mkfs.xfs", BLANK_OUT, delays_ms=(0.0, 20.0)),
    Trial("grow-ext4-in-resize2fs", InDisk(64 * M, "gpt", [InPart(None, "DATA", fs="ext4", fs_label="data",
                                                                 files=KEEP)]),
          GROW_EXT4, "resize2fs",
          OutDisk("gpt", [OutPart(1, "DATA", min_size=900 * M, fs="ext4", fs_label="data", files=KEEP,
                                  fs_fills=True),
                          OutPart(2, "NEW", 32 * M, fs="ext4", fs_label="new")]),
          enlarge=1024 * M, delays_ms=(1.0, 4.0, 10.0, 30.0)),
    Trial("grow-xfs-in-xfs_growfs", InDisk(400 * M, "gpt", [InPart(None, "DATA", fs="xfs", fs_label="data",
                                                                   files=KEEP)]),
          GROW_XFS, "xfs_growfs",
          OutDisk("gpt", [OutPart(1, "DATA", min_size=600 * M, fs="xfs", fs_label="data", files=KEEP,
                                  fs_fills=True),
                          OutPart(2, "NEW", 32 * M, fs="ext4", fs_label="new")]),
          enlarge=700 * M, delays_ms=(1.0,)),
]


def _cli(root: str, config: str, settings: str) -> list[str]:
    return [sys.executable, "-m", "ros_init", "run", "--phase", "initramfs", "--root", root,
            "--config", config, "--settings", settings]


def _session_has(sid: int, tool: str) -> bool:
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        if comm == tool[:15] and int(fields[3]) == sid:  # fields[3]: session id
            return True
    return False


def _run_killed(argv: list[str], tool: str, delay_ms: float) -> str:
    """Run ``argv`` in its own session; SIGKILL the session ``delay_ms`` after ``tool`` starts.
    Returns "killed" or "finished" (the tool never ran, or the run ended first)."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        if _session_has(proc.pid, tool):
            time.sleep(delay_ms / 1000)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return "killed"
        time.sleep(0.0005)
    proc.wait(timeout=60)
    return "finished"


def _private_mounts() -> list[str]:
    with open("/proc/self/mountinfo") as fh:
        return [ln.split()[4] for ln in fh if "/ros-init-grow-" in ln.split()[4]]


@pytest.mark.root
@pytest.mark.parametrize("trial", TRIALS, ids=[t.id for t in TRIALS])
def test_disk_kill_then_rerun_converges_or_refuses(trial: Trial, tmp_path) -> None:
    from facilities import need_root, need_tools

    from tests.disks.rig import TOOLS

    need_root()
    need_tools(*TOOLS, "fatlabel", "swaplabel", "xfs_admin", "e2label")
    rng = random.Random(f"{SEED}-{trial.id}")
    outcomes = []
    for n, base in enumerate(trial.delays_ms):
        delay = base + rng.random() * 2
        rig = LoopRig()
        try:
            dev = rig.attach(trial.disk)
            if trial.enlarge:
                rig.enlarge(dev, trial.enlarge)
            root = str(make_os_skeleton(tmp_path / f"root{n}"))
            config = tmp_path / f"c{n}.yaml"
            config.write_text("#cloud-config\n" + trial.config.replace("$d", dev))
            settings = tmp_path / f"s{n}.yaml"
            settings.write_text(f"disks: {{include_loop: true, restrict_to: [{dev}]}}\n")
            argv = _cli(root, str(config), str(settings))
            how = _run_killed(argv, trial.tool, delay)
            rerun = subprocess.run(argv, capture_output=True, text=True, timeout=120)
            assert not _private_mounts(), "a private grow mount was left after the rerun"
            if rerun.returncode == 0:
                rig.check(dev, trial.out)
                again = subprocess.run(argv, capture_output=True, text=True, timeout=120)
                assert again.returncode == 0 and "0 changed" in again.stderr + again.stdout, again.stderr
                outcomes.append(f"{how}@{delay:.1f}ms: converged")
            else:
                said = rerun.stderr + rerun.stdout
                assert "refusing" in said or "failed" in said, said
                outcomes.append(f"{how}@{delay:.1f}ms: refused: {said.strip()[-600:]}")
                # Whatever was refused, the data is intact.
                for w in trial.out.parts:
                    if w.files:
                        rig.check_files(f"{dev}p{w.number}", w.files)
        finally:
            rig.close()
    print(f"{trial.id}: " + "; ".join(outcomes))
    assert all("converged" in o for o in outcomes), outcomes
