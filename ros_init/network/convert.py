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
from collections.abc import Callable
from typing import Any, TypeVar


class NetconvError(ValueError):
    """Input that cannot be translated; the message names the element."""


F = TypeVar("F", bound=Callable[..., Any])


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


def _prefix(address: str, netmask: str | None, where: str) -> str:
    """``10.0.0.2`` + ``255.255.255.0`` -> ``10.0.0.2/24``; an address with /prefix is kept."""
    try:
        if "/" in address:
            return str(ipaddress.ip_interface(address))
        if netmask:
            if ":" in address and netmask.isdigit():
                return str(ipaddress.ip_interface(f"{address}/{netmask}"))
            net = ipaddress.ip_network(f"0.0.0.0/{netmask}") if "." in netmask else None
            plen = net.prefixlen if net is not None else int(netmask)
            return str(ipaddress.ip_interface(f"{address}/{plen}"))
        iface = ipaddress.ip_interface(address)
        return str(iface)
    except ValueError as exc:
        raise NetconvError(f"{where}: bad address {address!r}/{netmask!r}: {exc}") from None


def _dest(network: str, netmask: str | None, where: str) -> str:
    if network in ("0.0.0.0", "::") and netmask in (None, "0.0.0.0", "0", "::"):
        return "default"
    try:
        if "/" in network:
            net = ipaddress.ip_network(network, strict=False)
        elif netmask:
            net = ipaddress.ip_network(f"{network}/{netmask}", strict=False)
        else:
            net = ipaddress.ip_network(network, strict=False)
    except ValueError as exc:
        raise NetconvError(f"{where}: bad route destination {network!r}: {exc}") from None
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


def _apply_subnets(entry: dict[str, Any], subnets: list[dict[str, Any]], where: str) -> None:
    """cloud-init v1 subnets of one interface -> v2 keys of that interface."""
    for i, sn in enumerate(subnets):
        at = f"{where}.subnets[{i}]"
        if not isinstance(sn, dict):
            raise NetconvError(f"{at}: a subnet must be a mapping")
        kind = sn.get("type", "")
        if kind in ("dhcp", "dhcp4"):
            entry["dhcp4"] = True
        elif kind in ("dhcp6", "ipv6_dhcpv6-stateful", "ipv6_dhcpv6-stateless", "ipv6_slaac"):
            entry["dhcp6"] = True
        elif kind in ("static", "static6"):
            if not sn.get("address"):
                raise NetconvError(f"{at}: static subnet without address")
            _add_list(entry, "addresses", [_prefix(str(sn["address"]), sn.get("netmask") and str(sn["netmask"]), at)])
            gw = sn.get("gateway")
            if gw:
                key = "gateway6" if ":" in str(gw) else "gateway4"
                entry[key] = str(gw)
        elif kind == "manual":
            pass
        else:
            raise NetconvError(f"{at}: unknown subnet type {kind!r}")
        _add_nameservers(entry, _as_list(sn.get("dns_nameservers")), _as_list(sn.get("dns_search")))
        _add_list(entry, "routes", [_route(r, at) for r in sn.get("routes") or []])
        if sn.get("mtu"):
            entry["mtu"] = int(sn["mtu"])


_BOND_PARAMS = {
    "bond-mode": "mode", "bond-miimon": "mii-monitor-interval", "bond-primary": "primary",
    "bond-xmit-hash-policy": "transmit-hash-policy", "bond-lacp-rate": "lacp-rate",
    "bond-updelay": "up-delay", "bond-downdelay": "down-delay", "bond-ad-select": "ad-select",
}


@_malformed_is_an_error("network config v1")
def v1_to_v2(cfg: dict[str, Any]) -> dict[str, Any]:
    """cloud-init network-config v1 -> v2. Accepts the document with or without ``network:``."""
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
    global_routes: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        where = f"network.config[{i}]"
        if not isinstance(item, dict):
            raise NetconvError(f"{where}: must be a mapping")
        kind = item.get("type")
        name = item.get("name")
        if kind in ("physical", "bond", "vlan", "bridge") and not name:
            raise NetconvError(f"{where}: {kind} without name")
        entry: dict[str, Any] = {}
        if kind == "physical":
            if item.get("mac_address"):
                entry["match"] = {"macaddress": str(item["mac_address"]).lower()}
                entry["set-name"] = name
            section = "ethernets"
        elif kind == "bond":
            entry["interfaces"] = list(item.get("bond_interfaces") or [])
            params = {}
            for k, v in (item.get("params") or {}).items():
                if k in _BOND_PARAMS:
                    params[_BOND_PARAMS[k]] = int(v) if str(v).isdigit() else v
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
            entry["interfaces"] = list(item.get("bridge_interfaces") or [])
            section = "bridges"
        elif kind == "nameserver":
            _add_list_plain(global_ns, _as_list(item.get("address")))
            _add_list_plain(global_search, _as_list(item.get("search")))
            continue
        elif kind == "route":
            global_routes.append(_route(item, where))
            continue
        else:
            raise NetconvError(f"{where}: unknown type {kind!r}")
        if item.get("mtu"):
            entry["mtu"] = int(item["mtu"])
        _apply_subnets(entry, list(item.get("subnets") or []), where)
        out.setdefault(section, {})[name] = entry
        by_name[name] = entry
    configured = [e for e in by_name.values() if e.get("addresses") or e.get("dhcp4") or e.get("dhcp6")]
    for entry in configured:
        _add_nameservers(entry, global_ns, global_search)
    for route in global_routes:
        target = _route_owner(route, configured) or (configured[0] if configured else None)
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


@_malformed_is_an_error("network_data.json")
def configdrive_to_v2(network_data: dict[str, Any]) -> dict[str, Any]:
    """OpenStack ``network_data.json`` -> v2. Links become interfaces matched by MAC."""
    if not isinstance(network_data, dict):
        raise NetconvError("network_data.json: must be an object")
    links = network_data.get("links") or []
    networks = network_data.get("networks") or []
    services = network_data.get("services") or []
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
            name = lid if len(lid) <= 15 else f"bond{len(out.get('bonds', {}))}"
            entry["interfaces"] = [names.get(str(b), str(b)) for b in link.get("bond_links") or []]
            params: dict[str, Any] = {}
            if link.get("bond_mode"):
                params["mode"] = link["bond_mode"]
            if link.get("bond_miimon"):
                params["mii-monitor-interval"] = int(link["bond_miimon"])
            if link.get("bond_xmit_hash_policy"):
                params["transmit-hash-policy"] = link["bond_xmit_hash_policy"]
            if params:
                entry["parameters"] = params
            section = "bonds"
        elif ltype == "vlan":
            if link.get("vlan_id") is None or not link.get("vlan_link"):
                raise NetconvError(f"{where}: vlan needs vlan_id and vlan_link")
            parent = names.get(str(link["vlan_link"]), str(link["vlan_link"]))
            name = f"{parent}.{int(link['vlan_id'])}"
            if len(name) > 15:
                name = f"vlan{int(link['vlan_id'])}"
            entry["id"] = int(link["vlan_id"])
            entry["link"] = parent
            section = "vlans"
        else:  # phy, ethernet, ovs, bridge, tap, vif, hw_veb ...: a NIC seen by the guest
            if not mac:
                raise NetconvError(f"{where}: physical link without ethernet_mac_address")
            name = lid
            entry["match"] = {"macaddress": str(mac).lower()}
            section = "ethernets"
        if link.get("mtu"):
            entry["mtu"] = int(link["mtu"])
        names[lid] = name
        entries[lid] = entry
        out.setdefault(section, {})[name] = entry
    dns = [s["address"] for s in services if isinstance(s, dict) and s.get("type") == "dns" and s.get("address")]
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
        elif ntype in ("ipv6_dhcp", "ipv6_dhcpv6-stateful", "ipv6_dhcpv6-stateless", "ipv6_slaac", "dhcp6"):
            entry["dhcp6"] = True
        elif ntype in ("ipv4", "ipv6"):
            if not net.get("ip_address"):
                raise NetconvError(f"{where}: static network without ip_address")
            mask = net.get("netmask")
            _add_list(entry, "addresses", [_prefix(str(net["ip_address"]), mask and str(mask), where)])
            for j, r in enumerate(net.get("routes") or []):
                _add_list(entry, "routes", [_route(r, f"{where}.routes[{j}]")])
        else:
            raise NetconvError(f"{where}: unknown network type {ntype!r}")
        _add_nameservers(entry, _as_list(net.get("dns_nameservers")) or dns, _as_list(net.get("dns_search")))
    return out


@_malformed_is_an_error("ec2 network interfaces")
def ec2_macs_to_v2(macs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """EC2 ``network/interfaces/macs`` -> v2: DHCP on every NIC, matched by MAC.

    ``macs`` maps a MAC to that NIC's metadata values (``device-number``, ``local-ipv4s``,
    ``subnet-ipv4-cidr-block``, ``ipv6s`` ...; multi-line values as IMDS returns them).
    The NIC with the lowest device-number is the primary; secondary private IPv4 addresses
    become static addresses on their NIC (DHCP only hands out the first one).
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
        if _lines(info.get("ipv6s")):
            entry["dhcp6"] = True
        ips = _lines(info.get("local-ipv4s"))
        block = _lines(info.get("subnet-ipv4-cidr-block"))
        if len(ips) > 1 and block:
            plen = ipaddress.ip_network(block[0], strict=False).prefixlen
            entry["addresses"] = [f"{ip}/{plen}" for ip in ips[1:]]
        if rank > 0:
            entry["optional"] = True
        out.setdefault("ethernets", {})[f"eth{num}"] = entry
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
