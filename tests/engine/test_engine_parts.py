"""Once guards, owner lookup in the target root, the status record, the demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ros_init.accounts import lookup as accounts
from ros_init.cli.demo import make_os_skeleton
from ros_init.core.model import ConfigDocument, Layer
from ros_init.core.root import Root
from ros_init.engine import inputs as engine_inputs
from ros_init.engine import run as engine
from ros_init.engine.stages import PHASES
from ros_init.state import once, status


# -- once -------------------------------------------------------------------------------------
def test_config_identity_is_stable_and_follows_the_config():
    a = once.config_instance_id({"runcmd": ["x"], "hostname": "a"})
    assert a == once.config_instance_id({"hostname": "a", "runcmd": ["x"]})
    assert a != once.config_instance_id({"hostname": "b", "runcmd": ["x"]})
    assert a.startswith("config-")


@given(st.text(min_size=1, max_size=200))
def test_property_safe_names_are_single_harmless_components(text):
    name = once.safe_name(text)
    assert "/" not in name and "\0" not in name and name not in (".", "..") and not name.startswith(".")
    assert 0 < len(name) <= 100
    assert once.safe_name(text) == name


def test_a_marker_is_written_only_by_mark_done(tmp_path: Path):
    root = Root(tmp_path)
    marker = once.instance_marker("/var/lib/ros-init", "i-../../etc", "runcmd-abc-1")
    assert ".." not in marker.path.split("/") and marker.path.count("/") == 7
    assert not once.is_done(root, marker)
    once.mark_done(root, marker, "runcmd[0] exit 0")
    assert once.is_done(root, marker)
    assert (tmp_path / "var").stat().st_mode & 0o777 == 0o755  # ancestors of the state dir
    assert (tmp_path / "var/lib/ros-init/instances").stat().st_mode & 0o777 == 0o700
    assert oct((tmp_path / marker.path.lstrip("/")).stat().st_mode & 0o777) == oct(0o600)


# -- accounts -------------------------------------------------------------------------------
def test_owners_come_from_the_target_root(tmp_path: Path):
    base = make_os_skeleton(tmp_path / "r")
    with open(base / "etc/passwd", "a") as fh:
        fh.write("rancher:x:1000:1000::/home/rancher:/bin/bash\n")
    with open(base / "etc/group", "a") as fh:
        fh.write("rancher:x:1000:\n")
    root = Root(base)
    assert accounts.resolve_owner(root, "rancher:rancher") == accounts.Owner(1000, 1000)
    assert accounts.resolve_owner(root, "rancher") == accounts.Owner(1000, 0)
    assert accounts.resolve_owner(root, "sshd:nogroup") == accounts.Owner(101, 65534)
    assert accounts.resolve_owner(root, "42:43") == accounts.Owner(42, 43)
    assert accounts.resolve_owner(Root(tmp_path), "root:root") == accounts.Owner(0, 0)  # bare tree
    with pytest.raises(accounts.OwnerError, match="no user 'ghost'"):
        accounts.resolve_owner(root, "ghost")
    with pytest.raises(accounts.OwnerError, match="no group 'nope'"):
        accounts.resolve_owner(root, "rancher:nope")
    with pytest.raises(accounts.OwnerError):
        accounts.resolve_owner(root, "rancher:")


# -- status ---------------------------------------------------------------------------------
def _rec(phase: str, result: str) -> status.PhaseRecord:
    step = status.StepRecord("write-file", "/etc/x", "write /etc/x", result, 1.5, error="boom" if result == "failed" else None)
    return status.PhaseRecord(phase, "/r", "i-1", 0.0, 2.0, stages=[status.StageRecord("files", result, 2.0, [step])])


def test_phases_accumulate_and_the_worst_wins():
    doc = status.merge_phase(None, _rec("initramfs", "changed"))
    assert doc["result"] == "ok" and list(doc["phases"]) == ["initramfs"]
    doc = status.merge_phase(doc, _rec("boot", "failed"))
    assert doc["result"] == "failed" and list(doc["phases"]) == ["initramfs", "boot"]
    assert doc["phases"]["boot"]["counts"] == {"changed": 0, "skipped": 0, "failed": 1, "planned": 0}
    doc = status.merge_phase(doc, _rec("boot", "changed"))
    assert doc["result"] == "ok"
    assert status.merge_phase({"version": 99, "phases": {"x": {}}}, _rec("boot", "changed"))["phases"].keys() == {"boot"}


def test_record_writes_both_copies_and_a_broken_file_is_never_ran(tmp_path: Path):
    root = Root(tmp_path)
    assert status.record(root, _rec("boot", "failed"), "/var/lib/ros-init") == []
    for rel in ("run/ros-init/status.json", "var/lib/ros-init/status.json"):
        assert json.loads((tmp_path / rel).read_text())["result"] == "failed"
    (tmp_path / "run/ros-init/status.json").write_text("{not json")
    (tmp_path / "var/lib/ros-init/status.json").write_text("[]")
    assert status.load(root, "/var/lib/ros-init") == (None, None)


def test_summary_line():
    rec = _rec("boot", "changed")
    assert status.summary_line(rec) == "ros-init boot: ok: 1 changed, 0 failed, 0 skipped (1 stages, 2 ms)"
    rec.stages[0].steps[0].result = "planned"
    rec.dry_run = True
    assert status.summary_line(rec).startswith("ros-init boot: ok: 1 planned")


# -- demo -----------------------------------------------------------------------------------
def test_demo_configures_a_scratch_root_never_runs_commands_and_converges(tmp_path: Path):
    flag = Path("/tmp") / f"ros-init-demo-flag-{uuid.uuid4().hex}"
    config = tmp_path / "demo.yaml"
    config.write_text(f"#cloud-config\nwrite_files:\n  - path: /etc/motd\n    content: hi\n"
                      f"rancherd:\n  role: cluster-init\n  token: demo-token-123456\n"
                      f"runcmd:\n  - touch {flag}\n  - [touch, {flag}]\nbootcmd:\n  - touch {flag}\n")
    argv = [sys.executable, "-m", "ros_init", "demo", "--root", str(tmp_path / "demo"), "--config", str(config)]
    first = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert not flag.exists()
    assert "ros-init boot: ok: 2 changed, 0 failed, 3 skipped" in first.stdout
    assert "config commands are never run" in first.stdout
    assert "$ ros-init status" in first.stdout and "token: <redacted>" in first.stdout
    assert "demo-token-123456" not in first.stdout + first.stderr
    assert (tmp_path / "demo/etc/motd").read_text() == "hi"
    second = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert "ros-init boot: ok: 0 changed, 0 failed, 3 skipped" in second.stdout
    assert not flag.exists()


def test_demo_runs_as_a_normal_user():
    if os.geteuid() != 0:
        pytest.skip("needs root to switch to another user")
    from facilities import need_tools

    need_tools("setpriv")
    with tempfile.TemporaryDirectory(prefix="ros-init-demo-user-") as tmp:
        os.chmod(tmp, 0o777)
        _demo_as_nobody(Path(tmp))


def _demo_as_nobody(tmp_path: Path) -> None:
    probe = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c",
                            "import ros_init"], capture_output=True, timeout=60)
    if probe.returncode != 0:
        pytest.skip("the test environment is not readable by nobody")
    demo = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m",
                           "ros_init", "demo", "--root", str(tmp_path / "demo")],
                          capture_output=True, text=True, timeout=120)
    assert demo.returncode == 0, demo.stderr
    assert "not root: file ownership is left as is" in demo.stdout
    assert "owner not set: not running as root" in demo.stdout
    assert (tmp_path / "demo/etc/rancher/rancherd/config.yaml").stat().st_uid == 65534


# -- engine-level idempotence -------------------------------------------------------------------
_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
_configs = st.fixed_dictionaries({}, optional={
    "write_files": st.lists(st.fixed_dictionaries(
        {"path": st.sampled_from(["/etc/a", "/etc/b.conf", "/opt/x/y", "/etc/ssh/sshd_config"]), "content": _text},
        optional={"permissions": st.sampled_from(["0600", "0644", "0755"]), "append": st.booleans(),
                  "phase": st.sampled_from(["boot", "initramfs"])}), max_size=4),
    "rancherd": st.fixed_dictionaries({"role": st.just("cluster-init")}, optional={
        "token": _text, "tlsSans": st.lists(st.sampled_from(["a.example", "10.0.0.1"]), max_size=2),
        "extraConfig": st.dictionaries(st.sampled_from(["k1", "k2"]), _text, max_size=2)}),
})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_configs)
def test_property_engine_plan_after_run_is_empty(tmp_path_factory, config):
    root = Root(make_os_skeleton(tmp_path_factory.mktemp("eng")))
    settings_ = {"state_dir": "/var/lib/ros-init", "failure_policy": "continue"}
    inputs = engine_inputs.Inputs(documents=[ConfigDocument("prop", Layer.USER, config)])
    for phase in PHASES:
        out = engine.execute(root, settings_, inputs, phase, record_status=False)
        assume(out.record is not None)  # the schema may reject a generated value (an empty token)
        assert not out.record.failed, [s.error for s in out.record.stages]
        again = engine.execute(root, settings_, inputs, phase, dry_run=True)
        assert [st.summary for s in again.record.stages for st in s.steps] == []


# -- engine-level confinement -------------------------------------------------------------------
_LINK_AT = ["etc", "etc/rancher", "etc/rancher/rancherd", "etc/ssl", "etc/sysctl.d", "home", "home/rancher",
            "home/rancher/.ssh", "run", "run/ros-init", "var", "var/lib/ros-init", "etc/sudoers.d",
            "etc/ssh/sshd_config.d", "etc/systemd", "etc/motd", "etc/hostname", "etc/passwd"]
_LINK_TO = ["OUTSIDE", "../../../../../../OUTSIDE-REL", "/", "..", "../..", "/etc/../../..", "OUTSIDE/file"]


@settings(max_examples=int(os.environ.get('ROS_INIT_CONFINE_EXAMPLES', '8')), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(_LINK_AT), st.sampled_from(_LINK_TO)), min_size=1, max_size=4,
                unique_by=lambda t: t[0]))
def test_property_no_stage_writes_outside_the_root_through_planted_symlinks(tmp_path_factory, links):
    import shutil as _shutil

    from engine.roots import TYPICAL

    base = tmp_path_factory.mktemp("confine")
    outside = base / "outside"
    outside.mkdir()
    (outside / "file").write_text("keep")
    root_dir = make_os_skeleton(base / "root")
    for rel, target in links:
        parts = rel.split("/")
        if any(os.path.islink(root_dir.joinpath(*parts[:i])) for i in range(1, len(parts))):
            continue  # under a link planted already: planting would itself write outside
        where = root_dir / rel
        if where.is_symlink() or where.is_file():
            where.unlink()
        elif where.is_dir():
            _shutil.rmtree(where)
        where.parent.mkdir(parents=True, exist_ok=True)
        link = target.replace("OUTSIDE-REL", str(outside).lstrip("/")).replace("OUTSIDE", str(outside))
        os.symlink(link, where)
    before = sorted((p.relative_to(base), p.read_bytes() if p.is_file() else None) for p in outside.rglob("*"))
    siblings = sorted(os.listdir(base))
    root = Root(root_dir)
    settings_ = {"state_dir": "/var/lib/ros-init", "failure_policy": "continue"}
    inputs = engine_inputs.gather_inputs(root, settings_, [str(TYPICAL)])
    for phase in PHASES:
        engine.execute(root, settings_, inputs, phase, run_commands=False)
    after = sorted((p.relative_to(base), p.read_bytes() if p.is_file() else None) for p in outside.rglob("*"))
    assert after == before
    assert sorted(os.listdir(base)) == siblings
