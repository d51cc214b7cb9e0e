"""Instance identity: the pure decision, and the record in the state folder."""

from __future__ import annotations

import os
import stat

import pytest

from ros_init.core.root import Root
from ros_init.state.instance import InstanceState, decide, identify, load, record

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


def test_without_an_id_the_recorded_instance_is_kept_and_a_first_boot_makes_one(tmp_path):
    """Nothing in /etc decides it (ephemeral on RancherOS), nor the config."""
    root = Root(tmp_path)
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/machine-id").write_text("0123456789abcdef0123456789abcdef\n")
    first = identify(root, "/var/lib/ros-init", token="aa11")
    assert (first.instance_id, first.source, first.new_instance) == ("iid-local-aa11", "local", True)
    record(root, "/var/lib/ros-init", first.instance_id, first.source)
    (tmp_path / "etc/machine-id").write_text("ffffffffffffffffffffffffffffffff\n")
    again = identify(root, "/var/lib/ros-init", token="bb22")
    assert (again.instance_id, again.new_instance) == ("iid-local-aa11", False)
    assert identify(root, "/var/lib/ros-init", "i-7", "ec2").instance_id == "i-7"
    assert identify(Root(tmp_path / "etc"), "/state").instance_id != identify(Root(tmp_path / "etc"), "/state").instance_id
