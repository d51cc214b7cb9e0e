"""The commands stage: what runs, where, once; real chroots into a busybox root."""

from __future__ import annotations

import logging
import os
import time
import uuid
from pathlib import Path

import pytest
from engine.roots import add_busybox
from facilities import need_root
from ros_init.stages import bootcmd, commands

from ros_init.cli.demo import make_os_skeleton
from ros_init.core.model import Script, SkipStep, StageContext
from ros_init.core.root import Root
from ros_init.state import once


@pytest.fixture
def scratch_root(tmp_path: Path) -> Path:
    return make_os_skeleton(tmp_path / "root")


@pytest.fixture
def os_root(scratch_root: Path) -> Path:
    return add_busybox(scratch_root)


def ctx(**kw) -> StageContext:
    kw.setdefault("instance_id", "i-0123456789")
    return StageContext(phase="boot", **kw)


def run_all(config: dict, root: Root, context: StageContext) -> list[tuple[str, str]]:
    """(label, outcome) per planned command, bootcmd stage first, stopping after a failure
    like the engine does."""
    out = []
    changes = bootcmd.plan(bootcmd.parse(config), root, context) + commands.plan(commands.parse(config), root, context)
    for change in changes:
        try:
            note = commands.apply(change, root, context)
        except SkipStep as exc:
            out.append((change.target, f"skipped: {exc}"))
        except commands.CommandFailed as exc:
            out.append((change.target, f"failed: {exc}"))
            break
        else:
            out.append((change.target, note))
    return out


# -- pure decisions -----------------------------------------------------------------------------
def test_entries_become_argv():
    assert commands.to_argv("echo hi") == ("/bin/sh", "-c", "echo hi")
    assert commands.to_argv(["ls", "-l", 3]) == ("ls", "-l", "3")
    assert commands.to_argv(None) is None and commands.to_argv("  ") is None and commands.to_argv([]) is None


def test_program_name_never_shows_an_assignment_or_arguments():
    assert commands.program_name(("/bin/sh", "-c", "curl -H 'Authorization: x' https://a")) == "curl"
    assert commands.program_name(("/bin/sh", "-c", "TOKEN=abc123 ./install.sh")) == "..."
    assert commands.program_name(("/usr/bin/systemctl", "enable", "x")) == "systemctl"


def test_order_is_bootcmd_runcmd_scripts_and_keys_follow_content():
    config = {"runcmd": ["a", None, ["b", "c"], "a"], "bootcmd": ["early"]}
    scripts = [Script("nocloud", "part-001", b"#!/bin/sh\necho x\n")]
    items = (commands.wanted_items(bootcmd.parse(config), ctx())
             + commands.wanted_items(commands.parse(config), ctx(scripts=scripts)))
    assert [label for _, label, _, _ in items] == ["bootcmd[0]", "runcmd[0]", "runcmd[2]", "runcmd[3]",
                                                   "script part-001"]
    keys = [k for *_, k in items]
    assert len(set(keys)) == len(keys)  # "a" twice: two guards
    inserted = commands.wanted_items(commands.parse({"runcmd": ["new", "a", None, ["b", "c"], "a"]}), ctx())
    assert {k for *_, k in items[1:4]} <= {k for *_, k in inserted}


def test_where_commands_run(tmp_path: Path):
    bare = Root(make_os_skeleton(tmp_path / "bare"))
    assert commands.where_to_run(Root("/"), ctx()) == ("host", None)
    assert commands.where_to_run(Root("/"), ctx(run_commands=False))[0] == "skip"
    mode, why = commands.where_to_run(bare, ctx(), euid=0)
    assert mode == "skip" and "no /bin/sh" in why and "not run on this host" in why
    mode, why = commands.where_to_run(bare, ctx(), euid=1000)
    assert mode == "skip" and "needs root" in why
    (tmp_path / "bare/bin").mkdir()
    (tmp_path / "bare/bin/sh").write_bytes(b"\x7fELF")
    assert commands.where_to_run(bare, ctx(), euid=0) == ("sandbox", None)
    assert commands.where_to_run(bare, ctx(run_commands=False), euid=0)[0] == "skip"


def test_a_command_never_runs_on_the_host_preparing_another_root(scratch_root: Path):
    flag = Path("/tmp") / f"ros-init-host-flag-{uuid.uuid4().hex}"
    root = Root(scratch_root)  # no /bin/sh: not an OS root
    results = run_all({"runcmd": [f"touch {flag}"], "bootcmd": [["touch", str(flag)]]}, root, ctx())
    assert [r[1].startswith("skipped:") for r in results] == [True, True]
    assert not flag.exists()
    assert len(commands.plan(commands.parse({"runcmd": [f"touch {flag}"]}), root, ctx())) == 1  # not marked done


# -- running ---------------------------------------------------------------------------------------
def test_run_logged_logs_output_and_returns_the_status(caplog):
    caplog.set_level(logging.INFO, logger="ros_init")
    code, _ = commands.run_logged(["/bin/sh", "-c", "echo out; echo err >&2; exit 3"], "runcmd[7]", 10)
    assert code == 3
    lines = [r.getMessage() for r in caplog.records]
    assert "commands: runcmd[7] | out" in lines and "commands: runcmd[7] | err" in lines


def test_run_logged_kills_the_whole_process_group_at_the_timeout(tmp_path: Path):
    pidfile = tmp_path / "child.pid"
    t0 = time.monotonic()
    code, _ = commands.run_logged(["/bin/sh", "-c", f"sleep 60 & echo $! > {pidfile}; wait"], "runcmd[0]", 0.5)
    assert code is None and time.monotonic() - t0 < 10
    child = int(pidfile.read_text())
    for _ in range(50):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the command's child survived the timeout")


# -- real chroot -------------------------------------------------------------------------------------
def _mounts_below(path: Path) -> list[str]:
    with open("/proc/self/mountinfo") as fh:
        return [line.split()[4] for line in fh if line.split()[4].startswith(str(path))]


def test_commands_run_inside_the_root_with_proc_sys_dev_then_unmounted(os_root: Path):
    need_root()
    root = Root(os_root)
    config = {"runcmd": [
        "cat /etc/os-release > /ran-inside",
        "test -r /proc/self/status && test -d /sys/class && test -c /dev/null && echo mounts-ok >> /ran-inside",
        ["touch", "/argv-form"],
    ]}
    results = run_all(config, root, ctx())
    assert [r[1].startswith("exit 0") for r in results] == [True, True, True], results
    text = (os_root / "ran-inside").read_text()
    assert "RancherOS v2 (demo root)" in text and "mounts-ok" in text
    assert (os_root / "argv-form").exists()
    assert _mounts_below(os_root) == []
    assert commands.plan(commands.parse(config), root, ctx()) == []  # once per instance
    assert len(commands.plan(commands.parse(config), root, ctx(instance_id="i-other"))) == 3  # a new instance runs them


def test_a_failed_command_stops_the_rest_is_retried_and_completes(os_root: Path):
    need_root()
    root = Root(os_root)
    config = {"runcmd": ["echo one >> /log", "test -e /ready", "echo three >> /log"]}
    results = run_all(config, root, ctx())
    assert results[1] == ("runcmd[1]", "failed: runcmd[1]: exit status 1")
    assert len(results) == 2
    assert [c.target for c in commands.plan(commands.parse(config), root, ctx())] == ["runcmd[1]", "runcmd[2]"]
    (os_root / "ready").write_text("")
    results = run_all(config, root, ctx())
    assert [r[0] for r in results] == ["runcmd[1]", "runcmd[2]"]
    assert (os_root / "log").read_text() == "one\nthree\n"  # the first ran once


def test_timeout_from_the_settings_fails_the_command(os_root: Path):
    need_root()
    root = Root(os_root)
    t0 = time.monotonic()
    results = run_all({"runcmd": ["sleep 30"]}, root, ctx(settings={"command_timeout": 0.5}))
    assert results == [("runcmd[0]", "failed: runcmd[0]: timed out after 0.5 s (killed)")]
    assert time.monotonic() - t0 < 15
    assert _mounts_below(os_root) == []


def test_bootcmd_once_per_boot_and_user_data_scripts(os_root: Path):
    need_root()
    root = Root(os_root)
    script = Script("nocloud", "part-001", b"#!/bin/sh\necho script-ran >> /log\n")
    context = ctx(scripts=[script])
    results = run_all({"bootcmd": ["echo boot >> /log"]}, root, context)
    assert [r[0] for r in results] == ["bootcmd[0]", "script part-001"]
    assert (os_root / "log").read_text() == "boot\nscript-ran\n"
    assert bootcmd.plan(bootcmd.parse({"bootcmd": ["echo boot >> /log"]}), root, context) == []
    marker = once.boot_marker(context.run_dir, once.boot_id(), "x")
    assert marker.path.startswith("/run/ros-init/boot/")
    assert stat_mode(os_root / "var/lib/ros-init/instances") == 0o700


def stat_mode(path: Path) -> int:
    return path.stat().st_mode & 0o7777


def test_with_the_root_slash_commands_run_on_the_host_once(tmp_path: Path):
    """ros-init run --root / for real, in a private mount namespace whose /var/lib and /run are
    fresh tmpfs: the host's state is never touched."""
    need_root()
    import subprocess
    import sys

    flag = tmp_path / "ran"
    config = tmp_path / "c.yaml"
    config.write_text(f"runcmd:\n  - echo ran >> {flag}\n  - [sh, -c, 'echo argv >> {flag}']\n")
    plan = subprocess.run([sys.executable, "-m", "ros_init", "plan", "--phase", "boot", "--root", "/",
                           "--config", str(config)], capture_output=True, text=True, timeout=60)
    planned = plan.stdout.splitlines()[1:]
    # the guard of this test: on the host, nothing but the two commands may be planned
    assert planned and all(line.startswith("  commands: run runcmd[") for line in planned), plan.stdout
    run = f"{sys.executable} -m ros_init run --phase boot --root / --config {config}"
    script = f"set -e; mount -t tmpfs t /var/lib; mount -t tmpfs t /run; {run}; {run}; cat /run/ros-init/status.json"
    proc = subprocess.run(["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", script],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert flag.read_text() == "ran\nargv\n"  # the second run did not run them again
    assert proc.stdout.count("ros-init boot: ok: 0 changed") == 1
    assert '"target": "runcmd[0]"' not in proc.stdout.split("ros-init boot: ok: 0 changed")[1]
