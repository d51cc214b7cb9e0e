"""Root: every path stays inside the target root, writes are atomic and never loosely readable."""

from __future__ import annotations

import contextlib
import os
import stat

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ros_init.core.root import Root, RootError


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    (root / "etc").mkdir(parents=True)
    outside.mkdir()
    return root, outside


def test_dotdot_is_refused(tree):
    root, _ = tree
    with pytest.raises(RootError, match=r"'\.\.'"):
        Root(root).write_file("/etc/../../x", b"x")


def test_absolute_symlink_is_read_inside_the_root(tree):
    root, outside = tree
    (root / "etc" / "link").symlink_to(str(outside))  # planted: points at a host folder
    r = Root(root)
    r.write_file("/etc/link/file", b"data")
    assert not (outside / "file").exists()
    assert (root / str(outside).lstrip("/") / "file").read_bytes() == b"data"


def test_relative_symlink_climbing_out_is_refused(tree):
    root, outside = tree
    (root / "etc" / "up").symlink_to("../../outside")
    with pytest.raises(RootError, match="above the target root"):
        Root(root).write_file("/etc/up/file", b"x")
    assert list(outside.iterdir()) == []


def test_symlink_at_destination_is_replaced_not_followed(tree):
    root, outside = tree
    target = outside / "passwd"
    target.write_text("host")
    (root / "etc" / "passwd").symlink_to(str(target))
    Root(root).write_file("/etc/passwd", b"new", mode=0o644)
    assert target.read_text() == "host"
    assert (root / "etc" / "passwd").read_bytes() == b"new" and not (root / "etc" / "passwd").is_symlink()


def test_write_is_atomic_with_final_mode_and_no_leftovers(tree):
    root, _ = tree
    r = Root(root)
    r.write_file("/etc/shadow", b"secret", mode=0o640)
    st_ = os.stat(root / "etc" / "shadow")
    assert stat.S_IMODE(st_.st_mode) == 0o640
    assert sorted(os.listdir(root / "etc")) == ["shadow"]
    r.write_file("/new/dir/file", b"x")
    assert stat.S_IMODE(os.stat(root / "new" / "dir").st_mode) == 0o755


def test_secret_file_is_never_world_readable_while_written(tree, monkeypatch):
    root, _ = tree
    seen = []
    real_write = os.write

    def spy(fd, data):
        seen.append(stat.S_IMODE(os.fstat(fd).st_mode))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", spy)
    Root(root).write_file("/etc/token", b"s3cret", mode=0o600)
    assert seen and all(m & 0o077 == 0 for m in seen)


segments = st.sampled_from(["etc", "..", ".", "link", "abs", "loop", "a", "", "x/y"])


@settings(max_examples=300, deadline=None)
@given(st.lists(segments, min_size=1, max_size=6))
def test_no_generated_path_escapes(tmp_path_factory, parts):
    base = tmp_path_factory.mktemp("conf")
    root, outside = base / "root", base / "outside"
    (root / "etc").mkdir(parents=True)
    outside.mkdir()
    (root / "link").symlink_to("etc")
    (root / "abs").symlink_to(str(outside))
    (root / "loop").symlink_to("loop")
    (root / "etc" / "esc").symlink_to("../../outside")
    r = Root(root)
    path = "/" + "/".join(parts)
    try:
        host = r.resolve(path)
    except RootError:
        return
    real_root = os.path.realpath(root)
    assert host == real_root or host.startswith(real_root + os.sep)
    with contextlib.suppress(RootError, OSError):
        r.write_file(path + "/f" if path.endswith("/") else path, b"x")
    assert list(outside.iterdir()) == []


def test_remove_tree_rename_and_lock_file_stay_inside_the_root(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("keep")
    base = tmp_path / "root"
    (base / "home/.al.tmp/sub").mkdir(parents=True)
    (base / "home/.al.tmp/sub/f").write_text("x")
    os.symlink(str(outside), base / "home/.al.tmp/link")  # rmtree must not follow it
    root = Root(base)
    assert root.remove_tree("/home/.al.tmp") and not (base / "home/.al.tmp").exists()
    assert (outside / "keep").read_text() == "keep"
    os.symlink(str(outside), base / "home/escape")
    assert root.remove_tree("/home/escape") and (outside / "keep").exists()  # the link goes, not its target
    assert not root.remove_tree("/home/missing")
    (base / "home/new.tmp").mkdir()
    root.rename("/home/new.tmp", "/home/al")
    assert (base / "home/al").is_dir() and not (base / "home/new.tmp").exists()
    os.symlink(str(outside / "lock"), base / "lockfile")
    with pytest.raises(OSError):  # O_NOFOLLOW: a planted link is not opened
        root.open_lock_file("/lockfile")
    assert not (outside / "lock").exists()
    (base / "etc").mkdir()
    os.close(root.open_lock_file("/etc/.pwd.lock"))
    assert stat.S_IMODE((base / "etc/.pwd.lock").stat().st_mode) == 0o600


def test_a_write_without_fsync_is_still_atomic_and_complete(tmp_path, monkeypatch):
    """``durable=False`` (files under /run) skips only the fsyncs: same content, mode, no temporary."""
    import os as _os

    from ros_init.core.root import Root

    synced: list[int] = []
    real_fsync = _os.fsync
    monkeypatch.setattr(_os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    root = Root(tmp_path)
    root.write_file("/run/ros-init/status.json", b"{}\n", mode=0o644, durable=False)
    assert synced == []
    root.write_file("/var/lib/ros-init/status.json", b"{}\n", mode=0o644)
    assert len(synced) == 2  # the file and its folder
    assert (tmp_path / "run/ros-init/status.json").read_bytes() == b"{}\n"
    assert _os.stat(tmp_path / "run/ros-init/status.json").st_mode & 0o777 == 0o644
    assert _os.listdir(tmp_path / "run/ros-init") == ["status.json"]
