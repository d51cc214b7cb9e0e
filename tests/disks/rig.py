"""Blackbox rig for the disks stage, after Ignition's: declared input disks become sparse
image files attached as loop devices (tables, filesystems, files on them); the stage runs
for real; the resulting disks are compared with the declared output.

Everything attached or mounted here is detached or unmounted by ``LoopRig.close``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field

from ros_init.system import blockdev

TOOLS = ("losetup", "sfdisk", "partx", "blkid", "wipefs", "mkfs.ext4", "mkfs.xfs", "mkfs.btrfs",
         "mkfs.vfat", "mkswap", "mcopy", "mtype", "resize2fs", "xfs_growfs", "btrfs", "e2fsck", "mount", "umount")

M = 1 << 20


@dataclass
class InPart:
    size: int | None  # bytes; None = rest
    label: str | None = None  # PARTLABEL (gpt)
    type: str = "L"
    fs: str | None = None
    fs_label: str | None = None
    files: dict[str, bytes] = field(default_factory=dict)


@dataclass
class InDisk:
    size: int
    table: str | None = "gpt"  # gpt | dos | None
    parts: list[InPart] = field(default_factory=list)
    fs: str | None = None  # whole-disk filesystem when table is None
    fs_label: str | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    sector_size: int = 512


@dataclass
class OutPart:
    number: int
    label: str | None = None
    size: int | None = None  # bytes, exact
    min_size: int | None = None
    fs: str | None = None
    fs_label: str | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    fs_fills: bool = False  # the filesystem spans (almost) the whole partition


@dataclass
class OutDisk:
    table: str | None  # "gpt" | "dos" | None
    parts: list[OutPart] = field(default_factory=list)
    fs: str | None = None
    fs_label: str | None = None
    files: dict[str, bytes] = field(default_factory=dict)


def run(argv: list[str], stdin: str | None = None) -> str:
    proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(argv)}: exit {proc.returncode}: {proc.stderr.strip()}")
    return proc.stdout


def mkfs(fs: str, dev: str, label: str | None) -> None:
    lab = {"ext4": "-L", "xfs": "-L", "btrfs": "-L", "vfat": "-n", "swap": "-L"}[fs]
    cmd = {"ext4": ["mkfs.ext4", "-F", "-q"], "xfs": ["mkfs.xfs", "-f", "-q"], "btrfs": ["mkfs.btrfs", "-f", "-q"],
           "vfat": ["mkfs.vfat"], "swap": ["mkswap", "-f"]}[fs]
    run(cmd + ([lab, label] if label else []) + [dev])


class LoopRig:
    def __init__(self) -> None:
        self.tmp = tempfile.mkdtemp(prefix="ros-init-disks-")
        self.loops: list[str] = []
        self.images: dict[str, str] = {}
        self.mounts: list[str] = []

    # -- building -------------------------------------------------------------------------
    def attach(self, disk: InDisk) -> str:
        img = os.path.join(self.tmp, f"disk{len(self.loops)}.img")
        with open(img, "wb") as fh:
            fh.truncate(disk.size)
        dev = run(["losetup", "--find", "--show", "--partscan", "--sector-size", str(disk.sector_size), img]).strip()
        self.loops.append(dev)
        self.images[dev] = img
        if disk.table:
            lines = [f"label: {disk.table}"]
            for p in disk.parts:
                f = [f"type={p.type}"]
                if p.size:
                    f.insert(0, f"size={p.size // disk.sector_size}")
                if p.label:
                    f.append(f'name="{p.label}"')
                lines.append(", ".join(f))
            run(["sfdisk", "--quiet", "--no-reread", dev], "\n".join(lines) + "\n")
            self.sync(dev)
            for i, p in enumerate(disk.parts, 1):
                node = f"{dev}p{i}"
                if p.fs:
                    mkfs(p.fs, node, p.fs_label)
                if p.files:
                    self.write_files(node, p.files)
        elif disk.fs:
            mkfs(disk.fs, dev, disk.fs_label)
            if disk.files:
                self.write_files(dev, disk.files)
        return dev

    def attach_image(self, img: str) -> str:
        """Attach an existing image again (with partition scan)."""
        dev = run(["losetup", "--find", "--show", "--partscan", img]).strip()
        self.loops.append(dev)
        self.images[dev] = img
        return dev

    def sync(self, dev: str) -> None:
        table = blockdev.read_table(dev)
        have = blockdev.kernel_partitions("/", os.path.basename(dev))
        for n in have:
            subprocess.run(["partx", "-d", "--nr", str(n), dev], capture_output=True, check=False)
        for p in table.partitions if table else ():
            run(["partx", "-a", "--nr", str(p.number), dev])

    def write_files(self, dev: str, files: dict[str, bytes]) -> None:
        if blockdev.probe_content(dev).type == "vfat":  # this kernel may lack vfat: use mtools
            src = tempfile.mkdtemp(dir=self.tmp)
            for rel, data in files.items():
                os.makedirs(os.path.dirname(os.path.join(src, rel)), exist_ok=True)
                with open(os.path.join(src, rel), "wb") as fh:
                    fh.write(data)
            for top in os.listdir(src):
                run(["mcopy", "-s", "-i", dev, os.path.join(src, top), "::/"])
            return
        with self.mounted(dev) as mp:
            for rel, data in files.items():
                path = os.path.join(mp, rel)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "wb") as fh:
                    fh.write(data)

    @contextlib.contextmanager
    def mounted(self, dev: str, ro: bool = False):
        mp = tempfile.mkdtemp(dir=self.tmp)
        run(["mount"] + (["-o", "ro"] if ro else []) + [dev, mp])
        self.mounts.append(mp)
        try:
            yield mp
        finally:
            run(["umount", mp])
            self.mounts.remove(mp)
            os.rmdir(mp)

    def mount(self, dev: str, at: str | None = None) -> str:
        """Mount and keep mounted (a busy device) until close()."""
        mp = at or tempfile.mkdtemp(dir=self.tmp)
        os.makedirs(mp, exist_ok=True)
        run(["mount", dev, mp])
        self.mounts.append(mp)
        return mp

    def mount_point(self, dev: str) -> str | None:
        return blockdev.Usage.read("/").mounts.get(blockdev.read_sysfs(f"/sys/class/block/{os.path.basename(dev)}/dev") or "")

    def enlarge(self, dev: str, size: int) -> None:
        with open(self.images[dev], "r+b") as fh:
            fh.truncate(size)
        run(["losetup", "--set-capacity", dev])

    # -- observing ------------------------------------------------------------------------
    def snapshot(self, dev: str) -> tuple:
        """A comparable picture of a disk: table, partitions, and each one's signature."""
        d = blockdev.probe_disk(blockdev.Disk(os.path.basename(dev), dev, os.path.getsize(self.images[dev])))
        parts = tuple((p.number, p.start, p.size, p.type, p.uuid, p.name, p.content.type, p.content.label,
                       p.content.uuid) for p in (d.table.partitions if d.table else ()))
        return (d.table.label if d.table else None, d.table.id if d.table else None, parts,
                d.content.type, d.content.label, d.content.uuid)

    def check(self, dev: str, want: OutDisk) -> None:
        table = blockdev.read_table(dev)
        assert (table.label if table else None) == want.table, f"{dev}: table {table and table.label} != {want.table}"
        if table is None:
            c = blockdev.probe_content(dev)
            assert (c.type, c.label) == (want.fs, want.fs_label), f"{dev}: {c} != {want.fs} {want.fs_label}"
            self.check_files(dev, want.files)
            return
        got = {p.number: p for p in table.partitions}
        assert sorted(got) == [p.number for p in want.parts], f"{dev}: partitions {sorted(got)}"
        for w in want.parts:
            p = got[w.number]
            size = p.size * table.sector_size
            if w.label is not None:
                assert p.name == w.label, f"{p.node}: partlabel {p.name} != {w.label}"
            if w.size is not None:
                assert size == w.size, f"{p.node}: size {size} != {w.size}"
            if w.min_size is not None:
                assert size >= w.min_size, f"{p.node}: size {size} < {w.min_size}"
            c = blockdev.probe_content(p.node, self.mount_point(p.node))
            assert (c.type, c.label) == (w.fs, w.fs_label), f"{p.node}: holds {c.type} {c.label}, want {w.fs} {w.fs_label}"
            if w.fs_fills:
                assert c.fs_size is not None and size - c.fs_size < M, f"{p.node}: fs {c.fs_size} in {size}"
            self.check_files(p.node, w.files)

    def check_files(self, dev: str, files: dict[str, bytes]) -> None:
        if not files:
            return
        if blockdev.probe_content(dev).type == "vfat":
            for rel, data in files.items():
                got = subprocess.run(["mtype", "-i", dev, "::/" + rel], capture_output=True, check=True).stdout
                assert got == data, f"{dev}: {rel} changed"
            return
        mounted = self.mount_point(dev)
        with contextlib.nullcontext(mounted) if mounted else self.mounted(dev, ro=True) as mp:
            for rel, data in files.items():
                with open(os.path.join(mp, rel), "rb") as fh:
                    assert fh.read() == data, f"{dev}: {rel} changed"

    def close(self) -> None:
        for mp in reversed(self.mounts):
            subprocess.run(["umount", "-l", mp], capture_output=True, check=False)
        for dev in self.loops:
            subprocess.run(["losetup", "-d", dev], capture_output=True, check=False)
        # Remove the scratch tree only when nothing is mounted below it any more: a recursive
        # delete through a live mount point would delete files on that filesystem.
        for dirpath, _dirs, _files in os.walk(self.tmp):
            if os.path.ismount(dirpath):
                return
        shutil.rmtree(self.tmp, ignore_errors=True)
