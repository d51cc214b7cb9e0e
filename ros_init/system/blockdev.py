"""Read-only probing of block devices: what disks exist and what they hold now.

Everything here reads; nothing writes to a disk. Sources, all machine-readable:
``<sys_root>/sys/block`` (disks, sizes, model, serial, partitions, holders),
``sfdisk --json`` (the partition table), ``blkid -p -o udev`` (low-level probe of
signatures, labels decoded: no cache, no udev; partitions are probed through their disk at
the table's offsets, so what the kernel has no node for is seen too), ``<sys_root>/proc/self/mountinfo`` and ``/proc/swaps``
(what is in use), and the filesystem superblock (size and usage of ext2/3/4, xfs, btrfs)
so that a plan can say what a device holds and whether a filesystem fills its partition.

Works without udev: ``/dev/disk/by-*`` links are resolved from blkid's answers when the
links do not exist (early initramfs, containers).

Seed volumes by filesystem label (``by_label``, for the cdrom and Azure datasources) are found
three ways, tried in this order: pyudev when a udev daemon runs (its database already holds
every label); ``blkid`` probing when it does not (early initramfs, containers); reading the
superblocks ourselves (ISO9660, FAT, ext2/3/4) when ``blkid`` is missing or the device tree is
a test's fake one. Every way gives the same ``Volume`` list.
"""

from __future__ import annotations

import os
import struct

from ros_init.core.logger import logger
from ros_init.core.record import field, record, replace

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    import subprocess

DOS_EXTENDED = ("5", "f", "85")  # msdos extended partition types (CHS, LBA, Linux)
SECTOR = 512  # the unit of /sys/block/*/size, whatever the logical block size
_DATA_PROBE_BYTES = 1 << 20
_NOT_DISKS = ("ram", "zram", "sr", "fd", "nbd")  # optical, floppy, memory and network devices  # how much of an unrecognised device is read to look for data


LOG = logger("ros_init.system.blockdev")


class ProbeError(Exception):
    """A tool failed while reading a device; the message names the device and the tool."""


@record(frozen=True)
class Content:
    """What blkid (and a look at the first MiB) finds on a device."""

    type: str | None = None  # "ext4", "xfs", "swap", "vfat", "btrfs", "LVM2_member", "gpt" ...
    label: str | None = None
    uuid: str | None = None
    usage: str | None = None  # blkid USAGE: filesystem, raid, crypto, other, partition table
    fs_size: int | None = None  # bytes the filesystem spans (from its superblock), when known
    fs_used: int | None = None  # bytes in use, when the superblock says it (ext2/3/4)
    data: bool = False  # no signature, but non-zero bytes in the first MiB

    @property
    def empty(self) -> bool:
        return self.type is None and not self.data

    def describe(self) -> str:
        """A short, secret-free phrase for plans and refusals: 'ext4 label old, 12 MiB used'."""
        if self.type is None:
            return "unrecognised data (non-zero bytes in its first MiB)" if self.data else "nothing"
        words = [self.type]
        if self.label:
            words.append(f"label {self.label}")
        elif self.uuid:
            words.append(f"uuid {self.uuid}")
        text = " ".join(words)
        if self.fs_used is not None:
            text += f", {format_size(self.fs_used)} used"
        elif self.fs_size is not None:
            text += f", {format_size(self.fs_size)}"
        return text


@record(frozen=True)
class Partition:
    """One entry of a partition table, with what its device holds."""

    number: int
    node: str  # /dev/loop0p1
    start: int  # in sectors of the table's sector size
    size: int
    type: str  # GPT type GUID (upper case) or msdos hex type ("83")
    uuid: str | None = None  # PARTUUID
    name: str | None = None  # GPT partition name (PARTLABEL)
    content: Content = field(default_factory=Content)
    node_ok: bool = True  # the kernel's node has the table's start and size (False: missing or stale)

    @property
    def extended(self) -> bool:
        """An msdos extended partition (a container of logical partitions, not a filesystem)."""
        return self.type.lower() in DOS_EXTENDED and "-" not in self.type

    @property
    def logical(self) -> bool:
        """An msdos logical partition (inside the extended one)."""
        return self.number > 4 and "-" not in self.type

    @property
    def end(self) -> int:
        """First sector after the partition."""
        return self.start + self.size


@record(frozen=True)
class Table:
    label: str  # "gpt" or "dos" (sfdisk's names)
    sector_size: int
    first_lba: int
    partitions: tuple[Partition, ...] = ()
    id: str | None = None
    last_lba: int | None = None
    # What the free space holds where a new partition would start: (sector, content) for
    # the 1 MiB-aligned start of every gap. A deleted entry (an msdos extended partition
    # with its logical ones, a partition deleted by hand) leaves its filesystem there.
    free: tuple[tuple[int, Content], ...] = ()


@record(frozen=True)
class Disk:
    """A whole disk as probed now."""

    name: str  # loop0, vda, nvme0n1
    path: str  # /dev/loop0
    size: int  # bytes
    sector_size: int = SECTOR
    read_only: bool = False
    removable: bool = False
    loop: bool = False
    virtual: bool = False  # dm, md: never picked by a selector
    model: str | None = None
    serial: str | None = None
    table: Table | None = None
    content: Content = field(default_factory=Content)  # whole-device probe when it has no table
    unreadable: str | None = None  # why probing failed (no medium, I/O error): never a target
    in_use: tuple[tuple[str, str], ...] = ()  # ("/dev/loop0p1", "mounted on /mnt"), ("/dev/loop0p2", "active swap")
    holds_root: bool = False  # holds the running root (or the target root)

    @property
    def sectors(self) -> int:
        return self.size // self.sector_size

    def partition_node(self, number: int) -> str:
        sep = "p" if self.name[-1:].isdigit() else ""
        return f"{self.path}{sep}{number}"


# -- formatting --------------------------------------------------------------------------
def format_size(n: int) -> str:
    for unit, div in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= div:
            v = n / div
            return f"{v:.0f} {unit}" if v >= 10 or v == int(v) else f"{v:.1f} {unit}"
    return f"{n} B"


# -- running tools ------------------------------------------------------------------------
def _run(argv: list[str], *, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
    import subprocess

    try:
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise ProbeError(f"{argv[0]} is not installed") from None
    if proc.returncode not in ok:
        msg = proc.stderr.strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
        raise ProbeError(f"{' '.join(argv)}: {msg[0]}")
    return proc


def parse_blkid_export(text: str) -> dict[str, str]:
    """``blkid -o export`` KEY=value lines (values are shell-escaped with backslashes)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if not sep:
            continue
        chars: list[str] = []
        i = 0
        while i < len(value):
            if value[i] == "\\" and i + 1 < len(value):
                i += 1
            chars.append(value[i])
            i += 1
        out[key] = "".join(chars)
    return out


def parse_blkid_udev(text: str) -> dict[str, str]:
    """``blkid -p -o udev`` lines -> TYPE, PTTYPE, LABEL, UUID, USAGE, decoded.

    The ``*_ENC`` values carry udev's ``\\xNN`` escapes, which undo to the exact bytes on
    disk; ``-o export`` prints non-ASCII bytes as ``M-`` sequences that cannot be undone, so a
    label such as ``dönnées`` would never match its config again.
    """
    raw: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            raw[key] = value
    out: dict[str, str] = {}
    for key, src in (("TYPE", "ID_FS_TYPE"), ("PTTYPE", "ID_PART_TABLE_TYPE"), ("USAGE", "ID_FS_USAGE")):
        if raw.get(src):
            out[key] = raw[src]
    for key, src in (("LABEL", "ID_FS_LABEL"), ("UUID", "ID_FS_UUID")):
        if src + "_ENC" in raw:
            out[key] = decode_udev_name(raw[src + "_ENC"])
        elif raw.get(src):
            out[key] = raw[src]
    return out


def probe_content(device: str, mount_point: str | None = None, *, offset: int = 0,
                  size: int | None = None) -> Content:
    """blkid low-level probe of one device, plus filesystem size and a look for data.

    ``offset``/``size``: probe that byte range of ``device`` (a partition read through its
    disk, so that what the table says is probed even when the kernel has no node for it, or
    a stale one). ``mount_point``: where the device is mounted, if it is; xfs and btrfs do
    not write their superblock in place at once, so their size is then asked from the kernel.
    """
    argv = ["blkid", "-p", "-o", "udev"]
    if offset or size is not None:
        argv += ["-O", str(offset)] + (["-S", str(size)] if size is not None else [])
    proc = _run(argv + [device], ok=(0, 2))
    tags = parse_blkid_udev(proc.stdout) if proc.returncode == 0 else {}
    ftype = tags.get("TYPE") or tags.get("PTTYPE")
    if ftype is None:
        return Content(data=_has_data(device, offset))
    usage = tags.get("USAGE") or ("partition table" if "PTTYPE" in tags and "TYPE" not in tags else None)
    if mount_point is not None and ftype in ("xfs", "btrfs"):
        fs_size, used = mounted_fs_size(mount_point, ftype), None
    else:
        fs_size, used = superblock_size(device, ftype, offset)
    return Content(type=ftype, label=tags.get("LABEL"), uuid=tags.get("UUID"), usage=usage,
                   fs_size=fs_size, fs_used=used)


def _has_data(device: str, offset: int = 0) -> bool:
    try:
        with open(device, "rb", buffering=0) as fh:
            fh.seek(offset)
            block = fh.read(_DATA_PROBE_BYTES)
    except OSError:
        return False
    return block.count(0) != len(block)


def superblock_size(device: str, ftype: str, offset: int = 0) -> tuple[int | None, int | None]:
    """(bytes the filesystem spans, bytes used) read from its superblock; None when unknown."""
    try:
        with open(device, "rb", buffering=0) as fh:
            fh.seek(offset)
            head = fh.read(70 * 1024)
    except OSError:
        return None, None
    return parse_superblock(head, ftype)


def parse_superblock(head: bytes, ftype: str) -> tuple[int | None, int | None]:
    """Pure: size and usage from the first 70 KiB of a device (on-disk formats are stable)."""
    try:
        if ftype in ("ext2", "ext3", "ext4"):
            sb = head[1024:2048]
            blocks_lo, _r, free_lo = struct.unpack_from("<III", sb, 4)
            log_bs = struct.unpack_from("<I", sb, 24)[0]
            incompat = struct.unpack_from("<I", sb, 0x60)[0]
            blocks, free = blocks_lo, free_lo
            if incompat & 0x80:  # INCOMPAT_64BIT
                blocks |= struct.unpack_from("<I", sb, 0x150)[0] << 32
                free |= struct.unpack_from("<I", sb, 0x158)[0] << 32
            bs = 1024 << log_bs
            return blocks * bs, (blocks - free) * bs
        if ftype == "xfs":
            bs = struct.unpack_from(">I", head, 4)[0]
            dblocks = struct.unpack_from(">Q", head, 8)[0]
            return dblocks * bs, None
        if ftype == "btrfs":
            total = struct.unpack_from("<Q", head, 0x10000 + 0x70)[0]
            return total, None
    except struct.error:
        return None, None
    return None, None


_XFS_IOC_FSGEOMETRY_V1 = 0x80705864  # _IOR('X', 100, struct xfs_fsop_geom_v1), 112 bytes
_BTRFS_IOC_DEV_INFO = 0xD000941E  # _IOWR(0x94, 30, struct btrfs_ioctl_dev_info_args), 4096 bytes


def mounted_fs_size(mount_point: str, ftype: str) -> int | None:
    """Bytes a mounted xfs or (single-device) btrfs spans, asked from the kernel by ioctl."""
    import fcntl

    try:
        fd = os.open(mount_point, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return None
    try:
        if ftype == "xfs":
            buf = bytearray(112)
            fcntl.ioctl(fd, _XFS_IOC_FSGEOMETRY_V1, buf)
            blocksize = struct.unpack_from("<I", buf, 0)[0]
            datablocks = struct.unpack_from("<Q", buf, 32)[0]
            return blocksize * datablocks
        if ftype == "btrfs":
            buf = bytearray(4096)
            struct.pack_into("<Q", buf, 0, 1)  # devid 1: the only device of a one-disk btrfs
            fcntl.ioctl(fd, _BTRFS_IOC_DEV_INFO, buf)
            return struct.unpack_from("<Q", buf, 32)[0]
    except OSError:
        return None
    finally:
        os.close(fd)
    return None


def read_table(disk_path: str) -> Table | None:
    """The partition table from ``sfdisk --json``; None when the disk has none."""
    proc = _run(["sfdisk", "--json", disk_path], ok=(0, 1))
    if proc.returncode != 0 or not proc.stdout.strip():
        if "does not contain a recognized partition table" in proc.stderr or not proc.stderr.strip():
            return None
        raise ProbeError(f"sfdisk --json {disk_path}: {proc.stderr.strip().splitlines()[-1]}")
    import json

    pt = json.loads(proc.stdout)["partitiontable"]
    sector = int(pt.get("sectorsize", SECTOR))
    parts = []
    for p in pt.get("partitions", []):
        node = p["node"]
        parts.append(Partition(
            number=_number_of(node), node=node, start=int(p["start"]), size=int(p["size"]),
            type=str(p["type"]).upper() if pt["label"] == "gpt" else str(p["type"]).lower(),
            uuid=p.get("uuid"), name=p.get("name"),
        ))
    return Table(label=pt["label"], sector_size=sector, first_lba=int(pt.get("firstlba", 2048)),
                 partitions=tuple(parts), id=pt.get("id"),
                 last_lba=int(pt["lastlba"]) if "lastlba" in pt else None)


def _number_of(node: str) -> int:
    digits = ""
    for ch in reversed(node):
        if not ch.isdigit():
            break
        digits = ch + digits
    return int(digits)


# -- sysfs ---------------------------------------------------------------------------------
def read_sysfs(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read().strip()
    except OSError:
        return None


def _devnum(sysdir: str) -> str | None:
    return read_sysfs(os.path.join(sysdir, "dev"))


@record(frozen=True)
class Usage:
    """What is in use, by device number ("maj:min") or kernel name."""

    mounts: dict[str, str]  # "7:1" -> mount point (first seen); btrfs by its source device
    swaps: set[str]  # device paths in /proc/swaps
    btrfs: dict[str, str] = field(default_factory=dict)  # kernel name of a mounted btrfs member -> mount point
    loops: dict[str, str] = field(default_factory=dict)  # "7:1" -> "loop3": the device backs that loop device

    @classmethod
    def read(cls, sys_root: str) -> Usage:
        mounts: dict[str, str] = {}
        btrfs_sources: dict[str, str] = {}  # kernel name -> mount point
        text = read_sysfs(os.path.join(sys_root, "proc/self/mountinfo")) or ""
        for line in text.splitlines():
            f = line.split()
            if len(f) <= 4:
                continue
            mp = _unescape_mount(f[4])
            mounts.setdefault(f[2], mp)
            tail = f[f.index("-", 6) + 1:] if "-" in f[6:] else []
            if len(tail) >= 2 and tail[1].startswith("/dev/"):
                # btrfs (and other anonymous-device filesystems) show 0:NN: their real
                # device number comes from the source device.
                num = _rdev(os.path.join(sys_root, tail[1].lstrip("/")))
                if num is not None:
                    mounts.setdefault(num, mp)
                if tail[0] == "btrfs":
                    btrfs_sources.setdefault(os.path.basename(os.path.realpath(tail[1])), mp)
        swaps = set()
        for line in (read_sysfs(os.path.join(sys_root, "proc/swaps")) or "").splitlines()[1:]:
            if line.split():
                swaps.add(line.split()[0])
        return cls(mounts, swaps, _btrfs_members(sys_root, btrfs_sources), _loop_backing(sys_root))


def _unescape_mount(text: str) -> str:
    """mountinfo's octal escapes (``\\040`` for a space)."""
    import re

    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def _rdev(path: str) -> str | None:
    import stat

    try:
        st = os.stat(path)
    except OSError:
        return None
    return f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}" if stat.S_ISBLK(st.st_mode) else None


def _btrfs_members(sys_root: str, sources: dict[str, str]) -> dict[str, str]:
    """Every device of every mounted btrfs (``/sys/fs/btrfs/<fsid>/devices``): a multi-device
    btrfs shows one source in mountinfo, but all its members are in use."""
    base = os.path.join(sys_root, "sys/fs/btrfs")
    out: dict[str, str] = {}
    for fsid in sorted(os.listdir(base)) if os.path.isdir(base) else []:
        devdir = os.path.join(base, fsid, "devices")
        if not os.path.isdir(devdir):
            continue
        members = sorted(os.listdir(devdir))
        mp = next((sources[m] for m in members if m in sources), f"(btrfs {fsid})")
        for m in members:
            out[m] = mp
    return out


def _loop_backing(sys_root: str) -> dict[str, str]:
    """Block devices that back a loop device (they have no ``holders`` entry)."""
    base = os.path.join(sys_root, "sys/block")
    out: dict[str, str] = {}
    for name in sorted(os.listdir(base)) if os.path.isdir(base) else []:
        if not name.startswith("loop"):
            continue
        backing = read_sysfs(os.path.join(base, name, "loop/backing_file"))
        if backing and backing.startswith("/dev/"):
            num = _rdev(os.path.join(sys_root, backing.lstrip("/")))
            if num is not None:
                out.setdefault(num, name)
    return out


def device_usage(usage: Usage, dev_name: str, num: str | None) -> list[str]:
    """Why one device (kernel name, device number) is in use, as phrases; [] when idle."""
    why = []
    if num in usage.mounts:
        why.append(f"mounted on {usage.mounts[num]}")
    elif dev_name in usage.btrfs:
        why.append(f"mounted on {usage.btrfs[dev_name]} (a btrfs member)")
    if f"/dev/{dev_name}" in usage.swaps:
        why.append("active swap")
    if num in usage.loops:
        why.append(f"backing /dev/{usage.loops[num]}")
    return why


def list_disks(sys_root: str = "/", *, only: list[str] | None = None, root_mounts: tuple[str, ...] = ("/",),
               probe: bool = True) -> list[Disk]:
    """Every whole disk under ``<sys_root>/sys/block`` with a non-zero size.

    ``only`` limits probing to those device paths (image settings may fence ros-init in).
    ``root_mounts`` are the mount points whose disk counts as holding the root.
    """
    base = os.path.join(sys_root, "sys/block")
    usage = Usage.read(sys_root)
    root_nums = {num for num, mp in usage.mounts.items() if mp in root_mounts}
    root_names = {n for n, mp in usage.btrfs.items() if mp in root_mounts}
    disks = []
    wanted = {os.path.realpath(p) for p in only} if only is not None else None
    for name in sorted(os.listdir(base)) if os.path.isdir(base) else []:
        sysdir = os.path.join(base, name)
        path = f"/dev/{name}"
        if wanted is not None and path not in wanted:
            continue
        if name.startswith(_NOT_DISKS):
            continue
        size = int(read_sysfs(os.path.join(sysdir, "size")) or 0) * SECTOR
        if size == 0:
            continue
        in_use: list[tuple[str, str]] = []
        mounted: dict[str, str] = {}
        holds_root = False
        part_dirs = [d for d in sorted(os.listdir(sysdir)) if os.path.isfile(os.path.join(sysdir, d, "partition"))]
        for dev_name, d in [(name, sysdir)] + [(p, os.path.join(sysdir, p)) for p in part_dirs]:
            num = _devnum(d)
            dev = f"/dev/{dev_name}"
            for why in device_usage(usage, dev_name, num):
                in_use.append((dev, why))
            if num in usage.mounts:
                mounted[dev] = usage.mounts[num]
            elif dev_name in usage.btrfs and usage.btrfs[dev_name].startswith("/"):
                mounted[dev] = usage.btrfs[dev_name]
            if num in root_nums or dev_name in root_names:
                holds_root = True
            holders = os.listdir(os.path.join(d, "holders")) if os.path.isdir(os.path.join(d, "holders")) else []
            if holders:
                in_use.append((dev, f"held by {', '.join(sorted(holders))}"))
        serial = read_sysfs(os.path.join(sysdir, "device/serial")) or read_sysfs(os.path.join(sysdir, "serial"))
        disk = Disk(
            name=name, path=path, size=size,
            sector_size=int(read_sysfs(os.path.join(sysdir, "queue/logical_block_size")) or SECTOR),
            read_only=read_sysfs(os.path.join(sysdir, "ro")) == "1",
            removable=read_sysfs(os.path.join(sysdir, "removable")) == "1",
            loop=name.startswith("loop"),
            virtual=name.startswith(("dm-", "md")),
            model=read_sysfs(os.path.join(sysdir, "device/model")),
            serial=serial or None,
            in_use=tuple(in_use), holds_root=holds_root,
        )
        if probe:
            try:
                disk = probe_disk(disk, mounted, kernel_partitions(sys_root, name))
            except ProbeError as exc:
                disk = replace(disk, unreadable=str(exc))
        disks.append(disk)
    return disks


def node_agrees(p: Partition, sector_size: int, kernel: dict[int, tuple[int, int]]) -> bool:
    """The kernel's partition ``p.number`` has the table's start and size (an msdos
    extended partition's node spans only its first sectors: the start must agree)."""
    k = sector_size // SECTOR
    have = kernel.get(p.number)
    if have is None:
        return False
    if p.extended:
        return have[0] == p.start * k
    return have == (p.start * k, p.size * k)


def free_starts(table: Table, disk_size: int) -> list[tuple[int, int]]:
    """The gaps of a table as (1 MiB-aligned start, end) in its sectors, at least 1 MiB long."""
    ss = table.sector_size
    grain = max((1 << 20) // ss, 1)
    end = disk_size // ss if table.last_lba is None else min(disk_size // ss, table.last_lba + 1)
    cur, out = max(table.first_lba, grain), []
    for a, b in sorted((p.start, p.end) for p in table.partitions) + [(end, end)]:
        start = -(-cur // grain) * grain
        if a - start >= grain:
            out.append((start, a))
        cur = max(cur, b)
    return out


_BLKFLSBUF = 0x1261  # _IO(0x12, 97)


def flush_cache(path: str) -> None:
    """Drop the page cache of a whole-disk device before reading partitions through it.

    A partition and its disk have separate page caches, and the disk's is kept while any
    partition is open (mounted): what mkfs wrote through a partition node is then not seen
    through the disk, and a fresh filesystem would read as "nothing" (and be formatted
    again). BLKFLSBUF writes back and drops only clean pages; it changes no data.
    """
    import fcntl

    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        fcntl.ioctl(fd, _BLKFLSBUF)
    except OSError:
        pass
    finally:
        os.close(fd)


def probe_disk(disk: Disk, mounts: dict[str, str] | None = None,
               kernel: dict[int, tuple[int, int]] | None = None) -> Disk:
    """Fill in the table (with each partition's content) or the whole-disk content.

    Each partition is probed through the disk at the offset the table gives, never through
    its kernel node alone: a partition the kernel has no node for (a disk attached without
    partition scan, a table written with ``--no-reread``), or a stale one, still shows what
    it holds. ``mounts``: device path -> mount point, for the devices that are mounted.
    ``kernel``: the kernel's partitions (``kernel_partitions``), to mark stale nodes.
    """
    mounts = mounts or {}
    flush_cache(disk.path)
    table = read_table(disk.path)
    if table is not None and table.label == "dos" and not table.partitions:
        # A FAT boot sector ends with 55 AA like an MBR: sfdisk reads a whole-disk vfat as an
        # empty msdos table. blkid tells them apart.
        whole = probe_content(disk.path)
        if whole.usage == "filesystem":
            return replace(disk, content=whole)
    if table is None:
        return replace(disk, content=probe_content(disk.path, mounts.get(disk.path)))
    ss = table.sector_size
    parts = []
    for p in table.partitions:
        ok = node_agrees(p, ss, kernel) if kernel is not None else True
        if p.extended:
            content = Content(type="extended partition", usage="partition table")
        else:
            content = probe_content(disk.path, mounts.get(p.node) if ok else None,
                                    offset=p.start * ss, size=p.size * ss)
        parts.append(replace(p, content=content, node_ok=ok))
    free = tuple((start, probe_content(disk.path, offset=start * ss, size=(end - start) * ss))
                 for start, end in free_starts(table, disk.size))
    return replace(disk, table=replace(table, partitions=tuple(parts), free=free),
                   content=Content(type=table.label, usage="partition table"))


def mount_source(sys_root: str, mount_point: str) -> str | None:
    """The device number ("maj:min") mounted at ``mount_point``, or None."""
    for num, mp in Usage.read(sys_root).mounts.items():
        if mp == mount_point:
            return num
    return None


def kernel_partitions(sys_root: str, disk_name: str) -> dict[int, tuple[int, int]]:
    """Partitions the kernel knows for a disk: number -> (start, size) in 512-byte sectors."""
    sysdir = os.path.join(sys_root, "sys/block", disk_name)
    out = {}
    for d in os.listdir(sysdir) if os.path.isdir(sysdir) else []:
        pdir = os.path.join(sysdir, d)
        num = read_sysfs(os.path.join(pdir, "partition"))
        if num:
            out[int(num)] = (int(read_sysfs(os.path.join(pdir, "start")) or 0), int(read_sysfs(os.path.join(pdir, "size")) or 0))
    return out


def udev_running(sys_root: str = "/") -> bool:
    return os.path.exists(os.path.join(sys_root, "run/udev/control"))


def decode_udev_name(name: str) -> str:
    """Undo udev's ``\\xNN`` encoding of a /dev/disk/by-label link name."""
    out = bytearray()
    i = 0
    raw = name.encode("utf-8", errors="surrogateescape")
    while i < len(raw):
        if raw[i:i + 2] == b"\\x" and i + 4 <= len(raw):
            try:
                out.append(int(raw[i + 2:i + 4], 16))
                i += 4
                continue
            except ValueError:
                pass
        out.append(raw[i])
        i += 1
    return out.decode("utf-8", errors="replace")


def encode_udev_name(text: str) -> str:
    """udev's encoding of a label in a /dev/disk/by-label link (blkid_encode_string rules)."""
    allowed = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#+-.:=@_")
    out = []
    for ch in text:
        if ch in allowed or (ord(ch) > 127 and ch.isprintable()):
            out.append(ch)
        else:
            out.extend(f"\\x{b:02x}" for b in ch.encode("utf-8"))
    return "".join(out)


def device_of_mount(sys_root: str, mount_point: str) -> str | None:
    """The /dev path of the block device mounted at ``mount_point`` (host path), or None."""
    num = mount_source(sys_root, mount_point)
    if num is None:
        return None
    link = os.path.join(sys_root, "sys/dev/block", num)
    if not os.path.exists(link):
        return None
    return "/dev/" + os.path.basename(os.path.realpath(link))


# -- seed volumes by label ------------------------------------------------------------------
@record(frozen=True)
class Volume:
    device: str  # host path, e.g. /dev/sr0 or /dev/loop3
    label: str
    fstype: str  # iso9660, vfat, ext4 ... ("" when unknown)


def by_label(labels: list[str], *, sys_root: str = "/", devices: list[str] | None = None,
             timeout: float = 5.0) -> list[Volume]:
    """Volumes whose label is one of ``labels`` (exact, case-sensitive), in label order.

    ``devices`` restricts the scan to those device paths (tests); ``sys_root`` other
    than ``/`` means a fake device tree, read through the superblock reader.
    """
    if not labels:
        return []
    if devices is not None:
        devices = with_partitions(devices, sys_root)
    import shutil

    found: list[Volume] = []
    if sys_root == "/" and devices is None and udev_running():
        try:
            found = _by_udev(labels)
        except Exception as exc:  # pyudev missing or the database unreadable: probe instead
            LOG.debug("udev lookup failed (%s), probing with blkid", exc)
            found = _by_blkid(labels, None, timeout)
    elif sys_root == "/" and shutil.which("blkid"):
        found = _by_blkid(labels, devices, timeout)
    else:
        found = _by_superblock(labels, sys_root, devices)
    rank = {lab: i for i, lab in enumerate(labels)}
    return sorted(found, key=lambda v: (rank.get(v.label, len(rank)), v.device))


def with_partitions(devices: list[str], sys_root: str = "/") -> list[str]:
    """Each device followed by its partitions (``/sys/class/block/<disk>/<part>/partition``):
    a seed on a partition of a USB stick or a virtio disk is found when the disk is named."""
    out: list[str] = []
    for dev in devices:
        out.append(dev)
        name = os.path.basename(dev)
        sysdir = os.path.join(sys_root, "sys/class/block", name)
        try:
            parts = sorted(e for e in os.listdir(sysdir) if os.path.exists(os.path.join(sysdir, e, "partition")))
        except OSError:
            continue
        out += [os.path.join(os.path.dirname(dev), p) for p in parts if os.path.join(os.path.dirname(dev), p) not in out]
    return list(dict.fromkeys(out))


def _by_udev(labels: list[str]) -> list[Volume]:
    import pyudev

    ctx = pyudev.Context()
    out = []
    for dev in ctx.list_devices(subsystem="block"):
        label = dev.properties.get("ID_FS_LABEL")
        if label in labels and dev.device_node:
            out.append(Volume(dev.device_node, label, dev.properties.get("ID_FS_TYPE", "")))
    return out


def volumes_from_blkid_export(text: str) -> list[Volume]:
    """Pure: ``blkid -o export`` output for several devices (blank-line separated blocks of
    KEY=value lines, each read by ``parse_blkid_export``) -> the labelled volumes."""
    out = []
    for block in text.split("\n\n"):
        fields = parse_blkid_export(block)
        if fields.get("DEVNAME") and "LABEL" in fields:
            out.append(Volume(fields["DEVNAME"], fields["LABEL"], fields.get("TYPE", "")))
    return out


def _by_blkid(labels: list[str], devices: list[str] | None, timeout: float) -> list[Volume]:
    # -c /dev/null: probe the devices now, never trust a stale cache file.
    cmd = ["blkid", "-o", "export", "-c", "/dev/null", *(devices or [])]
    LOG.info("waiting up to %.1fs for blkid to read the labels of %s", timeout,
             ", ".join(devices) if devices else "all block devices")
    import subprocess

    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        LOG.warning("blkid did not answer within %.1fs; reading superblocks instead", timeout)
        return _by_superblock(labels, "/", devices)
    # blkid exits 2 when it finds nothing: not an error.
    return [v for v in volumes_from_blkid_export(res.stdout) if v.label in labels]


def _candidate_devices(sys_root: str) -> list[str]:
    out = []
    try:
        with open(os.path.join(sys_root, "proc/partitions")) as fh:
            for line in fh.read().splitlines()[2:]:
                parts = line.split()
                if len(parts) == 4:
                    out.append(os.path.join(sys_root, "dev", parts[3]))
    except OSError:
        pass
    return out


def _by_superblock(labels: list[str], sys_root: str, devices: list[str] | None) -> list[Volume]:
    out = []
    for dev in devices if devices is not None else _candidate_devices(sys_root):
        try:
            label, fstype = read_label(dev)
        except OSError:
            continue
        if label in labels:
            out.append(Volume(dev, label, fstype))
    return out


def read_label(device: str) -> tuple[str | None, str]:
    """(label, fstype) read from the superblock of an ISO9660, UDF, FAT or ext* volume."""
    with open(device, "rb") as fh:
        head = fh.read(64 * 1024)
    return label_from_bytes(head)


def label_from_bytes(head: bytes) -> tuple[str | None, str]:
    """Pure: the label and type from the first 64 KiB of a volume."""
    # ISO9660 primary volume descriptor at sector 16: type 1, "CD001", volume id at +40.
    pvd = head[32768:32768 + 2048]
    if len(pvd) >= 72 and pvd[1:6] == b"CD001":
        return pvd[40:72].decode("ascii", "replace").rstrip(" \0"), "iso9660"
    # UDF (ECMA-167 volume recognition sequence from byte 32768, a descriptor per 2048 bytes or
    # per block when larger: BEA01, NSR02/NSR03, TEA01). Azure's provisioning media is UDF. The
    # label lives past the anchor at sector 256, beyond this head: the type is what mounting needs.
    for at in range(32768, min(len(head), 65536) - 5, 2048):
        if head[at + 1:at + 6] in (b"NSR02", b"NSR03"):
            return None, "udf"
    # ext2/3/4: magic 0xEF53 at 1024+56, label at 1024+120 (16 bytes).
    sb = head[1024:2048]
    if len(sb) >= 136 and sb[56:58] == b"\x53\xef":
        return sb[120:136].split(b"\0", 1)[0].decode("utf-8", "replace"), "ext4"
    # FAT: boot signature 0x55AA; FAT32 label at 0x47, FAT12/16 at 0x2B (when the
    # extended boot signature 0x29 is there).
    if len(head) >= 512 and head[510:512] == b"\x55\xaa":
        if head[0x52:0x57] == b"FAT32" and head[0x42] == 0x29:
            return head[0x47:0x52].decode("ascii", "replace").rstrip(" "), "vfat"
        if head[0x36:0x39] == b"FAT" and head[0x26] == 0x29:
            return head[0x2B:0x36].decode("ascii", "replace").rstrip(" "), "vfat"
    return None, ""
