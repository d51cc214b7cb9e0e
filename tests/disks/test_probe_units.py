"""Device probing parsers, mount unit naming (checked against the real systemd-escape), Root.symlink."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ros_init.core.root import Root, RootError
from ros_init.disks.mountunits import UnitNameError, escape_path, render_unit, unit_name
from ros_init.system import blockdev
from tests.conftest import need_tools

M = 1 << 20


# -- blkid / superblocks ----------------------------------------------------------------------
def test_parse_blkid_export_unescapes() -> None:
    text = "DEVNAME=/dev/vdb1\nLABEL=my\\ data\\$\nUUID=1234\nTYPE=ext4\n"
    assert blockdev.parse_blkid_export(text) == {"DEVNAME": "/dev/vdb1", "LABEL": "my data$", "UUID": "1234",
                                                 "TYPE": "ext4"}


@pytest.mark.parametrize("fmt,cmd,size", [
    ("ext4", ["mkfs.ext4", "-F", "-q"], 64 * M),
    ("xfs", ["mkfs.xfs", "-f", "-q"], 320 * M),
    ("btrfs", ["mkfs.btrfs", "-f", "-q"], 128 * M),
])
def test_superblock_size_of_real_filesystems(tmp_path, fmt, cmd, size) -> None:
    need_tools(cmd[0], "blkid")
    img = tmp_path / "fs.img"
    with open(img, "wb") as fh:
        fh.truncate(size)
    subprocess.run(cmd + ["-L", "lab", str(img)], check=True, capture_output=True)
    c = blockdev.probe_content(str(img))
    assert (c.type, c.label) == (fmt, "lab")
    assert c.fs_size is not None and size - 4 * M < c.fs_size <= size
    if fmt == "ext4":
        assert c.fs_used is not None and 0 < c.fs_used < c.fs_size
    assert "lab" in c.describe()


def test_empty_and_data_devices(tmp_path) -> None:
    need_tools("blkid")
    img = tmp_path / "blank.img"
    with open(img, "wb") as fh:
        fh.truncate(4 * M)
    assert blockdev.probe_content(str(img)).empty
    with open(img, "r+b") as fh:
        fh.seek(300 * 1024)
        fh.write(b"not a filesystem")
    c = blockdev.probe_content(str(img))
    assert c.data and not c.empty and "unrecognised data" in c.describe()


def test_list_disks_from_a_fake_sysfs(tmp_path) -> None:
    def put(rel: str, text: str) -> None:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")

    put("sys/block/vdb/size", str(40 << 21))
    put("sys/block/vdb/ro", "0")
    put("sys/block/vdb/removable", "0")
    put("sys/block/vdb/dev", "254:16")
    put("sys/block/vdb/device/model", "QEMU HARDDISK")
    put("sys/block/vdb/serial", "abc123")
    put("sys/block/vdb/vdb1/partition", "1")
    put("sys/block/vdb/vdb1/dev", "254:17")
    (tmp_path / "sys/block/vdb/vdb1/holders").mkdir()
    put("sys/block/zram0/size", "0")
    put("sys/block/sr0/size", "2048")
    put("sys/block/vda/size", str(10 << 21))
    put("sys/block/vda/dev", "254:0")
    put("sys/block/vda/ro", "0")
    put("proc/self/mountinfo", "22 1 254:0 / / rw - ext4 /dev/vda rw\n30 22 254:17 / /srv rw - ext4 /dev/vdb1 rw")
    put("proc/swaps", "Filename Type Size Used Priority")
    disks = {d.name: d for d in blockdev.list_disks(str(tmp_path), probe=False)}
    assert sorted(disks) == ["vda", "vdb"]
    assert disks["vda"].holds_root and not disks["vdb"].holds_root
    vdb = disks["vdb"]
    assert (vdb.size, vdb.model, vdb.serial) == (40 << 30, "QEMU HARDDISK", "abc123")
    assert vdb.in_use == (("/dev/vdb1", "mounted on /srv"),)
    assert blockdev.kernel_partitions(str(tmp_path), "vdb") == {1: (0, 0)}


def test_btrfs_members_and_loop_backing_are_busy_in_a_fake_sysfs(tmp_path) -> None:
    """mountinfo shows btrfs as 0:NN: its members come from /sys/fs/btrfs; a partition
    backing a loop device has no holders entry but a backing_file naming it."""
    def put(rel: str, text: str) -> None:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")

    for name, num in (("vdb", "254:16"), ("vdc", "254:32")):
        put(f"sys/block/{name}/size", str(1 << 21))
        put(f"sys/block/{name}/dev", num)
    put("sys/block/vdb/vdb1/partition", "1")
    put("sys/block/vdb/vdb1/dev", "254:17")
    put("sys/block/vdb/vdb2/partition", "2")
    put("sys/block/vdb/vdb2/dev", "254:18")
    put("sys/fs/btrfs/1234-abcd/devices/vdb1", "")
    put("sys/fs/btrfs/1234-abcd/devices/vdc", "")
    put("proc/self/mountinfo", "22 1 0:40 / /data rw - btrfs /dev/vdb1 rw")
    put("proc/swaps", "Filename Type Size Used Priority")
    usage = blockdev.Usage.read(str(tmp_path))
    assert usage.btrfs == {"vdb1": "/data", "vdc": "/data"}  # every member, by the mounted source's name
    disks = {d.name: d for d in blockdev.list_disks(str(tmp_path), probe=False)}
    assert ("/dev/vdb1", "mounted on /data (a btrfs member)") in disks["vdb"].in_use
    assert disks["vdc"].in_use and "btrfs member" in disks["vdc"].in_use[0][1]
    assert not any(dev == "/dev/vdb2" for dev, _ in disks["vdb"].in_use)


def test_a_stale_node_does_not_agree_with_the_table() -> None:
    p = blockdev.Partition(2, "/dev/vdb2", 4096, 2048, "83")
    assert blockdev.node_agrees(p, 512, {2: (4096, 2048)})
    assert not blockdev.node_agrees(p, 512, {2: (4096, 4096)})  # stale size
    assert not blockdev.node_agrees(p, 512, {})  # no node
    assert blockdev.node_agrees(p, 4096, {2: (4096 * 8, 2048 * 8)})  # 4K sectors vs 512-byte sysfs units
    ext = blockdev.Partition(2, "/dev/vdb2", 4096, 20480, "5")
    assert ext.extended and blockdev.node_agrees(ext, 512, {2: (4096, 2)})  # the kernel shows 1 KiB of it


def test_parse_blkid_udev_decodes_labels() -> None:
    text = "ID_FS_LABEL=d_nn_es\nID_FS_LABEL_ENC=d\\xc3\\xb6nn\\xc3\\xa9es\\x20x\nID_FS_TYPE=ext4\nID_FS_USAGE=filesystem\n"
    assert blockdev.parse_blkid_udev(text) == {"TYPE": "ext4", "USAGE": "filesystem", "LABEL": "dönnées x"}


def test_udev_label_encoding_round_trip() -> None:
    for label in ["data", "my data", "a/b", "ünï", "x\\y"]:
        assert blockdev.decode_udev_name(blockdev.encode_udev_name(label)) == label
    assert blockdev.encode_udev_name("my data") == "my\\x20data"


# -- systemd unit names ------------------------------------------------------------------------
@pytest.mark.parametrize("path,want", [
    ("/", "-"), ("/var/lib/data", "var-lib-data"), ("/var//lib/", "var-lib"), ("/a-b", "a\\x2db"),
    ("/.hidden/x", "\\x2ehidden-x"), ("/dev/disk/by-label/swap1", "dev-disk-by\\x2dlabel-swap1"),
    ("/mnt/my data", "mnt-my\\x20data"), ("/ünï", "\\xc3\\xbcn\\xc3\\xaf"),
])
def test_escape_path_examples(path, want) -> None:
    assert escape_path(path) == want


def test_escape_path_refuses_dotdot() -> None:
    with pytest.raises(UnitNameError):
        escape_path("/var/../etc")


_component = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FF, blacklist_characters="/\x7f"),
                     min_size=1, max_size=8).filter(lambda c: c not in (".", ".."))


@settings(max_examples=60, deadline=None)
@given(parts=st.lists(_component, min_size=1, max_size=4))
def test_escape_path_matches_systemd_escape(parts) -> None:
    if shutil.which("systemd-escape") is None:
        pytest.skip("needs systemd-escape")
    path = "/" + "/".join(parts)
    real = subprocess.run(["systemd-escape", "--path", path], capture_output=True, text=True, check=True).stdout.strip()
    assert escape_path(path) == real


def test_unit_names_and_text() -> None:
    assert unit_name("/var/lib/data", "/dev/disk/by-label/data") == "var-lib-data.mount"
    assert unit_name(None, "/dev/disk/by-label/swap1") == "dev-disk-by\\x2dlabel-swap1.swap"
    text = render_unit("/dev/disk/by-uuid/abc", "/srv/x/", "xfs", ("noatime", "nofail"))
    assert "What=/dev/disk/by-uuid/abc\nWhere=/srv/x\nType=xfs\nOptions=noatime,nofail\n" in text
    assert "WantedBy=local-fs.target" in text
    assert "WantedBy=swap.target" in render_unit("/dev/disk/by-label/s", None, "swap", ("defaults",))


# -- Root.symlink -------------------------------------------------------------------------------
def test_root_symlink_is_atomic_and_confined(tmp_path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    rootdir = tmp_path / "root"
    rootdir.mkdir()
    root = Root(rootdir)
    root.symlink("/etc/systemd/system/local-fs.target.wants/a.mount", "../a.mount")
    assert root.readlink("/etc/systemd/system/local-fs.target.wants/a.mount") == "../a.mount"
    root.symlink("/etc/systemd/system/local-fs.target.wants/a.mount", "../b.mount")  # replaced, not failed
    assert root.readlink("/etc/systemd/system/local-fs.target.wants/a.mount") == "../b.mount"
    # A planted symlink that points outside is read inside the root: the link lands inside.
    os.symlink(str(outside), rootdir / "etc" / "escape")
    root.symlink("/etc/escape/x", "target")
    assert not (outside / "x").exists()
    assert os.path.islink(rootdir / str(outside).lstrip("/") / "x")
    with pytest.raises(RootError):
        root.symlink("/etc/../../x", "y")
    with pytest.raises(RootError, match="folder"):
        root.symlink("/etc", "y")
    assert root.readlink("/etc/nothing") is None
