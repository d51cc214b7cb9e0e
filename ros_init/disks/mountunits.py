"""systemd mount and swap units for the filesystems the disks stage lays out.

Why units and not /etc/fstab: on RancherOS /etc is an overlay rebuilt at every boot and
fstab is owned by the image (its own persistent mounts live there); a unit file per mount is
ours alone, can be compared and rewritten idempotently, and is removed without editing a
shared file. Units name the device by ``/dev/disk/by-label`` or ``by-uuid``, never by
kernel name, since ``/dev/sdX`` changes between boots.
"""

from __future__ import annotations

import posixpath

UNIT_DIR = "/etc/systemd/system"
_SAFE = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz:_.")


class UnitNameError(ValueError):
    """A path that systemd cannot turn into a unit name (not normalized)."""


def escape_path(path: str) -> str:
    """``systemd-escape --path``: the unit-name spelling of an absolute path.

    The path must be normalized (no ``.`` or ``..`` components); repeated and trailing
    slashes are dropped as systemd does.
    """
    parts = [p for p in path.split("/") if p]
    if any(p in (".", "..") for p in parts):
        raise UnitNameError(f"{path!r} is not a normalized path")
    if not parts:
        return "-"
    text = "/".join(parts)
    out = []
    for i, ch in enumerate(text):
        if ch == "/":
            out.append("-")
        elif ch in _SAFE and not (ch == "." and i == 0):
            out.append(ch)
        else:
            out.extend(f"\\x{b:02x}" for b in ch.encode("utf-8", errors="surrogateescape"))
    return "".join(out)


def unit_name(where: str | None, what: str) -> str:
    """``var-lib-data.mount`` for a mount, ``dev-disk-by\\x2dlabel-swap.swap`` for swap."""
    if where is None:
        return escape_path(what) + ".swap"
    return escape_path(where) + ".mount"


def render_unit(what: str, where: str | None, fstype: str, options: tuple[str, ...]) -> str:
    """The unit file text; stable for the same input, so a rerun rewrites nothing."""
    opts = ",".join(options) or "defaults"
    head = (
        "# Written by ros-init (disks stage) from the cloud-config; rewritten at every boot.\n"
        "[Unit]\n"
    )
    if where is None:
        return (
            head
            + f"Description=ros-init swap {what}\n"
            + "\n[Swap]\n"
            + f"What={what}\n"
            + (f"Options={opts}\n" if opts != "defaults" else "")
            + "\n[Install]\nWantedBy=swap.target\n"
        )
    return (
        head
        + f"Description=ros-init mount {where}\n"
        + "Before=local-fs.target\n"
        + "\n[Mount]\n"
        + f"What={what}\n"
        + f"Where={posixpath.normpath(where)}\n"
        + f"Type={fstype}\n"
        + f"Options={opts}\n"
        + "\n[Install]\nWantedBy=local-fs.target\n"
    )


def wants_dir(where: str | None) -> str:
    return f"{UNIT_DIR}/{'swap' if where is None else 'local-fs'}.target.wants"
