"""systemd-networkd files from the network model (pure: model -> files).

Per id: ``/etc/systemd/network/10-ros-init-<id>.network``; bonds and vlans also get a
``.netdev``. A MAC match is written ``MACAddress=`` plus ``Type=ether``: a vlan or bond
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
        out[base + ".network"] = (_network(iface, vlans_on.get(iface.id, []), iface.id in primary_of), MODE)
        if iface.kind in ("bond", "vlan"):
            out[base + ".netdev"] = (_netdev(iface), MODE)
    out.update(render_links(model))
    return out


def render_links(model: NetworkModel) -> dict[str, tuple[bytes, int]]:
    """``.link`` files for ``set-name`` (udev renames the matched NIC) and ``wakeonlan``.

    Only written with set-name: a .link file replaces 99-default.link for the devices it
    matches, so one written only for wake-on-LAN would drop the distribution's naming
    policy. Wake-on-LAN without set-name is left to the renderer (NM, wicked).
    """
    out = {}
    for iface in model.interfaces:
        if iface.kind != "ethernet" or not iface.set_name:
            continue
        m = iface.match
        match = []
        if m.macaddress:
            match += [("MACAddress", m.macaddress), ("Type", "ether")]
        if m.name:
            match.append(("OriginalName", m.name))
        if m.driver:
            match.append(("Driver", m.driver))
        link = [("Name", iface.set_name)]
        if iface.wakeonlan:
            link.append(("WakeOnLan", "magic"))
        out[f"{FOLDER}/{PREFIX}{iface.id}.link"] = (_ini([("Match", match), ("Link", link)]), MODE)
    return out


def _network(iface: Interface, vlans: list[str], primary: bool) -> bytes:
    network: list[tuple[str, str]] = []
    if iface.controller:
        network.append(("Bond", iface.controller))
        if primary:
            network.append(("PrimarySlave", "yes"))
        network.append(("LinkLocalAddressing", "no"))
    else:
        dhcp = {(True, True): "yes", (True, False): "ipv4", (False, True): "ipv6", (False, False): "no"}
        network.append(("DHCP", dhcp[(iface.dhcp4, iface.dhcp6)]))
        if iface.dhcp6 or iface.ipv6_addresses:
            network.append(("IPv6AcceptRA", "yes"))
        network += [("Address", a) for a in iface.addresses]
        for gw in (iface.gateway4, iface.gateway6):
            if gw:
                network.append(("Gateway", gw))
        network += [("DNS", s) for s in iface.dns]
        if iface.search:
            network.append(("Domains", " ".join(iface.search)))
    network += [("VLAN", v) for v in vlans]
    sections = [("Match", match_items(iface)), ("Network", network)]
    link = []
    if iface.mtu:
        link.append(("MTUBytes", str(iface.mtu)))
    if iface.optional:
        link.append(("RequiredForOnline", "no"))
    sections.append(("Link", link))
    for route in iface.routes:
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
    sections = [("NetDev", netdev)]
    if iface.kind == "vlan":
        sections.append(("VLAN", [("Id", str(iface.vlan_id))]))
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
