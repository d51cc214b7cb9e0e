"""Disk safety II (issue 18), on real loop devices: what the probe cannot see through kernel
nodes, what mkfs options name, flag scope, labels that must round-trip, and the small ones.

Each test builds the disks, runs the disks stage as a boot does (plan, then apply every
change), and checks the refusal or the result, and that every file that must survive did.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from typing import Any

import pytest
from ros_init.stages import disks as stage

from ros_init.core.model import StageContext
from ros_init.core.root import Root
from ros_init.disks.layout import DOS_TYPES, GPT_TYPES, MKFS_DOS_TYPE, MKFS_GPT_TYPE, DiskLayoutError
from tests.disks.rig import InDisk, InPart, M, OutDisk, OutPart, run

KEEP = {"keep/me.txt": b"precious bytes\n"}
pytestmark = pytest.mark.root


def _ctx(*devs: str) -> StageContext:
    return StageContext(phase="initramfs", settings={"disks": {"include_loop": True, "restrict_to": list(devs)}})


def _spec(config: dict[str, Any]) -> Any:
    """The disks stage's spec of ``config`` as a run makes it: the schema, the merge and every
    stage's parse (``engine.inputs.build_config``), with no config error."""
    from ros_init.core.model import ConfigDocument, Layer
    from ros_init.engine.inputs import build_config

    _, findings, specs = build_config([ConfigDocument("c.yaml", Layer.USER, config, {}, {})])
    assert not [f for f in findings if f.severity == "error"], [f.render() for f in findings]
    return specs["disks"]


def _boot(config: dict[str, Any], root: Root, ctx: StageContext) -> list[str]:
    """One boot of the disks stage: plan, apply every change; the summaries."""
    changes = stage.plan(_spec(config), root, ctx)
    for c in changes:
        stage.apply(c, root, ctx)
    return [c.summary for c in changes]


def _refused(config: dict[str, Any], root: Root, ctx: StageContext, *words: str) -> str:
    """The plan's own refusal: the stage's parse on the config as given, so that the plan's
    check is seen even where the schema refuses the same config first (defence in depth)."""
    with pytest.raises(DiskLayoutError) as err:
        stage.plan(stage.parse(config), root, ctx)
    for w in words:
        assert w in str(err.value), str(err.value)
    return str(err.value)


def _digest(path: str, offset: int, size: int) -> str:
    with open(path, "rb") as fh:
        fh.seek(offset)
        return hashlib.sha256(fh.read(size)).hexdigest()


def _fs(fmt: str, label: str | None = None, **kw: Any) -> dict[str, Any]:
    return {"format": fmt, **({"label": label} if label else {}), **kw}


# -- 1. the probe sees what the table holds ----------------------------------------------------
def test_a_partition_without_kernel_node_is_probed_through_the_disk(rig, tmp_path) -> None:
    """A disk attached without partition scan: the table's partition 1 holds ext4 with files;
    with no node the old probe saw "nothing" and formatted it."""
    dev = rig.attach(InDisk(64 * M, "gpt", [InPart(16 * M, "DATA", fs="ext4", fs_label="data", files=KEEP)]))
    img = rig.images[dev]
    run(["losetup", "-d", dev])
    rig.loops.remove(dev)
    bare = run(["losetup", "--find", "--show", img]).strip()  # no --partscan: no p1 node
    rig.loops.append(bare)
    rig.images[bare] = img
    assert not os.path.exists(f"{bare}p1")
    config = {"disks": [{"device": bare, "partitions": [
        {"number": 1, "filesystem": _fs("vfat", "NEW")}, {"label": "MORE", "size": "8M"}]}]}
    _refused(config, Root(tmp_path), _ctx(bare), f"{bare}p1", "ext4 label data", "wipe_filesystem")
    # The probe reads the table's partitions through the disk: with no node at all (partx
    # could not add one) it still sees the filesystem, and nothing is written through it.
    from ros_init.disks.layout import Fence, parse_config, plan_layout
    from ros_init.system import blockdev
    d = blockdev.probe_disk(blockdev.Disk(os.path.basename(bare), bare, 64 * M, loop=True), kernel={})
    p1 = d.table.partitions[0]
    assert (p1.content.type, p1.content.label, p1.node_ok) == ("ext4", "data", False)
    config["disks"][0]["partitions"][0]["filesystem"]["wipe_filesystem"] = True
    with pytest.raises(DiskLayoutError, match="kernel's partition differs"):
        plan_layout(*parse_config(config), [d], Fence(include_loop=True))
    run(["losetup", "-d", bare])
    rig.loops.remove(bare)
    again = rig.attach_image(img)
    rig.sync(again)
    rig.check(again, OutDisk("gpt", [OutPart(1, "DATA", 16 * M, fs="ext4", fs_label="data", files=KEEP)]))


def test_a_partition_whose_node_was_removed_is_synced_and_refused(rig, tmp_path) -> None:
    """A table written with --no-reread (here: the node deleted behind ros-init's back)."""
    dev = rig.attach(InDisk(64 * M, "gpt", [InPart(16 * M, "A", fs="ext4", fs_label="a"),
                                            InPart(16 * M, "DATA", fs="ext4", fs_label="data", files=KEEP)]))
    run(["partx", "-d", "--nr", "2", dev])
    config = {"disks": [{"device": dev, "partitions": [
        {"label": "A", "size": "16M"}, {"number": 2, "filesystem": _fs("btrfs", "new")},
        {"label": "MORE", "size": "8M"}]}]}
    _refused(config, Root(tmp_path), _ctx(dev), f"{dev}p2", "ext4 label data")
    rig.check(dev, OutDisk("gpt", [OutPart(1, "A", 16 * M, fs="ext4", fs_label="a"),
                                   OutPart(2, "DATA", 16 * M, fs="ext4", fs_label="data", files=KEEP)]))


# -- 1. options cannot reach other devices -------------------------------------------------------
@pytest.mark.parametrize("fmt,options", [
    ("btrfs", ["-d", "raid1", "-m", "raid1", "$other"]),
    ("btrfs", ["$other"]),
    ("xfs", ["-l", "logdev=$other"]),
    ("xfs", ["-r", "rtdev=$other"]),
    ("ext4", ["-J", "device=$other"]),
], ids=["btrfs-raid1", "btrfs-extra-device", "xfs-logdev", "xfs-rtdev", "ext4-journal-device"])
def test_mkfs_options_cannot_name_another_device(rig, tmp_path, fmt: str, options: list[str]) -> None:
    mine = rig.attach(InDisk(400 * M, None))
    other = rig.attach(InDisk(400 * M, "gpt", [InPart(None, "OTHER", fs="ext4", fs_label="other", files=KEEP)]))
    opts = [o.replace("$other", f"{other}p1") for o in options]
    config = {"disks": [{"device": mine, "partitions": [{"label": "X", "filesystem": _fs(fmt, "x", options=opts)}]}]}
    before = rig.snapshot(mine)
    _refused(config, Root(tmp_path), _ctx(mine), "disks[0].partitions[0].filesystem.options[")
    assert rig.snapshot(mine) == before
    rig.check(other, OutDisk("gpt", [OutPart(1, "OTHER", fs="ext4", fs_label="other", files=KEEP)]))


def test_validate_locates_an_option_naming_a_device() -> None:
    from ros_init.config.validate import validate_bytes

    text = (b"#cloud-config\nfilesystems:\n  - device: /dev/vdb\n    format: xfs\n"
            b"    options: [-l, logdev=/dev/vdc]\n")
    errors = [f for f in validate_bytes(text, "user-data") if f.severity == "error"]
    hit = [f for f in errors if "other devices" in f.message]
    assert hit and hit[0].path == "filesystems[0].options[1]", [f.render() for f in errors]
    assert hit[0].location is not None and hit[0].location.line == 5, hit[0].render()


def test_allowed_mkfs_options_still_work(rig, tmp_path) -> None:
    dev = rig.attach(InDisk(64 * M, None))
    config = {"disks": [{"device": dev, "partitions": [
        {"label": "X", "filesystem": _fs("ext4", "x", options=["-O", "^has_journal", "-b", "4096", "-m0"])}]}]}
    _boot(config, Root(tmp_path), _ctx(dev))
    rig.check(dev, OutDisk("gpt", [OutPart(1, "X", fs="ext4", fs_label="x")]))
    assert stage.plan(_spec(config), Root(tmp_path), _ctx(dev)) == []


# -- 1. msdos extended partition: free space over old logical partitions -------------------------
def _extended_disk(rig) -> str:
    dev = rig.attach(InDisk(96 * M, "dos", [InPart(16 * M, fs="ext4", fs_label="first"),
                                            InPart(None, type="5")]))
    # logical partitions 5 and 6 inside the extended one
    run(["sfdisk", "--quiet", "--no-reread", "--append", dev], "size=16M, type=83\nsize=16M, type=83\n")
    rig.sync(dev)
    from tests.disks.rig import mkfs
    mkfs("ext4", f"{dev}p5", "logical5")
    rig.write_files(f"{dev}p5", KEEP)
    mkfs("ext4", f"{dev}p6", "logical6")
    return dev


def test_free_space_left_by_a_deleted_extended_partition_is_not_formatted(rig, tmp_path) -> None:
    dev = _extended_disk(rig)
    p5 = next(p for p in stage_table(dev).partitions if p.number == 5)
    span = (p5.start * 512, p5.size * 512)
    run(["sfdisk", "--quiet", "--no-reread", "--delete", dev, "2"])  # takes 5 and 6 with it
    rig.sync(dev)
    digest = _digest(rig.images[dev], *span)
    config = {"disks": [{"device": dev, "table": "msdos", "partitions": [
        {"number": 1, "size": "16M", "filesystem": _fs("ext4", "first")},
        {"size": "32M", "filesystem": _fs("ext4", "new")}]}]}
    _refused(config, Root(tmp_path), _ctx(dev), "free space", "not empty", "wipe_partition_entry")
    assert _digest(rig.images[dev], *span) == digest


def stage_table(dev: str):
    from ros_init.system import blockdev
    return blockdev.read_table(dev)


# -- 2. flag scope: an extended partition and its logical ones are one unit ----------------------
def test_deleting_an_extended_partition_lists_and_checks_its_logical_ones(rig, tmp_path) -> None:
    dev = _extended_disk(rig)
    config = {"disks": [{"device": dev, "table": "msdos", "partitions": [
        {"number": 1, "size": "16M", "filesystem": _fs("ext4", "first")},
        {"number": 2, "size": "16M", "type": "83", "wipe_partition_entry": True}]}]}
    mp = rig.mount(f"{dev}p5")
    _refused(config, Root(tmp_path), _ctx(dev), f"{dev}p5 is mounted on {mp}")
    run(["umount", mp])
    rig.mounts.remove(mp)
    changes = stage.plan(_spec(config), Root(tmp_path), _ctx(dev))
    delete = next(c for c in changes if c.action == "delete-partition")
    assert f"{dev}p5" in delete.summary and f"{dev}p6" in delete.summary and "logical5" in delete.summary
    assert delete.destructive


# -- 2. busy: mounted btrfs, loop backing ---------------------------------------------------------
def test_a_mounted_btrfs_is_busy(rig, tmp_path) -> None:
    dev = rig.attach(InDisk(400 * M, "gpt", [InPart(200 * M, "DATA", fs="btrfs", fs_label="data", files=KEEP)]))
    mp = rig.mount(f"{dev}p1")
    config = {"disks": [{"device": dev, "partitions": [
        {"number": 1, "label": "DATA", "size": "100M", "wipe_partition_entry": True}]}]}
    _refused(config, Root(tmp_path), _ctx(dev), f"{dev}p1 is mounted on {mp}")
    rig.check(dev, OutDisk("gpt", [OutPart(1, "DATA", 200 * M, fs="btrfs", fs_label="data", files=KEEP)]))


def test_a_btrfs_target_root_disk_is_not_a_candidate(rig, tmp_path) -> None:
    dev = rig.attach(InDisk(400 * M, "gpt", [InPart(200 * M, "ROOT", fs="btrfs", fs_label="root")]))
    rig.mount(f"{dev}p1", at=str(tmp_path / "target"))
    config = {"disks": [{"match": {"min_size": "100M"}, "partitions": [{"label": "X"}]}]}
    _refused(config, Root(tmp_path / "target"), _ctx(dev), "no disk matches")


def test_a_partition_backing_a_loop_device_is_busy(rig, tmp_path) -> None:
    dev = rig.attach(InDisk(64 * M, "gpt", [InPart(32 * M, "DATA", fs="ext4", fs_label="data", files=KEEP)]))
    inner = run(["losetup", "--find", "--show", f"{dev}p1"]).strip()
    rig.loops.insert(0, inner)
    config = {"disks": [{"device": dev, "partitions": [
        {"number": 1, "filesystem": _fs("ext4", "new", wipe_filesystem=True)}]}]}
    _refused(config, Root(tmp_path), _ctx(dev), f"{dev}p1 is backing {inner}")
    rig.check(dev, OutDisk("gpt", [OutPart(1, "DATA", 32 * M, fs="ext4", fs_label="data", files=KEEP)]))


# -- 3. labels round-trip ---------------------------------------------------------------------------
def test_a_non_ascii_label_matches_and_is_not_reformatted(rig, tmp_path) -> None:
    dev = rig.attach(InDisk(64 * M, "gpt", [InPart(32 * M, "DATA", fs="ext4", fs_label="dönnées", files=KEEP)]))
    config = {"disks": [{"device": dev, "partitions": [
        {"number": 1, "filesystem": _fs("ext4", "dönnées", wipe_filesystem=True, mount={"path": "/d"})}]}]}
    summaries = _boot(config, Root(tmp_path), _ctx(dev))
    assert not any(s.startswith("format") for s in summaries), summaries
    rig.check(dev, OutDisk("gpt", [OutPart(1, "DATA", 32 * M, fs="ext4", fs_label="dönnées", files=KEEP)]))
    assert stage.plan(_spec(config), Root(tmp_path), _ctx(dev)) == []


def test_a_new_non_ascii_label_round_trips(rig, tmp_path) -> None:
    dev = rig.attach(InDisk(64 * M, None))
    config = {"disks": [{"device": dev, "partitions": [{"label": "DONNÉES", "filesystem": _fs("ext4", "dönnées")}]}]}
    _boot(config, Root(tmp_path), _ctx(dev))
    rig.check(dev, OutDisk("gpt", [OutPart(1, "DONNÉES", fs="ext4", fs_label="dönnées")]))
    assert stage.plan(_spec(config), Root(tmp_path), _ctx(dev)) == []


@pytest.mark.parametrize("part,fs,words", [
    ({"label": "data🙂"}, None, ["partitions[0].label", "Basic Multilingual Plane"]),
    ({"label": "EFI"}, _fs("vfat", "a.b"), ["filesystem.label", "vfat label"]),
    ({"label": "EFI"}, _fs("vfat", "é"), ["filesystem.label", "vfat label"]),
], ids=["gpt-emoji", "vfat-dot", "vfat-non-ascii"])
def test_labels_the_tools_cannot_read_back_are_refused(rig, tmp_path, part, fs, words) -> None:
    dev = rig.attach(InDisk(64 * M, None))
    config = {"disks": [{"device": dev, "partitions": [{**part, **({"filesystem": fs} if fs else {})}]}]}
    _refused(config, Root(tmp_path), _ctx(dev), *words)
    assert rig.snapshot(dev)[0] is None


def test_validate_refuses_an_emoji_partition_label() -> None:
    from ros_init.config.validate import validate_bytes

    text = "#cloud-config\ndisks:\n  - device: /dev/vdb\n    partitions:\n      - label: data🙂\n".encode()
    errors = [f for f in validate_bytes(text, "user-data") if f.severity == "error"]
    hit = [f for f in errors if "Basic Multilingual Plane" in f.message]
    assert hit and hit[0].path == "disks[0].partitions[0].label", [f.render() for f in errors]
    assert hit[0].location is not None and hit[0].location.line == 5, hit[0].render()


# -- 5. the small ones ---------------------------------------------------------------------------------
def test_a_whole_disk_vfat_is_not_an_empty_msdos_table(rig, tmp_path) -> None:
    dev = rig.attach(InDisk(64 * M, None, fs="vfat", fs_label="WHOLE", files=KEEP))
    config = {"disks": [{"device": dev, "table": "msdos", "partitions": [{"filesystem": _fs("ext4", "x")}]}]}
    before = rig.snapshot(dev)
    _refused(config, Root(tmp_path), _ctx(dev), "vfat label WHOLE", "wipe_table")
    assert rig.snapshot(dev) == before
    rig.check_files(dev, KEEP)


@pytest.mark.parametrize("table,part,words", [
    ("gpt", {"label": "Z", "type": "00000000-0000-0000-0000-000000000000"}, ["type", "all-zero"]),
    ("msdos", {"type": "5", "filesystem": _fs("ext4", "x")}, ["extended partition"]),
    ("msdos", {"type": "0"}, ["type", "all-zero"]),
], ids=["gpt-zero-guid", "msdos-extended-with-filesystem", "msdos-type-0"])
def test_what_apply_cannot_do_is_refused_by_the_plan(rig, tmp_path, table, part, words) -> None:
    dev = rig.attach(InDisk(64 * M, None))
    _refused({"disks": [{"device": dev, "table": table, "partitions": [part]}]}, Root(tmp_path), _ctx(dev), *words)
    assert rig.snapshot(dev)[0] is None


def test_growing_a_logical_partition_is_refused(rig, tmp_path) -> None:
    dev = _extended_disk(rig)
    _refused({"growpart": {"devices": [f"{dev}p6"]}}, Root(tmp_path), _ctx(dev), f"{dev}p6", "logical")


def test_mount_paths_with_a_trailing_slash_are_one_unit(rig, tmp_path) -> None:
    dev = rig.attach(InDisk(64 * M, None))
    root = Root(tmp_path)
    for path in ("/m", "/m/", "//m"):
        config = {"disks": [{"device": dev, "partitions": [
            {"label": "M", "filesystem": _fs("ext4", "m", mount={"path": path})}]}]}
        _boot(config, root, _ctx(dev))
        assert stage.plan(_spec(config), root, _ctx(dev)) == [], path
    assert sorted(os.listdir(tmp_path / "etc/systemd/system")) == ["local-fs.target.wants", "m.mount"]
    assert "Where=/m\n" in root.read_text("/etc/systemd/system/m.mount")


def test_a_grown_sized_partition_leaves_room_for_the_next_one(rig, tmp_path) -> None:
    dev = rig.attach(InDisk(128 * M, None))
    config = {"disks": [{"device": dev, "partitions": [
        {"label": "A", "size": "32M", "grow": True, "filesystem": _fs("ext4", "a")},
        {"label": "B", "size": "32M", "filesystem": _fs("ext4", "b")}]}]}
    _boot(config, Root(tmp_path), _ctx(dev))
    rig.check(dev, OutDisk("gpt", [OutPart(1, "A", min_size=60 * M, fs="ext4", fs_label="a"),
                                   OutPart(2, "B", 32 * M, fs="ext4", fs_label="b")]))
    assert stage.plan(_spec(config), Root(tmp_path), _ctx(dev)) == []


def test_a_half_made_filesystem_is_made_again_not_reused(rig, tmp_path) -> None:
    """A kill between mkfs and the final label leaves the temporary label: never reused."""
    from ros_init.disks.layout import MKFS_LABEL
    dev = rig.attach(InDisk(64 * M, "gpt", [InPart(32 * M, "DATA", fs="ext4", fs_label=MKFS_LABEL)]))
    config = {"disks": [{"device": dev, "partitions": [{"label": "DATA", "filesystem": _fs("ext4")}]}]}
    changes = stage.plan(_spec(config), Root(tmp_path), _ctx(dev))
    assert [(c.action, c.destructive) for c in changes] == [("format", False)]
    assert "half-made" in changes[0].summary
    for c in changes:
        stage.apply(c, Root(tmp_path), _ctx(dev))
    rig.check(dev, OutDisk("gpt", [OutPart(1, "DATA", 32 * M, fs="ext4", fs_label=None)]))
    assert stage.plan(_spec(config), Root(tmp_path), _ctx(dev)) == []


def test_vfat_over_an_md_signature_is_wiped_first(rig, tmp_path) -> None:
    dev = rig.attach(InDisk(64 * M, "gpt", [InPart(32 * M, "EFI")]))
    _write_md10(f"{dev}p1")
    from ros_init.system import blockdev
    assert blockdev.probe_content(f"{dev}p1").type == "linux_raid_member"
    config = {"disks": [{"device": dev, "partitions": [
        {"label": "EFI", "filesystem": _fs("vfat", "EFI", wipe_filesystem=True)}]}]}
    _boot(config, Root(tmp_path), _ctx(dev))
    rig.check(dev, OutDisk("gpt", [OutPart(1, "EFI", 32 * M, fs="vfat", fs_label="EFI")]))
    assert stage.plan(_spec(config), Root(tmp_path), _ctx(dev)) == []


def _write_md10(device: str) -> None:
    """An md 1.0 superblock (at the end of the device), as mdadm --metadata=1.0 writes it."""
    import struct

    with open(device, "r+b") as fh:
        sectors = fh.seek(0, 2) >> 9
        at = (sectors - 16) // 8 * 8
        sb = bytearray(256 + 2 * 2)
        struct.pack_into("<IIII", sb, 0, 0xA92B4EFC, 1, 0, 0)
        sb[16:32] = os.urandom(16)
        sb[32:40] = b"test:0\0\0"
        struct.pack_into("<QiIQIII", sb, 64, 0, 1, 0, at, 0, 2, 0)  # ctime level layout size chunk disks bitmap
        struct.pack_into("<QQQQ", sb, 128, 0, at, at, 0)  # data_offset, data_size, super_offset, recovery
        struct.pack_into("<I", sb, 220, 2)  # max_dev
        csum = sum(struct.unpack_from("<I", sb, i)[0] for i in range(0, len(sb), 4))
        struct.pack_into("<I", sb, 216, ((csum & 0xFFFFFFFF) + (csum >> 32)) & 0xFFFFFFFF)
        fh.seek(at * 512)
        fh.write(bytes(sb))
    subprocess.run(["sync"], check=False)


# -- 3. a by-label link is followed only when the label is unique ------------------------------------
def test_a_by_label_link_to_a_duplicated_label_is_ambiguous_even_with_udev(rig, tmp_path) -> None:
    """udev points /dev/disk/by-label/dup at one of two owners; ros-init refuses to guess."""
    a = rig.attach(InDisk(64 * M, "gpt", [InPart(32 * M, "A", fs="ext4", fs_label="dup", files=KEEP)]))
    b = rig.attach(InDisk(64 * M, "gpt", [InPart(32 * M, "B", fs="ext4", fs_label="dup", files=KEEP)]))
    sysroot = tmp_path / "sysroot"
    (sysroot / "dev/disk/by-label").mkdir(parents=True)
    (sysroot / "run/udev").mkdir(parents=True)
    (sysroot / "run/udev/control").write_text("")
    os.symlink("/sys", sysroot / "sys")
    os.symlink("/proc", sysroot / "proc")
    os.symlink(f"../..{a}p1", sysroot / "dev/disk/by-label/dup")  # udev's pick
    ctx = StageContext(phase="initramfs", sys_root=str(sysroot),
                       settings={"disks": {"include_loop": True, "restrict_to": [a, b]}})
    config = {"filesystems": [{"device": "/dev/disk/by-label/dup", "format": "ext4", "label": "new",
                               "wipe_filesystem": True}]}
    root = tmp_path / "root"
    root.mkdir()
    _refused(config, Root(root), ctx, "ambiguous", f"{a}p1", f"{b}p1")
    for dev, label in ((a, "A"), (b, "B")):
        rig.check(dev, OutDisk("gpt", [OutPart(1, label, 32 * M, fs="ext4", fs_label="dup", files=KEEP)]))


def test_replacing_an_extended_partition_wipes_its_logical_ones(rig, tmp_path) -> None:
    dev = _extended_disk(rig)
    config = {"disks": [{"device": dev, "table": "msdos", "partitions": [
        {"number": 1, "size": "16M", "filesystem": _fs("ext4", "first")},
        {"number": 2, "size": "48M", "type": "83", "wipe_partition_entry": True,
         "filesystem": _fs("ext4", "second")}]}]}
    _boot(config, Root(tmp_path), _ctx(dev))
    rig.check(dev, OutDisk("dos", [OutPart(1, size=16 * M, fs="ext4", fs_label="first"),
                                   OutPart(2, size=48 * M, fs="ext4", fs_label="second")]))
    assert stage.plan(_spec(config), Root(tmp_path), _ctx(dev)) == []


def test_a_partition_formatted_beside_a_mounted_one_is_seen_at_once(rig, tmp_path) -> None:
    """The disk's page cache outlives a probe while a partition is mounted: the next plan
    must still see the filesystem mkfs wrote through the partition node."""
    dev = rig.attach(InDisk(96 * M, "gpt", [InPart(32 * M, "A", fs="ext4", fs_label="a", files=KEEP),
                                            InPart(32 * M, "B")]))
    rig.mount(f"{dev}p1")
    config = {"disks": [{"device": dev, "partitions": [
        {"number": 1, "label": "A", "filesystem": _fs("ext4", "a")},
        {"number": 2, "label": "B", "filesystem": _fs("ext4", "b")}]}]}
    assert stage.plan(_spec(config), Root(tmp_path), _ctx(dev))  # reads p2's region through the disk
    summaries = _boot(config, Root(tmp_path), _ctx(dev))
    assert any(s.startswith(f"format {dev}p2") for s in summaries), summaries
    assert stage.plan(_spec(config), Root(tmp_path), _ctx(dev)) == []


def test_a_partition_left_mid_mkfs_is_made_again_with_its_type_back(rig, tmp_path) -> None:
    """mkfs killed before it wrote a signature: the first MiB holds its early writes
    ("unrecognised data"), which alone would be refused at every boot; the in-progress
    partition type says they are ros-init's own."""
    dev = rig.attach(InDisk(64 * M, "gpt", [InPart(32 * M, "DATA", type=MKFS_GPT_TYPE),
                                            InPart(None, "KEEP", fs="ext4", fs_label="keep", files=KEEP)]))
    with open(f"{dev}p1", "r+b") as fh:
        fh.seek(4096)
        fh.write(os.urandom(64 * 1024))
    config = {"disks": [{"device": dev, "partitions": [
        {"label": "DATA", "size": "32M", "filesystem": _fs("ext4", "data")}]}]}
    changes = stage.plan(_spec(config), Root(tmp_path), _ctx(dev))
    assert [(c.action, c.destructive) for c in changes] == [("format", False)], [c.summary for c in changes]
    for c in changes:
        stage.apply(c, Root(tmp_path), _ctx(dev))
    rig.check(dev, OutDisk("gpt", [OutPart(1, "DATA", 32 * M, fs="ext4", fs_label="data"),
                                   OutPart(2, "KEEP", fs="ext4", fs_label="keep", files=KEEP)]))
    assert stage_table(dev).partitions[0].type == GPT_TYPES["linux"]
    assert stage.plan(_spec(config), Root(tmp_path), _ctx(dev)) == []


def test_a_private_grow_mount_left_by_a_kill_is_cleaned_at_the_next_run(rig, tmp_path) -> None:
    import tempfile

    dev = rig.attach(InDisk(400 * M, "gpt", [InPart(None, "DATA", fs="xfs", fs_label="data", files=KEEP)]))
    left = tempfile.mkdtemp(prefix="ros-init-grow-")  # as _mounted names it
    run(["mount", f"{dev}p1", left])
    rig.mounts.append(left)
    rig.enlarge(dev, 500 * M)
    config = {"growpart": {"devices": [f"{dev}p1"]}}
    _boot(config, Root(tmp_path), _ctx(dev))
    rig.mounts.remove(left)
    assert not os.path.exists(left), "the leftover mount point is still there"
    rig.check(dev, OutDisk("gpt", [OutPart(1, "DATA", min_size=490 * M, fs="xfs", fs_label="data", files=KEEP,
                                           fs_fills=True)]))
    assert stage.plan(_spec(config), Root(tmp_path), _ctx(dev)) == []


# -- a swap partition is never typed Linux data (layout.part_type: one rule) -------------------
_MKFS_TYPE = {"gpt": MKFS_GPT_TYPE, "dos": MKFS_DOS_TYPE}  # the in-progress type a killed mkfs leaves


def _first_part_then_keep(rig: Any, table: str, label: str, ptype: str, fs: str | None = None) -> str:
    """A 64 MiB disk: a 16 MiB partition 1 of ``ptype`` (and ``fs``), then the rest with files to keep."""
    gpt = table == "gpt"
    return rig.attach(InDisk(64 * M, table, [InPart(16 * M, label if gpt else None, type=ptype, fs=fs),
                                             InPart(None, "KEEP" if gpt else None, fs="ext4", fs_label="keep",
                                                    files=KEEP)]))


def _assert_first_part(dev: str, table: str, ptype: str, fs: str) -> None:
    """Partition 1 has the type ``ptype`` (a layout.GPT_TYPES / DOS_TYPES name) and blkid says ``fs``."""
    want = (GPT_TYPES if table == "gpt" else DOS_TYPES)[ptype]
    assert stage_table(dev).partitions[0].type.upper() == want.upper()
    assert subprocess.run(["blkid", "-o", "value", "-s", "TYPE", f"{dev}p1"], capture_output=True,
                          text=True).stdout.strip() == fs


@pytest.mark.parametrize("table,left,section", [
    ("gpt", "mkfs", "filesystems"),  # a run killed during mkswap: the partition has the in-progress type
    ("dos", "mkfs", "filesystems"),
    ("gpt", "linux", "filesystems"),  # an uninterrupted run ends the same way
    ("gpt", "mkfs", "disks"),
    ("dos", "linux", "disks"),
])
def test_a_swap_partition_gets_the_swap_type_after_a_killed_run_too(rig, tmp_path, table, left, section) -> None:
    dev = _first_part_then_keep(rig, table, "SWAP", _MKFS_TYPE[table] if left == "mkfs" else "L")
    if left == "mkfs":
        with open(f"{dev}p1", "r+b") as fh:  # what a killed mkswap leaves: some early writes
            fh.seek(8192)
            fh.write(os.urandom(16 * 1024))
    swap = _fs("swap", "sw")
    if section == "filesystems":
        config: dict[str, Any] = {"filesystems": [{"device": f"{dev}p1", **swap}]}
    else:
        config = {"disks": [{"device": dev, "table": "gpt" if table == "gpt" else "msdos",
                             "partitions": [{"number": 1, "size": "16M", "filesystem": swap}]}]}
    summaries = _boot(config, Root(tmp_path), _ctx(dev))
    assert any(s.startswith(f"format {dev}p1") for s in summaries), summaries
    _assert_first_part(dev, table, "swap", "swap")
    rig.check(dev, OutDisk(table, [OutPart(1, "SWAP" if table == "gpt" else None, 16 * M, fs="swap", fs_label="sw"),
                                   OutPart(2, "KEEP" if table == "gpt" else None, fs="ext4", fs_label="keep",
                                           files=KEEP)]))
    assert stage.plan(_spec(config), Root(tmp_path), _ctx(dev)) == []


@pytest.mark.parametrize("table,left", [("gpt", "swap"), ("gpt", "mkfs"), ("dos", "swap"), ("dos", "mkfs")])
def test_another_filesystem_on_a_swap_partition_leaves_the_swap_type(rig, tmp_path, table, left) -> None:
    """The mirror of the rule above: ext4 made (wipe_filesystem) on a partition typed swap is not
    left under the swap type (it would be taken for swap), and a run killed during that mkfs
    ends the same way as an uninterrupted one: Linux data."""
    dev = _first_part_then_keep(rig, table, "P1", _MKFS_TYPE[table] if left == "mkfs" else "S",
                                fs="swap" if left == "swap" else None)
    config = {"filesystems": [{"device": f"{dev}p1", **_fs("ext4", "data", wipe_filesystem=True)}]}
    summaries = _boot(config, Root(tmp_path), _ctx(dev))
    assert any(s.startswith(f"format {dev}p1") for s in summaries), summaries
    _assert_first_part(dev, table, "linux", "ext4")
    assert stage.plan(_spec(config), Root(tmp_path), _ctx(dev)) == []
