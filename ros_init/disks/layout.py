"""The disk layout decision: desired layout + probed disks -> actions, or a refusal.

Pure: no device is touched here. ``ros_init.system.blockdev`` says what the disks hold now,
``stages/disks.py`` turns the actions into ``Change`` objects and runs the tools.

Safety rules (Ignition's, made idempotent):

- A declared partition that exists and matches is kept untouched. One that exists and
  does not match is an error, unless ``wipe_partition_entry: true`` lets it be replaced.
- ``wipe_table: true`` is the only way to discard a partition table, and it is used only
  when the existing table does not already hold exactly the declared layout.
- A filesystem of the declared type (and label, when one is declared) is reused. A device
  holding anything else (another filesystem, a RAID or LVM signature, a table, or
  unrecognised non-zero bytes) is formatted only with ``wipe_filesystem: true`` (or
  ``wipe_table: true`` on its disk). Flags say "may destroy", never "always destroy": a
  layout that already matches is never rewritten, so a second run changes nothing.
- A destructive action on a device in use (mounted, active swap, held by dm/md) is refused.
- Any refusal raises ``DiskLayoutError`` before anything is written.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re

from ros_init.core.changes import DiskAction
from ros_init.core.findings import Refusals
from ros_init.core.record import field, record, replace
from ros_init.system.blockdev import DOS_EXTENDED, Content, Disk, Partition, decode_udev_name, format_size

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

MIB = 1 << 20
# mkfs runs under this label, and the final one is set only once mkfs has succeeded: a
# filesystem that still carries it was left half-made by a killed run. It is never reused
# and is formatted again without a wipe flag (it holds nothing of anyone's).
MKFS_LABEL = "ROSINIT-NEW"
# The partition type mkfs runs under (set before, the declared type back after the label):
# a kill inside mkfs can leave a partition whose first MiB holds mkfs's first writes but no
# signature yet ("unrecognised data", refused at every boot). This type says that whatever
# it holds is an unfinished mkfs of ros-init's. GPT: a GUID of ros-init's own; msdos: 7f,
# reserved for local and experimental use.
MKFS_GPT_TYPE = "7C1D0D8A-52D5-4C1E-9A52-4F53494E4954"
MKFS_DOS_TYPE = "7f"


def mkfs_in_progress(p: Partition) -> bool:
    """The partition carries the type mkfs runs under: a killed run left it half-made."""
    return p.type.upper() == MKFS_GPT_TYPE or (p.type.lower() == MKFS_DOS_TYPE and "-" not in p.type)


def _half_made(c: Content) -> Content:
    """What an in-progress partition holds, as the plan treats it: ros-init's own unfinished mkfs."""
    return replace(c, type=c.type or "an unfinished mkfs", label=MKFS_LABEL, data=False)
FORMATS = ("ext4", "xfs", "btrfs", "vfat", "swap")
GROWABLE = ("ext2", "ext3", "ext4", "xfs", "btrfs")
LABEL_MAX = {"ext4": 16, "xfs": 12, "btrfs": 255, "vfat": 11, "swap": 16}
# The smallest device each mkfs accepts (xfsprogs >= 5.19: 300 MiB; btrfs-progs: 109 MiB), so
# that a too-small partition is refused by the plan instead of failing halfway through apply.
MIN_SIZE = {"ext4": MIB, "xfs": 300 * MIB, "btrfs": 109 * MIB, "vfat": MIB, "swap": 64 * 1024}

GPT_TYPES = {
    "linux": "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
    "swap": "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F",
    "efi": "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
    "bios": "21686148-6449-6E6F-744E-656564454649",
    "lvm": "E6D6D379-F507-44C2-A23C-238F2A3DF928",
    "raid": "A19D880F-05FC-4D3B-A006-743F0F84911E",
}
DOS_TYPES = {"linux": "83", "swap": "82", "efi": "ef", "lvm": "8e", "raid": "fd"}
_GUID = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\Z")


class DiskLayoutError(Exception):
    """The layout cannot be planned safely. The message names the config element, the
    device and what it holds; it never holds file contents or secrets."""


# -- the desired layout ----------------------------------------------------------------------
@record(frozen=True)
class MountSpec:
    path: str | None
    options: tuple[str, ...] = ("defaults",)


@record(frozen=True)
class FilesystemSpec:
    format: str
    label: str | None = None
    options: tuple[str, ...] = ()
    wipe: bool = False
    mount: MountSpec | None = None
    where: str = ""


@record(frozen=True)
class PartitionSpec:
    number: int | None = None
    label: str | None = None
    size: int | None = None  # bytes; None = the rest of the free space
    start: int | None = None  # bytes
    type: str | None = None  # as written in the config
    wipe_entry: bool = False
    grow: bool = False
    filesystem: FilesystemSpec | None = None
    where: str = ""


@record(frozen=True)
class Selector:
    only: bool = False
    min_size: int | None = None
    model: str | None = None
    serial: str | None = None
    label: str | None = None


@record(frozen=True)
class DiskSpec:
    device: str | None = None
    match: Selector | None = None
    table: str = "gpt"  # "gpt" | "msdos"
    wipe_table: bool = False
    partitions: tuple[PartitionSpec, ...] = ()
    where: str = ""


@record(frozen=True)
class FilesystemTarget:
    device: str
    fs: FilesystemSpec
    where: str = ""


@record(frozen=True)
class Fence:
    """Which disks ros-init may consider (image settings ``disks:``).

    ``include_loop``: loop devices count as disks for selectors (test rigs; off by default
    because a loop device is an image file, not hardware). ``restrict_to``: when set,
    only these disks may be selected or changed, even when named by path: a fence for
    images that must leave other disks alone, and for tests on a shared machine.
    """

    include_loop: bool = False
    restrict_to: frozenset[str] | None = None


@record(frozen=True)
class MountRequest:
    """A filesystem to be mounted at boot, identified by label or UUID (never kernel name)."""

    what: str  # /dev/disk/by-label/data or /dev/disk/by-uuid/...
    where: str | None  # None for swap
    fstype: str
    options: tuple[str, ...]
    device: str  # for summaries


@record
class LayoutPlan:
    actions: list[DiskAction] = field(default_factory=list)
    mounts: list[MountRequest] = field(default_factory=list)


# -- parsing the config ----------------------------------------------------------------------
_SIZE = re.compile(r"^\s*(\d+)\s*([KMGTP]?)(?:i?B)?\s*$", re.IGNORECASE)


def parse_size(value: Any, where: str) -> int:
    """Bytes from an int or "10G" / "512M" / "1GiB" (binary units)."""
    if isinstance(value, bool):
        raise DiskLayoutError(f"{where}: expected a size such as 10G or 512M, found a boolean")
    if isinstance(value, int):
        if value < 0:
            raise DiskLayoutError(f"{where}: a size cannot be negative")
        return value
    if isinstance(value, str):
        m = _SIZE.match(value)
        if m:
            power = " KMGTP".index(m.group(2).upper() or " ")
            return int(m.group(1)) << (10 * power)
    raise DiskLayoutError(f"{where}: {value!r} is not a size (use bytes, or a number with K, M, G or T)")


def _bool(d: dict[str, Any], key: str, where: str) -> bool:
    v = d.get(key, False)
    if not isinstance(v, bool):
        raise DiskLayoutError(f"{where}.{key}: expected true or false")
    return v


def _str(d: dict[str, Any], key: str, where: str) -> str | None:
    v = d.get(key)
    if v is not None and not isinstance(v, str):
        raise DiskLayoutError(f"{where}.{key}: expected a string")
    return v


def _obj(v: Any, where: str) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise DiskLayoutError(f"{where}: expected a mapping")
    return v


_VFAT_LABEL_BAD = set('*?.,;:/\\|+=<>[]"')


def label_problem(fmt: str, label: str) -> str | None:
    """Why ``fmt``'s tools could not store ``label`` and read it back unchanged; None if they can."""
    if not label or len(label.encode()) > LABEL_MAX[fmt]:
        return f"a {fmt} label has 1 to {LABEL_MAX[fmt]} bytes, {label!r} does not fit"
    if not label.isprintable():
        return f"{label!r}: a label holds printable characters only"
    if fmt == "vfat" and (any(not " " <= c <= "~" for c in label) or _VFAT_LABEL_BAD & set(label)):
        return (f"{label!r}: a vfat label holds ASCII letters, digits, spaces and !#$%&'()-@^_`{{}}~ only "
                "(mkfs.vfat refuses the others)")
    return None


def parse_filesystem(d: Any, where: str) -> FilesystemSpec:
    d = _obj(d, where)
    fmt = d.get("format")
    if fmt not in FORMATS:
        raise DiskLayoutError(f"{where}.format: expected one of {', '.join(FORMATS)}, found {fmt!r}")
    label = _str(d, "label", where)
    if label is not None:
        why = label_problem(fmt, label)
        if why:
            raise DiskLayoutError(f"{where}.label: {why}")
    options = d.get("options") or []
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        raise DiskLayoutError(f"{where}.options: expected a list of strings")
    from ros_init.disks.mkfsopts import OptionError, check_options

    try:
        check_options(fmt, options)
    except OptionError as exc:
        raise DiskLayoutError(f"{where}.options[{exc.index}]: {exc}") from None
    mount = None
    if d.get("mount") is not None:
        m = _obj(d["mount"], f"{where}.mount")
        path = _str(m, "path", f"{where}.mount")
        if fmt == "swap":
            if path not in (None, "none", "swap"):
                raise DiskLayoutError(f"{where}.mount: swap is not mounted on a path (it is always switched on); "
                                      "leave mount out")
            path = None
        elif path is None or not path.startswith("/"):
            raise DiskLayoutError(f"{where}.mount.path: expected an absolute path")
        else:
            # `/m`, `/m/` and `//m` are one mount point: one unit, the same at every boot.
            path = "/" + posixpath.normpath(path).lstrip("/")
        mopts = m.get("options") or ["defaults"]
        if isinstance(mopts, str):
            mopts = [o for o in mopts.split(",") if o]
        if not isinstance(mopts, list) or not all(isinstance(o, str) and o for o in mopts):
            raise DiskLayoutError(f"{where}.mount.options: expected a list of strings")
        mount = MountSpec(path, tuple(mopts))
    return FilesystemSpec(fmt, label, tuple(options), _bool(d, "wipe_filesystem", where), mount, where)


def parse_partition(d: Any, where: str) -> PartitionSpec:
    d = _obj(d, where)
    number = d.get("number")
    if number is not None and (isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 128):
        raise DiskLayoutError(f"{where}.number: expected a partition number from 1 to 128")
    size = parse_size(d["size"], f"{where}.size") if d.get("size") not in (None, 0, "0") else None
    start = parse_size(d["start"], f"{where}.start") if d.get("start") is not None else None
    ptype = d.get("type")
    if ptype is not None and not isinstance(ptype, str):
        ptype = str(ptype)
    fs = parse_filesystem(d["filesystem"], f"{where}.filesystem") if d.get("filesystem") is not None else None
    label = _str(d, "label", where)
    if label is not None and (not label or len(label) > 36 or any(c in label for c in '"\\')
                              or not label.isprintable() or any(ord(c) > 0xFFFF for c in label)):
        # sfdisk stores a name as UTF-16 but reads back only the Basic Multilingual Plane: a
        # name with an emoji would never match again (a new partition at every boot).
        raise DiskLayoutError(f"{where}.label: a GPT partition label has 1 to 36 printable characters of the "
                              "Basic Multilingual Plane (no emoji), without quotes or backslashes")
    return PartitionSpec(number, label, size, start, ptype,
                         _bool(d, "wipe_partition_entry", where), _bool(d, "grow", where), fs, where)


def parse_disk(d: Any, where: str) -> DiskSpec:
    d = _obj(d, where)
    device, match = _str(d, "device", where), d.get("match")
    if (device is None) == (match is None):
        raise DiskLayoutError(f"{where}: give exactly one of device or match")
    sel = None
    if match is not None:
        m = _obj(match, f"{where}.match")
        sel = Selector(
            only=_bool(m, "only", f"{where}.match"),
            min_size=parse_size(m["min_size"], f"{where}.match.min_size") if m.get("min_size") is not None else None,
            model=_str(m, "model", f"{where}.match"), serial=_str(m, "serial", f"{where}.match"),
            label=_str(m, "label", f"{where}.match"),
        )
        if sel == Selector():
            raise DiskLayoutError(f"{where}.match: give at least one of only, min_size, model, serial, label")
    table = d.get("table", "gpt")
    if table not in ("gpt", "msdos"):
        raise DiskLayoutError(f"{where}.table: expected gpt or msdos, found {table!r}")
    parts_raw = d.get("partitions") or []
    if not isinstance(parts_raw, list):
        raise DiskLayoutError(f"{where}.partitions: expected a list")
    parts = []
    for i, p in enumerate(parts_raw):
        ps = parse_partition(p, f"{where}.partitions[{i}]")
        if ps.number is None and ps.label is None:
            # Without a number or label nothing would find it again on the next run: its
            # position in the list is its number.
            ps = replace(ps, number=i + 1)
        parts.append(ps)
    return DiskSpec(device, sel, table, _bool(d, "wipe_table", where), tuple(parts), where)


def parse_config(config: dict[str, Any]) -> tuple[list[DiskSpec], list[FilesystemTarget], list[str]]:
    """disks[], filesystems[] and the growpart devices of a cloud-config."""
    disks_raw = config.get("disks") or []
    fss_raw = config.get("filesystems") or []
    if not isinstance(disks_raw, list):
        raise DiskLayoutError("disks: expected a list")
    if not isinstance(fss_raw, list):
        raise DiskLayoutError("filesystems: expected a list")
    refusals = Refusals(DiskLayoutError)  # every refused disk and filesystem, not the first one only
    disks = [s for s in (refusals.attempt(parse_disk, d, f"disks[{i}]") for i, d in enumerate(disks_raw)) if s]
    targets = [t for t in (refusals.attempt(_filesystem_target, d, f"filesystems[{i}]")
                           for i, d in enumerate(fss_raw)) if t]
    grow = refusals.attempt(_growpart_devices, config.get("growpart"), default=[])
    refusals.check()
    return disks, targets, grow


def _filesystem_target(d: Any, where: str) -> FilesystemTarget:
    d = _obj(d, where)
    dev = _str(d, "device", where)
    if not dev:
        raise DiskLayoutError(f"{where}.device: required")
    return FilesystemTarget(dev, parse_filesystem({k: v for k, v in d.items() if k != "device"}, where), where)


def _growpart_devices(gp: Any) -> list[str]:
    """The devices ``growpart`` asks to grow (none when it is off or absent)."""
    grow: list[str] = []
    if gp is not None:
        gp = _obj(gp, "growpart")
        mode = gp.get("mode", "auto")
        if mode not in ("auto", "growpart", "gpart", "off", False):
            raise DiskLayoutError(f"growpart.mode: expected auto or off, found {mode!r}")
        if mode not in ("off", False):
            devs = gp.get("devices", ["/"])
            if not isinstance(devs, list) or not all(isinstance(x, str) for x in devs):
                raise DiskLayoutError("growpart.devices: expected a list of device paths or mount points")
            grow = list(devs)
    return grow


# -- selecting disks ---------------------------------------------------------------------------
def candidates(disks: Iterable[Disk], fence: Fence) -> list[Disk]:
    """Disks a selector may pick: real, writable, fixed, not holding the root, inside the fence.

    Loop devices count only with ``fence.include_loop``. ``device:`` paths bypass these
    rules (but not the fence's ``restrict_to``): naming a disk is an explicit choice.
    """
    out = []
    for d in disks:
        if d.virtual or d.read_only or d.removable or d.holds_root or d.unreadable:
            continue
        if d.loop and not fence.include_loop:
            continue
        if fence.restrict_to is not None and d.path not in fence.restrict_to:
            continue
        out.append(d)
    return out


def _labels_on(disk: Disk) -> set[str]:
    labels = {disk.content.label} if disk.content.label else set()
    for p in disk.table.partitions if disk.table else ():
        labels.update(x for x in (p.name, p.content.label) if x)
    return labels


def select_disk(spec: DiskSpec, disks: list[Disk], fence: Fence,
                resolve_link: Callable[[str], str | None] = lambda p: None) -> Disk:
    """The one disk the spec names; ambiguity or absence is an error, never a guess."""
    if spec.device is not None:
        ref = resolve_link(spec.device) or spec.device
        hit = _resolve_fenced(ref, disks, spec.where + ".device", fence)
        if hit[1] is not None:
            raise DiskLayoutError(f"{spec.where}.device: {spec.device} is partition {hit[1].node}, not a whole disk")
        disk = hit[0]
        if fence.restrict_to is not None and disk.path not in fence.restrict_to:
            raise DiskLayoutError(f"{spec.where}.device: {disk.path} is outside the disks the image settings allow")
        if disk.read_only:
            raise DiskLayoutError(f"{spec.where}.device: {disk.path} is read-only")
        if disk.unreadable:
            raise DiskLayoutError(f"{spec.where}.device: {disk.path} cannot be read: {disk.unreadable}")
        return disk
    sel = spec.match
    assert sel is not None
    pool = candidates(disks, fence)
    picked = pool
    if sel.model is not None:
        picked = [d for d in picked if d.model is not None and fnmatch.fnmatchcase(d.model, sel.model)]
    if sel.serial is not None:
        picked = [d for d in picked if d.serial is not None and fnmatch.fnmatchcase(d.serial, sel.serial)]
    if sel.label is not None:
        picked = [d for d in picked if sel.label in _labels_on(d)]
    if sel.min_size is not None:
        picked = [d for d in picked if d.size >= sel.min_size]
    names = ", ".join(f"{d.path} ({format_size(d.size)})" for d in picked)
    if not picked:
        raise DiskLayoutError(f"{spec.where}.match: no disk matches (candidates: "
                              f"{', '.join(d.path for d in pool) or 'none'})")
    if len(picked) > 1:
        if sel.min_size is not None and not sel.only:
            # "the first disk of at least N": first in the kernel's order is not stable, so only
            # a unique smallest fit is accepted; two equal fits are ambiguous.
            smallest = min(d.size for d in picked)
            fits = [d for d in picked if d.size == smallest]
            if len(fits) == 1:
                return fits[0]
        raise DiskLayoutError(f"{spec.where}.match: {len(picked)} disks match ({names}); refusing to guess")
    return picked[0]


_LINKS = {
    "/dev/disk/by-label/": "LABEL", "/dev/disk/by-partlabel/": "PARTLABEL",
    "/dev/disk/by-uuid/": "UUID", "/dev/disk/by-partuuid/": "PARTUUID",
}


def resolve_device(ref: str, disks: list[Disk], where: str) -> tuple[Disk, Partition | None]:
    """A device reference -> (disk, partition or None), computed from the probe (no udev needed).

    Accepts a /dev path, /dev/disk/by-{label,partlabel,uuid,partuuid}/X, and LABEL=, PARTLABEL=,
    UUID=, PARTUUID=. Other by-* links need udev: the stage resolves them before calling this.
    """
    key = value = None
    for prefix, k in _LINKS.items():
        if ref.startswith(prefix):
            key, value = k, decode_udev_name(ref[len(prefix):])
    if key is None and "=" in ref and not ref.startswith("/"):
        key, _, value = ref.partition("=")
        if key not in ("LABEL", "PARTLABEL", "UUID", "PARTUUID"):
            raise DiskLayoutError(f"{where}: {ref!r}: expected a /dev path, LABEL=, PARTLABEL=, UUID= or PARTUUID=")
    hits: list[tuple[Disk, Partition | None]] = []
    for d in disks:
        if key is None:
            if d.path == ref:
                hits.append((d, None))
            hits.extend((d, p) for p in (d.table.partitions if d.table else ()) if p.node == ref)
            continue
        if _tag(d.content, None, key, value):
            hits.append((d, None))
        hits.extend((d, p) for p in (d.table.partitions if d.table else ()) if _tag(p.content, p, key, value))
    if not hits:
        if ref.startswith("/dev/disk/"):
            raise DiskLayoutError(f"{where}: {ref} does not exist (without udev only by-label, by-partlabel, "
                                  "by-uuid and by-partuuid links can be resolved)")
        raise DiskLayoutError(f"{where}: no block device {ref}")
    if len(hits) > 1:
        raise DiskLayoutError(f"{where}: {ref} is ambiguous: "
                              f"{', '.join(p.node if p else d.path for d, p in hits)}; refusing to guess")
    return hits[0]


def _resolve_fenced(ref: str, disks: list[Disk], where: str, fence: Fence) -> tuple[Disk, Partition | None]:
    """resolve_device, saying so when the image settings' fence may be why nothing is found."""
    try:
        return resolve_device(ref, disks, where)
    except DiskLayoutError as exc:
        if fence.restrict_to is None or "ambiguous" in str(exc):
            raise
        raise DiskLayoutError(f"{exc} (the image settings limit ros-init to "
                              f"{', '.join(sorted(fence.restrict_to)) or 'no disk'})") from None


def _tag(c: Content, p: Partition | None, key: str, value: str | None) -> bool:
    if key == "LABEL":
        return c.label == value
    if key == "UUID":
        return c.uuid is not None and value is not None and c.uuid.lower() == value.lower()
    if p is None:
        return False
    if key == "PARTLABEL":
        return p.name == value
    return p.uuid is not None and value is not None and p.uuid.lower() == value.lower()


# -- the layout of one disk -------------------------------------------------------------------
def _type_code(spec: PartitionSpec, gpt: bool) -> str | None:
    t = spec.type
    if t is None:
        return None
    low = t.lower()
    if gpt:
        if low in GPT_TYPES:
            return GPT_TYPES[low]
        if _GUID.match(t) and t.strip("0-"):
            return t.upper()
    else:
        if low in DOS_TYPES:
            return DOS_TYPES[low]
        if re.fullmatch(r"(0x)?[0-9a-f]{1,2}", low) and int(low, 16):
            return format(int(low, 16), "x")
    raise DiskLayoutError(f"{spec.where}.type: {t!r} is not a {'GPT' if gpt else 'msdos'} partition type "
                          f"(use {', '.join(GPT_TYPES if gpt else DOS_TYPES)}"
                          f"{' or a type GUID' if gpt else ' or a hex code such as 83'}; the all-zero type marks an unused entry)")


def _holds(disk: Disk) -> str:
    if disk.table is None:
        return disk.content.describe()
    parts = [f"{p.node} {p.content.describe()}" for p in disk.table.partitions]
    name = "gpt" if disk.table.label == "gpt" else "msdos"
    return f"{name} table, {len(parts)} partition(s)" + (": " + "; ".join(parts) if parts else "")


def _busy(disk: Disk, device: str | None = None) -> list[str]:
    return [f"{dev} is {why}" for dev, why in disk.in_use if device is None or dev == device]


def _mismatch(spec: PartitionSpec, p: Partition, gpt: bool, ss: int, grain: int) -> list[str]:
    why = []
    if spec.label is not None and p.name != spec.label:
        why.append(f"its label is {p.name!r}, the config wants {spec.label!r}")
    want_type = _type_code(spec, gpt)
    if want_type is not None and p.type.upper() != want_type.upper() and not mkfs_in_progress(p):
        why.append(f"its type is {p.type}, the config wants {want_type}")
    if spec.start is not None and p.start * ss != spec.start:
        why.append(f"it starts at {p.start * ss} bytes, the config wants {spec.start}")
    if spec.size is not None:
        want = -(-spec.size // ss)
        if spec.grow:
            if p.size < want:
                why.append(f"its size is {format_size(p.size * ss)}, the config wants at least {format_size(spec.size)}")
        elif not want <= p.size < want + grain:
            why.append(f"its size is {format_size(p.size * ss)}, the config wants {format_size(spec.size)}")
    return why


@record
class _Slot:
    """A declared partition resolved against the disk: kept, or to be created."""

    spec: PartitionSpec
    number: int
    start: int = 0
    size: int = 0
    existing: Partition | None = None  # the kept partition; None when it is to be created

    @property
    def new(self) -> bool:
        return self.existing is None


@record(frozen=True)
class _Geometry:
    """Where partitions may go on a disk, in sectors of the table."""

    ss: int  # sector size
    first: int  # first usable sector (1 MiB aligned)
    end: int  # first sector after the usable area

    @property
    def grain(self) -> int:
        return max(MIB // self.ss, 1)

    @classmethod
    def of(cls, disk: Disk, gpt: bool) -> _Geometry:
        ss = disk.table.sector_size if disk.table else disk.sector_size
        # GPT keeps a backup header and 16 KiB of entries at the end of the disk.
        end = disk.size // ss - 1 - -(-128 * 128 // ss) if gpt else disk.size // ss
        return cls(ss, max(MIB // ss, 1), end)


def _free(occupied: list[tuple[int, int]], first: int, end: int) -> list[tuple[int, int]]:
    regions, cur = [], first
    for s, e in sorted(occupied):
        if s > cur:
            regions.append((cur, s))
        cur = max(cur, e)
    if cur < end:
        regions.append((cur, end))
    return regions


def _check_specs(spec: DiskSpec, gpt: bool, ss: int) -> None:
    for ps in spec.partitions:
        code = _type_code(ps, gpt)
        if not gpt and code in DOS_EXTENDED and (ps.filesystem is not None or ps.grow):
            raise DiskLayoutError(f"{ps.where}.type: msdos type {code} is an extended partition (a container "
                                  "of logical partitions); it cannot hold a filesystem or grow")
        if not gpt and ps.label is not None:
            raise DiskLayoutError(f"{ps.where}.label: msdos tables have no partition labels; use table: gpt")
        if not gpt and ps.number is not None and ps.number > 4:
            raise DiskLayoutError(f"{ps.where}.number: msdos tables hold primary partitions 1 to 4 only")
        if ps.start is not None and ps.start % ss:
            raise DiskLayoutError(f"{ps.where}.start: not a multiple of the {ss}-byte sector")
    _check_unique(spec)


def _number_new(spec: DiskSpec, slots: list[_Slot], taken: set[int], gpt: bool) -> list[_Slot]:
    """Slots for the declared partitions that have none yet, numbered in declaration order."""
    have = {s.spec for s in slots}
    taken = taken | {ps.number for ps in spec.partitions if ps.number is not None}
    out = list(slots)
    for ps in spec.partitions:
        if ps in have:
            continue
        out.append(_Slot(ps, ps.number or _next_number(taken, gpt, ps)))
        taken.add(out[-1].number)
    return out


def _match_existing(spec: DiskSpec, disk: Disk, gpt: bool, geo: _Geometry
                    ) -> tuple[str | None, list[_Slot], list[Partition]]:
    """Compare the declared partitions with an existing table of the right type.

    Returns (reason to replace the whole table or None, slots, partitions to delete).
    Raises when something does not match and no flag allows replacing it.
    """
    assert disk.table is not None
    parts = disk.table.partitions
    problems: list[str] = []
    slots: list[_Slot] = []
    removed: list[Partition] = []
    matched: set[int] = set()
    for ps in spec.partitions:
        p = _find(ps, parts, spec.where)
        if p is None:
            continue
        if p.number in matched or p in removed:
            raise DiskLayoutError(f"{ps.where}: partition {p.number} of {disk.path} is claimed twice")
        why = _mismatch(ps, p, gpt, geo.ss, geo.grain)
        if not why:
            matched.add(p.number)
            slots.append(_Slot(ps, p.number, p.start, p.size, p))
        elif ps.wipe_entry or spec.wipe_table:
            removed.append(p)
            slots.append(_Slot(ps, p.number))
        else:
            problems.append(f"{ps.where}: {p.node} exists but does not match: {'; '.join(why)} "
                            f"(it holds {p.content.describe()}; set wipe_partition_entry: true to replace it)")
    undeclared = [p for p in parts if p.number not in matched and p not in removed]
    if spec.wipe_table and (removed or undeclared):
        return "the table does not hold exactly the declared layout", [], []
    if problems:
        raise DiskLayoutError("; ".join(problems))  # one line: the engine reports the first line
    taken = {p.number for p in parts if p not in removed}
    return None, _number_new(spec, slots, taken, gpt), removed


def _table_action(spec: DiskSpec, disk: Disk, reason: str) -> DiskAction:
    """Create a fresh table; destructive (and refused on a busy disk) when the disk holds anything."""
    destructive = disk.table is not None or not disk.content.empty
    busy = _busy(disk)
    if busy and destructive:
        raise DiskLayoutError(f"{spec.where}: refusing to replace the partition table of {disk.path}: "
                              f"{'; '.join(busy)}")
    holds = _holds(disk) if disk.table is not None else disk.content.describe()
    summary = f"create {spec.table} partition table on {disk.path} ({format_size(disk.size)}; holds: {holds})"
    if destructive:
        summary = f"wipe {disk.path} and {summary} [{reason}]"
    return DiskAction("create-table", disk.path, summary, destructive,
                  {"disk": disk.path, "label": "gpt" if spec.table == "gpt" else "dos", "wipe": destructive})


def _place(slot: _Slot, occupied: list[tuple[int, int]], disk: Disk, geo: _Geometry, gpt: bool,
           reserve: int = 0, leftovers: tuple[tuple[int, Content], ...] = ()) -> DiskAction:
    """Put a new partition into free space (start given, else first fit; no size: largest region).

    ``reserve``: sectors that a partition without size leaves at the end of its region for
    the sized partitions declared after it, so `[rest, 16M swap]` works as written.
    """
    ps, ss, grain = slot.spec, geo.ss, geo.grain
    regions = _free(occupied, geo.first, geo.end)
    want = -(-ps.size // ss) if ps.size is not None else None
    if ps.start is not None:
        start = ps.start // ss
        region = next(((a, b) for a, b in regions if a <= start < b), None)
        if region is None:
            raise DiskLayoutError(f"{ps.where}.start: {ps.start} bytes is not in free space on {disk.path}")
    else:
        fits = [(a, b) for a, b in regions if _align(a, grain) < b and (want is None or _align(a, grain) + want <= b)]
        if want is None and fits:
            fits = [max(fits, key=lambda r: r[1] - _align(r[0], grain))]
        if not fits:
            raise DiskLayoutError(f"{ps.where}: no free space for {format_size(ps.size) if ps.size else 'it'} "
                                  f"on {disk.path} (free: {_describe_free(regions, ss) or 'none'})")
        region = fits[0]
        start = _align(region[0], grain)
    if want is None:
        # With partitions to follow, end on the grain so the next one starts aligned and fits.
        size = ((region[1] - reserve) // grain * grain if reserve else region[1]) - start
        if size < grain:
            raise DiskLayoutError(f"{ps.where}: no free space left on {disk.path} for it after the partitions "
                                  f"declared after it (free: {_describe_free(regions, ss) or 'none'})")
    else:
        end = (region[1] - reserve) // grain * grain if reserve else region[1]
        size = max(want, end - start) if ps.grow else want
    if start + size > region[1]:
        raise DiskLayoutError(f"{ps.where}: {format_size(size * ss)} at sector {start} does not fit in the "
                              f"free space of {disk.path} (free: {_describe_free(regions, ss)})")
    found = [c for o, c in leftovers if start <= o < start + size]
    if found and not ps.wipe_entry:
        raise DiskLayoutError(f"{ps.where}: the free space for it on {disk.path} at {format_size(start * ss)} is not "
                              f"empty: it holds {found[0].describe()} (left by a deleted partition entry?); "
                              "set wipe_partition_entry: true to use it anyway")
    slot.start, slot.size = start, size
    occupied.append((start, start + size))
    node = disk.partition_node(slot.number)
    ptype = part_type(None, _type_code(ps, gpt), ps.filesystem.format if ps.filesystem else None, gpt)
    return DiskAction(
        "create-partition", node,
        f"create partition {slot.number} on {disk.path}: {format_size(size * ss)} at {format_size(start * ss)}"
        + (f", label {ps.label}" if ps.label else "")
        + (f" (free space; holds: {found[0].describe()})" if found else " (free space)"),
        bool(found),
        {"disk": disk.path, "number": slot.number, "node": node, "start": start, "size": size,
         "type": ptype, "name": ps.label},
    )


def _grow(slot: _Slot, occupied: list[tuple[int, int]], disk: Disk, geo: _Geometry,
          reserve: int = 0) -> DiskAction | None:
    """Grow a kept partition into the free space right after it (at least 1 MiB of it),
    leaving ``reserve`` sectors for new partitions declared after it."""
    if not slot.spec.grow or slot.existing is None:
        return None
    if slot.existing.logical or slot.existing.extended:
        raise DiskLayoutError(f"{slot.spec.where}: {slot.existing.node} is an msdos "
                              f"{'logical' if slot.existing.logical else 'extended'} partition; growing it is not "
                              "supported (its extended partition would have to grow first)")
    nxt = next(((a, b) for a, b in _free(occupied, geo.first, geo.end) if a == slot.start + slot.size), None)
    if nxt is None:
        return None
    end = (nxt[1] - reserve) // geo.grain * geo.grain if reserve else nxt[1]
    if end - nxt[0] < geo.grain:
        return None
    node, new_size = slot.existing.node, end - slot.start
    action = DiskAction(
        "grow-partition", node,
        f"grow partition {slot.number} of {disk.path} ({node}) from {format_size(slot.size * geo.ss)} "
        f"to {format_size(new_size * geo.ss)} (holds: {slot.existing.content.describe()})",
        False, {"disk": disk.path, "number": slot.number, "node": node, "size": new_size},
    )
    occupied.remove((slot.start, slot.start + slot.size))
    occupied.append((slot.start, slot.start + new_size))
    slot.size = new_size
    return action


def plan_disk(spec: DiskSpec, disk: Disk, plan: LayoutPlan
              ) -> list[tuple[PartitionSpec, str, Content, int, bool, str]]:
    """Add this disk's table and partition actions to ``plan``.

    Returns, per declared partition: (spec, node, content now (empty when created), size in
    bytes after the plan, grow requested, its partition type once made). Raises DiskLayoutError on any refusal.
    """
    gpt = spec.table == "gpt"
    geo = _Geometry.of(disk, gpt)
    _check_specs(spec, gpt, geo.ss)
    table = disk.table
    reason: str | None = None
    slots: list[_Slot] = []
    removed: list[Partition] = []
    if table is None:
        if not disk.content.empty and not spec.wipe_table:
            raise DiskLayoutError(f"{spec.where}: {disk.path} has no partition table but holds "
                                  f"{disk.content.describe()}; set wipe_table: true to discard it")
        reason = "no partition table"
    elif table.label != ("gpt" if gpt else "dos"):
        if not spec.wipe_table:
            raise DiskLayoutError(f"{spec.where}: {disk.path} has a {'msdos' if table.label == 'dos' else table.label} "
                                  f"partition table, the config wants {spec.table}; set wipe_table: true to replace it "
                                  f"(it holds {_holds(disk)})")
        reason = "different table type"
    else:
        reason, slots, removed = _match_existing(spec, disk, gpt, geo)

    kept: list[Partition] = []
    if reason is not None:
        plan.actions.append(_table_action(spec, disk, reason))
        slots = _number_new(spec, [], set(), gpt)
    else:
        assert table is not None
        removed = _with_logicals(removed, table.partitions, slots, spec.where)
        kept = [p for p in table.partitions if p not in removed]
        for p in removed:
            if p.logical:
                continue  # deleted with its extended partition, listed there
            unit = [p] + ([q for q in table.partitions if q.logical] if p.extended else [])
            busy = [b for q in unit for b in _busy(disk, q.node)]
            if busy:
                raise DiskLayoutError(f"{spec.where}: refusing to replace {p.node}: {'; '.join(busy)}")
            inside = "".join(f", and logical partition {q.number} ({q.node}, {format_size(q.size * geo.ss)}; "
                             f"holds: {q.content.describe()})" for q in unit[1:])
            plan.actions.append(DiskAction("delete-partition", p.node,
                                       f"delete partition {p.number} of {disk.path} ({p.node}, "
                                       f"{format_size(p.size * geo.ss)}; holds: {p.content.describe()}){inside}",
                                       True, {"disk": disk.path, "number": p.number,
                                              "nodes": [q.node for q in unit]}))

    occupied = [(p.start, p.end) for p in kept]

    def reserve_after(slot: _Slot) -> int:
        """Room for the new sized partitions (without start) declared after ``slot``."""
        later = slots[slots.index(slot) + 1:]
        return sum(_align(-(-s.spec.size // geo.ss), geo.grain) for s in later
                   if s.new and s.spec.size is not None and s.spec.start is None)

    # Kept partitions grow first, then new ones are placed: `[grow: true, new 8M]` on an
    # enlarged disk grows the first and puts the new one at the end, as declared.
    for slot in slots:
        grown = _grow(slot, occupied, disk, geo, reserve_after(slot))
        if grown is not None:
            plan.actions.append(grown)
    # What lies in the free space of a kept table (not in a partition this plan deletes):
    # a new partition over it needs the same permission as replacing a partition.
    leftovers = tuple((o, c) for o, c in table.free if not c.empty and not any(p.start <= o < p.end for p in removed)
                      ) if reason is None and table is not None else ()
    for slot in slots:
        if slot.new:
            reserve = reserve_after(slot) if slot.spec.size is None or slot.spec.grow else 0
            plan.actions.append(_place(slot, occupied, disk, geo, gpt, reserve, leftovers))
    for slot in slots:
        if slot.existing is not None and slot.existing.extended and slot.spec.filesystem is not None:
            raise DiskLayoutError(f"{slot.spec.where}.filesystem: {slot.existing.node} is an msdos extended partition "
                                  "(a container of logical partitions); it cannot hold a filesystem")
    return [(slot.spec, disk.partition_node(slot.number), _slot_content(slot), slot.size * geo.ss, slot.spec.grow,
             _final_type(slot, gpt)) for slot in slots]


def _slot_content(slot: _Slot) -> Content:
    if slot.existing is None:
        return Content()
    return _half_made(slot.existing.content) if mkfs_in_progress(slot.existing) else slot.existing.content


def _final_type(slot: _Slot, gpt: bool) -> str:
    """The partition type the partition keeps once its filesystem is made."""
    ps = slot.spec
    return part_type(slot.existing, _type_code(ps, gpt), ps.filesystem.format if ps.filesystem else None, gpt)


def part_type(existing: Partition | None, declared: str | None, fmt: str | None, gpt: bool) -> str:
    """The one rule for the type of a partition ros-init creates or makes a filesystem on
    (``disks[]`` and ``filesystems[]`` alike): the declared type; else swap's own type for a
    swap filesystem (a swap partition is never Linux data: systemd's gpt-auto and blkid-based
    tools go by it), whatever the partition held, so a run killed during mkswap (the partition
    then carries the in-progress type, its old type lost) ends as an uninterrupted one does;
    else the type the partition has, unless it is swap's (another filesystem under the swap
    type would be taken for swap, and a run killed during that mkfs would end as Linux data);
    else (new, or left mid-mkfs) Linux data. A type the config does not declare and that is
    neither (an EFI system partition made vfat again) is kept by an uninterrupted run only:
    declare ``type`` for such a partition (docs/disks.md)."""
    if declared is not None:
        return declared
    if fmt == "swap":
        return GPT_TYPES["swap"] if gpt else DOS_TYPES["swap"]
    if existing is not None and not mkfs_in_progress(existing) and not is_swap_type(existing.type):
        return existing.type
    return GPT_TYPES["linux"] if gpt else DOS_TYPES["linux"]


def is_swap_type(code: str) -> bool:
    """A GPT or msdos partition type that says swap."""
    return code.upper() in (GPT_TYPES["swap"].upper(), DOS_TYPES["swap"].upper())


def _with_logicals(removed: list[Partition], parts: tuple[Partition, ...], slots: list[_Slot],
                   where: str) -> list[Partition]:
    """Deleting an msdos extended partition deletes every logical partition inside it: they
    are one unit, and a kept logical partition cannot survive it."""
    if not any(p.extended for p in removed):
        return removed
    logicals = [p for p in parts if p.logical]
    kept = [s.existing for s in slots if s.existing is not None and s.existing.logical]
    if kept:
        raise DiskLayoutError(f"{where}: logical partition {kept[0].node} is kept, but the extended partition "
                              "holding it is replaced; replace both or neither")
    return removed + [p for p in logicals if p not in removed]


def _describe_free(regions: list[tuple[int, int]], ss: int) -> str:
    return ", ".join(f"{format_size((b - a) * ss)} at {format_size(a * ss)}" for a, b in regions)


def _align(sector: int, grain: int) -> int:
    return -(-sector // grain) * grain


def _next_number(taken: set[int | None], gpt: bool, ps: PartitionSpec) -> int:
    n = 1
    while n in taken:
        n += 1
    if not gpt and n > 4:
        raise DiskLayoutError(f"{ps.where}: an msdos table holds 4 primary partitions at most")
    return n


def _check_unique(spec: DiskSpec) -> None:
    seen_n: set[int] = set()
    seen_l: set[str] = set()
    for ps in spec.partitions:
        if ps.number is not None:
            if ps.number in seen_n:
                raise DiskLayoutError(f"{ps.where}.number: partition {ps.number} is declared twice")
            seen_n.add(ps.number)
        if ps.label is not None:
            if ps.label in seen_l:
                raise DiskLayoutError(f"{ps.where}.label: partition label {ps.label!r} is declared twice")
            seen_l.add(ps.label)


def _find(ps: PartitionSpec, parts: tuple[Partition, ...], where: str) -> Partition | None:
    if ps.number is not None:
        return next((p for p in parts if p.number == ps.number), None)
    if ps.label is not None:
        hits = [p for p in parts if p.name == ps.label]
        if len(hits) > 1:
            raise DiskLayoutError(f"{ps.where}.label: {len(hits)} partitions are labelled {ps.label!r}; give a number")
        return hits[0] if hits else None
    return None


# -- filesystems --------------------------------------------------------------------------------
def new_fs_uuid(fmt: str) -> str:
    """The UUID ros-init gives a new filesystem, so mounts can name it before it exists."""
    import uuid as uuidlib

    if fmt == "vfat":
        v = uuidlib.uuid4().hex[:8].upper()
        return f"{v[:4]}-{v[4:]}"
    return str(uuidlib.uuid4())


def same_label(fmt: str, have: str | None, want: str | None) -> bool:
    if want is None:
        return True
    if fmt == "vfat":
        return (have or "").strip().upper() == want.upper()
    return have == want


def plan_filesystem(fs: FilesystemSpec, device: str, content: Content, size: int, grow: bool,
                    disk: Disk | None, plan: LayoutPlan, force_wipe: bool = False,
                    new_uuid: Callable[[str], str] = new_fs_uuid) -> tuple[str | None, str | None]:
    """Add format / grow-filesystem actions for one device; return (label, uuid) it will carry."""
    busy = _busy(disk, device) if disk else []
    half_made = content.type is not None and same_label("vfat", content.label, MKFS_LABEL)
    if half_made:
        content = replace(content, data=False)
    if content.type == fs.format and same_label(fs.format, content.label, fs.label) and not half_made:
        if grow and fs.format in GROWABLE and content.fs_size is not None and size - content.fs_size >= MIB:
            plan.actions.append(DiskAction(
                "grow-filesystem", device,
                f"grow {fs.format} on {device} from {format_size(content.fs_size)} to fill {format_size(size)}",
                False, {"device": device, "format": fs.format,
                        "disk": disk.path if disk is not None and disk.path != device else None},
            ))
        return content.label, content.uuid
    if half_made:
        if busy:
            raise DiskLayoutError(f"{fs.where}: refusing to format {device}: {'; '.join(busy)}")
    elif not content.empty:
        if not (fs.wipe or force_wipe):
            raise DiskLayoutError(f"{fs.where}: refusing to format {device} as {fs.format}"
                                  f"{' label ' + fs.label if fs.label else ''}: it holds {content.describe()}; "
                                  "set wipe_filesystem: true to replace it")
        if busy:
            raise DiskLayoutError(f"{fs.where}: refusing to format {device}: {'; '.join(busy)}")
    if size < MIN_SIZE[fs.format]:
        raise DiskLayoutError(f"{fs.where}: {device} is {format_size(size)}, too small for {fs.format} "
                              f"(at least {format_size(MIN_SIZE[fs.format])})")
    new = new_uuid(fs.format)
    holds = content.describe() if not content.empty else "nothing"
    if half_made:
        holds += ", left half-made by an interrupted run"
    plan.actions.append(DiskAction(
        "format", device,
        f"format {device} as {fs.format}{' label ' + fs.label if fs.label else ''} (holds: {holds})",
        not content.empty and not half_made,
        {"device": device, "format": fs.format, "label": fs.label, "uuid": new, "options": list(fs.options),
         "wipe": not content.empty, "disk": disk.path if disk is not None and disk.path != device else None},
    ))
    return fs.label, new


# -- the whole layout ----------------------------------------------------------------------------
def plan_layout(disk_specs: list[DiskSpec], fs_targets: list[FilesystemTarget], grow_devices: list[str],
                disks: list[Disk], fence: Fence,
                resolve_link: Callable[[str], str | None] = lambda p: None,
                new_uuid: Callable[[str], str] = new_fs_uuid) -> LayoutPlan:
    """Every action for the configured layout, checked completely; raises on any refusal."""
    plan = LayoutPlan()
    chosen: dict[str, str] = {}
    fs_jobs: list[tuple[FilesystemSpec, str, Content, int, bool, Disk | None, bool]] = []
    planned_nodes: dict[str, tuple[Disk, Content]] = {}
    final_types: dict[str, str] = {}  # partition node -> its type once its filesystem is made
    for spec in disk_specs:
        disk = select_disk(spec, disks, fence, resolve_link)
        if disk.path in chosen:
            raise DiskLayoutError(f"{spec.where}: {disk.path} is already laid out by {chosen[disk.path]}")
        chosen[disk.path] = spec.where
        for ps, node, content, size, grow, ptype in plan_disk(spec, disk, plan):
            planned_nodes[node] = (disk, content)
            final_types[node] = ptype
            if ps.filesystem is not None:
                fs_jobs.append((ps.filesystem, node, content, size, grow, disk, spec.wipe_table))

    grown = {a.device for a in plan.actions if a.kind == "grow-partition"}
    for target in fs_targets:
        ref = resolve_link(target.device) or target.device
        if ref in planned_nodes:
            raise DiskLayoutError(f"{target.where}.device: {ref} is declared in disks[]; put its filesystem there")
        d, p = _resolve_fenced(ref, disks, target.where + ".device", fence)
        if fence.restrict_to is not None and d.path not in fence.restrict_to:
            raise DiskLayoutError(f"{target.where}.device: {d.path} is outside the disks the image settings allow")
        if d.unreadable:
            raise DiskLayoutError(f"{target.where}.device: {d.path} cannot be read: {d.unreadable}")
        replaced = {a.device for a in plan.actions if a.kind in ("create-table", "delete-partition")}
        if d.path in replaced or (p is not None and p.node in replaced):
            raise DiskLayoutError(f"{target.where}.device: {ref} is replaced by the layout of {chosen[d.path]}; "
                                  "declare its filesystem there")
        if p is None and d.table is not None:
            raise DiskLayoutError(f"{target.where}.device: {d.path} holds a partition table "
                                  f"({_holds(d)}); name a partition, or lay the disk out under disks[]")
        dev = p.node if p else d.path
        size = p.size * d.table.sector_size if p and d.table else d.size
        content = p.content if p else d.content
        if p is not None and mkfs_in_progress(p):
            content = _half_made(content)
        if p is not None and d.table is not None:
            final_types[dev] = part_type(p, None, target.fs.format, d.table.label == "gpt")
        fs_jobs.append((target.fs, dev, content, size, False, d, False))

    for ref in grow_devices:
        d, p = _resolve_fenced(ref, disks, "growpart.devices", fence)
        if p is None or d.table is None:
            raise DiskLayoutError(f"growpart.devices: {ref} is not a partition")
        if p.node in grown or p.node in planned_nodes:
            continue
        if d.path in chosen:
            raise DiskLayoutError(f"growpart.devices: {p.node} is on {d.path}, which {chosen[d.path]} lays out; "
                                  "declare the partition there with grow: true")
        geo = _Geometry.of(d, d.table.label == "gpt")
        slot = _Slot(PartitionSpec(number=p.number, grow=True, where="growpart"), p.number, p.start, p.size, p)
        action = _grow(slot, [(q.start, q.end) for q in d.table.partitions], d, geo)
        if action is not None:
            plan.actions.append(action)
        size = slot.size * geo.ss
        if p.content.type in GROWABLE and p.content.fs_size is not None and size - p.content.fs_size >= MIB:
            plan.actions.append(DiskAction(
                "grow-filesystem", p.node,
                f"grow {p.content.type} on {p.node} from {format_size(p.content.fs_size)} to fill {format_size(size)}",
                False, {"device": p.node, "format": p.content.type, "disk": d.path},
            ))

    seen_dev: set[str] = set()
    identities: list[tuple[FilesystemSpec, str, str | None, str | None]] = []
    for fs, dev, content, size, grow, d, force in fs_jobs:
        if dev in seen_dev:
            raise DiskLayoutError(f"{fs.where}: {dev} is given a filesystem twice")
        seen_dev.add(dev)
        label, uid = plan_filesystem(fs, dev, content, size, grow, d, plan, force, new_uuid)
        identities.append((fs, dev, label, uid))
    _refuse_stale_nodes(plan, disks)
    for a in plan.actions:
        if a.kind == "format" and a.device in final_types:
            a.args["part_type"] = final_types[a.device]
            a.args["number"] = _number_in(a.device)

    # Mounts name filesystems by label when the label is unique on this machine, else by UUID.
    labels: dict[str, int] = {}
    for d in disks:
        for p in d.table.partitions if d.table else ():
            if p.content.label and p.node not in seen_dev:
                labels[p.content.label] = labels.get(p.content.label, 0) + 1
        if d.table is None and d.content.label and d.path not in seen_dev:
            labels[d.content.label] = labels.get(d.content.label, 0) + 1
    for _fs, _dev, label, _uid in identities:
        if label:
            labels[label] = labels.get(label, 0) + 1
    mounts_seen: set[str] = set()
    from ros_init.system.blockdev import encode_udev_name

    for fs, dev, label, uid in identities:
        # Swap is always switched on (a .swap unit); other filesystems when they say `mount:`.
        mount = fs.mount or (MountSpec(None) if fs.format == "swap" else None)
        if mount is None:
            continue

        if label and labels.get(label) == 1:
            what = f"/dev/disk/by-label/{encode_udev_name(label)}"
        elif uid:
            what = f"/dev/disk/by-uuid/{encode_udev_name(uid if fs.format == 'vfat' else uid.lower())}"
        else:
            raise DiskLayoutError(f"{fs.where}.mount: {dev} has neither a unique label nor a UUID to mount it by")
        where = mount.path
        key = where or what
        if key in mounts_seen:
            raise DiskLayoutError(f"{fs.where}.mount.path: {where} is mounted twice")
        mounts_seen.add(key)
        plan.mounts.append(MountRequest(what, where, fs.format, mount.options, dev))
    return plan


def _number_in(node: str) -> int:
    digits = re.search(r"(\d+)$", node)
    assert digits is not None
    return int(digits.group(1))


def _refuse_stale_nodes(plan: LayoutPlan, disks: list[Disk]) -> None:
    """No step may write through a partition node that differs from the table (missing, or
    with a stale start or size): it would write somewhere the plan never looked."""
    stale = {p.node for d in disks for p in (d.table.partitions if d.table else ()) if not p.node_ok}
    for a in plan.actions:
        nodes = [a.device] + list(a.args.get("nodes", ()))
        bad = next((n for n in nodes if n in stale), None)
        if bad is not None and a.kind in ("format", "delete-partition", "grow-filesystem", "grow-partition"):
            raise DiskLayoutError(f"{bad}: the kernel's partition differs from the partition table and partx "
                                  f"could not update it (in use, or the disk has no partition scan); refusing to "
                                  f"{a.summary}")
