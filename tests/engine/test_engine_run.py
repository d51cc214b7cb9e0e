"""ros-init run / plan / status on scratch roots: the typical config in, a configured tree out."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from engine.roots import TOKEN, TYPICAL, add_busybox, tree_snapshot
from facilities import need_root

from ros_init.cli import main
from ros_init.cli import run as cli_run
from ros_init.cli.demo import make_os_skeleton
from ros_init.config.redact import Scrubber, secret_values
from ros_init.core.model import Change, SkipStep, StageContext
from ros_init.core.record import replace
from ros_init.core.root import Root
from ros_init.engine import run as engine
from ros_init.engine.stages import Stage, blocked_reason, load_stages, stages_for_phase

KEY_LINE = "example-not-a-real-key"  # inside the b64 content of the typical config


@pytest.fixture
def scratch_root(tmp_path: Path) -> Path:
    """A Debian-like OS skeleton (passwd, shadow, group, gshadow, login.defs, skel, ssh)."""
    return make_os_skeleton(tmp_path / "root")


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run(capsys, root: Path, *extra: str, phase: str = "boot", config: Path = TYPICAL) -> tuple[int, str, str]:
    return cli(capsys, "run", "--phase", phase, "--root", str(root), "--config", str(config), *extra)


# -- the pure decisions --------------------------------------------------------------------------
def fake_stage(name: str, order: int, phases: tuple[str, ...] = ("boot",), **extra):
    return Stage(name, phases, order, plan=lambda c, r, x: [], apply=lambda c, r, x: None, **extra)


def test_discovered_stages_are_in_order_and_complete():
    stages, broken = load_stages()
    assert broken == []
    names = [s.name for s in stages]
    assert [s.order for s in stages] == sorted(s.order for s in stages)
    assert {"files", "rancherd", "commands"} <= set(names)
    assert names.index("files") < names.index("rancherd") < names.index("commands")


def test_stages_for_a_phase():
    a = fake_stage("a", 20)
    b = fake_stage("b", 10, phases=("initramfs",))
    c = fake_stage("c", 30, phases=("initramfs", "boot"))
    assert [s.name for s in stages_for_phase([a, b, c], "boot")] == ["a", "c"]
    assert [s.name for s in stages_for_phase([a, b, c], "initramfs")] == ["b", "c"]


def test_blocked_reason():
    dep = fake_stage("commands", 80, requires=("files",))
    assert blocked_reason(dep, set(), "continue") is None
    assert "depends on files" in blocked_reason(dep, {"files"}, "continue")
    assert blocked_reason(fake_stage("x", 1), {"files"}, "continue") is None
    assert "failure_policy: stop" in blocked_reason(fake_stage("x", 1), {"files"}, "stop")


def _scripted_stages(log: list[str]):
    def failing_plan(config, root, ctx):
        return [Change("b", "do", "t1", "step one"), Change("b", "do", "t2", "step two")]

    def failing_apply(change, root, ctx):
        log.append(change.target)
        if change.target == "t1":
            raise OSError(5, "Input/output error", "/dev/vdz")

    def ok_plan(name):
        return lambda config, root, ctx: [Change(name, "do", name, f"{name} change")]

    def ok_apply(change, root, ctx):
        log.append(change.target)

    def skip_apply(change, root, ctx):
        raise SkipStep("nothing to do here")

    return [
        Stage("a", ("boot",), 1, ok_plan("a"), ok_apply),
        Stage("b", ("boot",), 2, failing_plan, failing_apply),
        Stage("c", ("boot",), 3, ok_plan("c"), ok_apply),
        Stage("d", ("boot",), 4, ok_plan("d"), ok_apply, requires=("b",)),
        Stage("e", ("boot",), 5, ok_plan("e"), skip_apply),
        Stage("f", ("boot",), 6, lambda c, r, x: 1 / 0, ok_apply),
    ]


def test_a_failed_step_fails_its_stage_and_independent_stages_still_run(tmp_path: Path):
    log: list[str] = []
    rec = engine.run_phase(Root(tmp_path), {}, StageContext(phase="boot"), _scripted_stages(log))
    results = {s.name: s.result for s in rec.stages}
    assert results == {"a": "changed", "b": "failed", "c": "changed", "d": "skipped", "e": "skipped", "f": "failed"}
    assert log == ["a", "t1", "t2", "c"]
    b = next(s for s in rec.stages if s.name == "b")
    assert b.error == "step one: Input/output error: /dev/vdz"
    assert [s.result for s in b.steps] == ["failed", "changed"]
    f = next(s for s in rec.stages if s.name == "f")
    assert f.error == "ZeroDivisionError: division by zero"
    assert rec.failed and rec.counts()["failed"] == 2


def test_failure_policy_stop_stops_at_the_first_failure(tmp_path: Path):
    log: list[str] = []
    rec = engine.run_phase(Root(tmp_path), {}, StageContext(phase="boot"), _scripted_stages(log),
                           failure_policy="stop")
    assert [s.result for s in rec.stages] == ["changed", "failed", "skipped", "skipped", "skipped", "skipped"]
    assert "failure_policy: stop" in rec.stages[2].note


def test_stop_after_failed_step_skips_the_rest_of_the_stage(tmp_path: Path):
    log: list[str] = []
    stage = replace(_scripted_stages(log)[1], stop_after_failed_step=True)
    rec = engine.run_phase(Root(tmp_path), {}, StageContext(phase="boot"), [stage])
    assert [s.result for s in rec.stages[0].steps] == ["failed", "skipped"]
    assert log == ["t1"]


def test_scrubber_hides_secret_values_and_file_lines():
    config = {"rancherd": {"token": TOKEN}, "users": [{"name": "a", "passwd": "$6$salt$hash"}],
              "write_files": [{"path": "/k", "content": "-----BEGIN KEY-----\nAAAAB3NzaC1yc2EAAAADAQAB\nshort\n"}]}
    scrub = Scrubber(*secret_values(config))
    text = scrub(f"error: {TOKEN} and $6$salt$hash and AAAAB3NzaC1yc2EAAAADAQAB in /k/short")
    assert TOKEN not in text and "$6$salt$hash" not in text and "AAAAB3NzaC1yc2EAAAADAQAB" not in text
    assert text.endswith("in /k/short")  # short lines of a file are not secrets worth mangling messages


# -- the command line on a scratch root -----------------------------------------------------------
def test_typical_config_configures_the_root_then_converges(capsys, scratch_root: Path):
    code, out, err = run(capsys, scratch_root)
    assert code == 0, err
    assert re.match(r"ros-init boot: ok: \d+ changed, 0 failed, 2 skipped", out), out
    etc = scratch_root / "etc"
    assert (etc / "motd").read_text() == "Welcome to RancherOS v2 (node-1)\n"
    assert stat.S_IMODE((etc / "ssl/private/registry-key.pem").stat().st_mode) == 0o600
    assert KEY_LINE in (etc / "ssl/private/registry-key.pem").read_text()
    assert (etc / "hosts.allow").read_text().endswith("sshd: 10.0.0.0/8\n")
    rancherd = etc / "rancher/rancherd/config.yaml"
    assert stat.S_IMODE(rancherd.stat().st_mode) == 0o600
    assert yaml.safe_load(rancherd.read_text())["token"] == TOKEN
    assert not (etc / "modules-load.d").exists()  # an initramfs item
    assert "no /bin/sh" in err  # runcmd: skipped with a clear note, never run on this host
    # the other stages of the typical config: the user, its keys and sudo rule
    assert "rancher:x:1000:1000:Rancher admin:/home/rancher:/bin/bash" in (etc / "passwd").read_text()
    keys = (scratch_root / "home/rancher/.ssh/authorized_keys").read_text()
    assert "rancher@laptop" in keys and "ops@bastion" in keys
    assert (etc / "sudoers.d/90-ros-init-rancher").read_text().strip().endswith("ALL=(ALL) NOPASSWD:ALL")

    before = tree_snapshot(scratch_root / "etc")
    code, out, err = run(capsys, scratch_root)
    assert code == 0 and out.startswith("ros-init boot: ok: 0 changed, 0 failed, 2 skipped")
    assert tree_snapshot(scratch_root / "etc") == before

    code, out, _ = run(capsys, scratch_root, phase="initramfs")
    assert code == 0 and re.match(r"ros-init initramfs: ok: \d+ changed, 0 failed", out), out
    assert (etc / "modules-load.d/br_netfilter.conf").read_text() == "br_netfilter\n"
    assert (etc / "hostname").read_text() == "node-1\n"
    code, out, _ = run(capsys, scratch_root, phase="initramfs")
    assert out.startswith("ros-init initramfs: ok: 0 changed, 0 failed, 0 skipped")


def test_plan_prints_the_changes_and_makes_none(capsys, scratch_root: Path):
    before = tree_snapshot(scratch_root)
    code, out, _ = cli(capsys, "plan", "--phase", "boot", "--root", str(scratch_root), "--config", str(TYPICAL))
    assert code == 0
    assert tree_snapshot(scratch_root) == before
    assert re.fullmatch(r"ros-init plan --phase boot: \d+ changes", out.splitlines()[0])
    assert "  files: write /etc/motd (create: 0644 root:root, 33 bytes)" in out
    assert "  rancherd: write /etc/rancher/rancherd/config.yaml" in out
    assert "  commands: run runcmd[0]: echo (once per instance; will be skipped: " in out
    assert TOKEN not in out


def test_status_tells_what_happened(capsys, scratch_root: Path):
    code, out, _ = cli(capsys, "status", "--root", str(scratch_root))
    assert code == 2 and "never ran" in out
    run(capsys, scratch_root)
    code, out, _ = cli(capsys, "status", "--root", str(scratch_root))
    assert code == 0
    assert "phase boot: ok" in out and "rancherd" in out and "changed write /etc/motd" in out
    code, out, _ = cli(capsys, "status", "--root", str(scratch_root), "--format", "json")
    doc = json.loads(out)
    boot = doc["phases"]["boot"]
    assert doc["result"] == "ok"
    assert boot["counts"]["changed"] == sum(len(s["steps"]) for s in boot["stages"]) - boot["counts"]["skipped"]
    steps = {st["target"]: st for s in boot["stages"] for st in s["steps"]}
    assert steps["/etc/motd"]["result"] == "changed" and steps["/etc/motd"]["duration_ms"] >= 0
    assert steps["runcmd[0]"]["result"] == "skipped"
    persistent = json.loads((scratch_root / "var/lib/ros-init/status.json").read_text())
    assert persistent["phases"]["boot"]["stages"] == boot["stages"]
    (scratch_root / "run/ros-init/status.json").unlink()  # a new boot: /run is empty
    code, out, _ = cli(capsys, "status", "--root", str(scratch_root))
    assert code == 0 and "from /var/lib/ros-init/status.json" in out


def test_a_failed_file_fails_the_run_other_stages_run_and_status_says_why(capsys, scratch_root: Path, tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump({
        "write_files": [{"path": "/etc/hostname/inside-a-file", "content": "x"}, {"path": "/etc/ok", "content": "ok"}],
        "rancherd": {"role": "cluster-init", "token": TOKEN},
    }))
    code, out, err = run(capsys, scratch_root, config=config)
    assert code == 1
    assert re.match(r"ros-init boot: FAILED: \d+ changed, 1 failed", out), out
    assert (scratch_root / "etc/ok").read_text() == "ok"
    assert (scratch_root / "etc/rancher/rancherd/config.yaml").exists()
    assert "/etc/hostname is not a folder" in err
    code, out, _ = cli(capsys, "status", "--root", str(scratch_root))
    assert code == 1 and "FAILED write /etc/hostname/inside-a-file" in out and "is not a folder" in out


def test_failure_policy_stop_from_the_image_settings(capsys, scratch_root: Path, tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump({"write_files": [{"path": "/etc/hostname/x", "content": "x"}],
                                      "rancherd": {"role": "cluster-init", "token": TOKEN}}))
    settings = tmp_path / "settings.yaml"
    settings.write_text("failure_policy: stop\n")
    code, out, err = run(capsys, scratch_root, "--settings", str(settings), config=config)
    assert code == 1 and not (scratch_root / "etc/rancher").exists()
    assert "rancherd: skipped, not run: an earlier stage failed (failure_policy: stop)" in err


def test_config_errors_stop_the_run_with_a_located_message(capsys, scratch_root: Path, tmp_path):
    config = tmp_path / "broken.yaml"
    config.write_text("write_files:\n  - path: /etc/x\n    content: [unclosed\n")
    before = tree_snapshot(scratch_root)
    code, out, err = run(capsys, scratch_root, config=config)
    assert code == 1 and out == ""
    assert f"{config}:" in err and "error" in err and "nothing was changed" in err
    # Nothing changed but ros-init's own record of why (ros-init status reads it).
    def own(tree):
        return {p: v for p, v in tree.items() if not p.startswith(("run/ros-init", "var/lib/ros-init"))}

    assert own(tree_snapshot(scratch_root)) == own(before)
    config.write_text("- just\n- a list\n")
    code, _, err = run(capsys, scratch_root, config=config)
    assert code == 1 and "a config must be a mapping" in err


def test_image_defaults_are_merged_below_the_config(capsys, scratch_root: Path, tmp_path):
    (scratch_root / "etc/ros-init/defaults.yaml").write_text(yaml.safe_dump(
        {"write_files": [{"path": "/etc/from-image", "content": "image"}], "rancherd": {"role": "agent"}}))
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"rancherd": {"role": "cluster-init", "token": TOKEN}}))
    code, _, _ = run(capsys, scratch_root, config=config)
    assert code == 0
    assert (scratch_root / "etc/from-image").read_text() == "image"
    assert yaml.safe_load((scratch_root / "etc/rancher/rancherd/config.yaml").read_text())["role"] == "cluster-init"


def test_no_secret_in_console_log_or_status(capsys, scratch_root: Path, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({
        "write_files": [{"path": "/etc/hostname/x", "content": f"token={TOKEN}\n"}],  # fails: motd is a file
        "rancherd": {"role": "server", "server": "https://10.0.0.1:8443", "token": TOKEN},
    }))
    outputs = []
    for argv in (("plan",), ("run",), ("run", "--format", "json")):
        code, out, err = cli(capsys, *argv, "--phase", "boot", "--root", str(scratch_root), "--config", str(config))
        outputs += [out, err]
    for path in ("run/ros-init/status.json", "var/lib/ros-init/status.json"):
        outputs.append((scratch_root / path).read_text())
    assert all(TOKEN not in text for text in outputs)


def test_journald_priority_prefixes(capsys, scratch_root: Path, monkeypatch):
    monkeypatch.setenv("JOURNAL_STREAM", "8:12345")
    _, _, err = run(capsys, scratch_root)
    lines = [line for line in err.splitlines() if "ros-init[boot]" in line]
    assert lines and all(line.startswith(("<6>", "<4>", "<3>")) for line in lines)
    assert any(line.startswith("<6>ros-init[boot] files: write /etc/motd") for line in lines)


def test_crash_midway_then_rerun_completes(capsys, scratch_root: Path, monkeypatch):
    from ros_init.stages import files

    real_apply = files.apply
    calls = {"n": 0}

    def crashing_apply(change, root, ctx):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # the process dies in the middle of the files stage
        return real_apply(change, root, ctx)

    monkeypatch.setattr(files, "apply", crashing_apply)
    assert main(["run", "--phase", "boot", "--root", str(scratch_root), "--config", str(TYPICAL)]) == 130
    capsys.readouterr()
    monkeypatch.setattr(files, "apply", real_apply)
    code, out, _ = run(capsys, scratch_root)
    assert code == 0
    rerun = json.loads((scratch_root / "run/ros-init/status.json").read_text())["phases"]["boot"]
    files_steps = next(s for s in rerun["stages"] if s["name"] == "files")["steps"]
    assert len(files_steps) == 2  # the 2 files written before the crash are not redone
    code, out, _ = run(capsys, scratch_root)
    assert "0 changed" in out


def test_cold_process_run_with_a_real_chroot(scratch_root: Path):
    if os.geteuid() != 0:
        pytest.skip("needs root (chroot)")
    from engine.roots import add_busybox

    add_busybox(scratch_root)
    argv = [sys.executable, "-m", "ros_init", "run", "--phase", "boot", "--root", str(scratch_root),
            "--config", str(TYPICAL)]
    first = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert re.search(r"ok: \d+ changed, 0 failed, 0 skipped", first.stdout), first.stdout
    assert (scratch_root / "var/log/first-boot.log").read_text() == "first boot done\n"
    assert "commands: runcmd[1] | sh: systemctl: not found" in first.stderr  # output goes to the log
    second = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert "0 changed, 0 failed, 0 skipped" in second.stdout
    status = subprocess.run([sys.executable, "-m", "ros_init", "status", "--root", str(scratch_root)],
                            capture_output=True, text=True, timeout=60)
    assert status.returncode == 0 and "phase boot: ok" in status.stdout


def test_instance_of_config_files_is_recorded_and_kept_when_the_config_changes(capsys, scratch_root: Path, tmp_path):
    """Regression (issue 10): the instance was a hash of the config, so an edited config was
    a new instance and every runcmd ran again. Now the recorded instance is kept and only a
    command added to the config runs."""
    def instance() -> str:
        code, out, err = run(capsys, scratch_root, "--format", "json", config=config)
        assert code == 0, err
        return json.loads(out)["instance_id"]

    need_root()
    add_busybox(scratch_root)  # commands run in a chroot
    config = tmp_path / "c.yaml"
    log = "/ran.log"
    config.write_text(f"runcmd: [echo one >> {log}]\n")
    defaults = scratch_root / "etc/ros-init/defaults.yaml"
    defaults.write_text("write_files: [{path: /etc/a, content: a}]\n")
    first = instance()
    assert first.startswith("iid-local-")
    assert json.loads((scratch_root / "var/lib/ros-init/instance.json").read_text())["instance_id"] == first
    defaults.write_text("write_files: [{path: /etc/a, content: changed by an image update}]\n")
    assert instance() == first
    config.write_text(f"runcmd: [echo one >> {log}, echo two >> {log}]\n")
    assert instance() == first
    done = scratch_root / "var/lib/ros-init/instances" / first / "done"
    assert len(list(done.iterdir())) == 2  # one guard per command
    assert (scratch_root / "ran.log").read_text() == "one\ntwo\n"  # "one" was not run again
    code, out, _ = run(capsys, scratch_root, config=config)
    assert code == 0 and "0 changed" in out


def test_without_config_the_datasources_give_it_and_the_instance_is_recorded(capsys, scratch_root: Path, tmp_path):
    (scratch_root / "oem").mkdir()
    (scratch_root / "oem/10.yaml").write_text("#cloud-config\nwrite_files:\n- path: /etc/from-oem\n  content: hi\n")
    (scratch_root / "etc/machine-id").write_text("0123456789abcdef0123456789abcdef\n")
    (scratch_root / "etc/ros-init/ros-init.yaml").write_text("datasources: [file]\n")  # local only: no network
    cmdline = tmp_path / "cmdline"
    cmdline.write_text("console=ttyS0\n")
    argv = ("run", "--phase", "boot", "--root", str(scratch_root), "--cmdline", str(cmdline))
    code, out, err = cli(capsys, *argv)
    assert code == 0, err
    assert (scratch_root / "etc/from-oem").read_text() == "hi"
    assert "datasource file: found" in err
    recorded = json.loads((scratch_root / "var/lib/ros-init/instance.json").read_text())
    assert recorded["instance_id"].startswith("iid-local-")  # recorded once, kept: never from /etc
    code, out, _ = cli(capsys, *argv)
    assert code == 0 and "0 changed" in out


def test_a_phase_imports_only_its_own_stages():
    code = ("import json, sys; from ros_init.engine.stages import load_stages; s, b = load_stages('boot');"
            "print(json.dumps([m.split('.')[-1] for m in sys.modules if m.startswith('ros_init.stages.')]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    imported = set(json.loads(out.stdout))
    from ros_init.stages import STAGES

    assert {"files", "rancherd", "commands"} <= imported
    assert imported == {s.name for s in STAGES if "boot" in s.phases}
    assert "disks" not in imported  # an initramfs-only stage


def test_a_stage_failed_in_the_initramfs_blocks_its_dependents_at_boot(capsys, scratch_root: Path, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"write_files": [{"path": "/etc/hostname/x", "content": "x", "phase": "initramfs"}],
                                      "runcmd": ["echo hi"]}))
    code, _, _ = run(capsys, scratch_root, phase="initramfs", config=config)
    assert code == 1
    code, out, err = run(capsys, scratch_root, config=config)
    assert "commands: skipped, not run: depends on files, which failed" in err
    doc = json.loads((scratch_root / "run/ros-init/status.json").read_text())
    assert doc["result"] == "failed" and doc["phases"]["boot"]["boot_id"]


def test_in_the_initramfs_the_run_status_goes_to_the_initramfs_run(tmp_path, monkeypatch):
    real_exists = os.path.exists
    monkeypatch.setattr(engine.os.path, "exists", lambda p: p == "/etc/initrd-release" or real_exists(p))
    assert engine.run_status_root(Root(tmp_path)).is_host
    assert engine.run_status_root(Root("/")).is_host
    monkeypatch.setattr(engine.os.path, "exists", lambda p: p != "/etc/initrd-release" and real_exists(p))
    assert engine.run_status_root(Root(tmp_path)).path == str(tmp_path)


def test_command_output_that_echoes_a_secret_is_scrubbed_in_the_log(scratch_root: Path, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root (chroot)")
    from engine.roots import add_busybox

    add_busybox(scratch_root)
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"rancherd": {"role": "cluster-init", "token": TOKEN},
                                      "runcmd": [f"echo joining with {TOKEN}", "cat /etc/rancher/rancherd/config.yaml"]}))
    argv = [sys.executable, "-m", "ros_init", "run", "--phase", "boot", "--root", str(scratch_root), "--config",
            str(config)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "runcmd[0] | joining with <redacted>" in proc.stderr
    assert "runcmd[1] | token: <redacted>" in proc.stderr
    assert TOKEN not in proc.stdout + proc.stderr
    assert TOKEN not in (scratch_root / "run/ros-init/status.json").read_text()


def test_a_broken_config_changes_nothing_and_status_says_why(capsys, scratch_root: Path, tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("#cloud-config\nhostname: node-1\nusers:\n  - name: alice\n    lock_pasword: false\n")
    before = tree_snapshot(scratch_root)
    code, out, err = run(capsys, scratch_root, config=bad)
    assert code == 1
    assert f"{bad}:5:5: error: users[0].lock_pasword: unknown key" in err
    after = {p: v for p, v in tree_snapshot(scratch_root).items() if "ros-init" not in p}
    assert after == {p: v for p, v in before.items() if "ros-init" not in p}
    code, out, err = cli(capsys, "status", "--root", str(scratch_root), "--format", "json")
    assert code == 1
    doc = json.loads(out)
    [stage] = doc["phases"]["boot"]["stages"]
    assert stage["name"] == "config" and stage["result"] == "failed"
    assert "lock_pasword" in stage["error"] and ":5:5:" in stage["error"]


def test_plan_marks_destructive_changes():
    from ros_init.state.status import PhaseRecord, StageRecord, StepRecord

    rec = PhaseRecord("initramfs", "/", None, 0.0, dry_run=True)
    rec.stages.append(StageRecord("disks", "ok", steps=[
        StepRecord("format", "/dev/vdb1", "format /dev/vdb1 as ext4 label data (holds: xfs label old)", "planned",
                   destructive=True),
        StepRecord("write-mount-unit", "/etc/systemd/system/data.mount", "write data.mount", "planned")]))
    text = cli_run.render_plan(rec)
    assert "2 changes, 1 DESTRUCTIVE" in text
    assert "! disks: format /dev/vdb1" in text and "  disks: write data.mount" in text


def test_every_stage_module_is_registered_and_every_entry_loads():
    import importlib

    import ros_init.stages as package
    from ros_init.stages import BY_NAME, STAGES

    assert {p.stem for p in Path(package.__path__[0]).glob("[!_]*.py")} == set(BY_NAME)
    for entry in STAGES:
        mod = importlib.import_module(entry.module)
        assert entry.name == mod.NAME and callable(mod.plan) and callable(mod.apply)
        assert set(entry.phases) <= {"initramfs", "boot"} and set(entry.requires) <= set(BY_NAME)


def test_status_text_of_a_broken_config_names_each_finding_once(capsys, scratch_root: Path, tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("#cloud-config\nusers:\n  - name: alice\n    lock_pasword: false\n")
    assert run(capsys, scratch_root, config=bad)[0] == 1
    code, out, _ = cli(capsys, "status", "--root", str(scratch_root))
    assert code == 1
    [failed] = [line for line in out.splitlines() if "FAILED" in line]
    assert failed.strip().startswith(f"FAILED {bad}:4:5: error: users[0].lock_pasword: unknown key")
    assert not failed.endswith(": None")


def test_the_network_phase_says_a_config_error_once(tmp_path, capsys):
    """``--phase network`` runs both phases' stages; a bad config fails both passes, and the
    person reading the console is told once."""
    root = make_os_skeleton(tmp_path / "root")
    bad = tmp_path / "bad.yaml"
    bad.write_text('#cloud-config\nhostname: "bad host"\n')
    assert main(["plan", "--phase", "network", "--root", str(root), "--config", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.count("bad.yaml:2:11: error: hostname") == 1, err
    assert err.count("the config has errors; nothing was changed") == 1, err
