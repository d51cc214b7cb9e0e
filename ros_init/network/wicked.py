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

from ros_init.core.logger import logger
from ros_init.network.model import Interface, NetworkModel, kernel_bond_options

FOLDER = "/etc/sysconfig/network"
NETCONFIG = f"{FOLDER}/config"
MARKER = "# Written by ros-init from the network config; rewritten at every boot."
MODE = 0o644
log = logger(__name__)
_SAFE = re.compile(r"^[A-Za-z0-9_.:/@+=, -]*\Z")



def may_be_managed(path: str) -> bool:
    """An ifcfg-/ifroute-/ifsysctl- file of the sysconfig folder: ours when it starts with our marker."""
    folder, _, name = path.rpartition("/")
    return folder == FOLDER and name.startswith(("ifcfg-", "ifroute-", "ifsysctl-"))


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
        if iface.dhcp6_metric is not None and not iface.controller:
            log.warning("network: %s: dhcp6-overrides route-metric: wicked cannot set the metric of the "
                        "routes router advertisements install; they keep the kernel's", iface.id)
        for name in names.get(iface.id, []):
            out[f"{FOLDER}/ifcfg-{name}"] = (_ifcfg(iface, model, names), MODE)
            routes = _routes(iface, name)
            if routes:
                out[f"{FOLDER}/ifroute-{name}"] = (routes, MODE)
            sysctl = _sysctl(iface, name)
            if sysctl:
                out[f"{FOLDER}/ifsysctl-{name}"] = (sysctl, MODE)
    return out


def _sysctl(iface: Interface, name: str) -> bytes | None:
    """ifsysctl-<name>: per-interface sysctls wicked sets when it brings the device up (the
    slash form, as the name may hold a dot). Router advertisements and the IPv6 MTU have no
    ifcfg key of their own."""
    lines = []
    if iface.accept_ra is not None and not iface.controller:
        lines.append(f"net/ipv6/conf/{name}/accept_ra = {int(iface.accept_ra)}")
    if iface.ipv6_mtu and not iface.controller:
        lines.append(f"net/ipv6/conf/{name}/mtu = {iface.ipv6_mtu}")
    if not lines:
        return None
    return ("\n".join([MARKER] + lines) + "\n").encode()


def _ifcfg(iface: Interface, model: NetworkModel, names: dict[str, list[str]]) -> bytes:
    items: list[tuple[str, str]] = []
    if iface.controller:
        # bond ports come up with their bond (hotplug); bridge ports are started themselves
        items += [("BOOTPROTO", "none"), ("STARTMODE", "hotplug" if iface.controller_kind == "bond" else "auto")]
    else:
        # DHCPv6 asked for (dhcp6, ipv6_dhcpv6-stateful): 'managed', an address whatever the
        # router says (networkd's DHCP=ipv6, cloud-init's SUSE renderer). Router advertisements
        # without a DHCPv6 address (ipv6_slaac, dhcpv6-stateless): 'auto', the router's M/O
        # flags decide, as networkd and NetworkManager do (cloud-init writes 'info', which asks
        # DHCPv6 even on a SLAAC-only link)
        ra_only = bool(iface.accept_ra) and not iface.dhcp6
        dhcp6 = iface.dhcp6 or ra_only
        if iface.dhcp4 and dhcp6:
            proto = "dhcp"
        elif iface.dhcp4:
            proto = "dhcp4"
        elif dhcp6:
            proto = "dhcp6"
        else:
            proto = "static"
        items += [("BOOTPROTO", proto), ("STARTMODE", "auto")]
        if dhcp6:
            items.append(("DHCLIENT6_MODE", "auto" if ra_only else "managed"))
        if iface.dhcp4_metric is not None and iface.dhcp4:
            items.append(("DHCLIENT_ROUTE_PRIORITY", str(iface.dhcp4_metric)))
        items += [(f"IPADDR_{n}", a) for n, a in enumerate(iface.addresses)]
    if iface.mtu:
        items.append(("MTU", str(iface.mtu)))
    if iface.macaddress:
        items.append(("LLADDR", iface.macaddress))
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
    if iface.kind == "bridge":
        items += _bridge(iface, names)
    return _file(items)


_BRIDGE_KEYS = {"forward-delay": "BRIDGE_FORWARDDELAY", "hello-time": "BRIDGE_HELLOTIME",
                "max-age": "BRIDGE_MAXAGE", "ageing-time": "BRIDGE_AGEINGTIME", "priority": "BRIDGE_PRIORITY"}


def _bridge(iface: Interface, names: dict[str, list[str]]) -> list[tuple[str, str]]:
    """ifcfg-bridge(5): the ports by kernel name; per-port lists in the order of BRIDGE_PORTS,
    ``-`` where a port keeps the default."""
    ports = [(m, n) for m in iface.members for n in names.get(m, [])]
    params = dict(iface.bridge_params)
    items = [("BRIDGE", "yes"), ("BRIDGE_PORTS", " ".join(n for _, n in ports))]
    if "stp" in params:
        items.append(("BRIDGE_STP", "on" if params["stp"] else "off"))
    items += [(_BRIDGE_KEYS[k], str(v)) for k, v in iface.bridge_params if k in _BRIDGE_KEYS]
    for key, var in (("port-priority", "BRIDGE_PORTPRIORITIES"), ("path-cost", "BRIDGE_PATHCOSTS")):
        if key in params and ports:
            per_port = dict(params[key])
            items.append((var, " ".join(str(per_port.get(m, "-")) for m, _ in ports)))
    return items


def _routes(iface: Interface, name: str) -> bytes | None:
    """ifroute-<name>: ``DESTINATION GATEWAY NETMASK INTERFACE [OPTIONS]`` per line.

    wicked reads ``onlink`` only inside a ``nexthop`` clause, and a ``nexthop`` clause
    takes the rest of the line, so the metric comes first there.
    """
    lines = []
    for route in iface.gateway_routes + iface.routes:  # ifroute has no other way to say a gateway
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
