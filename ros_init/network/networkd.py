"""systemd-networkd files from the network model (pure: model -> files).

Per id: ``/etc/systemd/network/10-ros-init-<id>.network``; bonds, vlans and bridges also
get a ``.netdev``. A MAC match is written ``MACAddress=`` plus ``Type=ether``: a vlan or bond
takes the MAC of the NIC it is built on, and without the type it would match too (their
type is ``vlan``/``bond``). ``set-name`` and ``wakeonlan`` need a ``.link`` file (see
``render_links``), which udev applies whatever the renderer: the other renderers use it
too. The ``10-`` prefix sorts our files before distribution defaults (``99-default.link``,
``80-*.network``): networkd and udev use the first file that matches.
"""

from __future__ import annotations

from ros_init.network.model import Interface, NetworkModel

FOLDER = "/etc/systemd/network"
PREFIX = "10-ros-init-"
SUFFIXES = (".network", ".netdev", ".link")
MODE = 0o644

_MS = "ms"
# netplan bond parameter -> ([Bond] key, unit suffix or value mapper)
_BOND_KEYS: dict[str, tuple[str, str]] = {
    "mode": ("Mode", ""),
    "mii-monitor-interval": ("MIIMonitorSec", _MS),
    "lacp-rate": ("LACPTransmitRate", ""),
    "transmit-hash-policy": ("TransmitHashPolicy", ""),
    "up-delay": ("UpDelaySec", _MS),
    "down-delay": ("DownDelaySec", _MS),
    "ad-select": ("AdSelect", ""),
    "arp-interval": ("ARPIntervalSec", _MS),
    "arp-ip-targets": ("ARPIPTargets", ""),
    "min-links": ("MinLinks", ""),
    "gratuitous-arp": ("GratuitousARP", ""),
    "all-slaves-active": ("AllSlavesActive", ""),
    "fail-over-mac-policy": ("FailOverMACPolicy", ""),
    "primary-reselect-policy": ("PrimaryReselectPolicy", ""),
    "packets-per-slave": ("PacketsPerSlave", ""),
    "learn-packet-interval": ("LearnPacketIntervalSec", "s"),
    "arp-validate": ("ARPValidate", ""),
    "arp-all-targets": ("ARPAllTargets", ""),
}
# netplan bridge parameter -> [Bridge] key of the bridge's .netdev (times in seconds)
_BRIDGE_KEYS = {
    "stp": "STP", "forward-delay": "ForwardDelaySec", "hello-time": "HelloTimeSec",
    "max-age": "MaxAgeSec", "ageing-time": "AgeingTimeSec", "priority": "Priority",
}
# netplan per-port bridge parameter -> [Bridge] key of the port's .network
_PORT_KEYS = {"path-cost": "Cost", "port-priority": "Priority"}
# What 99-default.link says: a .link file of ours written only for wake-on-LAN repeats it,
# so the device keeps the name the distribution's policy gives it.
_DEFAULT_LINK = [
    ("NamePolicy", "keep kernel database onboard slot path"),
    ("AlternativeNamesPolicy", "database onboard slot path"),
    ("MACAddressPolicy", "persistent"),
]


def is_managed(path: str) -> bool:
    folder, _, name = path.rpartition("/")
    return folder == FOLDER and name.startswith(PREFIX) and name.endswith(SUFFIXES)


def _ini(sections: list[tuple[str, list[tuple[str, str]]]]) -> bytes:
    lines = ["# Written by ros-init from the network config; rewritten at every boot."]
    for name, items in sections:
        if items:
            lines.append(f"\n[{name}]")
            lines += [f"{k}={v}" for k, v in items]
    return ("\n".join(lines) + "\n").encode()


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def match_items(iface: Interface) -> list[tuple[str, str]]:
    """The [Match] of a device: by MAC (and type), by name or glob, by driver."""
    items = []
    if iface.kind != "ethernet":
        return [("Name", iface.id)]
    m = iface.match
    if m.macaddress:
        items += [("MACAddress", m.macaddress), ("Type", "ether")]
    if iface.set_name and not m.macaddress:
        items.append(("Name", iface.set_name))  # renamed by our .link before networkd sees it
    elif m.name:
        items.append(("Name", m.name))
    elif m.empty:
        items.append(("Name", iface.id))
    if m.driver and not iface.set_name:
        items.append(("Driver", m.driver))
    return items


def render(model: NetworkModel, names: dict[str, list[str]]) -> dict[str, tuple[bytes, int]]:
    out: dict[str, tuple[bytes, int]] = {}
    vlans_on: dict[str, list[str]] = {}
    for iface in model.interfaces:
        if iface.kind == "vlan" and iface.link:
            vlans_on.setdefault(iface.link, []).append(iface.id)
    primary_of = {
        str(v): bond.id for bond in model.interfaces for k, v in bond.bond_params if k == "primary"
    }
    for iface in model.interfaces:
        base = f"{FOLDER}/{PREFIX}{iface.id}"
        port = [(_PORT_KEYS[k], str(v)) for k, v in model.port_settings(iface)]
        out[base + ".network"] = (_network(iface, vlans_on.get(iface.id, []), iface.id in primary_of, port), MODE)
        if iface.kind in ("bond", "vlan", "bridge"):
            out[base + ".netdev"] = (_netdev(iface), MODE)
    out.update(render_links(model))
    return out


def render_links(model: NetworkModel, wake_on_lan: bool = True) -> dict[str, tuple[bytes, int]]:
    """``.link`` files for ``set-name`` (udev renames the matched NIC) and ``wakeonlan``.

    A .link file replaces 99-default.link for the devices it matches: one written for
    wake-on-LAN alone repeats the default naming policy, so the device keeps its name. With
    no match (the id is the kernel name), it matches ``OriginalName``: the name the kernel
    gave, before any renaming (true of eth0 with net.ifnames=0, not of a predictable name).
    ``wake_on_lan=False``: only for set-name (NetworkManager and wicked set wake-on-LAN themselves).
    """
    out = {}
    for iface in model.interfaces:
        if iface.kind != "ethernet" or not (iface.set_name or (iface.wakeonlan and wake_on_lan)):
            continue
        m = iface.match
        match = []
        if m.macaddress:
            match += [("MACAddress", m.macaddress), ("Type", "ether")]
        if m.name:
            match.append(("OriginalName", m.name))
        if m.driver:
            match.append(("Driver", m.driver))
        if m.empty:
            match.append(("OriginalName", iface.id))
        link = [("Name", iface.set_name)] if iface.set_name else list(_DEFAULT_LINK)
        if iface.wakeonlan and wake_on_lan:
            link.append(("WakeOnLan", "magic"))
        out[f"{FOLDER}/{PREFIX}{iface.id}.link"] = (_ini([("Match", match), ("Link", link)]), MODE)
    return out


def _network(iface: Interface, vlans: list[str], primary: bool, port: list[tuple[str, str]]) -> bytes:
    network: list[tuple[str, str]] = []
    gateways, routes = iface.gateways_and_routes()
    if iface.controller:
        network.append(("Bond" if iface.controller_kind == "bond" else "Bridge", iface.controller))
        if primary:
            network.append(("PrimarySlave", "yes"))
        network.append(("LinkLocalAddressing", "no"))
    else:
        dhcp = {(True, True): "yes", (True, False): "ipv4", (False, True): "ipv6", (False, False): "no"}
        network.append(("DHCP", dhcp[(iface.dhcp4, iface.dhcp6)]))
        if iface.accept_ra is not None:
            network.append(("IPv6AcceptRA", _yes(iface.accept_ra)))
        elif iface.dhcp6 or iface.ipv6_addresses:
            network.append(("IPv6AcceptRA", "yes"))
        network += [("Address", a) for a in iface.addresses]
        network += [("Gateway", gw) for gw in gateways]
        network += [("DNS", s) for s in iface.dns]
        if iface.search:
            network.append(("Domains", " ".join(iface.search)))
        if iface.ipv6_mtu:
            network.append(("IPv6MTUBytes", str(iface.ipv6_mtu)))
    network += [("VLAN", v) for v in vlans]
    sections = [("Match", match_items(iface)), ("Network", network)]
    link = []
    if iface.macaddress and iface.kind == "ethernet":
        link.append(("MACAddress", iface.macaddress))
    if iface.mtu:
        link.append(("MTUBytes", str(iface.mtu)))
    if iface.optional:
        link.append(("RequiredForOnline", "no"))
    sections.append(("Link", link))
    if iface.dhcp4_metric is not None and iface.dhcp4 and not iface.controller:
        sections.append(("DHCPv4", [("RouteMetric", str(iface.dhcp4_metric))]))
    if iface.dhcp6_metric is not None and not iface.controller and iface.accept_ra is not False:
        # IPv6 default routes come from router advertisements, not from DHCPv6
        sections.append(("IPv6AcceptRA", [("RouteMetric", str(iface.dhcp6_metric))]))
    sections.append(("Bridge", port))
    for route in routes:
        items = [("Destination", route.to)]
        if route.via:
            items.append(("Gateway", route.via))
        if route.metric is not None:
            items.append(("Metric", str(route.metric)))
        if route.on_link:
            items.append(("GatewayOnLink", "yes"))
        sections.append(("Route", items))
    return _ini(sections)


def _netdev(iface: Interface) -> bytes:
    netdev = [("Name", iface.id), ("Kind", iface.kind)]
    if iface.mtu:
        netdev.append(("MTUBytes", str(iface.mtu)))
    if iface.macaddress:
        netdev.append(("MACAddress", iface.macaddress))
    sections = [("NetDev", netdev)]
    if iface.kind == "vlan":
        sections.append(("VLAN", [("Id", str(iface.vlan_id))]))
    elif iface.kind == "bridge":
        bridge = []
        for key, value in iface.bridge_params:
            if key in _BRIDGE_KEYS:
                bridge.append((_BRIDGE_KEYS[key], _yes(value) if isinstance(value, bool) else str(value)))
        sections.append(("Bridge", bridge))
    else:
        bond = []
        for key, value in sorted(iface.bond_params, key=lambda kv: kv[0] != "mode"):
            if key == "primary":
                continue  # PrimarySlave= in the member's .network
            name, unit = _BOND_KEYS[key]
            if isinstance(value, bool):
                text = _yes(value)
            elif isinstance(value, tuple):
                text = " ".join(value)
            else:
                text = f"{value}{unit}"
            bond.append((name, text))
        sections.append(("Bond", bond))
    return _ini(sections)
