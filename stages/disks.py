"""Stage: disk layout (partitions, filesystems, growpart, mount units).

Runs in the initramfs, before the root is used. ``plan`` probes the disks (reads only),
decides with ``ros_init.disks.layout`` and raises ``DiskLayoutError`` when any part of the
layout is refused, so nothing is written unless the whole plan is safe. ``apply`` runs one
tool per change and then makes the kernel's view of the table current: ``partx`` for
exactly the partitions that changed (works without udev: early initramfs, containers),
then ``udevadm settle`` when udev runs.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
import time
from typing import Any

from ros_init.core.model import Change, Config, StageContext
from ros_init.core.root import Root
from ros_init.disks.layout import Action, DiskLayoutError, Fence

NAME = "disks"
STOP_AFTER_FAILED_STEP = True  # never format a partition whose creation failed

__all__ = ["NAME", "plan", "apply", "DiskLayoutError", "DiskToolError"]


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
    from ros_init.disks.layout import plan_layout
    from ros_init.disks.mountunits import render_unit, unit_name, wants_dir
    from ros_init.system import blockdev

    specs, targets, grow = spec
    if not (specs or targets or grow):
        return []
    fence = fence_from_settings(ctx.settings)
    try:
        disks = blockdev.list_disks(
            ctx.sys_root,
            only=sorted(fence.restrict_to) if fence.restrict_to is not None else None,
            root_mounts=tuple({"/", root.path}),
        )
    except blockdev.ProbeError as exc:
        raise DiskLayoutError(f"cannot read the disks: {exc}") from None

    def resolve_link(ref: str) -> str | None:
        if ref.startswith("/dev/disk/"):
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
    for m in layout.mounts:
        name = unit_name(m.where, m.what)
        path = f"/etc/systemd/system/{name}"
        text = render_unit(m.what, m.where, m.fstype, m.options)
        link = f"{wants_dir(m.where)}/{name}"
        link_target = f"../{name}"
        if root.read_text(path) == text and root.readlink(link) == link_target:
            continue
        verb = "swap on" if m.where is None else f"mount on {m.where}"
        changes.append(Change(
            NAME, "write-mount-unit", path, f"write {path} ({verb}: {m.what}, now {m.device})",
            payload={"path": path, "text": text, "link": link, "link_target": link_target},
        ))
    return changes


# -- apply --------------------------------------------------------------------------------
def _run(argv: list[str], stdin: str | None = None, ok: tuple[int, ...] = (0,)) -> str:
    try:
        proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise DiskToolError(f"{argv[0]} is not installed") from None
    if proc.returncode not in ok:
        lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()]
        said = lines[0] if len(lines) < 2 else f"{lines[0]} ... {lines[-1]}"
        raise DiskToolError(f"{' '.join(argv)} failed (exit {proc.returncode}): {said[:300]}")
    return proc.stdout


def _sync_partitions(disk: str, sys_root: str) -> None:
    """Make the kernel's partitions of ``disk`` equal its table, partition by partition."""
    from ros_init.system import blockdev
    table = blockdev.read_table(disk)
    want: dict[int, tuple[int, int]] = {}
    if table is not None:
        k = table.sector_size // blockdev.SECTOR
        want = {p.number: (p.start * k, p.size * k) for p in table.partitions}
    have = blockdev.kernel_partitions(sys_root, os.path.basename(disk))
    for n in sorted(set(have) - set(want)):
        _run(["partx", "-d", "--nr", str(n), disk])
    for n, geom in sorted(want.items()):
        if n not in have:
            _run(["partx", "-a", "--nr", str(n), disk])
        elif have[n] != geom:
            _run(["partx", "-u", "--nr", str(n), disk])
    if blockdev.udev_running(sys_root):
        _run(["udevadm", "settle", "--timeout=30"], ok=(0, 1))
    if table is not None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not all(os.path.exists(p.node) for p in table.partitions):
            time.sleep(0.05)


def _sfdisk_value(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _mkfs(a: dict[str, Any]) -> list[str]:
    fmt, label, uuid, opts = a["format"], a["label"], a["uuid"], list(a["options"])
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


def _mount_point(device: str, sys_root: str) -> str | None:
    from ros_init.system import blockdev
    name = os.path.basename(os.path.realpath(device))
    dev_num = blockdev.read_sysfs(os.path.join(sys_root, "sys/class/block", name, "dev"))
    return blockdev.Usage.read(sys_root).mounts.get(dev_num or "")


@contextlib.contextmanager
def _mounted(device: str, fstype: str, sys_root: str):
    """The mount point of ``device``, mounting it on a private temporary folder if needed."""
    mp = _mount_point(device, sys_root)
    if mp is not None:
        yield mp
        return
    tmp = tempfile.mkdtemp(prefix="ros-init-grow-")
    try:
        _run(["mount", "-t", fstype, device, tmp])
        try:
            yield tmp
        finally:
            _run(["umount", tmp])
    finally:
        os.rmdir(tmp)


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
    if change.action == "write-mount-unit":
        p = change.payload
        root.write_file(p["path"], p["text"].encode(), 0o644)
        root.symlink(p["link"], p["link_target"])
        return
    action: Action = change.payload
    a = action.args
    kind = action.kind
    if kind == "create-table":
        if a["wipe"]:
            _ensure_idle(a["disk"], None, ctx.sys_root)
            _run(["wipefs", "--all", "--quiet", a["disk"]])
        _run(["sfdisk", "--quiet", "--no-reread", "--wipe", "always", a["disk"]], stdin=f"label: {a['label']}\n")
        _sync_partitions(a["disk"], ctx.sys_root)
    elif kind == "delete-partition":
        _ensure_idle(a["disk"], action.device, ctx.sys_root)
        _run(["wipefs", "--all", "--quiet", action.device], ok=(0, 1))
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
        if a["wipe"]:
            _ensure_idle(_disk_of(a["device"], ctx.sys_root), a["device"], ctx.sys_root)
        # No wipefs first: every mkfs used here clears the other signatures itself, and one
        # that refuses its arguments then leaves the old filesystem intact.
        _run(_mkfs(a))
        from ros_init.system import blockdev
        got = blockdev.probe_content(a["device"]).type
        if got != a["format"]:
            raise DiskToolError(f"{a['device']}: after mkfs blkid finds {got or 'nothing'}, not {a['format']}")
    elif kind == "grow-filesystem":
        fmt, dev = a["format"], a["device"]
        if fmt in ("ext2", "ext3", "ext4"):
            if _mount_point(dev, ctx.sys_root) is None:
                _run(["e2fsck", "-f", "-p", dev], ok=(0, 1))
            _run(["resize2fs", dev])
        elif fmt == "xfs":
            with _mounted(dev, fmt, ctx.sys_root) as mp:
                _run(["xfs_growfs", mp])
        elif fmt == "btrfs":
            with _mounted(dev, fmt, ctx.sys_root) as mp:
                _run(["btrfs", "filesystem", "resize", "max", mp])
    else:
        raise DiskToolError(f"unknown disks change {kind}")
