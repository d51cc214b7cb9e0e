"""Shared network configs and hypothesis strategies for the network stage tests."""

from __future__ import annotations

import ipaddress

from hypothesis import strategies as st

FULL = {
    "version": 2,
    "ethernets": {
        "eth0": {"dhcp4": True},
        "lan": {
            "match": {"macaddress": "52:54:00:12:34:56"},
            "set-name": "lan0",
            "addresses": ["192.168.1.10/24", "2001:db8::10/64"],
            "gateway4": "192.168.1.1",
            "gateway6": "2001:db8::1",
            "nameservers": {"addresses": ["1.1.1.1", "2001:db8::53"], "search": ["example.com", "corp.example"]},
            "routes": [
                {"to": "10.0.0.0/8", "via": "192.168.1.254", "metric": 100, "on-link": True},
                {"to": "2001:db8:1::/48", "via": "2001:db8::fe"},
            ],
            "mtu": 9000,
        },
        "p1": {"match": {"macaddress": "52:54:00:00:00:01"}},
        "p2": {"match": {"macaddress": "52:54:00:00:00:02"}},
    },
    "bonds": {
        "bond0": {
            "interfaces": ["p1", "p2"],
            "parameters": {"mode": "active-backup", "mii-monitor-interval": 100, "primary": "p1",
                           "up-delay": 200, "all-slaves-active": False},
            "dhcp4": True,
            "dhcp6": True,
        },
    },
    "vlans": {"vlan10": {"id": 10, "link": "bond0", "addresses": ["10.10.0.5/24"], "mtu": 1400}},
}

# v1 input and the v2 it must render like (netconv owns the translation; see test_network_model)
V1 = {
    "version": 1,
    "config": [
        {"type": "physical", "name": "eth0", "mac_address": "52:54:00:12:34:56",
         "subnets": [{"type": "static", "address": "192.168.1.10/24", "gateway": "192.168.1.1",
                      "dns_nameservers": ["1.1.1.1"]}]},
    ],
}

_ids = st.from_regex(r"\A[a-z][a-z0-9]{0,6}\Z")
_v4 = st.builds(lambda a, p: f"{ipaddress.IPv4Address(a)}/{p}",
                st.integers(0x0A000001, 0x0AFFFFFE), st.integers(8, 30))
_v6 = st.builds(lambda a, p: f"{ipaddress.IPv6Address(a)}/{p}",
                st.integers(0x20010DB8 << 96, (0x20010DB8 << 96) + 2**32), st.integers(48, 64))
_gw4 = st.builds(lambda a: str(ipaddress.IPv4Address(a)), st.integers(0x0A000001, 0x0AFFFFFE))
_macs = st.builds(lambda n: f"52:54:00:{n >> 16 & 255:02x}:{n >> 8 & 255:02x}:{n & 255:02x}",
                  st.integers(0, 2**24 - 1))
_route = st.fixed_dictionaries(
    {"to": st.sampled_from(["10.1.0.0/16", "172.16.0.0/12", "default"]), "via": _gw4},
    optional={"metric": st.integers(0, 1000), "on-link": st.booleans()},
)


@st.composite
def ethernet(draw):
    conf = {}
    if draw(st.booleans()):
        conf["match"] = {"macaddress": draw(_macs)}
    conf["dhcp4"] = draw(st.booleans())
    conf["dhcp6"] = draw(st.booleans())
    conf["addresses"] = draw(st.lists(st.one_of(_v4, _v6), max_size=3, unique=True))
    if draw(st.booleans()):
        conf["gateway4"] = draw(_gw4)
    conf["routes"] = draw(st.lists(_route, max_size=2, unique_by=lambda r: r["to"]))
    if draw(st.booleans()):
        conf["nameservers"] = {"addresses": draw(st.lists(_gw4, max_size=2, unique=True)),
                               "search": draw(st.lists(st.sampled_from(["a.example", "b.example"]), max_size=2, unique=True))}
    if draw(st.booleans()):
        conf["mtu"] = draw(st.integers(576, 9000))
    if draw(st.booleans()):
        conf["accept-ra"] = draw(st.booleans())
    if draw(st.booleans()):
        conf["ipv6-mtu"] = draw(st.integers(1280, 9000))
    if draw(st.booleans()):
        conf["dhcp4-overrides"] = {"route-metric": draw(st.integers(0, 1000))}
    if draw(st.booleans()):
        conf["macaddress"] = draw(_macs)
    conf["wakeonlan"] = draw(st.booleans())
    return conf


@st.composite
def network_configs(draw):
    """Random valid v2 configs: ethernets, maybe a bond of some of them, maybe a bridge of
    others, maybe a vlan."""
    ids = draw(st.lists(_ids, min_size=1, max_size=4, unique=True))
    ethernets = {i: draw(ethernet()) for i in ids}
    net = {"version": 2, "ethernets": ethernets}
    for i in ids:
        if "match" in ethernets[i] and draw(st.booleans()):
            ethernets[i]["set-name"] = f"R{i}"  # upper case: never another id
    members: list[str] = []
    if len(ids) >= 2 and draw(st.booleans()):
        members = ids[:2]
        for m in members:
            ethernets[m] = {"match": {"macaddress": draw(_macs)}}
        net["bonds"] = {"bond9": {"interfaces": list(members), "dhcp4": True,
                                  "parameters": {"mode": draw(st.sampled_from(["active-backup", "802.3ad", "balance-rr"]))}}}
    ports = [i for i in ids if i not in members][:2]
    if ports and draw(st.booleans()):
        for p in ports:
            ethernets[p] = {"match": {"macaddress": draw(_macs)}}
        params = draw(st.fixed_dictionaries({}, optional={
            "stp": st.booleans(), "forward-delay": st.integers(2, 30), "hello-time": st.integers(1, 10),
            "max-age": st.integers(6, 40), "priority": st.integers(0, 65535), "ageing-time": st.integers(10, 1000),
            "path-cost": st.fixed_dictionaries({ports[0]: st.integers(1, 65535)}),
            "port-priority": st.fixed_dictionaries({ports[-1]: st.integers(0, 63)})}))
        net["bridges"] = {"br9": {"interfaces": ports, "dhcp4": draw(st.booleans()), "parameters": params}}
        members += ports
    if draw(st.booleans()):
        candidates = [i for i in ethernets if i not in members] + sorted(net.get("bonds", {}))
        if candidates:
            parent = draw(st.sampled_from(candidates))
            net["vlans"] = {"vlan7": {"id": draw(st.integers(1, 4094)), "link": parent, "addresses": [draw(_v4)]}}
    return net

# Every bond parameter the model knows, in two sets a kernel accepts together.
BOND_ALL_PARAMS = {
    "ethernets": {"p1": {"match": {"macaddress": "52:54:00:00:00:01"}},
                  "p2": {"match": {"macaddress": "52:54:00:00:00:02"}}},
    "bonds": {
        "bond0": {"interfaces": ["p1"], "dhcp4": True, "parameters": {
            "mode": "802.3ad", "mii-monitor-interval": 100, "lacp-rate": "fast",
            "transmit-hash-policy": "layer3+4", "up-delay": 200, "down-delay": 200, "ad-select": "bandwidth",
            "min-links": 1, "all-slaves-active": True}},
        "bond1": {"interfaces": ["p2"], "dhcp4": True, "parameters": {
            "mode": "active-backup", "arp-interval": 100, "arp-ip-targets": ["192.0.2.1", "192.0.2.2"],
            "arp-validate": "all", "arp-all-targets": "any", "gratuitous-arp": 2, "primary": "p2",
            "fail-over-mac-policy": "active", "primary-reselect-policy": "better"}},
        "bond2": {"dhcp4": True, "parameters": {"mode": "balance-rr", "packets-per-slave": 2}},
        "bond3": {"dhcp4": True, "parameters": {"mode": "balance-tlb", "learn-packet-interval": 3}},
    },
}
