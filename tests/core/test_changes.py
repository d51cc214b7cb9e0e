"""The shared "desired file vs what is there" planner and the one applier."""

from __future__ import annotations

import os
import stat

import pytest

from ros_init.core.changes import (
    ChangedSincePlanned,
    Refused,
    RefusedChange,
    RemoveFile,
    Symlink,
    WriteFile,
    apply_payload,
    digest,
    file_reasons,
)
from ros_init.core.root import Root


def test_file_reasons_say_what_differs_and_nothing_when_right(tmp_path):
    root = Root(tmp_path)
    assert file_reasons(root, "/etc/a", b"x", 0o644) == ["create"]
    apply_payload(root, WriteFile("/etc/a", b"x", 0o600))
    assert file_reasons(root, "/etc/a", b"x", 0o600) == []
    assert file_reasons(root, "/etc/a", b"y", 0o644) == ["update content", "mode 0600 -> 0644"]
    me = os.geteuid()
    assert file_reasons(root, "/etc/a", b"x", 0o600, me + 1, me + 1)[0].startswith("owner ")
    os.symlink("a", tmp_path / "etc/l")
    assert file_reasons(root, "/etc/l", b"x", 0o600) == ["replace symlink"]
    assert file_reasons(root, "/etc/l", b"x", 0o600, follow=True) == []


def test_apply_payload_writes_removes_links_and_refuses(tmp_path):
    root = Root(tmp_path)
    apply_payload(root, WriteFile("/a/b", b"1", 0o640))
    assert stat.S_IMODE((tmp_path / "a/b").stat().st_mode) == 0o640
    apply_payload(root, Symlink("/a/l", "b"))
    assert os.readlink(tmp_path / "a/l") == "b"
    apply_payload(root, RemoveFile("/a/l"))
    assert not (tmp_path / "a/l").exists()
    with pytest.raises(RefusedChange, match="a folder is in the way"):
        apply_payload(root, Refused("/a", "a folder is in the way"))
    planned = WriteFile("/a/b", b"2", 0o640, expected=digest(b"1"), check=True)
    (tmp_path / "a/b").write_bytes(b"changed meanwhile")
    with pytest.raises(ChangedSincePlanned):
        apply_payload(root, planned)
    assert (tmp_path / "a/b").read_bytes() == b"changed meanwhile"
    (tmp_path / "a/b").write_bytes(b"1")
    apply_payload(root, planned)
    assert (tmp_path / "a/b").read_bytes() == b"2"


def test_plan_write_and_plan_remove_plan_only_what_differs_and_a_second_plan_is_empty(tmp_path):
    from ros_init.core.changes import plan_remove, plan_write

    root = Root(tmp_path)
    want = WriteFile("/etc/net/a.conf", b"x\n", 0o644)
    change = plan_write("network", root, want, "write a.conf ({reasons})")
    assert (change.action, change.target, change.summary, change.payload) == (
        "write-file", "/etc/net/a.conf", "write a.conf (create)", want)
    apply_payload(root, change.payload)
    assert plan_write("network", root, want, "write a.conf ({reasons})") is None
    os.chmod(tmp_path / "etc/net/a.conf", 0o600)
    assert plan_write("network", root, want, "{reasons}").summary == "mode 0600 -> 0644"
    gone = plan_remove("network", root, "/etc/net/a.conf", "remove a.conf")
    assert gone.payload == RemoveFile("/etc/net/a.conf")
    apply_payload(root, gone.payload)
    assert plan_remove("network", root, "/etc/net/a.conf", "remove a.conf") is None


def test_a_skipped_change_is_a_skipped_step_not_a_failure(tmp_path):
    from ros_init.core.changes import Skipped
    from ros_init.core.model import SkipStep

    with pytest.raises(SkipStep, match="no such user"):
        apply_payload(Root(tmp_path), Skipped("user bob", "no such user"))


def test_refusals_collect_every_item_and_raise_one_as_it_was_or_all_together():
    from ros_init.core.findings import Refusals, SpecError, SpecErrors

    class DomainError(Exception):
        pass

    def bad(path):
        raise DomainError(f"{path}: nope")

    r = Refusals(DomainError)
    assert r.accepted(["ok", "", "x\n", "fine"], "runcmd", lambda s: "one line" if "\n" in s else None) == [
        (0, "ok"), (1, ""), (3, "fine")]
    assert r.attempt(bad, "disks[1]", default=7) == 7
    assert r.attempt(int, "12") == 12
    with pytest.raises(SpecErrors) as caught:
        r.check()
    assert [(e.path, e.message) for e in caught.value.errors] == [("runcmd[2]", "one line"), ("disks[1]", "nope")]
    one = Refusals(DomainError)
    one.attempt(bad, "disks[0]")
    with pytest.raises(DomainError):  # a single refusal is raised as the parser raised it
        one.check()
    Refusals().check()  # nothing refused: nothing raised
    nested = Refusals()
    nested.add(caught.value)
    nested.add(SpecError("why", "a"))
    assert [e.path for e in nested.errors] == ["runcmd[2]", "disks[1]", "a"]
