"""Block devices by filesystem label, with udev and without it.

Three ways, tried in this order: pyudev when a udev daemon runs (its database already
holds every label); ``blkid`` probing when it does not (early initramfs, containers);
reading the superblocks ourselves (ISO9660, FAT, ext2/3/4) when ``blkid`` is missing or
the device tree is a test's fake one. Every way gives the same ``Volume`` list.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from dataclasses import dataclass

LOG = logging.getLogger("ros_init.system.volumes")


@dataclass(frozen=True)
class Volume:
    device: str  # host path, e.g. /dev/sr0 or /dev/loop3
    label: str
    fstype: str  # iso9660, vfat, ext4 ... ("" when unknown)


def udev_running(sys_root: str = "/") -> bool:
    return os.path.exists(os.path.join(sys_root, "run/udev/control"))


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


def parse_blkid_export(text: str) -> list[Volume]:
    """Pure: ``blkid -o export`` output (blank-line separated KEY=value blocks) -> volumes."""
    out = []
    for block in text.split("\n\n"):
        fields = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if fields.get("DEVNAME") and "LABEL" in fields:
            out.append(Volume(fields["DEVNAME"], fields["LABEL"], fields.get("TYPE", "")))
    return out


def _by_blkid(labels: list[str], devices: list[str] | None, timeout: float) -> list[Volume]:
    # -c /dev/null: probe the devices now, never trust a stale cache file.
    cmd = ["blkid", "-o", "export", "-c", "/dev/null", *(devices or [])]
    LOG.info("waiting up to %.1fs for blkid to read the labels of %s", timeout,
             ", ".join(devices) if devices else "all block devices")
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        LOG.warning("blkid did not answer within %.1fs; reading superblocks instead", timeout)
        return _by_superblock(labels, "/", devices)
    # blkid exits 2 when it finds nothing: not an error.
    return [v for v in parse_blkid_export(res.stdout) if v.label in labels]


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
    """(label, fstype) read from the superblock of an ISO9660, FAT or ext* volume."""
    with open(device, "rb") as fh:
        head = fh.read(64 * 1024)
    return label_from_bytes(head)


def label_from_bytes(head: bytes) -> tuple[str | None, str]:
    """Pure: the label and type from the first 64 KiB of a volume."""
    # ISO9660 primary volume descriptor at sector 16: type 1, "CD001", volume id at +40.
    pvd = head[32768:32768 + 2048]
    if len(pvd) >= 72 and pvd[1:6] == b"CD001":
        return pvd[40:72].decode("ascii", "replace").rstrip(" \0"), "iso9660"
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
