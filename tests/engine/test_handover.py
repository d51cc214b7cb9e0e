"""One probe per boot: the initramfs phase's datasource results handed to the later phases.

Through the CLI on scratch roots, as a boot runs the phases: a NoCloud seed folder read by the
initramfs phase is not read again by the boot phase (the seed is removed in between and the
config still applies); a record of another boot, or one already taken, means probing again;
the network phase adds only the network sources (a real HTTP server on 127.0.0.1) and runs the
stages of both phases in one process.
"""

from __future__ import annotations

import json
import pickle
import shutil
import stat
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ros_init.cli import main
from ros_init.cli.demo import make_os_skeleton
from ros_init.core.findings import Location
from ros_init.core.model import ConfigDocument, Documents, Layer, Script
from ros_init.core.root import Root
from ros_init.sources.probe import Probed, ProbeOutcome
from ros_init.state import handover, once

SECRET = "handover-secret-not-for-logs"
USER_DATA = f"#cloud-config\nwrite_files:\n- path: /etc/from-seed\n  content: seeded\nrancherd: {{token: {SECRET}}}\n"


@pytest.fixture
def node(tmp_path: Path) -> dict:
    root = make_os_skeleton(tmp_path / "root")
    seed = root / "seed"
    seed.mkdir()
    (seed / "meta-data").write_text("instance-id: iid-handover\n")
    (seed / "user-data").write_text(USER_DATA)
    (root / "etc/ros-init/ros-init.yaml").write_text(
        "datasources: [cmdline, cdrom, http]\ncdrom: {seed_dirs: [/seed], labels: []}\n")
    cmdline = tmp_path / "cmdline"
    cmdline.write_text("console=ttyS0\n")
    return {"root": root, "seed": seed, "cmdline": cmdline}


def run(capsys, node: dict, phase: str) -> tuple[int, str, str]:
    code = main(["run", "--phase", phase, "--root", str(node["root"]), "--cmdline", str(node["cmdline"])])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_boot_phase_takes_the_initramfs_phases_probe(capsys, node):
    code, _, err = run(capsys, node, "initramfs")
    assert code == 0, err
    folder = node["root"] / "run/ros-init/handover"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "probed").stat().st_mode) == 0o600
    assert stat.S_IMODE((node["root"] / "run/ros-init").stat().st_mode) == 0o700  # private, as all state (issue 11)
    shutil.rmtree(node["seed"])  # the seed is gone: only the handover can give the config now
    code, _, err = run(capsys, node, "boot")
    assert code == 0, err
    assert (node["root"] / "etc/from-seed").read_text() == "seeded"
    assert "datasource cdrom: found" in err and "handed over by the initramfs phase" in err
    assert "iid-handover" in json.loads((node["root"] / "var/lib/ros-init/instance.json").read_text())["instance_id"]
    assert SECRET not in err


def test_a_record_is_taken_once_then_the_phase_probes_again(capsys, node):
    run(capsys, node, "initramfs")
    run(capsys, node, "boot")
    shutil.rmtree(node["seed"])
    code, _, err = run(capsys, node, "boot")  # by hand, again: the seed is read anew (and is gone)
    assert "handed over" not in err
    assert "probing the datasources (handover record of the boot phase, not for this one)" in err


def test_a_record_of_another_boot_is_stale(capsys, node, monkeypatch):
    run(capsys, node, "initramfs")
    (node["seed"] / "user-data").write_text("#cloud-config\nwrite_files:\n- path: /etc/from-seed\n  content: new\n")
    monkeypatch.setattr(once, "boot_id", lambda: "another-boot")
    code, _, err = run(capsys, node, "boot")
    assert code == 0, err
    assert "probing the datasources (handover record of another boot)" in err
    assert (node["root"] / "etc/from-seed").read_text() == "new"


def test_a_record_not_roots_own_is_ignored(capsys, node):
    run(capsys, node, "initramfs")
    (node["root"] / "run/ros-init/handover/probed").chmod(0o644)
    _, _, err = run(capsys, node, "boot")
    assert "handover record not root's own: ignored" in err


@pytest.fixture
def config_server():
    body = b"#cloud-config\nwrite_files:\n- path: /etc/from-url\n  content: from the URL\n"
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], hits
    finally:
        server.shutdown()
        server.server_close()


def test_the_network_phase_adds_only_the_network_sources_and_runs_both_phases(capsys, node, config_server):
    port, hits = config_server
    run(capsys, node, "initramfs")
    run(capsys, node, "boot")
    shutil.rmtree(node["seed"])  # the local part must come from the handover
    node["cmdline"].write_text(f"console=ttyS0 ros.config_url=http://127.0.0.1:{port}/c.yaml\n")
    code, out, err = run(capsys, node, "network")
    assert code == 0, err
    assert hits == ["/c.yaml"]
    assert (node["root"] / "etc/from-url").read_text() == "from the URL"
    assert (node["root"] / "etc/from-seed").read_text() == "seeded"
    # named by the phase that probed, once (not "handed over by the boot phase: handed over by ...")
    assert "datasource cdrom: found" in err and "handed over by the initramfs phase" in err
    assert "phase: handed over by" not in err, err
    assert [line.split(":")[0] for line in out.splitlines()] == ["ros-init initramfs", "ros-init boot"], out
    doc = json.loads((node["root"] / "run/ros-init/status.json").read_text())
    assert {"initramfs", "boot"} <= set(doc["phases"])


# -- the record's format -------------------------------------------------------------------
yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
    | st.binary(max_size=8) | st.dates() | st.datetimes(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5) | st.integers(), inner, max_size=3),
    max_leaves=10)


@settings(max_examples=60, deadline=None)
@given(data=st.dictionaries(st.text(min_size=1, max_size=8), yaml_values, max_size=4))
def test_every_yaml_value_survives_the_record(data):
    docs = Documents("nocloud seed", "iid", [ConfigDocument("u", Layer.USER, data, {"a": Location("u", 1, 2)})],
                     [Script("s", "part-001", b"#!/bin/sh\n")], raw={"user-data": b"secret raw"})
    rec = handover.Handover("boot-1", ["cdrom"], [Probed(ProbeOutcome("cdrom", "found", 0.1), docs, 0, True)],
                            "initramfs")
    back = handover.loads(handover.dumps(rec))
    assert back is not None
    assert back.probed[0].documents.configs == docs.configs
    assert back.probed[0].documents.scripts == docs.scripts
    assert back.probed[0].documents.raw == {}  # raw bytes are for `ros-init fetch` only


def test_a_record_naming_another_class_is_refused():
    class Evil:
        def __reduce__(self):
            return (shutil.rmtree, ("/nonexistent-handover-test",))

    assert handover.loads(pickle.dumps(Evil())) is None
    assert handover.loads(b"garbage") is None
    rec = handover.Handover("b", [], [], "initramfs", format=handover.FORMAT + 1)
    assert handover.loads(pickle.dumps(rec)) is None


def test_load_and_save_on_a_root(tmp_path):
    root = Root(tmp_path)
    assert handover.load(root, "b1") == (None, "no handover record")
    assert handover.save(root, handover.Handover("b1", ["file"], [], "initramfs")) is None
    rec, why = handover.load(root, "b1")
    assert rec is not None and rec.names == ["file"] and why == ""
    assert handover.load(root, "b2") == (None, "handover record of another boot")


def test_enum_members_pickled_by_getattr_load_and_nothing_else_does():
    """Python 3.11 pickles an enum member as getattr(Layer, "USER"): only that form is honoured."""
    import io

    class _ByGetattr:
        def __reduce__(self):
            return (getattr, (Layer, "USER"))

    class _Escape:
        def __reduce__(self):
            return (getattr, (Layer, "__init__"))

    assert handover._Unpickler(io.BytesIO(pickle.dumps(_ByGetattr()))).load() is Layer.USER
    with pytest.raises(pickle.UnpicklingError):
        handover._Unpickler(io.BytesIO(pickle.dumps(_Escape()))).load()


@settings(max_examples=50, deadline=None)
@given(data=st.binary(max_size=200))
def test_the_start_up_friendly_sha256_is_sha256(data):
    import hashlib

    assert once.sha256_hex(data) == hashlib.sha256(data).hexdigest()
