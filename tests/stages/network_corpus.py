"""Network descriptions in every input format ros-init reads, for the differential test
against cloud-init (test_network_vs_cloud_init) and the engine tests of each construct.

Written from the formats' public documentation (cloud-init's network-config v1 and v2
pages, OpenStack's network_data.json schema, EC2's instance metadata categories): every v1
entry and subnet type and key, every v2 device kind and key ros-init renders, every
network_data.json link, network and service type, EC2 NICs alone and several.
"""

from __future__ import annotations

M = "52:54:00:00:00:"  # MACs of the corpus: M + two hex digits


def v1(*items):
    return {"version": 1, "config": list(items)}


def phy(name, mac=None, *subnets, **extra):
    item = {"type": "physical", "name": name, **extra}
    if mac:
        item["mac_address"] = mac
    if subnets:
        item["subnets"] = list(subnets)
    return item


V1_CASES = {
    "v1-static4-netmask-gateway-dns": v1(
        phy("eth0", M + "01", {"type": "static", "address": "192.168.1.10", "netmask": "255.255.255.0",
                               "gateway": "192.168.1.1", "dns_nameservers": ["192.168.1.53"],
                               "dns_search": ["lan.example"]}),
        {"type": "nameserver", "address": ["1.1.1.1", "8.8.8.8"], "search": ["example.com"]}),
    "v1-static6-mask-netmask": v1(
        phy("eth0", M + "02", {"type": "static6", "address": "2001:db8::10", "netmask": "ffff:ffff:ffff:ffff::",
                               "gateway": "2001:db8::1"})),
    "v1-address-slash-ipv6-mask": v1(
        phy("eth0", M + "0c", {"type": "static", "address": "2001:db8:1::10/ffff:ffff:ffff:ff00::"})),
    "v1-address-without-netmask": v1(
        phy("eth0", M + "03", {"type": "static", "address": "2001:db8::20", "gateway": "2001:db8::1"},
            {"type": "static", "address": "10.1.2.3", "gateway": "10.1.2.1"})),
    "v1-two-gateways": v1(
        phy("eth0", M + "04", {"type": "static", "address": "10.0.0.5/24", "gateway": "10.0.0.1"},
            {"type": "static", "address": "10.0.1.5/24", "gateway": "10.0.1.1"})),
    "v1-dhcp-types": v1(
        phy("eth0", M + "05", {"type": "dhcp"}, {"type": "dhcp6"}),
        phy("eth1", M + "06", {"type": "dhcp4"}, {"type": "ipv6_dhcpv6-stateful"}),
        phy("eth2", M + "07", {"type": "ipv6_slaac"}),
        phy("eth3", M + "08", {"type": "ipv6_dhcpv6-stateless"}, {"type": "dhcp4"}),
        phy("eth4", M + "09", {"type": "manual", "control": "manual"})),
    "v1-accept-ra": v1(
        phy("eth0", M + "0a", {"type": "dhcp6"}, **{"accept-ra": False}),
        phy("eth1", M + "0b", {"type": "static6", "address": "2001:db8::5/64"}, **{"accept-ra": True})),
    "v1-bond-every-spelling": v1(
        phy("ens3", M + "10"), phy("ens4", M + "11"),
        {"type": "bond", "name": "bond0", "bond_interfaces": ["ens3", "ens4"], "mac_address": M + "1f",
         "params": {"bond-mode": "802.3ad", "bond_miimon": 100, "bond-lacp_rate": "fast",
                    "bond-xmit_hash_policy": "layer3+4", "bond-num_grat_arp": 3, "bond-fail_over_mac": "active",
                    "bond-primary_reselect": "better", "bond-updelay": 200, "bond-downdelay": 100,
                    "bond-ad_select": "bandwidth", "bond-min_links": 1},
         "subnets": [{"type": "static", "address": "10.5.0.2/24", "gateway": "10.5.0.1"}]}),
    "v1-bond-arp-primary": v1(
        phy("ens3", M + "12"), phy("ens4", M + "13"),
        {"type": "bond", "name": "bond1", "bond_interfaces": ["ens3", "ens4"],
         "params": {"bond-mode": "active-backup", "bond-primary": "ens3", "bond-arp_interval": 500,
                    "bond-arp_ip_target": "10.6.0.1 10.6.0.2", "bond-arp_validate": "all"},
         "subnets": [{"type": "dhcp4"}]}),
    "v1-vlan-mac-mtu": v1(
        phy("eth0", M + "20", mtu=9000),
        {"type": "vlan", "name": "eth0.100", "vlan_link": "eth0", "vlan_id": 100, "mac_address": M + "2f",
         "mtu": 1500, "subnets": [{"type": "static", "address": "10.100.0.5/24"}]}),
    "v1-bridge": v1(
        phy("eth0", M + "30"), phy("eth1", M + "31"),
        {"type": "bridge", "name": "br0", "bridge_interfaces": ["eth0", "eth1"],
         "params": {"bridge_stp": "on", "bridge_fd": 4, "bridge_hello": 2, "bridge_maxage": 12,
                    "bridge_bridgeprio": 22, "bridge_ageing": 250},
         "subnets": [{"type": "dhcp4"}]}),
    "v1-bridge-pathcost": v1(
        phy("eth0", M + "32"), phy("eth1", M + "33"),
        {"type": "bridge", "name": "br1", "bridge_interfaces": ["eth0", "eth1"],
         "params": {"bridge_stp": "off", "bridge_pathcost": ["eth0 50", "eth1 75"], "bridge_portprio": ["eth0 28"]},
         "subnets": [{"type": "static", "address": "10.7.0.2/24"}]}),
    "v1-loopback-skipped": v1(
        {"type": "loopback", "name": "lo", "subnets": [{"type": "static", "address": "127.0.0.1/8"}]},
        phy("eth0", M + "40", {"type": "dhcp4"})),
    "v1-nameserver-per-interface": v1(
        phy("eth0", M + "41", {"type": "static", "address": "10.8.0.2/24"}),
        phy("eth1", M + "42", {"type": "static", "address": "10.9.0.2/24"}),
        {"type": "nameserver", "address": "10.8.0.53", "search": ["eth0.example"], "interface": "eth0"},
        {"type": "nameserver", "address": ["9.9.9.9"]}),
    "v1-routes": v1(
        phy("eth0", M + "43", {"type": "static", "address": "10.10.0.2/24", "gateway": "10.10.0.1",
                               "routes": [{"network": "10.20.0.0", "netmask": "255.255.0.0", "gateway": "10.10.0.254",
                                           "metric": 50}]}),
        {"type": "route", "destination": "10.30.0.0/16", "gateway": "10.10.0.253", "metric": 10}),
    "v1-route-ipv6-netmask": v1(
        phy("eth0", M + "44", {"type": "static6", "address": "2001:db8::2/64",
                               "routes": [{"network": "2001:db8:9::", "netmask": "ffff:ffff:ffff::",
                                           "gateway": "2001:db8::fe"}]})),
    "v1-mtu-link-and-subnets": v1(
        phy("eth0", M + "45", {"type": "static", "address": "10.11.0.2/24"},
            {"type": "static6", "address": "2001:db8::3/64", "mtu": 1480}, mtu=9000),
        phy("eth1", M + "46", {"type": "static", "address": "10.12.0.2/24", "mtu": 1400})),
    "v1-wakeonlan-without-mac": v1(phy("eth0", None, {"type": "dhcp4"}, wakeonlan=True)),
    "v1-gateway-outside-subnet": v1(
        phy("eth0", M + "47", {"type": "static", "address": "10.0.0.2/32", "gateway": "10.0.0.1"})),
    "v1-bond-vlan-bridge-stack": v1(
        phy("eth0", M + "49"), phy("eth1", M + "4a"),
        {"type": "bond", "name": "bond0", "bond_interfaces": ["eth0", "eth1"], "params": {"bond-mode": "balance-alb"}},
        {"type": "vlan", "name": "bond0.30", "vlan_link": "bond0", "vlan_id": 30},
        {"type": "bridge", "name": "br30", "bridge_interfaces": ["bond0.30"], "params": {"bridge_stp": "off"},
         "subnets": [{"type": "static", "address": "10.30.0.2/24", "gateway": "10.30.0.1"}]}),
    "v1-ipv6-in-static-and-global-route": v1(
        phy("eth0", M + "4b", {"type": "static", "address": "2001:db8:4b::2/64", "gateway": "2001:db8:4b::1"}),
        {"type": "route", "destination": "2001:db8:99::/48", "gateway": "2001:db8:4b::fe"}),
    "v1-dns-as-strings": v1(
        phy("eth0", M + "48", {"type": "static", "address": "10.13.0.2/24", "dns_nameservers": "10.13.0.53 10.13.0.54",
                               "dns_search": "a.example b.example"})),
}

V2_CASES = {
    "v2-ethernet-everything": {"version": 2, "ethernets": {
        "lan": {"match": {"macaddress": M + "50"}, "set-name": "lan0", "addresses": ["192.168.5.10/24", "2001:db8:5::10/64"],
                "gateway4": "192.168.5.1", "gateway6": "2001:db8:5::1", "mtu": 1450, "wakeonlan": True,
                "nameservers": {"addresses": ["192.168.5.53"], "search": ["five.example"]},
                "routes": [{"to": "10.50.0.0/16", "via": "192.168.5.254", "metric": 30}], "accept-ra": False},
        "wan": {"match": {"macaddress": M + "51"}, "dhcp4": True, "dhcp6": True,
                "dhcp4-overrides": {"route-metric": 300}, "dhcp6-overrides": {"route-metric": 300}}}},
    "v2-bond-all-parameters": {"version": 2, "ethernets": {"p1": {"match": {"macaddress": M + "52"}},
                                                           "p2": {"match": {"macaddress": M + "53"}}},
                               "bonds": {"bond0": {"interfaces": ["p1", "p2"], "macaddress": M + "5f", "dhcp4": True,
                                                   "parameters": {"mode": "balance-xor", "mii-monitor-interval": 100,
                                                                  "transmit-hash-policy": "layer2+3", "up-delay": 50,
                                                                  "down-delay": 50, "min-links": 1, "ad-select": "count",
                                                                  "arp-validate": "none", "primary-reselect-policy": "failure",
                                                                  "gratuitous-arp": 2, "fail-over-mac-policy": "none"}}}},
    "v2-bridge": {"version": 2, "ethernets": {"e1": {"match": {"macaddress": M + "60"}},
                                              "e2": {"match": {"macaddress": M + "61"}}},
                  "bridges": {"br0": {"interfaces": ["e1", "e2"], "dhcp4": True, "macaddress": M + "6f",
                                      "parameters": {"stp": True, "forward-delay": 4, "hello-time": 2, "max-age": 12,
                                                     "priority": 100, "ageing-time": 300,
                                                     "path-cost": {"e1": 10}, "port-priority": {"e2": 20}}}}},
    "v2-dhcp6-and-search-only": {"version": 2, "ethernets": {
        "eth0": {"dhcp6": True, "nameservers": {"search": ["six.example"]}},
        "eth1": {"match": {"name": "en*"}, "dhcp4": True, "mtu": 1280}}},
    "v2-vlan-on-bond": {"version": 2, "ethernets": {"p1": {"match": {"macaddress": M + "70"}}},
                        "bonds": {"bond0": {"interfaces": ["p1"], "parameters": {"mode": "active-backup"}}},
                        "vlans": {"vlan20": {"id": 20, "link": "bond0", "addresses": ["10.20.0.5/24"],
                                             "macaddress": M + "7f", "mtu": 1400}}},
}

NETWORK_DATA = {
    "links": [
        {"id": "tap1a81968a-79", "type": "phy", "mtu": 1500, "ethernet_mac_address": "FA:16:3E:9C:BF:3D"},
        {"id": "interface0", "type": "phy", "ethernet_mac_address": "a0:36:9f:2c:e8:70", "mtu": 9000},
        {"id": "interface1", "type": "phy", "ethernet_mac_address": "a0:36:9f:2c:e8:71", "mtu": 9000},
        {"id": "bond0", "type": "bond", "bond_links": ["interface0", "interface1"], "bond_mode": "802.3ad",
         "bond_miimon": 100, "bond_xmit_hash_policy": "layer3+4", "ethernet_mac_address": "a0:36:9f:2c:e8:80"},
        {"id": "vlan0", "type": "vlan", "vlan_link": "bond0", "vlan_id": 101, "vlan_mac_address": "a0:36:9f:2c:e8:81"},
    ],
    "networks": [
        {"id": "private-ipv4", "type": "ipv4", "link": "tap1a81968a-79", "ip_address": "10.184.0.244",
         "netmask": "255.255.240.0", "routes": [{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "10.184.0.1"}]},
        {"id": "publicnet-ipv4", "type": "ipv4", "link": "vlan0", "ip_address": "23.253.157.244",
         "netmask": "255.255.255.0", "dns_nameservers": ["69.20.0.164"],
         "routes": [{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "23.253.157.1"}]},
        {"id": "dhcp6", "type": "ipv6_dhcp", "link": "bond0"},
    ],
    "services": [{"type": "dns", "address": "8.8.8.8"}],
}
_PHYS_TYPES = ["phy", "ethernet", "ovs", "bridge", "tap", "vif", "hw_veb", "vhostuser", "dvs", "bridge"]

CONFIGDRIVE_CASES = {
    "cd-bond-vlan-dhcp6": NETWORK_DATA,
    "cd-ipv6-static-masks": {
        "links": [{"id": "eth0", "type": "phy", "ethernet_mac_address": M + "80"}],
        "networks": [{"id": "n6", "type": "ipv6", "link": "eth0", "ip_address": "2001:db8:8::5",
                      "netmask": "ffff:ffff:ffff:ffff::",
                      "routes": [{"network": "::", "netmask": "::", "gateway": "2001:db8:8::1"},
                                 {"network": "2001:db8:99::", "netmask": "ffff:ffff:ffff::", "gateway": "2001:db8:8::fe"}]}],
        "services": []},
    "cd-every-ipv6-mode": {
        "links": [{"id": f"eth{n}", "type": "phy", "ethernet_mac_address": M + f"8{n + 1}"} for n in range(4)],
        "networks": [{"id": f"n{n}", "type": t, "link": f"eth{n}"} for n, t in
                     enumerate(["ipv6_slaac", "ipv6_dhcpv6-stateless", "ipv6_dhcpv6-stateful", "ipv4_dhcp"])],
        "services": [{"type": "dns", "address": "2001:4860:4860::8888"}]},
    "cd-network-gateway-and-services": {
        "links": [{"id": "eth0", "type": "phy", "ethernet_mac_address": M + "90"}],
        "networks": [{"id": "n0", "type": "ipv4", "link": "eth0", "ip_address": "10.90.0.5", "netmask": "255.255.255.0",
                      "gateway": "10.90.0.1", "dns_search": ["net.example"],
                      "services": [{"type": "dns", "address": "10.90.0.53"}]}],
        "services": [{"type": "dns", "address": "8.8.4.4", "search": ["global.example"]}]},
    "cd-link-types": {
        "links": [{"id": f"l{n}", "type": t, "ethernet_mac_address": M + f"a{n}", "mtu": 1400 + n}
                  for n, t in enumerate(_PHYS_TYPES)],
        "networks": [{"id": f"n{n}", "type": "ipv4_dhcp", "link": f"l{n}"} for n in range(len(_PHYS_TYPES))],
        "services": []},
    "cd-legacy-ipv6-dhcp-and-static4": {
        "links": [{"id": "eth0", "type": "phy", "ethernet_mac_address": M + "b1", "mtu": 8950}],
        "networks": [{"id": "n0", "type": "ipv6_dhcp", "link": "eth0"},
                     {"id": "n1", "type": "ipv4", "link": "eth0", "ip_address": "10.0.3.5", "netmask": "255.255.255.0",
                      "routes": [{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "10.0.3.1"},
                                 {"network": "10.4.0.0", "netmask": "255.255.0.0", "gateway": "10.0.3.254"}]}],
        "services": [{"type": "dns", "address": "10.0.3.53"}, {"type": "ntp", "address": "10.0.3.123"}]},
    "cd-gateway-outside-subnet": {
        "links": [{"id": "eth0", "type": "phy", "ethernet_mac_address": M + "b0"}],
        "networks": [{"id": "n0", "type": "ipv4", "link": "eth0", "ip_address": "10.0.0.2", "netmask": "255.255.255.255",
                      "routes": [{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "10.0.0.1"}]}],
        "services": []},
}

EC2_CASES = {
    "ec2-one-nic": {M + "c0": {"device-number": "0", "local-ipv4s": "172.31.1.5",
                               "subnet-ipv4-cidr-block": "172.31.0.0/20", "ipv6s": "2600:1f18::5"}},
    "ec2-two-nics-secondary": {
        M + "c1": {"device-number": "0", "local-ipv4s": "172.31.1.5\n172.31.1.6",
                   "subnet-ipv4-cidr-block": "172.31.0.0/20", "ipv6s": "2600:1f18::5\n2600:1f18::6",
                   "subnet-ipv6-cidr-block": "2600:1f18::/64"},
        M + "c2": {"device-number": "1", "local-ipv4s": "172.31.17.5\n172.31.17.9"}},
    "ec2-imds-ipv6-blocks": {M + "e0": {"device-number": "0", "local-ipv4s": "172.31.1.5",
                                        "ipv6s": "2600:1f18::5\n2600:1f18::7",
                                        "subnet-ipv6-cidr-blocks": "2600:1f18::/64"}},
    "ec2-three-nics": {M + f"d{n}": {"device-number": str(n), "local-ipv4s": f"10.{n}.0.5",
                                     "subnet-ipv4-cidr-block": f"10.{n}.0.0/24"} for n in range(3)},
}


def cases() -> list[dict]:
    """Every case as the oracle reads it (see cloud_init_network_oracle.py)."""
    out = [{"id": k, "format": "v1", "input": v} for k, v in V1_CASES.items()]
    out += [{"id": k, "format": "v2", "input": v} for k, v in V2_CASES.items()]
    for k, v in CONFIGDRIVE_CASES.items():
        # the names cloud-init reads from sysfs: the link ids, as ros-init names them
        known = {link["ethernet_mac_address"].lower(): link["id"] for link in v["links"]
                 if link.get("type") not in ("bond", "vlan") and link.get("ethernet_mac_address")}
        out.append({"id": k, "format": "configdrive", "input": v, "known_macs": known})
    for k, v in EC2_CASES.items():
        # cloud-init's IMDS crawl gives a list where a value has several lines
        crawled = {mac: {f: (lines if len(lines := str(x).split()) > 1 else x) for f, x in info.items()}
                   for mac, info in v.items()}
        nics = {mac: f"eth{info['device-number']}" for mac, info in v.items()}
        out.append({"id": k, "format": "ec2", "input": crawled, "ros_input": v, "macs_to_nics": nics})
    return out
