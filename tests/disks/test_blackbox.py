"""Blackbox cases for the disks stage on real loop devices (declared in, config, declared out).

Each case: input disks (image files with tables, filesystems and files), a config whose
``$dN`` / ``$dNpK`` placeholders name those devices, then either the expected output disks
(and a second plan that is empty), or a refusal whose message must contain given words and
which leaves every disk exactly as it was.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import pytest
from ros_init.stages import disks as stage

from ros_init.core.model import StageContext
from ros_init.core.root import Root
from ros_init.disks.layout import DiskLayoutError
from tests.disks.rig import InDisk, InPart, M, OutDisk, OutPart

KEEP = {"keep/me.txt": b"precious bytes\n", "deep/dir/file.bin": bytes(range(256)) * 64}


@dataclass
class Case:
    id: str
    disks: list[InDisk]
    config: dict[str, Any]
    out: list[OutDisk] | None = None  # None: a refusal is expected
    refusal: tuple[str, ...] = ()  # words the refusal names (device, what it holds)
    busy: list[str] = field(default_factory=list)  # $dNpK to keep mounted during the plan
    enlarge: dict[int, int] = field(default_factory=dict)  # disk index -> new size before the run
    units: dict[str, str] = field(default_factory=dict)  # unit path -> a line it must hold
    destructive: tuple[str, ...] = ()  # actions of the plan flagged destructive
    mount_in_root: dict[str, str] = field(default_factory=dict)  # $dNpK -> mount point in the target root
    requires: str | None = None  # "cap_sys_resource": online ext4 resize (absent in some containers)


def _fs(fmt: str, label: str | None = None, **kw: Any) -> dict[str, Any]:
    d: dict[str, Any] = {"format": fmt}
    if label:
        d["label"] = label
    d.update(kw)
    return d


LAYOUT = [
    {"number": 1, "label": "DATA", "size": "32M", "filesystem": _fs("ext4", "data", mount={"path": "/var/lib/data"})},
    {"number": 2, "label": "SWAP", "size": "16M", "type": "swap", "filesystem": _fs("swap", "swap1")},
    {"number": 3, "label": "LOGS", "filesystem": _fs("xfs", "logs", mount={"path": "/var/log/big"})},
]
LAYOUT_OUT = OutDisk("gpt", [
    OutPart(1, "DATA", 32 * M, fs="ext4", fs_label="data"),
    OutPart(2, "SWAP", 16 * M, fs="swap", fs_label="swap1"),
    OutPart(3, "LOGS", min_size=300 * M, fs="xfs", fs_label="logs"),
])
LAYOUT_IN = InDisk(400 * M, "gpt", [
    InPart(32 * M, "DATA", fs="ext4", fs_label="data", files=KEEP),
    InPart(16 * M, "SWAP", type="S", fs="swap", fs_label="swap1"),
    InPart(None, "LOGS", fs="xfs", fs_label="logs", files={"app.log": b"log line\n"}),
])

CASES = [
    Case("empty-disk-gets-layout", [InDisk(400 * M, None)],
         {"disks": [{"device": "$d0", "partitions": LAYOUT}]},
         out=[LAYOUT_OUT],
         units={"/etc/systemd/system/var-lib-data.mount": "What=/dev/disk/by-label/data",
                "/etc/systemd/system/var-log-big.mount": "Type=xfs",
                "/etc/systemd/system/dev-disk-by\\x2dlabel-swap1.swap": "What=/dev/disk/by-label/swap1"}),
    Case("matching-layout-is-kept", [LAYOUT_IN],
         {"disks": [{"device": "$d0", "partitions": LAYOUT}]},
         out=[OutDisk("gpt", [
             OutPart(1, "DATA", 32 * M, fs="ext4", fs_label="data", files=KEEP),
             OutPart(2, "SWAP", 16 * M, fs="swap", fs_label="swap1"),
             OutPart(3, "LOGS", min_size=300 * M, fs="xfs", fs_label="logs", files={"app.log": b"log line\n"}),
         ])]),
    Case("other-filesystem-without-wipe-is-refused",
         [InDisk(64 * M, "gpt", [InPart(32 * M, "DATA", fs="ext4", fs_label="old", files=KEEP)])],
         {"disks": [{"device": "$d0", "partitions": [{"number": 1, "label": "DATA", "size": "32M",
                                                     "filesystem": _fs("btrfs", "data")}]}]},
         refusal=("$d0p1", "ext4 label old", "wipe_filesystem")),
    Case("whole-disk-filesystem-without-wipe-table-is-refused",
         [InDisk(64 * M, None, fs="ext4", fs_label="rawdisk", files=KEEP)],
         {"disks": [{"device": "$d0", "partitions": [{"label": "DATA", "filesystem": _fs("ext4", "data")}]}]},
         refusal=("$d0", "ext4 label rawdisk", "wipe_table")),
    Case("mismatched-partition-without-wipe-entry-is-refused",
         [InDisk(64 * M, "gpt", [InPart(16 * M, "DATA", fs="ext4", fs_label="data", files=KEEP)])],
         {"disks": [{"device": "$d0", "partitions": [{"number": 1, "label": "DATA", "size": "24M"}]}]},
         refusal=("$d0p1", "16 MiB", "wipe_partition_entry")),
    Case("wipe-filesystem-replaces-it",
         [InDisk(200 * M, "gpt", [InPart(150 * M, "DATA", fs="ext4", fs_label="old", files=KEEP),
                                  InPart(None, "KEEP", fs="ext4", fs_label="keep", files=KEEP)])],
         {"disks": [{"device": "$d0", "partitions": [{"number": 1, "label": "DATA", "size": "150M",
                                                     "filesystem": _fs("btrfs", "data", wipe_filesystem=True)}]}]},
         out=[OutDisk("gpt", [OutPart(1, "DATA", 150 * M, fs="btrfs", fs_label="data"),
                              OutPart(2, "KEEP", fs="ext4", fs_label="keep", files=KEEP)])],
         destructive=("format",)),
    Case("wipe-table-replaces-msdos-with-gpt",
         [InDisk(64 * M, "dos", [InPart(32 * M, fs="vfat", fs_label="OLD", files=KEEP)])],
         {"disks": [{"device": "$d0", "wipe_table": True,
                     "partitions": [{"label": "EFI", "size": "16M", "type": "efi", "filesystem": _fs("vfat", "EFI")},
                                    {"label": "ROOT", "filesystem": _fs("ext4", "root")}]}]},
         out=[OutDisk("gpt", [OutPart(1, "EFI", 16 * M, fs="vfat", fs_label="EFI"),
                              OutPart(2, "ROOT", min_size=40 * M, fs="ext4", fs_label="root")])],
         destructive=("create-table",)),
    Case("wipe-partition-entry-replaces-one-partition",
         [InDisk(96 * M, "gpt", [InPart(16 * M, "A", fs="ext4", fs_label="a", files=KEEP),
                                 InPart(16 * M, "B", fs="ext4", fs_label="b", files=KEEP)])],
         {"disks": [{"device": "$d0", "partitions": [
             {"number": 2, "label": "BIG", "size": "32M", "wipe_partition_entry": True,
              "filesystem": _fs("ext4", "big")}]}]},
         out=[OutDisk("gpt", [OutPart(1, "A", 16 * M, fs="ext4", fs_label="a", files=KEEP),
                              OutPart(2, "BIG", 32 * M, fs="ext4", fs_label="big")])],
         destructive=("delete-partition",)),
    Case("grow-after-the-image-was-enlarged",
         [InDisk(64 * M, "gpt", [InPart(16 * M, "BOOT", fs="vfat", fs_label="BOOT"),
                                 InPart(None, "DATA", fs="ext4", fs_label="data", files=KEEP)])],
         {"disks": [{"device": "$d0", "partitions": [
             {"number": 2, "label": "DATA", "grow": True, "filesystem": _fs("ext4", "data")}]}]},
         enlarge={0: 256 * M},
         out=[OutDisk("gpt", [OutPart(1, "BOOT", 16 * M, fs="vfat", fs_label="BOOT"),
                              OutPart(2, "DATA", min_size=230 * M, fs="ext4", fs_label="data", files=KEEP,
                                      fs_fills=True)])]),
    Case("growpart-grows-xfs-by-device",
         [InDisk(400 * M, "gpt", [InPart(None, "DATA", fs="xfs", fs_label="big", files=KEEP)])],
         {"growpart": {"mode": "auto", "devices": ["$d0p1"]}},
         enlarge={0: 600 * M},
         out=[OutDisk("gpt", [OutPart(1, "DATA", min_size=590 * M, fs="xfs", fs_label="big", files=KEEP,
                                      fs_fills=True)])]),
    Case("growpart-by-mount-point-grows-xfs-online",
         [InDisk(400 * M, "gpt", [InPart(None, "ROOT", fs="xfs", fs_label="root", files=KEEP)])],
         {"growpart": {"mode": "auto", "devices": ["/var/lib/data"]}},
         enlarge={0: 500 * M}, mount_in_root={"$d0p1": "/var/lib/data"},
         out=[OutDisk("gpt", [OutPart(1, "ROOT", min_size=490 * M, fs="xfs", fs_label="root", files=KEEP,
                                      fs_fills=True)])]),
    Case("growpart-by-mount-point-grows-ext4-online",
         [InDisk(64 * M, "gpt", [InPart(None, "ROOT", fs="ext4", fs_label="root", files=KEEP)])],
         {"growpart": {"mode": "auto", "devices": ["/var/lib/data"]}},
         enlarge={0: 160 * M}, mount_in_root={"$d0p1": "/var/lib/data"}, requires="cap_sys_resource",
         out=[OutDisk("gpt", [OutPart(1, "ROOT", min_size=150 * M, fs="ext4", fs_label="root", files=KEEP,
                                      fs_fills=True)])]),
    Case("growpart-default-root-on-a-non-partition-does-nothing",
         [InDisk(64 * M, "gpt", [InPart(None, "ROOT", fs="ext4", fs_label="root", files=KEEP)])],
         {"growpart": {"mode": "auto"}},
         enlarge={0: 128 * M},
         out=[OutDisk("gpt", [OutPart(1, "ROOT", size=62 * M, fs="ext4", fs_label="root", files=KEEP)])]),
    Case("two-disks-by-label-and-by-size",
         [InDisk(64 * M, "gpt", [InPart(32 * M, "MYDATA", fs="ext4", fs_label="mydata", files=KEEP)]),
          InDisk(200 * M, None)],
         {"disks": [
             {"match": {"label": "MYDATA"}, "partitions": [
                 {"number": 1, "label": "MYDATA", "filesystem": _fs("ext4", "mydata", mount={"path": "/data"})},
                 {"number": 2, "label": "MORE", "filesystem": _fs("ext4", "more")}]},
             {"match": {"min_size": "150M"}, "partitions": [{"label": "BIG", "filesystem": _fs("btrfs", "big")}]},
         ]},
         out=[OutDisk("gpt", [OutPart(1, "MYDATA", 32 * M, fs="ext4", fs_label="mydata", files=KEEP),
                              OutPart(2, "MORE", min_size=30 * M, fs="ext4", fs_label="more")]),
              OutDisk("gpt", [OutPart(1, "BIG", min_size=190 * M, fs="btrfs", fs_label="big")])]),
    Case("ambiguous-selector-is-refused",
         [InDisk(200 * M, None), InDisk(200 * M, None)],
         {"disks": [{"match": {"min_size": "100M"}, "partitions": [{"label": "X"}]}]},
         refusal=("2 disks match", "$d0", "$d1")),
    Case("only-disk-selector",
         [InDisk(64 * M, None)],
         {"disks": [{"match": {"only": True}, "partitions": [{"label": "ONLY", "filesystem": _fs("ext4", "only")}]}]},
         out=[OutDisk("gpt", [OutPart(1, "ONLY", fs="ext4", fs_label="only")])]),
    Case("filesystem-on-whole-device-by-label-is-reused",
         [InDisk(64 * M, None, fs="ext4", fs_label="scratch", files=KEEP)],
         {"filesystems": [{"device": "LABEL=scratch", "format": "ext4", "label": "scratch",
                           "mount": {"path": "/scratch", "options": ["noatime"]}}]},
         out=[OutDisk(None, fs="ext4", fs_label="scratch", files=KEEP)],
         units={"/etc/systemd/system/scratch.mount": "Options=noatime"}),
    Case("msdos-layout-on-empty-disk",
         [InDisk(64 * M, None)],
         {"disks": [{"device": "$d0", "table": "msdos", "partitions": [
             {"size": "16M", "filesystem": _fs("swap", "sw")}, {"filesystem": _fs("ext4", "root")}]}]},
         out=[OutDisk("dos", [OutPart(1, size=16 * M, fs="swap", fs_label="sw"),
                              OutPart(2, min_size=46 * M, fs="ext4", fs_label="root")])]),
    Case("vfat-and-swap-are-reused",
         [InDisk(64 * M, "gpt", [InPart(32 * M, "EFI", type="U", fs="vfat", fs_label="EFI", files=KEEP),
                                 InPart(None, "SWAP", type="S", fs="swap", fs_label="sw")])],
         {"disks": [{"device": "$d0", "partitions": [
             {"number": 1, "label": "EFI", "type": "efi", "filesystem": _fs("vfat", "efi")},
             {"number": 2, "label": "SWAP", "filesystem": _fs("swap", "sw")}]}]},
         out=[OutDisk("gpt", [OutPart(1, "EFI", 32 * M, fs="vfat", fs_label="EFI", files=KEEP),
                              OutPart(2, "SWAP", fs="swap", fs_label="sw")])]),
    Case("filesystem-by-partlabel-link-without-udev",
         [InDisk(64 * M, "gpt", [InPart(16 * M, "KEEP", fs="ext4", fs_label="keep", files=KEEP),
                                 InPart(None, "SCRATCH")])],
         {"filesystems": [{"device": "/dev/disk/by-partlabel/SCRATCH", "format": "ext4", "label": "scr",
                           "mount": {"path": "/scratch"}}]},
         out=[OutDisk("gpt", [OutPart(1, "KEEP", 16 * M, fs="ext4", fs_label="keep", files=KEEP),
                              OutPart(2, "SCRATCH", fs="ext4", fs_label="scr")])],
         units={"/etc/systemd/system/scratch.mount": "What=/dev/disk/by-label/scr"}),
    Case("4k-sector-disk-layout-then-grow",
         [InDisk(64 * M, "gpt", [InPart(16 * M, "A", fs="ext4", fs_label="a", files=KEEP),
                                 InPart(None, "B", fs="ext4", fs_label="b", files=KEEP)], sector_size=4096)],
         {"disks": [{"device": "$d0", "partitions": [
             {"number": 1, "label": "A", "size": "16M", "filesystem": _fs("ext4", "a")},
             {"number": 2, "label": "B", "grow": True, "filesystem": _fs("ext4", "b")},
             {"label": "C", "size": "8M", "filesystem": _fs("vfat", "C")}]}]},
         enlarge={0: 128 * M},
         out=[OutDisk("gpt", [OutPart(1, "A", 16 * M, fs="ext4", fs_label="a", files=KEEP),
                              OutPart(2, "B", min_size=100 * M, fs="ext4", fs_label="b", files=KEEP, fs_fills=True),
                              OutPart(3, "C", 8 * M, fs="vfat", fs_label="C")])]),
    Case("busy-device-is-refused",
         [InDisk(64 * M, "gpt", [InPart(32 * M, "DATA", fs="ext4", fs_label="data", files=KEEP)])],
         {"disks": [{"device": "$d0", "wipe_table": True, "table": "msdos",
                     "partitions": [{"filesystem": _fs("ext4", "new")}]}]},
         busy=["$d0p1"],
         refusal=("$d0p1", "mounted on")),
]


def _has_cap(bit: int) -> bool:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> bit & 1)
    return False


def _subst(value: Any, devs: list[str]) -> Any:
    if isinstance(value, dict):
        return {k: _subst(v, devs) for k, v in value.items()}
    if isinstance(value, list):
        return [_subst(v, devs) for v in value]
    if isinstance(value, str):
        for i in reversed(range(len(devs))):
            value = value.replace(f"$d{i}p", f"{devs[i]}p").replace(f"$d{i}", devs[i])
    return value


@pytest.mark.root
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_blackbox(case: Case, rig, tmp_path) -> None:
    if case.requires == "cap_sys_resource" and not _has_cap(24):
        pytest.skip("online ext4 resize needs CAP_SYS_RESOURCE, which this container does not grant")
    devs = [rig.attach(d) for d in case.disks]
    for i, size in case.enlarge.items():
        rig.enlarge(devs[i], size)
    for b in case.busy:
        rig.mount(_subst(b, devs))
    for dev, where in case.mount_in_root.items():
        rig.mount(_subst(dev, devs), at=os.path.join(tmp_path, where.lstrip("/")))
    config = _subst(case.config, devs)
    root = Root(tmp_path)
    ctx = StageContext(phase="initramfs", settings={"disks": {"include_loop": True, "restrict_to": devs}})
    before = [rig.snapshot(d) for d in devs]

    if case.out is None:
        with pytest.raises(DiskLayoutError) as err:
            stage.plan(stage.parse(config), root, ctx)
        for word in case.refusal:
            assert _subst(word, devs) in str(err.value), str(err.value)
        assert [rig.snapshot(d) for d in devs] == before, "a refused plan changed a disk"
        for d, spec in zip(devs, case.disks, strict=True):
            for i, p in enumerate(spec.parts, 1):
                if p.files and f"{d}p{i}" not in [_subst(b, devs) for b in case.busy]:
                    rig.check_files(f"{d}p{i}", p.files)
            if spec.files:
                rig.check_files(d, spec.files)
        assert not os.listdir(tmp_path)
        return

    changes = stage.plan(stage.parse(config), root, ctx)
    assert all(c.stage == "disks" for c in changes)
    flagged = {c.action for c in changes if c.destructive}
    assert flagged == set(case.destructive), [c.summary for c in changes]
    for c in changes:
        if c.destructive:
            assert "holds:" in c.summary and c.target in c.summary
    for c in changes:
        stage.apply(c, root, ctx)
    for dev, want in zip(devs, case.out, strict=True):
        rig.check(dev, want)
    for path, line in case.units.items():
        text = root.read_text(path)
        assert text is not None and line in text.splitlines(), text
        wants = "swap.target.wants" if path.endswith(".swap") else "local-fs.target.wants"
        link = f"/etc/systemd/system/{wants}/{os.path.basename(path)}"
        assert root.readlink(link) == f"../{os.path.basename(path)}"
    after = [rig.snapshot(d) for d in devs]
    again = stage.plan(stage.parse(config), root, ctx)
    assert again == [], [c.summary for c in again]
    assert [rig.snapshot(d) for d in devs] == after


@pytest.mark.root
def test_a_device_mounted_after_the_plan_is_not_formatted(rig, tmp_path) -> None:
    """apply re-checks at the last moment: a filesystem mounted since the plan survives."""
    dev = rig.attach(InDisk(64 * M, "gpt", [InPart(32 * M, "DATA", fs="ext4", fs_label="old", files=KEEP)]))
    config = {"disks": [{"device": dev, "partitions": [
        {"number": 1, "filesystem": _fs("ext4", "new", wipe_filesystem=True)}]}]}
    ctx = StageContext(phase="initramfs", settings={"disks": {"include_loop": True, "restrict_to": [dev]}})
    root = Root(tmp_path)
    changes = stage.plan(stage.parse(config), root, ctx)
    assert [(c.action, c.destructive) for c in changes] == [("format", True)]
    rig.mount(f"{dev}p1")
    with pytest.raises(stage.DiskToolError, match="became busy"):
        stage.apply(changes[0], root, ctx)
    rig.check(dev, OutDisk("gpt", [OutPart(1, "DATA", 32 * M, fs="ext4", fs_label="old", files=KEEP)]))
    # Refused before anything changed: not even the in-progress partition type was set
    # (it would let the next boot format the partition without a flag).
    from ros_init.disks.layout import GPT_TYPES
    from ros_init.system import blockdev
    assert blockdev.read_table(dev).partitions[0].type == GPT_TYPES["linux"]
