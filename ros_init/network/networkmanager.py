"""NetworkManager keyfiles from the network model (pure: model -> files).

One connection profile per configured id:
``/etc/NetworkManager/system-connections/ros-init-<id>.nmconnection``, mode 0600 (NM
ignores keyfiles readable by others). The uuid is derived from the id, so the same
config gives the same bytes on every boot. Bond ports use ``master=``/``slave-type=``
(the spelling every NM since 1.0 reads; 1.46 added ``controller=`` as an alias) and point
at the bond's uuid; a vlan's ``parent=`` is its parent profile's uuid, which works even
when the parent is matched by MAC only.
"""

from __future__ import annotations

from ros_init.network.model import Interface, NetworkModel, default_route, kernel_bond_options

FOLDER = "/etc/NetworkManager/system-connections"
PREFIX = "ros-init-"
SUFFIX = ".nmconnection"
MODE = 0o600
_NAMESPACE = "6f1e7f3c-2b1d-5a51-9d0e-726f732d696e"  # fixed: uuids stay stable



# netplan bridge parameter -> [bridge] key (seconds), and per port -> [bridge-port] key
_BRIDGE_KEYS = {"stp": "stp", "forward-delay": "forward-delay", "hello-time": "hello-time",
                "max-age": "max-age", "ageing-time": "ageing-time", "priority": "priority"}
_PORT_KEYS = {"path-cost": "path-cost", "port-priority": "priority"}


def _nm_value(value: object) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def connection_uuid(ident: str) -> str:
    import uuid  # only when NetworkManager files are rendered (uuid imports platform, ~4 ms)

    return str(uuid.uuid5(uuid.UUID(_NAMESPACE), ident))


def path_for(ident: str) -> str:
    return f"{FOLDER}/{PREFIX}{ident}{SUFFIX}"


def is_managed(path: str) -> bool:
    """True for a file this renderer writes (the ros-init- prefix marks it as ours)."""
    folder, _, name = path.rpartition("/")
    return folder == FOLDER and name.startswith(PREFIX) and name.endswith(SUFFIX)


def render(model: NetworkModel, names: dict[str, list[str]]) -> dict[str, tuple[bytes, int]]:
    """Keyfiles for every interface; ``names`` maps ids to kernel names (used for bond primary)."""
    out = {}
    for iface in model.interfaces:
        out[path_for(iface.id)] = (_keyfile(iface, model, names).encode(), MODE)
    return out


def _keyfile(iface: Interface, model: NetworkModel, names: dict[str, list[str]]) -> str:
    sections: list[tuple[str, list[tuple[str, str]]]] = []
    conn = [("id", f"ros-init {iface.id}"), ("uuid", connection_uuid(iface.id)),
            ("type", iface.kind), ("autoconnect", "true")]
    if iface.name and not (iface.kind == "ethernet" and iface.match.macaddress):
        # A MAC match alone identifies the device, renamed by our .link file or not yet.
        conn.append(("interface-name", iface.name))
    if iface.controller:
        conn += [("master", connection_uuid(iface.controller)), ("slave-type", iface.controller_kind or "bond")]
    sections.append(("connection", conn))

    match = []
    if iface.kind == "ethernet" and iface.match.name and iface.name is None:
        match.append(("interface-name", iface.match.name))  # a glob: NM >= 1.14 matches it
    if iface.kind == "ethernet" and iface.match.driver:
        match.append(("driver", iface.match.driver))  # NM >= 1.26
    if match:
        sections.append(("match", match))

    eth = []
    if iface.kind == "ethernet" and iface.match.macaddress:
        eth.append(("mac-address", iface.match.macaddress))
    if iface.macaddress:
        eth.append(("cloned-mac-address", iface.macaddress))  # bonds, vlans, bridges too
    if iface.mtu:
        eth.append(("mtu", str(iface.mtu)))
    if iface.wakeonlan:
        eth.append(("wake-on-lan", "64"))  # NM_SETTING_WIRED_WAKE_ON_LAN_MAGIC
    if eth:
        sections.append(("ethernet", eth))

    if iface.kind == "bond":
        sections.append(("bond", kernel_bond_options(iface, names)))
    if iface.kind == "bridge":
        sections.append(("bridge", [(_BRIDGE_KEYS[k], _nm_value(v)) for k, v in iface.bridge_params
                                    if k in _BRIDGE_KEYS]))
    port = [(_PORT_KEYS[k], str(v)) for k, v in model.port_settings(iface)]
    if port:
        sections.append(("bridge-port", port))
    if iface.kind == "vlan":
        assert iface.link is not None and iface.vlan_id is not None
        sections.append(("vlan", [("id", str(iface.vlan_id)), ("parent", connection_uuid(iface.link))]))

    if not iface.controller:  # a bond port has no IP configuration of its own
        ipv4 = _ip_section(iface, 4)
        ipv6 = _ip_section(iface, 6)
        if iface.search:  # NM keeps search domains per family: put them where IP is configured
            target = ipv4 if ipv4[0][1] in ("auto", "manual") else ipv6
            if target[0][1] in ("auto", "manual", "dhcp"):
                target.append(("dns-search", "".join(f"{d};" for d in iface.search)))
        sections.append(("ipv4", ipv4))
        sections.append(("ipv6", ipv6))

    lines = ["# Written by ros-init from the network config; rewritten at every boot."]
    for name, items in sections:
        lines.append(f"\n[{name}]")
        lines += [f"{k}={v}" for k, v in items]
    return "\n".join(lines) + "\n"


def _ip_section(iface: Interface, version: int) -> list[tuple[str, str]]:
    """[ipv4]/[ipv6]. IPv6 methods: ``auto`` takes router advertisements (SLAAC, and DHCPv6
    when the router says so), ``dhcp`` DHCPv6 without them (accept-ra false), ``manual``
    static addresses only; accept-ra true with static addresses is ``auto`` plus them."""
    addresses = iface.ipv4_addresses if version == 4 else iface.ipv6_addresses
    dhcp = iface.dhcp4 if version == 4 else iface.dhcp6
    gateways, on_link_and_routes = iface.gateways_and_routes(version)
    gateway = gateways[0] if gateways else None
    routes = list(on_link_and_routes)
    dns = [s for s in iface.dns if (":" in s) == (version == 6)]
    metric = iface.dhcp4_metric if version == 4 else iface.dhcp6_metric
    if version == 6 and iface.accept_ra is False:
        method = "dhcp" if dhcp else ("manual" if addresses else "link-local")
    elif (version == 6 and iface.accept_ra) or dhcp:
        method = "auto"
    elif addresses:
        method = "manual"
    else:
        # No IPv4 config: disabled. No IPv6 config: leave the kernel defaults alone.
        method = "disabled" if version == 4 else "ignore"
    items = [("method", method)]
    if method in ("disabled", "ignore", "link-local"):
        return items
    items += [(f"address{n}", a) for n, a in enumerate(addresses, 1)]
    default = next((r for r in routes if r.is_default and r.via and not r.metric and not r.on_link), None)
    if gateway is None and default is not None:
        gateway = default.via
        routes = [r for r in routes if r is not default]
    if gateway and not addresses:
        # NM refuses ipv4.gateway without a static address (DHCP plus a fixed gateway):
        # the same default route as a route entry.
        routes = [default_route(gateway), *routes]
        gateway = None
    if gateway:
        items.append(("gateway", gateway))
    if dns:
        items.append(("dns", "".join(f"{s};" for s in dns)))
    if metric is not None and (dhcp or method == "auto"):
        items.append(("route-metric", str(metric)))  # routes from DHCP and router advertisements
    if version == 6 and iface.ipv6_mtu:
        items.append(("mtu", str(iface.ipv6_mtu)))  # NM >= 1.40
    for n, route in enumerate(routes, 1):
        value = route.to
        if route.via or route.metric is not None:
            value += f",{route.via or ('::' if version == 6 else '0.0.0.0')}"
        if route.metric is not None:
            value += f",{route.metric}"
        items.append((f"route{n}", value))
        if route.on_link:
            items.append((f"route{n}_options", "onlink=true"))
    return items
