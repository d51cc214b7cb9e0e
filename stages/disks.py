"""Stage: disk layout (partitions, filesystems, growpart, mount units).

Runs in the initramfs, before the root is used. ``plan`` probes the disks (reads only),
decides with ``ros_init.disks.layout`` and raises ``DiskLayoutError`` when any part of the
layout is refused, so nothing is written unless the whole plan is safe. ``apply`` runs the
tools of one change (a format and an offline ext4 grow take several, ordered so that a
kill between any two is finished by the next run) and then makes the kernel's view of the
table current: ``partx`` for exactly the partitions that changed (works without udev:
early initramfs, containers), then ``udevadm settle`` when udev runs.
"""

from __future__ import annotations

import contextlib
import os
import time

from ros_init.disks.layout import DiskLayoutError, Fence

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from typing import Any

    from ros_init.core.changes import DiskAction
    from ros_init.core.model import Change, Config, StageContext
    from ros_init.core.root import Root

NAME = "disks"
STOP_AFTER_FAILED_STEP = True  # never format a partition whose creation failed

__all__ = ["NAME", "plan", "apply", "DiskLayoutError", "DiskToolError"]


_GROW_PREFIX = "ros-init-grow-"
_COMPUTED_LINKS = ("/dev/disk/by-label/", "/dev/disk/by-partlabel/", "/dev/disk/by-uuid/", "/dev/disk/by-partuuid/")


class DiskToolError(Exception):
    """A disk tool failed while applying a change; names the tool, device and its message."""


# -- plan ---------------------------------------------------------------------------------
def fence_from_settings(settings: dict[str, Any]) -> Fence:
    """Image settings ``disks: {include_loop: bool, restrict_to: [paths]}`` -> Fence."""
    s = settings.get("disks") or {}
    restrict = s.get("restrict_to")
    return Fence(
        include_loop=bool(s.get("include_loop", False)),
        restrict_to=frozenset(os.path.realpath(p) for p in restrict) if restrict is not None else None,
    )


def parse(config: Config) -> Any:
    """Pure: ``disks``, ``filesystems`` and ``growpart`` as specs (``layout.parse_config``)."""
    from ros_init.disks.layout import parse_config

    return parse_config(config)


def plan(spec: Any, root: Root, ctx: StageContext) -> list[Change]:
    """Probe the disks, decide, and list every change; raise DiskLayoutError on a refusal."""
    from ros_init.core.model import Change
    from ros_init.disks.layout import plan_layout
    from ros_init.disks.mountunits import render_unit, unit_name, wants_dir
    from ros_init.system import blockdev

    specs, targets, grow = spec
    if not (specs or targets or grow):
        return []
    fence = fence_from_settings(ctx.settings)
    only = sorted(fence.restrict_to) if fence.restrict_to is not None else None
    if not ctx.dry_run:  # `ros-init plan` unmounts nothing; it only reports
        _clean_private_mounts(ctx.sys_root)
    try:
        # The kernel's partitions are made equal to each table first (what a udev-less boot
        # never does by itself); a partition whose node still differs is probed through its
        # disk all the same, and the layout refuses to act on it.
        for d in blockdev.list_disks(ctx.sys_root, only=only, probe=False):
            if not d.read_only:
                with contextlib.suppress(blockdev.ProbeError, DiskToolError):
                    _sync_partitions(d.path, ctx.sys_root, strict=False)
        disks = blockdev.list_disks(ctx.sys_root, only=only, root_mounts=tuple({"/", root.path}))
    except blockdev.ProbeError as exc:
        raise DiskLayoutError(f"cannot read the disks: {exc}") from None

    def resolve_link(ref: str) -> str | None:
        # by-label/by-uuid (and part*) links are computed from the probe, with the same
        # ambiguity check as LABEL=: udev points a duplicated label at one of its owners
        # at random. Only by-id/by-path, which need udev's knowledge, are followed.
        if ref.startswith("/dev/disk/") and not ref.startswith(_COMPUTED_LINKS):
            host = os.path.join(ctx.sys_root, ref.lstrip("/"))
            if os.path.lexists(host):
                return "/" + os.path.relpath(os.path.realpath(host), os.path.realpath(ctx.sys_root))
        return None

    grow_devs = []
    for item in grow:
        if item.startswith("/dev/"):
            grow_devs.append(resolve_link(item) or item)
            continue
        mp = os.path.normpath(os.path.join(root.path, item.lstrip("/")))
        dev = blockdev.device_of_mount(ctx.sys_root, mp)
        # A mount point that is not a partition (RancherOS' image root, overlay, tmpfs) has
        # nothing to grow: cloud-init's default `devices: ["/"]` must not fail there.
        if dev is not None and any(p.node == dev for d in disks for p in (d.table.partitions if d.table else ())):
            grow_devs.append(dev)

    layout = plan_layout(specs, targets, grow_devs, disks, fence, resolve_link)
    changes = [Change(NAME, a.kind, a.device, a.summary, a.destructive, payload=a) for a in layout.actions]
    from ros_init.core.changes import Symlink, WriteFile, plan_write

    for m in layout.mounts:
        name = unit_name(m.where, m.what)
        path = f"/etc/systemd/system/{name}"
        link = f"{wants_dir(m.where)}/{name}"
        link_target = f"../{name}"
        verb = "swap on" if m.where is None else f"mount on {m.where}"
        unit = plan_write(NAME, root, WriteFile(path, render_unit(m.what, m.where, m.fstype, m.options).encode(), 0o644),
                          f"write {path} ({verb}: {m.what}, now {m.device})")
        if unit is not None:
            changes.append(unit)
        if root.readlink(link) != link_target:
            changes.append(Change(NAME, "symlink", link, f"enable {name}: {link} -> {link_target}",
                                  payload=Symlink(link, link_target)))
    return changes


# -- apply --------------------------------------------------------------------------------
def _run(argv: list[str], stdin: str | None = None, ok: tuple[int, ...] = (0,)) -> str:
    try:
        import subprocess

        proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise DiskToolError(f"{argv[0]} is not installed") from None
    if proc.returncode not in ok:
        lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()]
        said = lines[0] if len(lines) < 2 else f"{lines[0]} ... {lines[-1]}"
        raise DiskToolError(f"{' '.join(argv)} failed (exit {proc.returncode}): {said[:300]}")
    return proc.stdout


def _sync_partitions(disk: str, sys_root: str, strict: bool = True) -> None:
    """Make the kernel's partitions of ``disk`` equal its table, partition by partition.

    ``strict=False`` (the plan): only partitions of a table sfdisk reads are added or
    updated, none removed (the kernel may know a table type sfdisk does not); one partx
    cannot update (mounted, or a disk attached without partition scan) is left as it is: the
    probe marks it and the layout refuses to write through it.
    """
    from ros_init.system import blockdev
    table = blockdev.read_table(disk)
    if table is None and (not strict or not blockdev.kernel_partitions(sys_root, os.path.basename(disk))):
        return
    partitions = table.partitions if table is not None else ()
    have = blockdev.kernel_partitions(sys_root, os.path.basename(disk))
    ss = table.sector_size if table is not None else blockdev.SECTOR
    steps = [["partx", "-d", "--nr", str(n), disk] for n in sorted(set(have) - {p.number for p in partitions})
             if strict]
    for p in partitions:
        if p.number not in have:
            steps.append(["partx", "-a", "--nr", str(p.number), disk])
        elif not blockdev.node_agrees(p, ss, have):
            steps.append(["partx", "-u", "--nr", str(p.number), disk])
    for argv in steps:
        try:
            _run(argv)
        except DiskToolError:
            if strict:
                raise
    if not steps:
        return
    if blockdev.udev_running(sys_root):
        _run(["udevadm", "settle", "--timeout=30"], ok=(0, 1))
    if table is not None and strict:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not all(os.path.exists(p.node) for p in table.partitions):
            time.sleep(0.05)


def _check_node(device: str, disk: str | None, sys_root: str) -> None:
    """Before a step writes through a partition's node: sync it, and refuse when the kernel's
    partition still differs from the table (the write would land somewhere else).
    ``disk``: the partition's disk, None for a whole disk."""
    from ros_init.system import blockdev
    if disk is None or disk == device:
        return
    _sync_partitions(disk, sys_root, strict=False)
    table = blockdev.read_table(disk)
    part = next((p for p in table.partitions if p.node == device), None) if table else None
    have = blockdev.kernel_partitions(sys_root, os.path.basename(disk))
    if part is None or not blockdev.node_agrees(part, table.sector_size, have):
        raise DiskToolError(f"{device}: the kernel's partition differs from the table of {disk} "
                            "(in use, or the disk has no partition scan); not writing through it")


def _sfdisk_value(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _mkfs(a: dict[str, Any]) -> list[str]:
    """mkfs under the temporary label: a kill before the final label is set leaves a
    filesystem the next plan knows as half-made (never reused, formatted again)."""
    from ros_init.disks.layout import MKFS_LABEL

    fmt, label, uuid, opts = a["format"], MKFS_LABEL, a["uuid"], list(a["options"])
    if fmt == "ext4":
        return ["mkfs.ext4", "-F", "-q", *(["-L", label] if label else []), "-U", uuid, *opts, a["device"]]
    if fmt == "xfs":
        return ["mkfs.xfs", "-f", "-q", *(["-L", label] if label else []), "-m", f"uuid={uuid}", *opts, a["device"]]
    if fmt == "btrfs":
        return ["mkfs.btrfs", "-f", "-q", *(["-L", label] if label else []), "-U", uuid, *opts, a["device"]]
    if fmt == "vfat":
        return ["mkfs.vfat", *(["-n", label] if label else []), "-i", uuid.replace("-", ""), *opts, a["device"]]
    if fmt == "swap":
        return ["mkswap", "-f", *(["-L", label] if label else []), "-U", uuid, *opts, a["device"]]
    raise DiskToolError(f"unknown filesystem format {fmt}")


def _set_part_type(disk: str, number: int, ptype: str, sys_root: str) -> None:
    """Change one entry's type in place, then bring the kernel's nodes back (sfdisk asks the
    kernel to re-read the table after writing it, which drops the nodes of idle partitions)."""
    _run(["sfdisk", "--quiet", "--no-reread", "--wipe", "never", "--wipe-partitions", "never", "-N", str(number),
          disk], stdin=f"type={ptype}\n")
    _sync_partitions(disk, sys_root)


def _set_label(fmt: str, device: str, label: str | None) -> list[str]:
    """The tool run that gives a finished filesystem its final label (or none)."""
    if fmt == "ext4":
        return ["e2label", device, label or ""]
    if fmt == "xfs":
        return ["xfs_admin", "-L", label or "--", device]
    if fmt == "btrfs":
        return ["btrfs", "filesystem", "label", device, label or ""]
    if fmt == "vfat":
        return ["fatlabel", device, label] if label else ["fatlabel", "-r", device]
    return ["swaplabel", "-L", label or "", device]


def _mount_point(device: str, sys_root: str) -> str | None:
    from ros_init.system import blockdev
    name = os.path.basename(os.path.realpath(device))
    dev_num = blockdev.read_sysfs(os.path.join(sys_root, "sys/class/block", name, "dev"))
    return blockdev.Usage.read(sys_root).mounts.get(dev_num or "")


@contextlib.contextmanager
def _mounted(device: str, fstype: str, sys_root: str):
    """The mount point of ``device``, mounting it on a private temporary folder if needed."""
    import tempfile

    mp = _mount_point(device, sys_root)
    if mp is not None:
        yield mp
        return
    tmp = tempfile.mkdtemp(prefix=_GROW_PREFIX)
    try:
        _run(["mount", "-t", fstype, device, tmp])
        try:
            yield tmp
        finally:
            _run(["umount", tmp])
    finally:
        os.rmdir(tmp)


_RESIZE_MARK = "ros-init:resize2fs"  # in the ext superblock's "last mounted on" during a resize


def _fsck_ext(dev: str) -> None:
    """``e2fsck -f -p`` before and after an offline resize2fs. Exit 1 (errors fixed) is fine.
    A resize2fs killed halfway leaves inconsistencies preen mode will not touch (exit 4:
    "resize inode not valid", bitmap differences), and resize2fs refuses such a filesystem
    at every boot: when the superblock carries our resize mark, the interruption is ours,
    and ``e2fsck -f -y`` finishes what resize2fs began. Otherwise exit 4 is a failure."""
    try:
        _run(["e2fsck", "-f", "-p", dev], ok=(0, 1))
    except DiskToolError:
        if _last_mounted(dev) != _RESIZE_MARK:
            raise
        _run(["e2fsck", "-f", "-y", dev], ok=(0, 1))


def _last_mounted(dev: str) -> str:
    try:
        with open(dev, "rb", buffering=0) as fh:
            fh.seek(1024 + 0x88)
            raw = fh.read(64)
    except OSError:
        return ""
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def _resize_ext(dev: str) -> None:
    """Offline resize2fs, resumable: check, mark, resize, check, unmark."""
    _fsck_ext(dev)
    before = _last_mounted(dev)
    if before != _RESIZE_MARK:
        _run(["tune2fs", "-M", _RESIZE_MARK, dev])
    _run(["resize2fs", dev])
    _fsck_ext(dev)
    _run(["tune2fs", "-M", "" if before == _RESIZE_MARK else before, dev])


def _clean_private_mounts(sys_root: str) -> None:
    """Unmount the private grow mounts a killed run left behind (the next plan would see the
    partition busy, mounted on a folder nobody uses)."""
    import tempfile

    from ros_init.system import blockdev

    tmp = os.path.realpath(tempfile.gettempdir())
    for mp in sorted(set(blockdev.Usage.read(sys_root).mounts.values()), reverse=True):
        if os.path.dirname(mp) == tmp and os.path.basename(mp).startswith(_GROW_PREFIX):
            with contextlib.suppress(DiskToolError, OSError):
                _run(["umount", mp])
                os.rmdir(mp)


def _relocate_backup_gpt(disk: str) -> None:
    """Move a GPT's backup header to the end of a disk that has grown (no-op for msdos)."""
    from ros_init.system import blockdev
    table = blockdev.read_table(disk)
    if table is not None and table.label == "gpt":
        _run(["sfdisk", "--quiet", "--no-reread", "--relocate", "gpt-bak-std", disk])


def _disk_of(device: str, sys_root: str) -> str:
    """The whole disk a partition belongs to (itself for a whole disk), from sysfs."""
    name = os.path.basename(os.path.realpath(device))
    sysdir = os.path.realpath(os.path.join(sys_root, "sys/class/block", name))
    if os.path.exists(os.path.join(sysdir, "partition")):
        return "/dev/" + os.path.basename(os.path.dirname(sysdir))
    return "/dev/" + name


def _ensure_idle(disk: str, device: str | None, sys_root: str) -> None:
    """Re-check at the last moment that nothing about to be destroyed is in use."""
    from ros_init.system import blockdev
    for d in blockdev.list_disks(sys_root, only=[disk], probe=False):
        busy = [f"{dev} is {why}" for dev, why in d.in_use if device is None or dev == device]
        if busy:
            raise DiskToolError(f"{device or disk} became busy after the plan: {'; '.join(busy)}")


def apply(change: Change, root: Root, ctx: StageContext) -> None:
    """Perform one change: one tool run, then the kernel and udev are brought up to date."""
    from ros_init.core.changes import Symlink, WriteFile, apply_payload

    if isinstance(change.payload, WriteFile | Symlink):
        apply_payload(root, change.payload)
        return
    action: DiskAction = change.payload
    a = action.args
    kind = action.kind
    if kind == "create-table":
        if a["wipe"]:
            _ensure_idle(a["disk"], None, ctx.sys_root)
            _run(["wipefs", "--all", "--quiet", a["disk"]])
        _run(["sfdisk", "--quiet", "--no-reread", "--wipe", "always", a["disk"]], stdin=f"label: {a['label']}\n")
        _sync_partitions(a["disk"], ctx.sys_root)
    elif kind == "delete-partition":
        # An msdos extended partition goes with its logical partitions: each one is checked
        # and wiped (logical ones first), as the plan listed them.
        nodes = list(a.get("nodes") or [action.device])
        for node in nodes:
            _ensure_idle(a["disk"], node, ctx.sys_root)
        for node in reversed(nodes):
            _check_node(node, a["disk"], ctx.sys_root)
            _run(["wipefs", "--all", "--quiet", node], ok=(0, 1))
        _run(["sfdisk", "--quiet", "--no-reread", "--delete", a["disk"], str(a["number"])])
        _sync_partitions(a["disk"], ctx.sys_root)
    elif kind == "create-partition":
        # --append leaves every existing entry alone (a full-table script would make sfdisk
        # treat them all as new and wipe their signatures); the node name sets the number.
        _relocate_backup_gpt(a["disk"])
        entry = f"{a['node']} : start={a['start']}, size={a['size']}, type={a['type']}"
        if a["name"]:
            entry += f", name={_sfdisk_value(a['name'])}"
        _run(["sfdisk", "--quiet", "--no-reread", "--append", "--wipe", "never", "--wipe-partitions", "always",
              a["disk"]], stdin=entry + "\n")
        _sync_partitions(a["disk"], ctx.sys_root)
    elif kind == "grow-partition":
        _relocate_backup_gpt(a["disk"])
        _run(["sfdisk", "--quiet", "--no-reread", "-N", str(a["number"]), a["disk"]], stdin=f"size={a['size']}\n")
        _sync_partitions(a["disk"], ctx.sys_root)
    elif kind == "format":
        _check_node(a["device"], a.get("disk"), ctx.sys_root)
        # Checked first, before anything changes: something may have been mounted since the plan.
        _ensure_idle(a.get("disk") or _disk_of(a["device"], ctx.sys_root), a["device"], ctx.sys_root)
        marked = bool(a.get("disk") and a.get("number") and a.get("part_type"))
        before = None
        if marked:
            # The partition says "unfinished mkfs of ros-init's" until the filesystem has its
            # final label: whatever a kill leaves in it is made again at the next boot.
            from ros_init.disks.layout import MKFS_DOS_TYPE, MKFS_GPT_TYPE
            from ros_init.system import blockdev
            table = blockdev.read_table(a["disk"])
            before = next((p.type for p in table.partitions if p.number == a["number"]), None) if table else None
            _set_part_type(a["disk"], a["number"], MKFS_GPT_TYPE if "-" in a["part_type"] else MKFS_DOS_TYPE,
                           ctx.sys_root)
        if a["wipe"]:
            # mkfs.vfat leaves an md 1.0 superblock (at the end of the device) in place, and
            # blkid then keeps seeing the RAID member: clear every signature first.
            try:
                _run(["wipefs", "--all", "--quiet", a["device"]])
            except DiskToolError:
                if marked and before:  # nothing was destroyed: the partition is not ours to redo
                    _set_part_type(a["disk"], a["number"], before, ctx.sys_root)
                raise
        _run(_mkfs(a))
        _run(_set_label(a["format"], a["device"], a["label"]))
        if marked:
            _set_part_type(a["disk"], a["number"], a["part_type"], ctx.sys_root)
        from ros_init.disks.layout import same_label
        from ros_init.system import blockdev
        got = blockdev.probe_content(a["device"])
        labelled = same_label(a["format"], got.label, a["label"]) if a["label"] else not got.label
        if got.type != a["format"] or not labelled:
            raise DiskToolError(f"{a['device']}: after mkfs blkid finds {got.describe()}, not {a['format']}"
                                f"{' label ' + a['label'] if a['label'] else ''}")
    elif kind == "grow-filesystem":
        fmt, dev = a["format"], a["device"]
        _check_node(dev, a.get("disk"), ctx.sys_root)
        if fmt in ("ext2", "ext3", "ext4"):
            if _mount_point(dev, ctx.sys_root) is None:
                _resize_ext(dev)
            else:
                _run(["resize2fs", dev])
        elif fmt == "xfs":
            with _mounted(dev, fmt, ctx.sys_root) as mp:
                _run(["xfs_growfs", mp])
        elif fmt == "btrfs":
            with _mounted(dev, fmt, ctx.sys_root) as mp:
                _run(["btrfs", "filesystem", "resize", "max", mp])
    else:
        raise DiskToolError(f"unknown disks change {kind}")
