"""The rancherd stage: the rancherd: section in, /etc/rancher/rancherd/config.yaml out (0600)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import yaml
from ros_init.stages import rancherd

from ros_init.cli.demo import make_os_skeleton
from ros_init.core.model import StageContext
from ros_init.core.root import Root

CTX = StageContext(phase="boot")
TOKEN = "K10-very-secret-token::server:abcdef"
SECTION = {
    "role": "server",
    "server": "https://10.0.0.10:8443",
    "token": TOKEN,
    "kubernetesVersion": "v1.27.4+rke2r1",
    "tlsSans": ["node-2.example.com"],
    "extraConfig": {"disable": ["rke2-ingress-nginx"], "node-label": ["a=b"]},
    "discovery": {"params": {"provider": "aws", "tag_key": "cluster"}, "expectedServers": 3},
}


@pytest.fixture
def root(tmp_path: Path) -> Root:
    return Root(make_os_skeleton(tmp_path / "root"))


def converge(config: dict, root: Root) -> list:
    changes = rancherd.plan(rancherd.parse(config), root, CTX)
    for change in changes:
        rancherd.apply(change, root, CTX)
    return changes


def test_writes_the_section_as_given_keys_in_order(root: Root):
    converge({"rancherd": SECTION}, root)
    text = Path(root.resolve(rancherd.CONFIG_PATH)).read_text()
    assert yaml.safe_load(text) == SECTION
    assert [line.split(":")[0] for line in text.splitlines() if not line.startswith((" ", "-"))] == list(SECTION)


def test_file_is_0600_root_owned_in_a_0755_folder(root: Root):
    converge({"rancherd": SECTION}, root)
    st = os.stat(root.resolve(rancherd.CONFIG_PATH))
    assert stat.S_IMODE(st.st_mode) == 0o600
    if os.geteuid() == 0:
        assert (st.st_uid, st.st_gid) == (0, 0)
    assert stat.S_IMODE(os.stat(root.resolve("/etc/rancher/rancherd")).st_mode) == 0o755


def test_second_run_changes_nothing_and_drift_is_repaired(root: Root):
    assert len(converge({"rancherd": SECTION}, root)) == 1
    assert rancherd.plan(rancherd.parse({"rancherd": SECTION}), root, CTX) == []
    os.chmod(root.resolve(rancherd.CONFIG_PATH), 0o644)
    changes = converge({"rancherd": SECTION}, root)
    assert "mode 0644 -> 0600" in changes[0].summary
    assert stat.S_IMODE(os.stat(root.resolve(rancherd.CONFIG_PATH)).st_mode) == 0o600
    changed = dict(SECTION, kubernetesVersion="v1.28.2+rke2r1")
    assert "update content" in converge({"rancherd": changed}, root)[0].summary
    assert yaml.safe_load(Path(root.resolve(rancherd.CONFIG_PATH)).read_text())["kubernetesVersion"] == "v1.28.2+rke2r1"


def test_summary_names_keys_never_values(root: Root):
    (change,) = rancherd.plan(rancherd.parse({"rancherd": SECTION}), root, CTX)
    assert TOKEN not in change.summary and "10.0.0.10" not in change.summary
    assert "token" in change.summary and "role server" in change.summary
    assert TOKEN not in repr(change)


def test_no_section_writes_nothing_and_keeps_an_image_file(root: Root):
    root.write_file(rancherd.CONFIG_PATH, b"role: agent\n", mode=0o600)
    assert rancherd.plan(rancherd.parse({}), root, CTX) == []
    assert rancherd.plan(rancherd.parse({"rancherd": {}}), root, CTX) == []
    assert Path(root.resolve(rancherd.CONFIG_PATH)).read_text() == "role: agent\n"


def test_a_symlink_planted_at_the_config_path_is_replaced(root: Root, tmp_path: Path):
    outside = tmp_path / "stolen"
    outside.write_text("")
    os.makedirs(root.resolve("/etc/rancher/rancherd"))
    os.symlink(str(outside), root.resolve(rancherd.CONFIG_PATH))
    converge({"rancherd": SECTION}, root)
    assert outside.read_text() == ""
    assert not os.path.islink(root.resolve(rancherd.CONFIG_PATH))
