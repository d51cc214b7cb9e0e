"""The hostname stage: ``/etc/hostname``, the ``127.0.1.1`` line of ``/etc/hosts``, and the
running hostname when the target is the running system.

Phase: initramfs, and again in the boot phase. systemd sets the hostname from
``/etc/hostname`` when the real root starts, before any service, so writing
``/sysroot/etc/hostname`` in the initramfs gives every service (rancherd, the DHCP client
sending its name) the configured name without a later change. The boot phase plans again:
nothing to do with the same config; a name only a network datasource gives (EC2, GCE
metadata) is written then, and the running hostname is set, which happens only when the
target root is ``/``.

Keys: ``hostname``, ``fqdn``, ``preserve_hostname`` (true: the stage does nothing),
``manage_etc_hosts`` (default true, and ``"localhost"`` or ``"template"`` mean the same, as the
schema says: the ``127.0.1.1`` line is ours and the localhost lines are ensured; false:
/etc/hosts is left alone).
A ``hostname`` with dots is an FQDN whose first label is the short name. Other lines of
/etc/hosts are kept as they are.
"""

from __future__ import annotations

import re
import stat

from ros_init.core.findings import Refusals, SpecError
from ros_init.core.record import NamedTuple

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from typing import Any

    from ros_init.core.model import Change, Config, StageContext
    from ros_init.core.root import Root

NAME = "hostname"

HOSTNAME_FILE = "/etc/hostname"
HOSTS_FILE = "/etc/hosts"
KERNEL_HOSTNAME = "/proc/sys/kernel/hostname"
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)\Z")
_MARKER = "# ros-init: this host's name (manage_etc_hosts)"
_LOCALHOST_LINES = ("127.0.0.1 localhost", "::1 localhost ip6-localhost ip6-loopback")


class HostnameError(SpecError):
    """A hostname or fqdn that is not a valid RFC 1123 name; the message names the key."""


class HostnameSpec(NamedTuple):
    short: str  # what /etc/hostname and the kernel get
    fqdn: str | None
    manage_hosts: bool
    # (config path, message): an unrendered template (`{{ v1.local_hostname }}`, `${host}`):
    # cloud-init's schema accepts it; validate warns (the schema check names templates), run
    # fails the hostname step and goes on
    unrendered: tuple[tuple[str, str], ...] = ()


def _check(name: Any, key: str) -> str:
    if not isinstance(name, str) or not name:
        raise HostnameError(f"{key}: must be a non-empty string")
    text = name[:-1] if name.endswith(".") else name
    if len(text) > 253:
        raise HostnameError(f"{key}: {name!r} is longer than 253 characters")
    bad = [label for label in text.split(".") if not _LABEL.match(label)]
    if bad:
        raise HostnameError(
            f"{key}: {name!r} is not a valid host name (RFC 1123: labels of 1-63 letters, digits "
            f"and hyphens, not starting or ending with a hyphen; bad label {bad[0]!r})")
    return text


def parse(config: Config) -> HostnameSpec | None:
    """Pure: the names the config asks for, or None when the stage has nothing to do."""
    if config.get("preserve_hostname") is True:
        return None
    hostname, fqdn = config.get("hostname"), config.get("fqdn")
    if hostname is None and fqdn is None:
        return None
    from ros_init.config.compat import template_placeholder

    for key, value in (("hostname", hostname), ("fqdn", fqdn)):
        placeholder = template_placeholder(value)
        if placeholder:
            return HostnameSpec("", None, False, ((key, f"{placeholder} looks like an unrendered template "
                                                        "variable: the host name would not be set at boot"),))
    refusals = Refusals()  # a bad hostname, fqdn and manage_etc_hosts are all reported
    given = refusals.attempt(_check, hostname, "hostname") if hostname is not None else None
    full = refusals.attempt(_check, fqdn, "fqdn") if fqdn is not None else None
    manage = config.get("manage_etc_hosts", True)
    if manage not in (True, False, "localhost", "template"):
        refusals.add(HostnameError(
            f"manage_etc_hosts: must be true, false, \"localhost\" or \"template\", found {manage!r}"))
    refusals.check()
    if given is not None:
        name = given
        if "." in name:
            full = full or name
            name = name.split(".", 1)[0]
    else:
        assert full is not None
        name = full.split(".", 1)[0]
    return HostnameSpec(name, full if full and full != name else None, manage is not False)


def hosts_line(spec: HostnameSpec) -> str:
    names = f"{spec.fqdn} {spec.short}" if spec.fqdn else spec.short
    return f"127.0.1.1 {names}"


def edit_hosts(text: str | None, spec: HostnameSpec) -> str:
    """Pure: /etc/hosts with our 127.0.1.1 line (first such line replaced, others dropped).

    The localhost lines are added when no line maps 127.0.0.1 or ::1 to ``localhost``.
    Every other line is kept, in order.
    """
    lines = (text or "").splitlines()
    out: list[str] = []
    placed = False
    for line in lines:
        fields = line.split("#", 1)[0].split()
        if line.strip() == _MARKER:
            continue
        if fields and fields[0] == "127.0.1.1":
            if not placed:
                out += [_MARKER, hosts_line(spec)]
                placed = True
            continue
        out.append(line)
    for want in reversed(_LOCALHOST_LINES):
        addr = want.split()[0]
        if not any((f := ln.split("#", 1)[0].split()) and f[0] == addr and "localhost" in f[1:] for ln in out):
            out.insert(0, want)
    if not placed:
        at = max((n + 1 for n, ln in enumerate(out) if ln.split()[:1] in (["127.0.0.1"], ["::1"])), default=len(out))
        out[at:at] = [_MARKER, hosts_line(spec)]
    return "\n".join(out) + "\n"


def _file_change(root: Root, path: str, data: bytes, summary: str) -> Change | None:
    """The write of ``path``, its mode kept; none through a symlink whose target holds the right name."""
    from ros_init.core.changes import WriteFile, plan_write

    st = root.stat(path)
    mode = stat.S_IMODE(st.st_mode) if st is not None and stat.S_ISREG(st.st_mode) else 0o644
    return plan_write(NAME, root, WriteFile(path, data, mode), summary, follow=True)


def plan(spec: HostnameSpec | None, root: Root, ctx: StageContext) -> list[Change]:
    """Pure: the hostname file, the hosts line and the running hostname that differ."""
    from ros_init.core.changes import Refused
    from ros_init.core.model import Change

    if spec is None:
        return []
    if spec.unrendered:
        path, why = spec.unrendered[0]
        return [Change(NAME, "refuse", HOSTNAME_FILE, f"set the host name ({path}: not set)",
                       payload=Refused(HOSTNAME_FILE, why))]
    changes: list[Change | None] = [
        _file_change(root, HOSTNAME_FILE, f"{spec.short}\n".encode(), f"write {HOSTNAME_FILE}: {spec.short}"),
    ]
    if spec.manage_hosts:
        text = root.read_text(HOSTS_FILE)
        changes.append(_file_change(root, HOSTS_FILE, edit_hosts(text, spec).encode(),
                                    f"set the 127.0.1.1 line of {HOSTS_FILE}: {hosts_line(spec)}"))
    if root.is_host:
        current = (root.read_text(KERNEL_HOSTNAME) or "").strip()
        if current != spec.short:
            changes.append(Change(NAME, "set-hostname", "running hostname",
                                  f"set the running hostname to {spec.short} (was {current or 'unset'})",
                                  payload=spec.short))
    return [c for c in changes if c is not None]


def apply(change: Change, root: Root, ctx: StageContext) -> None:
    """Thin: write one file through Root, or set the kernel's hostname."""
    from ros_init.core.changes import Refused, WriteFile, apply_payload

    if isinstance(change.payload, WriteFile | Refused):
        apply_payload(root, change.payload)
    elif change.action == "set-hostname":
        if not root.is_host:
            raise HostnameError("the running hostname is only set when the target root is /")
        import socket

        socket.sethostname(change.payload)
    else:
        raise HostnameError(f"unknown change {change.action!r}")
