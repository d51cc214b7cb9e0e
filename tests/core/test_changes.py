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
