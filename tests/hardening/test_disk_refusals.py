"""Disk configs that would destroy data, through the disks stage's pure planner: each is
refused with a message that names the config element and what the device holds, and no
plan that goes ahead has a destructive action the config did not allow.

(The real-device side of the same rules runs on loop devices in tests/disks.)
"""

from __future__ import annotations

import pytest

from ros_init.disks.layout import GPT_TYPES, DiskLayoutError, Fence, parse_config, plan_layout
from ros_init.system.blockdev import Content, Disk, Partition, Table

M = 1 << 20
EXT4 = Content(type="ext4", label="data", uuid="u-1", usage="filesystem", fs_size=64 * M, fs_used=40 * M)
XFS_WHOLE = Content(type="xfs", label="whole", uuid="u-2", usage="filesystem")
LVM = Content(type="LVM2_member", uuid="u-3", usage="raid")
RAW = Content(data=True)


def disk(name: str = "vdb", parts: tuple[tuple[int, int, str | None, Content], ...] | None = None,
         content: Content | None = None, table_free: tuple[tuple[int, Content], ...] = (), **kw) -> Disk:
    table = None
    if parts is not None:
        table = Table("gpt", 512, 2048, tuple(
            Partition(n, f"/dev/{name}{n}", start * 2048, 64 * 2048, GPT_TYPES["linux"], f"pu-{n}", label, c)
            for n, (start, _, label, c) in enumerate(parts, 1)), free=table_free)
    return Disk(name, f"/dev/{name}", 1024 * M, table=table,
                content=Content(type="gpt", usage="partition table") if table else (content or Content()), **kw)


def plan(config: dict, disks: list[Disk]):
    specs, targets, grow = parse_config(config)
    return plan_layout(specs, targets, grow, disks, Fence(include_loop=True), new_uuid=lambda fmt: "0000-new")


DATA_DISK = disk(parts=((1, 64, "DATA", EXT4),))
CASES = [
    # (id, config, disks, words the refusal must contain)
    ("new-table-over-partitions", {"disks": [{"device": "/dev/vdb", "table": "msdos"}]}, [DATA_DISK],
     ["/dev/vdb"]),
    ("format-over-ext4", {"disks": [{"device": "/dev/vdb", "partitions": [
        {"number": 1, "filesystem": {"format": "xfs", "label": "new"}}]}]}, [DATA_DISK], ["/dev/vdb1", "ext4"]),
    ("swap-over-ext4", {"disks": [{"device": "/dev/vdb", "partitions": [
        {"number": 1, "filesystem": {"format": "swap"}}]}]}, [DATA_DISK], ["/dev/vdb1", "ext4"]),
    ("replace-mismatched-partition", {"disks": [{"device": "/dev/vdb", "partitions": [
        {"number": 1, "label": "OTHER", "size": "10M"}]}]}, [DATA_DISK], ["/dev/vdb1"]),
    ("format-unrecognised-data", {"disks": [{"device": "/dev/vdb", "partitions": [
        {"number": 1, "filesystem": {"format": "ext4"}}]}]}, [disk(parts=((1, 64, "X", RAW),))], ["unrecognised data"]),
    ("table-over-whole-disk-fs", {"disks": [{"device": "/dev/vdb", "partitions": [{"label": "A"}]}]},
     [disk(content=XFS_WHOLE)], ["/dev/vdb", "xfs"]),
    ("table-over-lvm-pv", {"disks": [{"device": "/dev/vdb", "partitions": [{"label": "A"}]}]},
     [disk(content=LVM)], ["/dev/vdb"]),
    ("filesystem-over-ext4", {"filesystems": [{"device": "/dev/vdb1", "format": "btrfs"}]}, [DATA_DISK],
     ["/dev/vdb1", "ext4"]),
    ("wipe-mounted", {"disks": [{"device": "/dev/vdb", "wipe_table": True, "table": "msdos"}]},
     [disk(parts=((1, 64, "DATA", EXT4),), in_use=(("/dev/vdb1", "mounted on /srv"),))], ["mounted on /srv"]),
    ("two-entries-one-disk", {"disks": [{"device": "/dev/vdb", "partitions": [{"label": "A"}]},
                                        {"device": "/dev/vdb", "wipe_table": True}]}, [disk()], ["already laid out"]),
    ("ambiguous-match", {"disks": [{"match": {"min_size": "100M"}, "wipe_table": True}]},
     [disk("vdb"), disk("vdc")], ["2 disks match"]),
    ("mkfs-option-names-another-disk", {"disks": [{"device": "/dev/vdb", "partitions": [
        {"label": "A", "filesystem": {"format": "btrfs", "options": ["-d", "raid1", "-m", "raid1", "/dev/vdc"]}}]}]},
     [disk()], ["filesystem.options[1]", "single and dup"]),
    ("xfs-logdev", {"filesystems": [{"device": "/dev/vdb1", "format": "xfs", "wipe_filesystem": True,
                                     "options": ["-l", "logdev=/dev/vdc"]}]}, [DATA_DISK], ["options[1]", "/dev/vdc"]),
    ("emoji-partition-name", {"disks": [{"device": "/dev/vdb", "partitions": [{"label": "data\U0001F600"}]}]},
     [disk()], ["partitions[0].label", "Basic Multilingual Plane"]),
    ("zero-type-guid", {"disks": [{"device": "/dev/vdb", "partitions": [
        {"label": "A", "type": "00000000-0000-0000-0000-000000000000"}]}]}, [disk()], ["all-zero"]),
    ("leftover-in-free-space", {"disks": [{"device": "/dev/vdb", "partitions": [
        {"number": 1, "label": "DATA"}, {"label": "NEW", "size": "64M"}]}]},
     [disk(parts=((1, 64, "DATA", EXT4),), table_free=((66 * 2048, EXT4),))], ["free space", "not empty"]),
    ("host-root-disk", {"disks": [{"device": "/dev/vdb", "wipe_table": True}]},
     [disk(parts=((1, 64, "ROOT", EXT4),), in_use=(("/dev/vdb1", "mounted on /"),))], ["mounted on /"]),
]


@pytest.mark.parametrize("config,disks,words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_destructive_config_is_refused_and_says_why(config: dict, disks: list[Disk], words: list[str]) -> None:
    with pytest.raises(DiskLayoutError) as err:
        plan(config, disks)
    message = str(err.value)
    for w in words:
        assert w in message, message
    assert "disks[" in message or "filesystems[" in message or "/dev/" in message


def test_the_same_configs_with_the_wipe_flags_go_ahead_and_say_they_destroy() -> None:
    cfg = {"disks": [{"device": "/dev/vdb", "partitions": [
        {"number": 1, "filesystem": {"format": "vfat", "label": "new", "wipe_filesystem": True}}]}]}
    actions = plan(cfg, [DATA_DISK]).actions
    assert [a.destructive for a in actions] == [True] and "ext4 label data" in actions[0].summary
    fresh = plan({"disks": [{"device": "/dev/vdb", "partitions": [{"label": "A"}]}]}, [disk()]).actions
    assert not any(a.destructive for a in fresh)
