"""The network model: the ``network:`` config (netplan v2 subset) parsed into typed values.

Every renderer (NetworkManager, systemd-networkd, wicked) reads this model, never the raw
config, so the three agree on what a key means. Parsing is pure and checks what the
renderers rely on (addresses are addresses, ids are safe in file names, bond members and
vlan links exist); a problem raises ``NetworkConfigError`` naming the config path.
Version 1 input (cloud-init network-config v1) is translated first by
``ros_init.network.convert.v1_to_v2``.
"""

from __future__ import annotations

import ipaddress
import re

from ros_init.core.findings import Refusals
from ros_init.core.logger import logger
from ros_init.core.record import field, record

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from typing import Any, Literal

    Kind = Literal["ethernet", "bond", "vlan", "bridge"]

log = logger(__name__)

# Ids end up in file names (ros-init-<id>.nmconnection) and in INI/shell values.
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}\Z")
# A kernel interface name: at most 15 bytes, no '/', ':' or whitespace.
_IFNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,15}\Z")
_MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}\Z")
_DOMAIN_RE = re.compile(r"^(?=.{1,253}\Z)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?)+\Z")
_DRIVER_RE = re.compile(r"^[A-Za-z0-9_*?-]{1,64}\Z")
_GLOB_CHARS = set("*?[")

# Bond parameters the renderers know how to express, with their value type.
BOND_PARAMS: dict[str, type] = {
    "mode": str,
    "mii-monitor-interval": int,
    "primary": str,
    "lacp-rate": str,
    "transmit-hash-policy": str,
    "up-delay": int,
    "down-delay": int,
    "ad-select": str,
    "arp-interval": int,
    "arp-ip-targets": list,
    "min-links": int,
    "gratuitous-arp": int,
    "all-slaves-active": bool,
    "fail-over-mac-policy": str,
    "primary-reselect-policy": str,
    "packets-per-slave": int,
    "learn-packet-interval": int,
    "arp-validate": str,
    "arp-all-targets": str,
}
BOND_MODES = ("balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad", "balance-tlb", "balance-alb")


# netplan bond parameter -> kernel bonding module option: the names NetworkManager's [bond]
# section and wicked's BONDING_MODULE_OPTS both take
BOND_OPTIONS = {
    "mode": "mode",
    "mii-monitor-interval": "miimon",
    "primary": "primary",
    "lacp-rate": "lacp_rate",
    "transmit-hash-policy": "xmit_hash_policy",
    "up-delay": "updelay",
    "down-delay": "downdelay",
    "ad-select": "ad_select",
    "arp-interval": "arp_interval",
    "arp-ip-targets": "arp_ip_target",
    "min-links": "min_links",
    "gratuitous-arp": "num_grat_arp",
    "all-slaves-active": "all_slaves_active",
    "fail-over-mac-policy": "fail_over_mac",
    "primary-reselect-policy": "primary_reselect",
    "packets-per-slave": "packets_per_slave",
    "learn-packet-interval": "lp_interval",
    "arp-validate": "arp_validate",
    "arp-all-targets": "arp_all_targets",
}

# netplan bridge parameters: seconds for the times, plain integers for the rest; path-cost and
# port-priority are per port (a mapping of port id to value).
BRIDGE_PARAMS: dict[str, type] = {
    "stp": bool,
    "forward-delay": int,
    "hello-time": int,
    "max-age": int,
    "ageing-time": int,
    "priority": int,
    "path-cost": dict,
    "port-priority": dict,
}
PORT_PARAMS = ("path-cost", "port-priority")  # the per-port ones, in the order port_settings gives
# Keys of dhcp4-overrides/dhcp6-overrides: route-metric is rendered; the others name
# what DHCP may set and are left to the renderer's default with a warning.
DHCP_OVERRIDE_KEYS = {"route-metric", "use-dns", "use-ntp", "send-hostname", "use-hostname", "use-mtu",
                      "hostname", "use-routes", "use-domains"}


class NetworkConfigError(ValueError):
    """The ``network:`` config cannot be rendered; ``path`` names the element."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@record(frozen=True)
class Route:
    to: str  # a CIDR; "default" is normalised to 0.0.0.0/0 or ::/0 by the address family of via
    via: str | None = None
    metric: int | None = None
    on_link: bool = False  # set by the parser too when via lies outside every static subnet

    @property
    def is_ipv6(self) -> bool:
        return ipaddress.ip_network(self.to, strict=False).version == 6

    @property
    def is_default(self) -> bool:
        return ipaddress.ip_network(self.to, strict=False).prefixlen == 0


def default_route(via: str, on_link: bool = False) -> Route:
    """The default route of ``via``'s address family through ``via``."""
    return Route("::/0" if ":" in via else "0.0.0.0/0", via, None, on_link)


@record(frozen=True)
class Match:
    macaddress: str | None = None  # lower case, colon separated
    name: str | None = None  # may be a glob
    driver: str | None = None  # may be a glob

    @property
    def empty(self) -> bool:
        return not (self.macaddress or self.name or self.driver)


@record(frozen=True)
class Interface:
    """One configured device: an ethernet, a bond, a vlan or a bridge, under its config id."""

    id: str
    kind: Kind
    match: Match = field(default_factory=Match)
    set_name: str | None = None
    dhcp4: bool = False
    dhcp6: bool = False
    addresses: tuple[str, ...] = ()  # interface addresses with prefix ("192.0.2.10/24")
    gateway4: str | None = None
    gateway6: str | None = None
    routes: tuple[Route, ...] = ()
    dns: tuple[str, ...] = ()
    search: tuple[str, ...] = ()
    mtu: int | None = None
    ipv6_mtu: int | None = None
    optional: bool = False
    wakeonlan: bool = False
    accept_ra: bool | None = None  # None: the renderer's default (RA on where IPv6 is configured)
    macaddress: str | None = None  # the MAC to give the device (netplan ``macaddress``)
    dhcp4_metric: int | None = None  # dhcp4-overrides route-metric
    dhcp6_metric: int | None = None
    gateway4_on_link: bool = False
    gateway6_on_link: bool = False
    members: tuple[str, ...] = ()  # bond: ids of member ethernets; bridge: ids of its ports
    bond_params: tuple[tuple[str, Any], ...] = ()
    bridge_params: tuple[tuple[str, Any], ...] = ()  # path-cost/port-priority: tuple of (port id, value)
    vlan_id: int | None = None
    link: str | None = None  # vlan: id of the parent interface
    controller: str | None = None  # id of the bond or bridge it belongs to
    controller_kind: str | None = None  # "bond" or "bridge"

    @property
    def name(self) -> str | None:
        """The kernel name when the config fixes it (set-name, a literal match name, or the id).

        None when only a MAC address or a glob identifies the device: renderers that need a
        name (wicked, bond members) look the device up in sysfs (``ros_init.network.nics``).
        """
        if self.set_name:
            return self.set_name
        if self.kind != "ethernet" or self.match.empty:
            return self.id
        if self.match.name and not (_GLOB_CHARS & set(self.match.name)):
            return self.match.name
        return None

    @property
    def gateway_routes(self) -> tuple[Route, ...]:
        """``gateway4`` and ``gateway6`` as the default routes they stand for, in that order,
        on-link where the parser found the gateway outside every static subnet."""
        return tuple(default_route(gw, on_link) for gw, on_link in
                     ((self.gateway4, self.gateway4_on_link), (self.gateway6, self.gateway6_on_link)) if gw)

    def gateways_and_routes(self, version: int | None = None) -> tuple[tuple[str, ...], tuple[Route, ...]]:
        """(the gateways a renderer writes as plain gateways, the routes it writes), of one
        address family or both. A gateway setting (networkd's ``Gateway=``, NetworkManager's
        ``gateway=``) cannot say on-link: an on-link gateway is written as its default route,
        on-link, before the configured routes."""
        gateways = [r for r in self.gateway_routes if version is None or r.is_ipv6 == (version == 6)]
        routes = [r for r in self.routes if version is None or r.is_ipv6 == (version == 6)]
        return (tuple(r.via for r in gateways if not r.on_link and r.via),
                tuple(r for r in gateways if r.on_link) + tuple(routes))

    @property
    def ipv4_addresses(self) -> tuple[str, ...]:
        return tuple(a for a in self.addresses if ipaddress.ip_interface(a).version == 4)

    @property
    def ipv6_addresses(self) -> tuple[str, ...]:
        return tuple(a for a in self.addresses if ipaddress.ip_interface(a).version == 6)


@record(frozen=True)
class NetworkModel:
    interfaces: tuple[Interface, ...] = ()

    def get(self, ident: str) -> Interface | None:
        return next((i for i in self.interfaces if i.id == ident), None)

    def port_settings(self, iface: Interface) -> tuple[tuple[str, int], ...]:
        """The per-port parameters (``path-cost``, ``port-priority``) the bridge ``iface``
        belongs to sets for it, in that order; () for a device that is no bridge port."""
        bridge = self.get(iface.controller or "") if iface.controller_kind == "bridge" else None
        if bridge is None:
            return ()
        return tuple((key, value) for key, per_port in bridge.bridge_params if key in PORT_PARAMS
                     for port, value in per_port if port == iface.id)

    @property
    def nameservers(self) -> tuple[str, ...]:
        """Every interface's DNS servers, de-duplicated, in config order (for global DNS)."""
        return tuple(dict.fromkeys(s for i in self.interfaces for s in i.dns))

    @property
    def search_domains(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s for i in self.interfaces for s in i.search))


def is_disabled(network: Any) -> bool:
    """``network: {config: disabled}``: ros-init leaves networking alone."""
    return isinstance(network, dict) and network.get("config") == "disabled"


def parse_network(network: Any, path: str = "network") -> NetworkModel:
    """The model of a ``network:`` value (v2, or v1 translated). ``None`` is an empty model."""
    if network is None:
        return NetworkModel()
    if not isinstance(network, dict):
        raise NetworkConfigError(path, f"must be a mapping, found {type(network).__name__}")
    if is_disabled(network):
        return NetworkModel()
    version = network.get("version", 2)
    if version in (1, "1"):
        from ros_init.network.convert import v1_to_v2

        try:
            network = v1_to_v2(network)
        except NetworkConfigError:
            raise
        except (ValueError, TypeError, KeyError) as exc:  # netconv.NetconvError is a ValueError
            raise NetworkConfigError(path, f"version 1 config cannot be translated: {exc}") from None
        if isinstance(network, dict) and set(network) == {"network"}:
            network = network["network"]
        if not isinstance(network, dict):
            raise NetworkConfigError(path, "the version 1 config could not be translated")
    elif version not in (2, "2"):
        raise NetworkConfigError(f"{path}.version", f"must be 1 or 2, found {version!r}")
    unknown = sorted(set(network) - {"version", "renderer", "config", "ethernets", "bonds", "vlans", "bridges"})
    if unknown:
        raise NetworkConfigError(f"{path}.{unknown[0]}", "unknown key (ros-init renders ethernets, bonds, vlans and bridges)")
    interfaces: list[Interface] = []
    refusals = Refusals()  # every refused interface, not the first one only
    for section, kind in (("ethernets", "ethernet"), ("bonds", "bond"), ("vlans", "vlan"), ("bridges", "bridge")):
        block = network.get(section) or {}
        if not isinstance(block, dict):
            refusals.add(NetworkConfigError(f"{path}.{section}", "must be a mapping of id to settings"))
            continue
        for ident, conf in block.items():
            iface = refusals.attempt(_parse_interface, str(ident), kind, conf or {}, f"{path}.{section}.{ident}")
            if iface is not None:
                interfaces.append(iface)
    refusals.check()
    return _link_up(interfaces, path)


def _link_up(interfaces: list[Interface], path: str) -> NetworkModel:
    """Check cross references (ids unique, members and links exist) and mark bond members."""
    ids: dict[str, Interface] = {}
    for iface in interfaces:
        if iface.id in ids:
            raise NetworkConfigError(f"{path}.{iface.kind}s.{iface.id}", "this id is used twice")
        ids[iface.id] = iface
    kernel_names: dict[str, str] = {}
    for iface in interfaces:
        if iface.name is None:
            continue
        if iface.name in kernel_names:
            raise NetworkConfigError(f"{path}.{iface.kind}s.{iface.id}",
                                     f"names device {iface.name!r}, as {kernel_names[iface.name]!r} does")
        kernel_names[iface.name] = iface.id
    controller_of: dict[str, str] = {}
    for iface in interfaces:
        for member in iface.members:
            where = f"{path}.{iface.kind}s.{iface.id}.interfaces"
            target = ids.get(member)
            if iface.kind == "bond" and (target is None or target.kind != "ethernet"):
                raise NetworkConfigError(where, f"{member!r} is not an id in network.ethernets")
            if iface.kind == "bridge" and (target is None or target.kind == "bridge"):
                raise NetworkConfigError(where, f"{member!r} is not the id of an ethernet, bond or vlan")
            if member in controller_of:
                other = ids[controller_of[member]]
                raise NetworkConfigError(where, f"{member!r} is already a member of {other.kind} {other.id!r}")
            controller_of[member] = iface.id
        for key, value in iface.bridge_params:
            for port, _ in value if isinstance(value, tuple) else ():
                if port not in iface.members:
                    raise NetworkConfigError(f"{path}.bridges.{iface.id}.parameters.{key}.{port}",
                                             "is not one of this bridge's interfaces")
        if iface.kind == "vlan":
            if iface.link not in ids:
                raise NetworkConfigError(f"{path}.vlans.{iface.id}.link", f"{iface.link!r} is not a configured id")
            if ids[iface.link].kind == "vlan":
                raise NetworkConfigError(f"{path}.vlans.{iface.id}.link", "a vlan cannot sit on another vlan")
    out = []
    for iface in interfaces:
        if iface.id in controller_of:
            controller = ids[controller_of[iface.id]]
            ip = [k for k, v in (("addresses", iface.addresses), ("dhcp4", iface.dhcp4), ("dhcp6", iface.dhcp6),
                                 ("gateway4", iface.gateway4), ("gateway6", iface.gateway6), ("routes", iface.routes))
                  if v]
            if ip:
                # the address would be dropped and the node maybe unreachable there: say so
                raise NetworkConfigError(f"{path}.{iface.kind}s.{iface.id}.{ip[0]}",
                                         f"a member of {controller.kind} {controller.id!r} has no IP configuration "
                                         f"of its own: give it to {controller.id!r}")
            iface = _replace(iface, controller=controller.id, controller_kind=controller.kind)
        out.append(iface)
    return NetworkModel(tuple(out))


def _replace(iface: Interface, **changes: Any) -> Interface:
    from ros_init.core.record import replace

    return replace(iface, **changes)


# netplan knobs the schema accepts with an x-ignored warning: left to the renderer's default.
IGNORED_KEYS = {
    "link-local", "ipv6-privacy", "critical", "dhcp-identifier", "routing-policy", "renderer",
    "ipv6-address-generation",
}
_COMMON_KEYS = {
    "dhcp4", "dhcp6", "addresses", "gateway4", "gateway6", "routes", "nameservers", "mtu",
    "optional", "wakeonlan", "accept-ra", "macaddress", "dhcp4-overrides", "dhcp6-overrides", "ipv6-mtu",
} | IGNORED_KEYS
_KIND_KEYS = {
    "ethernet": {"match", "set-name"},
    "bond": {"interfaces", "parameters"},
    "vlan": {"id", "link"},
    "bridge": {"interfaces", "parameters"},
}
# Bond parameters netplan gives in milliseconds, as an integer or a duration string.
_MS_PARAMS = {"mii-monitor-interval", "up-delay", "down-delay", "arp-interval"}


def _parse_interface(ident: str, kind: Kind, conf: Any, path: str) -> Interface:
    if not _ID_RE.match(ident):
        raise NetworkConfigError(path, "an id is 1-64 letters, digits or . _ : @ - and starts with a letter or digit")
    if not isinstance(conf, dict):
        raise NetworkConfigError(path, f"must be a mapping, found {type(conf).__name__}")
    unknown = sorted(set(conf) - _COMMON_KEYS - _KIND_KEYS[kind])
    if unknown:
        raise NetworkConfigError(f"{path}.{unknown[0]}", "unknown key")
    values: dict[str, Any] = {
        "id": ident,
        "kind": kind,
        "dhcp4": _bool(conf.get("dhcp4", False), f"{path}.dhcp4"),
        "dhcp6": _bool(conf.get("dhcp6", False), f"{path}.dhcp6"),
        "optional": _bool(conf.get("optional", False), f"{path}.optional"),
        "addresses": tuple(_address(a, f"{path}.addresses[{n}]") for n, a in enumerate(_list(conf, "addresses", path))),
        "routes": tuple(_route(r, f"{path}.routes[{n}]") for n, r in enumerate(_list(conf, "routes", path))),
    }
    for key, version in (("gateway4", 4), ("gateway6", 6)):
        if conf.get(key) is not None:
            values[key.replace("-", "_")] = _ip(conf[key], f"{path}.{key}", version)
    ns = conf.get("nameservers") or {}
    if not isinstance(ns, dict):
        raise NetworkConfigError(f"{path}.nameservers", "must be a mapping with addresses and search")
    extra = sorted(set(ns) - {"addresses", "search"})
    if extra:
        raise NetworkConfigError(f"{path}.nameservers.{extra[0]}", "unknown key")
    values["dns"] = tuple(_ip(a, f"{path}.nameservers.addresses[{n}]") for n, a in enumerate(_list(ns, "addresses", path)))
    values["search"] = tuple(_domain(d, f"{path}.nameservers.search[{n}]") for n, d in enumerate(_list(ns, "search", path)))
    for key, low in (("mtu", 68), ("ipv6-mtu", 1280)):
        if conf.get(key) is not None:
            mtu = conf[key]
            if isinstance(mtu, bool) or not isinstance(mtu, int) or not low <= mtu <= 65535:
                raise NetworkConfigError(f"{path}.{key}", f"must be an integer from {low} to 65535")
            values[key.replace("-", "_")] = mtu
    values["wakeonlan"] = _bool(conf.get("wakeonlan", False), f"{path}.wakeonlan")
    if conf.get("accept-ra") is not None:
        values["accept_ra"] = _bool(conf["accept-ra"], f"{path}.accept-ra")
    if conf.get("macaddress") is not None:
        mac = normalize_mac(conf["macaddress"])
        if mac is None:
            raise NetworkConfigError(f"{path}.macaddress", f"{conf['macaddress']!r} is not a MAC address")
        values["macaddress"] = mac
    for family in ("4", "6"):
        metric = _dhcp_overrides(conf.get(f"dhcp{family}-overrides"), f"{path}.dhcp{family}-overrides")
        if metric is not None:
            values[f"dhcp{family}_metric"] = metric
    _mark_on_link(values)
    if kind == "ethernet":
        values["match"] = _match(conf.get("match"), f"{path}.match")
        if conf.get("set-name") is not None:
            values["set_name"] = _ifname(conf["set-name"], f"{path}.set-name")
            if values["match"].empty:
                raise NetworkConfigError(f"{path}.set-name", "needs a match (netplan: set-name only renames matched devices)")
        elif values["match"].empty:
            _ifname(ident, path)  # the id is the interface name
    elif kind in ("bond", "bridge"):
        _ifname(ident, path)
        members = _list(conf, "interfaces", path)
        values["members"] = tuple(str(m) for m in members)
        if kind == "bond":
            values["bond_params"] = _bond_params(conf.get("parameters") or {}, f"{path}.parameters")
        else:
            values["bridge_params"] = _bridge_params(conf.get("parameters") or {}, f"{path}.parameters")
    else:
        _ifname(ident, path)
        vid = conf.get("id")
        if isinstance(vid, bool) or not isinstance(vid, int) or not 0 <= vid <= 4094:
            raise NetworkConfigError(f"{path}.id", "must be a vlan id from 0 to 4094")
        if not isinstance(conf.get("link"), str):
            raise NetworkConfigError(f"{path}.link", "must name the id of the parent interface")
        values["vlan_id"] = vid
        values["link"] = conf["link"]
    return Interface(**values)


def _dhcp_overrides(value: Any, path: str) -> int | None:
    """The route metric of ``dhcpN-overrides``; the other keys are left to the renderer (warned)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise NetworkConfigError(path, "must be a mapping")
    unknown = sorted(set(value) - DHCP_OVERRIDE_KEYS)
    if unknown:
        raise NetworkConfigError(f"{path}.{unknown[0]}", "unknown key")
    ignored = sorted(set(value) - {"route-metric"})
    if ignored:
        log.warning("%s: %s not implemented by ros-init; left to the renderer's default", path, ", ".join(ignored))
    metric = value.get("route-metric")
    if metric is not None and (isinstance(metric, bool) or not isinstance(metric, int) or metric < 0):
        raise NetworkConfigError(f"{path}.route-metric", "must be a non-negative integer")
    return metric


def _on_link(via: str, addresses: tuple[str, ...], dhcp: bool) -> bool:
    """A gateway outside every static subnet of its family needs on-link, or the kernel
    refuses the route (no route to the gateway). With DHCP and no static address of that
    family, the lease's subnet decides: not on-link. A link-local gateway is on-link anyway."""
    gw = ipaddress.ip_address(via)
    if gw.is_link_local:
        return False
    nets = [ipaddress.ip_interface(a).network for a in addresses]
    same = [n for n in nets if n.version == gw.version]
    if not same and dhcp:
        return False
    return not any(gw in n for n in same)


def _mark_on_link(values: dict[str, Any]) -> None:
    addresses = values["addresses"]
    for key, dhcp in (("gateway4", values["dhcp4"]), ("gateway6", values["dhcp6"])):
        if values.get(key):
            values[f"{key}_on_link"] = _on_link(values[key], addresses, dhcp)
    values["routes"] = tuple(
        r if r.on_link or not r.via else
        Route(r.to, r.via, r.metric, _on_link(r.via, addresses, values["dhcp6"] if ":" in r.via else values["dhcp4"]))
        for r in values["routes"])


def _list(conf: dict[str, Any], key: str, path: str) -> list[Any]:
    value = conf.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise NetworkConfigError(f"{path}.{key}", f"must be a list, found {type(value).__name__}")
    return value


def _bool(value: Any, path: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("yes", "true", "on"):
        return True
    if isinstance(value, str) and value.lower() in ("no", "false", "off"):
        return False
    raise NetworkConfigError(path, f"must be true or false, found {value!r}")


def _ip(value: Any, path: str, version: int | None = None) -> str:
    try:
        addr = ipaddress.ip_address(str(value))
    except ValueError:
        raise NetworkConfigError(path, f"{value!r} is not an IP address") from None
    if version and addr.version != version:
        raise NetworkConfigError(path, f"{value!r} is not an IPv{version} address")
    return str(addr)


def _address(value: Any, path: str) -> str:
    text = str(value)
    if "/" not in text:
        raise NetworkConfigError(path, f"{text!r} needs a prefix length (192.0.2.10/24)")
    try:
        return str(ipaddress.ip_interface(text))
    except ValueError:
        raise NetworkConfigError(path, f"{text!r} is not an address with a prefix length") from None


def _route(value: Any, path: str) -> Route:
    if not isinstance(value, dict):
        raise NetworkConfigError(path, "a route is a mapping with to and via")
    extra = sorted(set(value) - {"to", "via", "metric", "on-link", "table", "scope", "type", "from"})
    if extra:
        raise NetworkConfigError(f"{path}.{extra[0]}", "unknown key")
    unsupported = sorted({"table", "scope", "type", "from"} & set(value))
    if unsupported:
        raise NetworkConfigError(f"{path}.{unsupported[0]}", "not supported by ros-init (policy routing)")
    via = _ip(value["via"], f"{path}.via") if value.get("via") is not None else None
    to = value.get("to")
    if to is None:
        raise NetworkConfigError(f"{path}.to", "is required (a CIDR or default)")
    if str(to) == "default":
        to = "::/0" if via and ipaddress.ip_address(via).version == 6 else "0.0.0.0/0"
    try:
        net = ipaddress.ip_network(str(to), strict=False)
    except ValueError:
        raise NetworkConfigError(f"{path}.to", f"{to!r} is not a network (CIDR) or default") from None
    if via and ipaddress.ip_address(via).version != net.version:
        raise NetworkConfigError(f"{path}.via", "is not of the same address family as to")
    metric = value.get("metric")
    if metric is not None and (isinstance(metric, bool) or not isinstance(metric, int) or metric < 0):
        raise NetworkConfigError(f"{path}.metric", "must be a non-negative integer")
    return Route(str(net), via, metric, _bool(value.get("on-link", False), f"{path}.on-link"))


def _domain(value: Any, path: str) -> str:
    text = str(value)
    if not _DOMAIN_RE.match(text):
        raise NetworkConfigError(path, f"{text!r} is not a domain name")
    return text


def _ifname(value: Any, path: str) -> str:
    text = str(value)
    if not _IFNAME_RE.match(text) or text in (".", ".."):
        raise NetworkConfigError(path, f"{text!r} is not a valid interface name (1-15 of A-Z a-z 0-9 _ . @ -)")
    return text


def normalize_mac(value: Any) -> str | None:
    """``52-54-00-AB-CD-EF`` -> ``52:54:00:ab:cd:ef``; None when it is not a 6-byte MAC."""
    text = str(value).strip().lower().replace("-", ":")
    return text if _MAC_RE.match(text) else None


def _match(value: Any, path: str) -> Match:
    if value is None:
        return Match()
    if not isinstance(value, dict):
        raise NetworkConfigError(path, "must be a mapping with macaddress, name or driver")
    extra = sorted(set(value) - {"macaddress", "name", "driver"})
    if extra:
        raise NetworkConfigError(f"{path}.{extra[0]}", "unknown key")
    mac = None
    if value.get("macaddress") is not None:
        mac = normalize_mac(value["macaddress"])
        if mac is None:
            raise NetworkConfigError(f"{path}.macaddress", f"{value['macaddress']!r} is not a MAC address")
    name = value.get("name")
    if name is not None and not re.match(r"^[A-Za-z0-9_.@*?\[\]-]{1,15}$", str(name)):
        raise NetworkConfigError(f"{path}.name", f"{name!r} is not an interface name or glob")
    driver = value.get("driver")
    if driver is not None and not _DRIVER_RE.match(str(driver)):
        raise NetworkConfigError(f"{path}.driver", f"{driver!r} is not a driver name or glob")
    return Match(mac, None if name is None else str(name), None if driver is None else str(driver))


def _bond_params(params: Any, path: str) -> tuple[tuple[str, Any], ...]:
    if not isinstance(params, dict):
        raise NetworkConfigError(path, "must be a mapping")
    if "gratuitious-arp" in params:  # netplan's old misspelling, accepted by netplan and cloud-init
        params = {("gratuitous-arp" if k == "gratuitious-arp" else k): v for k, v in params.items()}
    out = []
    for key in sorted(params):
        kind = BOND_PARAMS.get(key)
        if kind is None:
            raise NetworkConfigError(f"{path}.{key}", f"unknown bond parameter (known: {', '.join(sorted(BOND_PARAMS))})")
        value = params[key]
        if key in _MS_PARAMS and isinstance(value, str):
            value = _milliseconds(value, f"{path}.{key}")
        if kind is int and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise NetworkConfigError(f"{path}.{key}", "must be a non-negative integer")
        if kind is bool:
            value = _bool(value, f"{path}.{key}")
        if kind is list:
            if not isinstance(value, list):
                raise NetworkConfigError(f"{path}.{key}", "must be a list of IPv4 addresses")
            value = tuple(_ip(v, f"{path}.{key}[{n}]", 4) for n, v in enumerate(value))
        if kind is str:
            value = str(value)
            if not re.match(r"^[A-Za-z0-9_.+-]+$", value):
                raise NetworkConfigError(f"{path}.{key}", f"{value!r} is not a valid value")
        if key == "mode" and value not in BOND_MODES:
            raise NetworkConfigError(f"{path}.mode", f"must be one of {', '.join(BOND_MODES)}")
        out.append((key, value))
    return tuple(out)


def _bridge_params(params: Any, path: str) -> tuple[tuple[str, Any], ...]:
    if not isinstance(params, dict):
        raise NetworkConfigError(path, "must be a mapping")
    out = []
    for key in sorted(params):
        kind = BRIDGE_PARAMS.get(key)
        if kind is None:
            raise NetworkConfigError(f"{path}.{key}", f"unknown bridge parameter (known: {', '.join(sorted(BRIDGE_PARAMS))})")
        value = params[key]
        if kind is bool:
            value = _bool(value, f"{path}.{key}")
        elif kind is dict:
            if not isinstance(value, dict):
                raise NetworkConfigError(f"{path}.{key}", "must be a mapping of port id to a number")
            value = tuple((str(port), _uint(v, f"{path}.{key}.{port}")) for port, v in sorted(value.items()))
        elif key.endswith(("-delay", "-time", "-age")):
            value = _seconds(value, f"{path}.{key}")
        else:
            value = _uint(value, f"{path}.{key}")
        out.append((key, value))
    return tuple(out)


def _uint(value: Any, path: str) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise NetworkConfigError(path, "must be a non-negative integer")
    return value


def _seconds(value: Any, path: str) -> int:
    """netplan bridge times: an integer or ``"15"``/``"15s"`` are seconds, ``"4000ms"`` milliseconds
    (whole seconds only: the kernel keeps them in centiseconds, the renderers in seconds)."""
    if isinstance(value, str):
        ms = _milliseconds(value if value.strip().endswith(("s", "ms")) else f"{value}s", path)
        if ms % 1000:
            raise NetworkConfigError(path, f"{value!r} is not a whole number of seconds")
        return ms // 1000
    return _uint(value, path)


def _milliseconds(text: str, path: str) -> int:
    """netplan durations: ``"100"`` and ``"100ms"`` are milliseconds, ``"2s"`` seconds."""
    m = re.match(r"^\s*(\d+)\s*(ms|s)?\s*$", text)
    if not m:
        raise NetworkConfigError(path, f"{text!r} is not a duration (100, 100ms, 2s)")
    return int(m.group(1)) * (1000 if m.group(2) == "s" else 1)


def kernel_bond_options(iface: Interface, names: dict[str, list[str]]) -> list[tuple[str, str]]:
    """The bond's parameters as kernel bonding options, ``mode`` first (the kernel default,
    balance-rr, made explicit). ``primary`` is resolved to the member's kernel name and
    left out when that member is not present: no primary rather than a wrong name."""
    out: list[tuple[str, str]] = []
    for key, value in sorted(iface.bond_params, key=lambda kv: kv[0] != "mode"):
        if key == "primary":
            found = names.get(str(value)) or []
            if not found:
                continue
            value = found[0]
        if isinstance(value, bool):
            value = int(value)
        if isinstance(value, tuple):
            value = ",".join(value)
        out.append((BOND_OPTIONS[key], str(value)))
    if not any(k == "mode" for k, _ in out):
        out.insert(0, ("mode", "balance-rr"))
    return out
