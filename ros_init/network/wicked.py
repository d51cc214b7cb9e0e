"""wicked (SUSE sysconfig) files from the network model (pure: model -> files).

wicked reads ``/etc/sysconfig/network/ifcfg-<kernel name>`` (shell-style ``KEY='value'``
lines) and ``ifroute-<kernel name>``, so it needs the kernel name of every device: an
ethernet matched by MAC, driver or glob is looked up in sysfs by the caller (``names``),
and one that is not present gets no file (next boot converges). The file names are the
interface's, not ours: a desired ``ifcfg-eth0`` replaces the image's own (RancherOS ships a
DHCP ``ifcfg-eth0``); files carrying our first-line marker are ours and are removed when
no longer configured.

Global DNS (wicked has no per-interface DNS in ifcfg) goes to ``NETCONFIG_DNS_STATIC_*`` in
``/etc/sysconfig/network/config``, edited in place (``edit_netconfig``).

BOOTPROTO: ``dhcp`` (v4 and v6), ``dhcp4``, ``dhcp6``, ``static``, ``none`` (bond ports).
wicked applies the ``IPADDR_*`` statics in every variant, so dhcp plus static addresses
is expressed by BOOTPROTO alone.
"""

from __future__ import annotations

import re

from ros_init.network.model import Interface, NetworkModel, kernel_bond_options

FOLDER = "/etc/sysconfig/network"
NETCONFIG = f"{FOLDER}/config"
MARKER = "# Written by ros-init from the network config; rewritten at every boot."
MODE = 0o644
_SAFE = re.compile(r"^[A-Za-z0-9_.:/@+=, -]*\Z")



def may_be_managed(path: str) -> bool:
    """An ifcfg-/ifroute- file of the sysconfig folder: ours when it starts with our marker."""
    folder, _, name = path.rpartition("/")
    return folder == FOLDER and name.startswith(("ifcfg-", "ifroute-"))


def is_managed(path: str, content: bytes | None) -> bool:
    """An ifcfg-/ifroute- file we wrote: in the sysconfig folder and starting with our marker."""
    return may_be_managed(path) and content is not None and content.startswith(MARKER.encode())


def quote(value: str) -> str:
    """Single-quoted sysconfig value; values come validated, anything else is a bug."""
    if not _SAFE.match(value):
        raise ValueError(f"value {value!r} cannot be written to an ifcfg file")
    return f"'{value}'"


def _file(items: list[tuple[str, str]]) -> bytes:
    return ("\n".join([MARKER] + [f"{k}={quote(v)}" for k, v in items]) + "\n").encode()


def render(model: NetworkModel, names: dict[str, list[str]]) -> dict[str, tuple[bytes, int]]:
    """ifcfg-/ifroute- files per kernel name; ``names`` maps each id to its kernel names."""
    out: dict[str, tuple[bytes, int]] = {}
    for iface in model.interfaces:
        for name in names.get(iface.id, []):
            out[f"{FOLDER}/ifcfg-{name}"] = (_ifcfg(iface, model, names), MODE)
            routes = _routes(iface, name)
            if routes:
                out[f"{FOLDER}/ifroute-{name}"] = (routes, MODE)
    return out


def _ifcfg(iface: Interface, model: NetworkModel, names: dict[str, list[str]]) -> bytes:
    items: list[tuple[str, str]] = []
    if iface.controller:
        items += [("BOOTPROTO", "none"), ("STARTMODE", "hotplug")]
    else:
        if iface.dhcp4 and iface.dhcp6:
            proto = "dhcp"
        elif iface.dhcp4:
            proto = "dhcp4"
        elif iface.dhcp6:
            proto = "dhcp6"
        else:
            proto = "static"
        items += [("BOOTPROTO", proto), ("STARTMODE", "auto")]
        items += [(f"IPADDR_{n}", a) for n, a in enumerate(iface.addresses)]
    if iface.mtu:
        items.append(("MTU", str(iface.mtu)))
    if iface.wakeonlan:
        items.append(("ETHTOOL_OPTIONS", "wol g"))
    if iface.kind == "bond":
        items.append(("BONDING_MASTER", "yes"))
        members = [n for m in iface.members for n in names.get(m, [])]
        items += [(f"BONDING_SLAVE_{n}", m) for n, m in enumerate(members)]
        opts = [f"{k}={v}" for k, v in kernel_bond_options(iface, names)]
        items.append(("BONDING_MODULE_OPTS", " ".join(opts)))
    if iface.kind == "vlan":
        parent = (names.get(iface.link or "") or [iface.link or ""])[0]
        items += [("ETHERDEVICE", parent), ("VLAN_ID", str(iface.vlan_id))]
    return _file(items)


def _routes(iface: Interface, name: str) -> bytes | None:
    """ifroute-<name>: ``DESTINATION GATEWAY NETMASK INTERFACE [OPTIONS]`` per line.

    wicked reads ``onlink`` only inside a ``nexthop`` clause, and a ``nexthop`` clause
    takes the rest of the line, so the metric comes first there.
    """
    lines = []
    for gw in (iface.gateway4, iface.gateway6):
        if gw:
            lines.append(f"default {gw} - {name}")
    for route in iface.routes:
        dest = "default" if route.is_default else route.to
        metric = f" metric {route.metric}" if route.metric is not None else ""
        if route.on_link and route.via:
            lines.append(f"{dest} - - {name}{metric} nexthop via {route.via} dev {name} onlink")
        else:
            lines.append(f"{dest} {route.via or '-'} - {name}{metric}")
    if not lines:
        return None
    return ("\n".join([MARKER] + lines) + "\n").encode()


def edit_netconfig(text: str | None, servers: tuple[str, ...], search: tuple[str, ...]) -> str:
    """``/etc/sysconfig/network/config`` with the two static DNS keys set, the rest kept.

    A key present (even commented-out defaults stay as they are) is replaced on its own
    line; a missing key is appended.
    """
    values = {
        "NETCONFIG_DNS_STATIC_SERVERS": " ".join(servers),
        "NETCONFIG_DNS_STATIC_SEARCHLIST": " ".join(search),
    }
    lines = (text or "").splitlines()
    seen = set()
    for n, line in enumerate(lines):
        key = line.split("=", 1)[0].strip()
        if key in values and "=" in line and not line.lstrip().startswith("#"):
            lines[n] = f"{key}={_dquote(values[key])}"
            seen.add(key)
    for key, value in values.items():
        if key not in seen:
            lines.append(f"{key}={_dquote(value)}")
    return "\n".join(lines) + "\n"


def _dquote(value: str) -> str:
    if not _SAFE.match(value):
        raise ValueError(f"value {value!r} cannot be written to the netconfig file")
    return f'"{value}"'
