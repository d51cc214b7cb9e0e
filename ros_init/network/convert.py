"""Network descriptions of other systems -> the netplan-v2 ``network:`` model of ros-init.

Pure functions on plain data (no I/O), so the network stage and the datasources share one
translation and tests need no network. Unknown or malformed input raises NetconvError
with the element at fault; the translators never guess an address.

- ``v1_to_v2``: cloud-init network-config version 1 (``config: [...]``).
- ``configdrive_to_v2``: OpenStack ``network_data.json`` (links, networks, services).
- ``ec2_macs_to_v2``: EC2 IMDS ``network/interfaces/macs/<mac>/...`` values.
"""

from __future__ import annotations

import functools
import ipaddress

from ros_init.core.logger import logger

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    F = TypeVar("F", bound=Callable[..., Any])

log = logger(__name__)


class NetconvError(ValueError):
    """Input that cannot be translated; the message names the element."""


def _malformed_is_an_error(what: str) -> Callable[[F], F]:
    """Input of the wrong shape deep inside (a number where a list goes ...) becomes a
    NetconvError naming the document, never a traceback."""
    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except NetconvError:
                raise
            except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
                raise NetconvError(f"{what}: malformed ({type(exc).__name__}: {exc})") from None
        return inner  # type: ignore[return-value]
    return wrap


def _mask_prefix(mask: str, version: int, where: str) -> int:
    """A prefix length given as a number or as a mask (``255.255.255.0``, ``ffff:ffff::``)."""
    mask = mask.strip()
    if mask.isdigit():
        plen = int(mask)
        if plen > (32 if version == 4 else 128):
            raise NetconvError(f"{where}: prefix length /{mask} is too long for IPv{version}")
        return plen
    try:
        bits = int(ipaddress.ip_address(mask))
    except ValueError:
        raise NetconvError(f"{where}: bad netmask {mask!r}") from None
    width = 32 if ":" not in mask else 128
    if width != (32 if version == 4 else 128):
        raise NetconvError(f"{where}: netmask {mask!r} is not an IPv{version} mask")
    plen = bin(bits).count("1")
    if bits != ((1 << width) - 1) ^ ((1 << (width - plen)) - 1):
        raise NetconvError(f"{where}: netmask {mask!r} is not contiguous")
    return plen


def _prefix(address: str, netmask: str | None, where: str) -> str:
    """``10.0.0.2`` + ``255.255.255.0`` -> ``10.0.0.2/24``; the mask may follow a ``/`` too, and
    may be an IPv6 mask. Without any: /24 for IPv4 and /64 for IPv6, as cloud-init does."""
    addr, _, mask = address.partition("/")
    try:
        ip = ipaddress.ip_address(addr.strip())
    except ValueError as exc:
        raise NetconvError(f"{where}: bad address {address!r}: {exc}") from None
    mask = mask or (str(netmask) if netmask not in (None, "") else "")
    plen = _mask_prefix(mask, ip.version, where) if mask else (64 if ip.version == 6 else 24)
    return str(ipaddress.ip_interface(f"{ip}/{plen}"))


def _dest(network: str, netmask: str | None, where: str) -> str:
    addr, _, mask = network.partition("/")
    try:
        ip = ipaddress.ip_address(addr.strip())
    except ValueError as exc:
        raise NetconvError(f"{where}: bad route destination {network!r}: {exc}") from None
    mask = mask or (str(netmask) if netmask not in (None, "") else "")
    if mask:
        plen = _mask_prefix(mask, ip.version, where)
    else:
        plen = 0 if ip.is_unspecified else (64 if ip.version == 6 else 24)  # cloud-init's defaults
    net = ipaddress.ip_network(f"{ip}/{plen}", strict=False)
    return "default" if net.prefixlen == 0 else str(net)


def _add_list(entry: dict[str, Any], key: str, values: list[Any]) -> None:
    if values:
        cur = entry.setdefault(key, [])
        cur += [v for v in values if v not in cur]


def _add_nameservers(entry: dict[str, Any], addresses: list[str], search: list[str]) -> None:
    if not addresses and not search:
        return
    ns = entry.setdefault("nameservers", {})
    _add_list(ns, "addresses", list(addresses))
    _add_list(ns, "search", list(search))


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str):
        return value.split()
    return list(value)


def _route(r: dict[str, Any], where: str) -> dict[str, Any]:
    net = r.get("network") or r.get("destination") or "0.0.0.0"
    out: dict[str, Any] = {"to": _dest(str(net), r.get("netmask") and str(r["netmask"]), where)}
    if r.get("gateway"):
        out["via"] = str(r["gateway"])
    if r.get("metric") is not None:
        out["metric"] = int(r["metric"])
    return out


def _is_v6(value: Any) -> bool:
    return ":" in str(value)


def _set_gateway(entry: dict[str, Any], gw: str) -> None:
    """The first gateway of a family is gateway4/6; a further one (a second subnet with its
    own gateway) stays a default route of its own, as cloud-init renders it."""
    key = "gateway6" if _is_v6(gw) else "gateway4"
    if entry.get(key) in (None, gw):
        entry[key] = gw
    else:
        _add_list(entry, "routes", [{"to": "default", "via": gw}])


_V6_AUTO = ("ipv6_slaac", "ipv6_dhcpv6-stateless")


def _apply_subnets(entry: dict[str, Any], subnets: list[dict[str, Any]], where: str) -> None:
    """cloud-init v1 subnets of one interface -> v2 keys of that interface.

    ``ipv6_slaac`` and ``ipv6_dhcpv6-stateless`` take the address from router advertisements
    (accept-ra, no DHCPv6 address request); the router's flags decide whether the client
    asks DHCPv6 for DNS. An IPv6 subnet's ``mtu`` is the IPv6 MTU, an IPv4 subnet's the
    link MTU (cloud-init's sysconfig and netplan renderers do the same).
    """
    for i, sn in enumerate(subnets):
        at = f"{where}.subnets[{i}]"
        if not isinstance(sn, dict):
            raise NetconvError(f"{at}: a subnet must be a mapping")
        kind = sn.get("type", "")
        v6 = kind.endswith("6") or kind.startswith("ipv6") or _is_v6(sn.get("address", ""))
        if kind in ("dhcp", "dhcp4"):
            entry["dhcp4"] = True
        elif kind in ("dhcp6", "ipv6_dhcpv6-stateful"):
            entry["dhcp6"] = True
        elif kind in _V6_AUTO:
            entry.setdefault("accept-ra", True)
        elif kind in ("static", "static6"):
            if not sn.get("address"):
                raise NetconvError(f"{at}: static subnet without address")
            _add_list(entry, "addresses", [_prefix(str(sn["address"]), sn.get("netmask") and str(sn["netmask"]), at)])
            if sn.get("gateway"):
                _set_gateway(entry, str(sn["gateway"]))
        elif kind == "manual":
            pass
        else:
            raise NetconvError(f"{at}: unknown subnet type {kind!r}")
        _add_nameservers(entry, _as_list(sn.get("dns_nameservers")), _as_list(sn.get("dns_search")))
        _add_list(entry, "routes", [_route(r, f"{at}.routes[{j}]") for j, r in enumerate(sn.get("routes") or [])])
        if sn.get("mtu"):
            key = "ipv6-mtu" if v6 else "mtu"
            if key == "mtu" and entry.get("mtu") not in (None, int(sn["mtu"])):
                log.warning("%s: the subnet's mtu %s replaces the link's mtu %s (as cloud-init does)",
                            at, sn["mtu"], entry["mtu"])
            entry[key] = int(sn["mtu"])


# cloud-init v1 bond parameters (and network_data.json's bond_* keys), with "bond-"/"bond_"
# taken off and "_" written "-": every spelling cloud-init documents or accepts.
_BOND_PARAMS = {
    "mode": "mode", "miimon": "mii-monitor-interval", "primary": "primary",
    "xmit-hash-policy": "transmit-hash-policy", "lacp-rate": "lacp-rate", "updelay": "up-delay",
    "downdelay": "down-delay", "ad-select": "ad-select", "arp-interval": "arp-interval",
    "arp-ip-target": "arp-ip-targets", "min-links": "min-links", "num-grat-arp": "gratuitous-arp",
    "num-unsol-na": "gratuitous-arp", "all-slaves-active": "all-slaves-active",
    "fail-over-mac": "fail-over-mac-policy", "primary-reselect": "primary-reselect-policy",
    "packets-per-slave": "packets-per-slave", "lp-interval": "learn-packet-interval",
    "arp-validate": "arp-validate", "arp-all-targets": "arp-all-targets",
}
# ifupdown keys that describe membership, said elsewhere in v1 (bond_interfaces)
_BOND_MEMBERSHIP = {"slaves", "master", "links"}
# numeric values the kernel's bonding module takes for the enumerated options
_BOND_NUMERIC = {
    "mode": ("balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad", "balance-tlb", "balance-alb"),
    "lacp-rate": ("slow", "fast"),
    "fail-over-mac-policy": ("none", "active", "follow"),
    "ad-select": ("stable", "bandwidth", "count"),
    "primary-reselect-policy": ("always", "better", "failure"),
    "arp-all-targets": ("any", "all"),
    "arp-validate": ("none", "active", "backup", "all", "filter", "filter_active", "filter_backup"),
}


def bond_parameters(params: dict[str, Any], where: str) -> dict[str, Any]:
    """v1 / network_data.json bond parameters -> netplan bond parameters; unknown keys are
    an error naming the key (a bond with a silently lost parameter behaves differently)."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        name = str(key).lower()
        for prefix in ("bond-", "bond_"):
            if name.startswith(prefix):
                name = name[len(prefix):]
        name = name.replace("_", "-")
        if name in _BOND_MEMBERSHIP:
            continue
        v2 = _BOND_PARAMS.get(name)
        if v2 is None:
            raise NetconvError(f"{where}.{key}: unknown bond parameter")
        if v2 == "arp-ip-targets":
            if not isinstance(value, str | list | None):
                raise NetconvError(f"{where}.{key}: expected addresses (a list, or a string separated by spaces), "
                                   f"found {type(value).__name__}")
            value = _as_list(value)
        elif v2 == "all-slaves-active":
            value = str(value).lower() in ("1", "true", "yes", "on")
        elif isinstance(value, str) and value.strip().isdigit():
            number = int(value)
            names = _BOND_NUMERIC.get(v2)
            value = names[number] if names and number < len(names) else number
        elif isinstance(value, int) and not isinstance(value, bool) and v2 in _BOND_NUMERIC:
            names = _BOND_NUMERIC[v2]
            value = names[value] if value < len(names) else value
        out[v2] = value
    return out


_BRIDGE_PARAMS = {
    "stp": "stp", "fd": "forward-delay", "hello": "hello-time", "maxage": "max-age",
    "ageing": "ageing-time", "bridgeprio": "priority", "pathcost": "path-cost", "portprio": "port-priority",
}
_BRIDGE_IGNORED = {"gcint", "maxwait", "waitport"}  # ifupdown timing knobs without a kernel setting


def bridge_parameters(params: dict[str, Any], where: str) -> tuple[dict[str, Any], str | None]:
    """v1 ``bridge_*`` parameters -> (netplan bridge parameters, bridge_hw MAC or None).

    ``bridge_pathcost``/``bridge_portprio`` are ifupdown's ``"<port> <value>"`` (a string or a
    list of them). cloud-init 22.4 crashes on bridge_pathcost; its docs list it."""
    out: dict[str, Any] = {}
    mac = None
    for key, value in params.items():
        name = str(key).lower().replace("-", "_")
        name = name[len("bridge_"):] if name.startswith("bridge_") else name
        if name == "hw":
            mac = str(value)
            continue
        if name in _BRIDGE_IGNORED or name == "ports":
            log.warning("%s.%s: not used by ros-init (no kernel setting)", where, key)
            continue
        v2 = _BRIDGE_PARAMS.get(name)
        if v2 is None:
            raise NetconvError(f"{where}.{key}: unknown bridge parameter")
        if v2 == "stp":
            value = str(value).lower() in ("1", "on", "true", "yes")
        elif v2 in ("path-cost", "port-priority"):
            per_port: dict[str, Any] = {}
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, dict):
                    per_port.update(item)
                    continue
                parts = str(item).split()
                if len(parts) != 2:
                    raise NetconvError(f"{where}.{key}: {item!r} is not '<port> <value>'")
                per_port[parts[0]] = int(parts[1])
            value = per_port
        elif isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        out[v2] = value
    return out, mac


@_malformed_is_an_error("network config v1")
def v1_to_v2(cfg: dict[str, Any]) -> dict[str, Any]:
    """cloud-init network-config v1 -> v2. Accepts the document with or without ``network:``.

    As in cloud-init: ``loopback`` entries are skipped; bond members and bridge ports not
    listed themselves are added as bare ethernets; a ``nameserver`` entry with ``interface``
    gives that interface its DNS instead of the global one; global nameservers go to every
    configured interface, merged with each subnet's own.
    """
    if isinstance(cfg, dict) and "network" in cfg and isinstance(cfg["network"], dict):
        cfg = cfg["network"]
    if not isinstance(cfg, dict) or int(cfg.get("version", 1)) != 1:
        raise NetconvError("network: not a version 1 network config")
    items = cfg.get("config")
    if items == "disabled":
        return {"version": 2, "config": "disabled"}
    if not isinstance(items, list):
        raise NetconvError("network.config: must be a list")
    out: dict[str, Any] = {"version": 2}
    by_name: dict[str, dict[str, Any]] = {}
    global_ns: list[str] = []
    global_search: list[str] = []
    own_dns: dict[str, tuple[list[str], list[str], str]] = {}
    global_routes: list[dict[str, Any]] = []
    wanted_members: list[str] = []
    for i, item in enumerate(items):
        where = f"network.config[{i}]"
        if not isinstance(item, dict):
            raise NetconvError(f"{where}: must be a mapping")
        kind = item.get("type")
        name = item.get("name")
        if kind in ("physical", "bond", "vlan", "bridge") and not name:
            raise NetconvError(f"{where}: {kind} without name")
        entry: dict[str, Any] = {}
        mac = item.get("mac_address")
        if kind == "loopback":
            log.debug("%s: loopback entry skipped (the kernel configures lo)", where)
            continue
        if kind == "physical":
            if mac:
                entry["match"] = {"macaddress": str(mac).lower()}
                entry["set-name"] = name
            section = "ethernets"
        elif kind == "bond":
            entry["interfaces"] = [str(m) for m in item.get("bond_interfaces") or []]
            params = bond_parameters(dict(item.get("params") or {}), f"{where}.params")
            if params:
                entry["parameters"] = params
            section = "bonds"
        elif kind == "vlan":
            if item.get("vlan_id") is None or not item.get("vlan_link"):
                raise NetconvError(f"{where}: vlan needs vlan_id and vlan_link")
            entry["id"] = int(item["vlan_id"])
            entry["link"] = item["vlan_link"]
            section = "vlans"
        elif kind == "bridge":
            entry["interfaces"] = [str(m) for m in item.get("bridge_interfaces") or []]
            params, hw = bridge_parameters(dict(item.get("params") or {}), f"{where}.params")
            if params:
                entry["parameters"] = params
            mac = mac or hw
            section = "bridges"
        elif kind == "nameserver":
            servers, search = _as_list(item.get("address")), _as_list(item.get("search"))
            if item.get("interface"):
                mine = own_dns.setdefault(str(item["interface"]), ([], [], where))
                _add_list_plain(mine[0], servers)
                _add_list_plain(mine[1], search)
            else:
                _add_list_plain(global_ns, servers)
                _add_list_plain(global_search, search)
            continue
        elif kind == "route":
            global_routes.append(_route(item, where))
            continue
        else:
            raise NetconvError(f"{where}: unknown type {kind!r} (ros-init reads physical, bond, vlan, "
                               "bridge, nameserver, route, loopback)")
        if mac and kind != "physical":
            entry["macaddress"] = str(mac).lower()
        if item.get("params") and kind not in ("bond", "bridge"):
            log.warning("%s.params: only bonds and bridges have parameters; ignored", where)
        if item.get("mtu"):
            entry["mtu"] = int(item["mtu"])
        for key in ("accept-ra", "wakeonlan"):
            if item.get(key) is not None:
                entry[key] = str(item[key]).lower() in ("1", "true", "yes", "on")
        _apply_subnets(entry, list(item.get("subnets") or []), where)
        wanted_members += entry.get("interfaces", []) if kind in ("bond", "bridge") else []
        out.setdefault(section, {})[name] = entry
        by_name[name] = entry
    for member in wanted_members:
        if member not in by_name:
            by_name[member] = out.setdefault("ethernets", {})[member] = {}
    configured = [(n, e) for n, e in by_name.items() if e.get("addresses") or e.get("dhcp4") or e.get("dhcp6")
                  or e.get("accept-ra")]
    for name, entry in configured:
        if name not in own_dns:
            _add_nameservers(entry, global_ns, global_search)
    for name, (servers, search, where) in own_dns.items():
        if name not in by_name:
            raise NetconvError(f"{where}: interface {name!r} is not in the config")
        _add_nameservers(by_name[name], servers, search)
    for route in global_routes:
        target = _route_owner(route, [e for _, e in configured]) or (configured[0][1] if configured else None)
        if target is None:
            raise NetconvError("network.config: a route but no configured interface to carry it")
        _add_list(target, "routes", [route])
    return out


def _add_list_plain(cur: list[Any], values: list[Any]) -> None:
    cur += [v for v in values if v not in cur]


def _route_owner(route: dict[str, Any], entries: list[dict[str, Any]]) -> dict[str, Any] | None:
    via = route.get("via")
    if not via:
        return None
    try:
        gw = ipaddress.ip_address(via)
    except ValueError:
        return None
    for e in entries:
        for a in e.get("addresses", []):
            if gw in ipaddress.ip_interface(a).network:
                return e
    return None


def _dns_services(services: Any) -> tuple[list[str], list[str]]:
    """DNS servers and search domains of a network_data.json ``services`` list."""
    servers: list[str] = []
    search: list[str] = []
    for s in services or []:
        if isinstance(s, dict) and s.get("type") == "dns":
            _add_list_plain(servers, _as_list(s.get("address")))
            _add_list_plain(search, _as_list(s.get("search")))
    return servers, search


@_malformed_is_an_error("network_data.json")
def configdrive_to_v2(network_data: dict[str, Any]) -> dict[str, Any]:
    """OpenStack ``network_data.json`` -> v2. Links become interfaces matched by MAC.

    Meaning as cloud-init's ``convert_net_json``: ``ipv6`` (static) turns router
    advertisements off, ``ipv6_dhcp``/``ipv6_dhcpv6-stateful`` on with DHCPv6,
    ``ipv6_slaac``/``ipv6_dhcpv6-stateless`` on without a DHCPv6 address; a network's own
    ``gateway``, ``dns_nameservers``, ``dns_search`` and ``services`` (also those under its
    routes) add to the global ``services``; every ``bond_*`` key is a bond parameter.
    """
    if not isinstance(network_data, dict):
        raise NetconvError("network_data.json: must be an object")
    links = network_data.get("links") or []
    networks = network_data.get("networks") or []
    out: dict[str, Any] = {"version": 2}
    entries: dict[str, dict[str, Any]] = {}
    names: dict[str, str] = {}
    for i, link in enumerate(links):
        where = f"network_data.links[{i}]"
        if not isinstance(link, dict) or not link.get("id"):
            raise NetconvError(f"{where}: a link needs an id")
        lid = str(link["id"])
        ltype = link.get("type", "phy")
        entry: dict[str, Any] = {}
        mac = link.get("ethernet_mac_address") or link.get("vlan_mac_address")
        if ltype == "bond":
            name = str(link.get("name") or lid)
            if len(name) > 15:
                name = f"bond{len(out.get('bonds', {}))}"
            entry["interfaces"] = [names.get(str(b), str(b)) for b in link.get("bond_links") or []]
            params = bond_parameters({k: v for k, v in link.items() if k.startswith("bond_") and k != "bond_links"},
                                     where)
            if params:
                entry["parameters"] = params
            if mac:
                entry["macaddress"] = str(mac).lower()
            section = "bonds"
        elif ltype == "vlan":
            if link.get("vlan_id") is None or not link.get("vlan_link"):
                raise NetconvError(f"{where}: vlan needs vlan_id and vlan_link")
            parent = names.get(str(link["vlan_link"]), str(link["vlan_link"]))
            name = str(link.get("name") or f"{parent}.{int(link['vlan_id'])}")
            if len(name) > 15:
                name = f"vlan{int(link['vlan_id'])}"
            entry["id"] = int(link["vlan_id"])
            entry["link"] = parent
            if mac:
                entry["macaddress"] = str(mac).lower()
            section = "vlans"
        else:  # phy, ethernet, ovs, bridge, tap, vif, hw_veb ...: a NIC seen by the guest
            if not mac:
                raise NetconvError(f"{where}: physical link without ethernet_mac_address")
            name = str(link.get("name") or lid)
            entry["match"] = {"macaddress": str(mac).lower()}
            section = "ethernets"
        if link.get("mtu"):
            entry["mtu"] = int(link["mtu"])
        names[lid] = name
        entries[lid] = entry
        out.setdefault(section, {})[name] = entry
    dns, search = _dns_services(network_data.get("services"))
    for i, net in enumerate(networks):
        where = f"network_data.networks[{i}]"
        if not isinstance(net, dict):
            raise NetconvError(f"{where}: must be an object")
        entry = entries.get(str(net.get("link")))
        if entry is None:
            raise NetconvError(f"{where}: link {net.get('link')!r} is not in links")
        ntype = str(net.get("type", ""))
        if ntype in ("ipv4_dhcp", "dhcp4"):
            entry["dhcp4"] = True
        elif ntype in ("ipv6_dhcp", "ipv6_dhcpv6-stateful", "dhcp6"):
            entry["dhcp6"] = True
            entry["accept-ra"] = True
        elif ntype in _V6_AUTO:
            entry["accept-ra"] = True
        elif ntype in ("ipv4", "ipv6", "static", "static6"):
            if not net.get("ip_address"):
                raise NetconvError(f"{where}: static network without ip_address")
            mask = net.get("netmask")
            _add_list(entry, "addresses", [_prefix(str(net["ip_address"]), mask and str(mask), where)])
            if ntype in ("ipv6", "static6"):
                entry["accept-ra"] = False
            if net.get("gateway"):
                _set_gateway(entry, str(net["gateway"]))
        else:
            raise NetconvError(f"{where}: unknown network type {ntype!r}")
        own, own_search = _dns_services(net.get("services"))
        for j, r in enumerate(net.get("routes") or []):
            _add_list(entry, "routes", [_route(r, f"{where}.routes[{j}]")])
            more, more_search = _dns_services(r.get("services"))
            _add_list_plain(own, more)
            _add_list_plain(own_search, more_search)
        _add_nameservers(entry, _as_list(net.get("dns_nameservers")) + own + dns,
                         _as_list(net.get("dns_search")) + own_search + search)
    return out


@_malformed_is_an_error("ec2 network interfaces")
def ec2_macs_to_v2(macs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """EC2 ``network/interfaces/macs`` -> v2: DHCP on every NIC, matched by MAC.

    ``macs`` maps a MAC to that NIC's metadata values (``device-number``, ``local-ipv4s``,
    ``subnet-ipv4-cidr-block``, ``ipv6s`` ...; multi-line values as IMDS returns them).
    As cloud-init: with several NICs, the DHCP routes of device-number N get metric
    (N+1)*100, so the primary NIC's default route wins; secondary private addresses
    (IPv4 and IPv6; DHCP only hands out the first) become static addresses on their NIC,
    with the subnet's prefix, or /24 (IPv4) and /128 (IPv6) when the subnet is not given.
    IMDS names the IPv6 block ``subnet-ipv6-cidr-blocks``; cloud-init 22.4 reads
    ``subnet-ipv6-cidr-block`` (never present, so always /128): both are read here.
    """
    if not isinstance(macs, dict):
        raise NetconvError("ec2 macs: must be a mapping")
    nics = []
    for mac, info in macs.items():
        if not isinstance(info, dict):
            raise NetconvError(f"ec2 macs.{mac}: must be a mapping")
        try:
            num = int(str(info.get("device-number", "0")).strip())
        except ValueError:
            raise NetconvError(f"ec2 macs.{mac}: bad device-number") from None
        nics.append((num, mac.lower(), info))
    nics.sort()
    out: dict[str, Any] = {"version": 2}
    for rank, (num, mac, info) in enumerate(nics):
        entry: dict[str, Any] = {"match": {"macaddress": mac}, "dhcp4": True}
        v6 = _lines(info.get("ipv6s"))
        if v6:
            entry["dhcp6"] = True
        if len(nics) > 1:
            entry["dhcp4-overrides"] = {"route-metric": (num + 1) * 100}
            if v6:
                entry["dhcp6-overrides"] = {"route-metric": (num + 1) * 100}
        addresses = _secondary(_lines(info.get("local-ipv4s")), _lines(info.get("subnet-ipv4-cidr-block")), 24)
        blocks = _lines(info.get("subnet-ipv6-cidr-blocks")) or _lines(info.get("subnet-ipv6-cidr-block"))
        addresses += _secondary(v6, blocks, 128)
        if addresses:
            entry["addresses"] = addresses
        if rank > 0:
            entry["optional"] = True
        out.setdefault("ethernets", {})[f"eth{num}"] = entry
    return out


def _secondary(ips: list[str], blocks: list[str], default: int) -> list[str]:
    """Every address but the first (DHCP's), with the prefix of the subnet holding it."""
    nets = []
    for b in blocks:
        try:
            nets.append(ipaddress.ip_network(b, strict=False))
        except ValueError:
            continue
    out = []
    for ip in ips[1:]:
        addr = ipaddress.ip_address(ip)
        plen = next((n.prefixlen for n in nets if addr in n), nets[0].prefixlen if nets else default)
        out.append(f"{addr}/{plen}")
    return out


def _lines(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v.strip() for v in str(value).splitlines() if v.strip()]


def to_v2(doc: Any, where: str) -> dict[str, Any]:
    """A NoCloud ``network-config`` (v1 or v2, with or without ``network:``) -> v2."""
    if isinstance(doc, dict) and isinstance(doc.get("network"), dict):
        doc = doc["network"]
    if not isinstance(doc, dict):
        raise NetconvError(f"{where}: network config must be a mapping")
    version = doc.get("version")
    if version == 2:
        return doc
    if version == 1:
        return v1_to_v2(doc)
    raise NetconvError(f"{where}: network config version must be 1 or 2, found {version!r}")
