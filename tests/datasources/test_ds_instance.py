"""Instance identity: the pure decision, and the record in the state folder."""

from __future__ import annotations

import os
import stat

import pytest

from ros_init.core.root import Root
from ros_init.state.instance import InstanceState, decide, fallback_id, load, record

PREV = InstanceState("i-1", "ec2")


@pytest.mark.parametrize("previous,found,source,unsure,fallback,expect", [
    (None, "i-1", "ec2", False, None, ("i-1", True)),
    (PREV, "i-1", "ec2", False, None, ("i-1", False)),
    (PREV, "i-2", "ec2", False, None, ("i-2", True)),
    (PREV, "i-2", "ec2", True, None, ("i-2", True)),  # the recording source itself says so
    (PREV, "iid-seed", "cdrom", True, None, ("i-1", False)),  # ec2 unreachable: no new instance
    (PREV, "iid-seed", "cdrom", False, None, ("iid-seed", True)),
    (PREV, None, None, True, "iid-local-x", ("i-1", False)),
    (None, None, None, False, "iid-local-x", ("iid-local-x", True)),
    (None, None, None, False, None, (None, True)),
])
def test_decide(previous, found, source, unsure, fallback, expect):
    d = decide(previous, found, source, unsure, fallback)
    assert (d.instance_id, d.new_instance) == expect and d.reason


def test_record_and_load_round_trip_with_mode_0600(tmp_path):
    root = Root(tmp_path)
    assert load(root, "/var/lib/ros-init") is None
    record(root, "/var/lib/ros-init", "i-9", "gce")
    assert load(root, "/var/lib/ros-init") == InstanceState("i-9", "gce")
    path = tmp_path / "var/lib/ros-init/instance.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    path.write_text("{not json")
    assert load(root, "/var/lib/ros-init") is None


def test_fallback_id_from_machine_id(tmp_path):
    root = Root(tmp_path)
    assert fallback_id(root) is None
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/machine-id").write_text("uninitialized\n")
    assert fallback_id(root) is None
    (tmp_path / "etc/machine-id").write_text("0123456789abcdef0123456789abcdef\n")
    assert fallback_id(root) == "iid-local-0123456789abcdef0123456789abcdef"
