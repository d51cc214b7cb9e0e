"""Run by Debian's /usr/bin/python3 with Debian's cloud-init on PYTHONPATH (never imported by
pytest): cloud-init's own parsers and converters, as a library, on the cases read from stdin.

Input: a JSON list of ``{"id", "format", "input", ...}``; ``format`` is ``v1``/``v2`` (a
network config), ``configdrive`` (network_data.json, with ``known_macs``: MAC -> name, what
cloud-init would read from sysfs) or ``ec2`` (the ``macs`` values, with ``macs_to_nics``).
Output: per case, the devices of cloud-init's network state as plain records (one per
device, field names as the test's), the files its networkd renderer writes, or the error.
"""

import ipaddress
import json
import logging
import sys

logging.disable(logging.CRITICAL)

from cloudinit.net import network_state, networkd  # noqa: E402
from cloudinit.net.network_state import NET_CONFIG_TO_V2  # noqa: E402
from cloudinit.sources import DataSourceEc2  # noqa: E402
from cloudinit.sources.helpers import openstack  # noqa: E402

DHCP4 = ("dhcp", "dhcp4")
DHCP6 = ("dhcp6", "ipv6_dhcpv6-stateful")
RA_ONLY = ("ipv6_slaac", "ipv6_dhcpv6-stateless")


def _net(address, prefix):
    return str(ipaddress.ip_interface(f"{address}/{prefix}"))


def _route(r):
    to = str(ipaddress.ip_network(f"{r['network']}/{r.get('prefix', 0)}", strict=False))
    return [to, r.get("gateway"), r.get("metric")]


def _default(gw):
    return ["::/0" if ":" in gw else "0.0.0.0/0", gw, None]


def _value(v):
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, list):
        return " ".join(str(x) for x in v)
    return str(v)


def records(ns):
    ifaces = {i["name"]: i for i in ns.iter_interfaces()}
    out = {}
    for name, i in ifaces.items():
        kind = i.get("type")
        if kind == "loopback":
            continue
        if kind not in ("vlan", "bridge") and not (kind == "bond" and "bond-master" not in i):
            kind = "physical"
        subnets = i.get("subnets") or []
        types = [s.get("type") for s in subnets]
        rec = {"type": kind, "mac": (i.get("mac_address") or "").lower() or None, "mtu": i.get("mtu"),
               "ipv6_mtu": None, "addresses": [], "dhcp4": any(t in DHCP4 for t in types),
               "dhcp6": any(t in DHCP6 for t in types), "ra": i.get("accept-ra"),
               "dhcp4_metric": None, "dhcp6_metric": None, "routes": [], "dns": [], "search": [],
               "wakeonlan": bool(i.get("wakeonlan")),
               "on_link": []}  # cloud-init 22.4 never marks a gateway on-link
        if rec["ra"] is None and any(t in RA_ONLY for t in types):
            rec["ra"] = True
        for s in subnets:
            t = s.get("type")
            if t in DHCP4 and s.get("metric") is not None:
                rec["dhcp4_metric"] = s["metric"]
            if t in DHCP6 and s.get("metric") is not None:
                rec["dhcp6_metric"] = s["metric"]
            if t in ("static", "static6"):
                rec["addresses"].append(_net(s["address"], s["prefix"]))
                if s.get("gateway"):
                    rec["routes"].append(_default(s["gateway"]))
            v6 = t.endswith("6") or t.startswith("ipv6") or ":" in str(s.get("address", ""))
            if s.get("mtu"):
                rec["ipv6_mtu" if v6 else "mtu"] = s["mtu"]
            rec["routes"] += [_route(r) for r in s.get("routes", [])]
            rec["dns"] += [d for d in s.get("dns_nameservers", []) if d not in rec["dns"]]
            rec["search"] += [d for d in s.get("dns_search", []) if d not in rec["search"]]
        dns = i.get("dns") or {}
        own = dns.get("nameservers") or dns.get("addresses") or []
        own_search = dns.get("search") or []
        if not dns and ns.version == 1:  # what cloud-init's networkd renderer adds (parse_dns)
            own, own_search = ns.dns_nameservers, ns.dns_searchdomains
        rec["dns"] += [d for d in own if d not in rec["dns"]]
        rec["search"] += [d for d in own_search if d not in rec["search"]]
        if kind == "bond":
            rec["members"] = sorted(n for n, x in ifaces.items() if x.get("bond-master") == name)
            params = {}
            for k, v in i.items():
                if k.startswith(("bond-", "bond_")) and k not in ("bond-master", "bond-slaves"):
                    v2 = NET_CONFIG_TO_V2["bond"].get(k.replace("_", "-"))
                    params[v2 or "?" + k] = _value(v)
            rec["bond"] = params
        if kind == "bridge":
            rec["members"] = sorted(i.get("bridge_ports") or [])
            params = {}
            for k, v in i.items():
                if k.startswith("bridge_") and k != "bridge_ports":
                    v2 = NET_CONFIG_TO_V2["bridge"].get(k, "?" + k)
                    if v2 in ("path-cost", "port-priority") and isinstance(v, dict):
                        v = " ".join(f"{p} {c}" for p, c in sorted(v.items()))
                    params[v2] = _value(v)
            rec["bridge"] = params
        if kind == "vlan":
            rec["vlan"] = [int(i["vlan_id"]), i["vlan-raw-device"]]
        out[name] = rec
    return {"devices": out, "global_routes": [_route(r) for r in ns.iter_routes()]}


def state_of(case):
    fmt, data = case["format"], case["input"]
    if fmt == "configdrive":
        data = openstack.convert_net_json(data, known_macs=case["known_macs"])
    elif fmt == "ec2":
        data = DataSourceEc2.convert_ec2_metadata_network_config(
            {"interfaces": {"macs": data}}, macs_to_nics=case["macs_to_nics"])
    return network_state.parse_net_config_data(data, skip_broken=False)


def main():
    out = {}
    for case in json.load(sys.stdin):
        try:
            ns = state_of(case)
            result = records(ns)
        except Exception as exc:  # cloud-init itself fails on this input: the test says so
            out[case["id"]] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        try:
            result["networkd"] = networkd.network_state_to_networkd(ns)
        except Exception as exc:
            result["networkd"] = {"error": f"{type(exc).__name__}: {exc}"}
        out[case["id"]] = result
    json.dump(out, sys.stdout)


main()
