"""Network translators, fed with documents shaped like the ones clouds really send."""

from __future__ import annotations

import pytest

from ros_init.network.convert import NetconvError, configdrive_to_v2, ec2_macs_to_v2, to_v2, v1_to_v2

V1 = {
    "version": 1,
    "config": [
        {"type": "physical", "name": "eth0", "mac_address": "52:54:00:12:34:00",
         "subnets": [{"type": "static", "address": "192.168.1.10", "netmask": "255.255.255.0",
                      "gateway": "192.168.1.1", "dns_nameservers": ["192.168.1.1"]},
                     {"type": "static6", "address": "2001:db8::10/64", "gateway": "2001:db8::1"}]},
        {"type": "physical", "name": "eth1", "mac_address": "52:54:00:12:34:01", "mtu": 9000},
        {"type": "physical", "name": "eth2", "mac_address": "52:54:00:12:34:02"},
        {"type": "bond", "name": "bond0", "bond_interfaces": ["eth1", "eth2"],
         "params": {"bond-mode": "active-backup", "bond-miimon": 100, "bond-primary": "eth1"},
         "subnets": [{"type": "dhcp4"}]},
        {"type": "vlan", "name": "bond0.20", "vlan_link": "bond0", "vlan_id": 20,
         "subnets": [{"type": "static", "address": "10.20.0.5/24",
                      "routes": [{"network": "10.30.0.0", "netmask": "255.255.0.0", "gateway": "10.20.0.1"}]}]},
        {"type": "nameserver", "address": ["1.1.1.1"], "search": ["example.com"]},
        {"type": "route", "destination": "10.99.0.0/16", "gateway": "192.168.1.254", "metric": 50},
    ],
}


def test_v1_to_v2_physical_bond_vlan_nameserver_route():
    out = v1_to_v2(V1)
    eth0 = out["ethernets"]["eth0"]
    assert eth0["match"] == {"macaddress": "52:54:00:12:34:00"} and eth0["set-name"] == "eth0"
    assert eth0["addresses"] == ["192.168.1.10/24", "2001:db8::10/64"]
    assert eth0["gateway4"] == "192.168.1.1" and eth0["gateway6"] == "2001:db8::1"
    assert eth0["nameservers"] == {"addresses": ["192.168.1.1", "1.1.1.1"], "search": ["example.com"]}
    assert eth0["routes"] == [{"to": "10.99.0.0/16", "via": "192.168.1.254", "metric": 50}]
    assert out["ethernets"]["eth1"]["mtu"] == 9000
    assert out["bonds"]["bond0"] == {
        "interfaces": ["eth1", "eth2"],
        "parameters": {"mode": "active-backup", "mii-monitor-interval": 100, "primary": "eth1"},
        "dhcp4": True, "nameservers": {"addresses": ["1.1.1.1"], "search": ["example.com"]}}
    vlan = out["vlans"]["bond0.20"]
    assert vlan["id"] == 20 and vlan["link"] == "bond0"
    assert vlan["routes"] == [{"to": "10.30.0.0/16", "via": "10.20.0.1"}]


def test_v1_wrapped_in_network_key_and_disabled():
    assert v1_to_v2({"network": {"version": 1, "config": "disabled"}}) == {"version": 2, "config": "disabled"}


@pytest.mark.parametrize("bad,match", [
    ({"version": 1, "config": [{"type": "physical"}]}, "without name"),
    ({"version": 1, "config": [{"type": "wifi", "name": "w"}]}, "unknown type"),
    ({"version": 1, "config": [{"type": "physical", "name": "e", "subnets": [{"type": "static"}]}]}, "without address"),
    ({"version": 1, "config": [{"type": "physical", "name": "e",
                                "subnets": [{"type": "static", "address": "300.1.1.1/24"}]}]}, "bad address"),
    ({"version": 2}, "not a version 1"),
])
def test_v1_errors_name_the_element(bad, match):
    with pytest.raises(NetconvError, match=match):
        v1_to_v2(bad)


# Shape of a real OpenStack network_data.json (nova metadata, bonded + vlan + dhcp).
NETWORK_DATA = {
    "links": [
        {"id": "tap1a81968a-79", "vif_id": "1a81968a-797a-400f-8a80-567f997eb93f", "type": "phy",
         "mtu": 1500, "ethernet_mac_address": "FA:16:3E:9C:BF:3D"},
        {"id": "interface0", "type": "phy", "ethernet_mac_address": "a0:36:9f:2c:e8:70", "mtu": 9000},
        {"id": "interface1", "type": "phy", "ethernet_mac_address": "a0:36:9f:2c:e8:71", "mtu": 9000},
        {"id": "bond0", "type": "bond", "bond_links": ["interface0", "interface1"], "bond_mode": "802.3ad",
         "bond_miimon": 100, "bond_xmit_hash_policy": "layer3+4", "ethernet_mac_address": "a0:36:9f:2c:e8:80"},
        {"id": "vlan0", "type": "vlan", "vlan_link": "bond0", "vlan_id": 101,
         "vlan_mac_address": "a0:36:9f:2c:e8:80"},
    ],
    "networks": [
        {"id": "private-ipv4", "type": "ipv4", "link": "tap1a81968a-79", "ip_address": "10.184.0.244",
         "netmask": "255.255.240.0", "network_id": "d227a9b3-6960-4d94-8976-ee5788b44f54",
         "routes": [{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "10.184.0.1"}]},
        {"id": "publicnet-ipv4", "type": "ipv4", "link": "vlan0", "ip_address": "23.253.157.244",
         "netmask": "255.255.255.0", "dns_nameservers": ["69.20.0.164"],
         "routes": [{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "23.253.157.1"}]},
        {"id": "dhcp6", "type": "ipv6_dhcp", "link": "bond0"},
    ],
    "services": [{"type": "dns", "address": "8.8.8.8"}],
}


def test_configdrive_to_v2():
    out = configdrive_to_v2(NETWORK_DATA)
    tap = out["ethernets"]["tap1a81968a-79"]
    assert tap["match"] == {"macaddress": "fa:16:3e:9c:bf:3d"} and tap["mtu"] == 1500
    assert tap["addresses"] == ["10.184.0.244/20"]
    assert tap["routes"] == [{"to": "default", "via": "10.184.0.1"}]
    assert tap["nameservers"] == {"addresses": ["8.8.8.8"]}
    assert out["bonds"]["bond0"]["interfaces"] == ["interface0", "interface1"]
    assert out["bonds"]["bond0"]["parameters"] == {"mode": "802.3ad", "mii-monitor-interval": 100,
                                                   "transmit-hash-policy": "layer3+4"}
    assert out["bonds"]["bond0"]["dhcp6"] is True
    vlan = out["vlans"]["bond0.101"]
    assert vlan["id"] == 101 and vlan["link"] == "bond0" and vlan["addresses"] == ["23.253.157.244/24"]
    # the network's own DNS first, then the global services (merged, as cloud-init does)
    assert vlan["nameservers"] == {"addresses": ["69.20.0.164", "8.8.8.8"]}
    assert vlan["macaddress"] == "a0:36:9f:2c:e8:80" and out["bonds"]["bond0"]["macaddress"] == "a0:36:9f:2c:e8:80"


def test_configdrive_network_on_unknown_link_is_an_error():
    with pytest.raises(NetconvError, match="not in links"):
        configdrive_to_v2({"links": [], "networks": [{"type": "ipv4", "link": "x", "ip_address": "1.2.3.4"}]})


def test_ec2_macs_to_v2_primary_and_secondary_nics():
    macs = {
        "0A:1B:2C:3D:4E:60": {"device-number": "1", "local-ipv4s": "10.0.1.7",
                              "subnet-ipv4-cidr-block": "10.0.1.0/24"},
        "0a:1b:2c:3d:4e:5f": {"device-number": "0", "local-ipv4s": "10.0.0.5\n10.0.0.6\n",
                              "subnet-ipv4-cidr-block": "10.0.0.0/24", "ipv6s": "2600:1f18::5"},
    }
    # cloud-init's metrics: (device-number + 1) * 100 on the DHCP routes when there are several NICs
    assert ec2_macs_to_v2(macs) == {"version": 2, "ethernets": {
        "eth0": {"match": {"macaddress": "0a:1b:2c:3d:4e:5f"}, "dhcp4": True, "dhcp6": True,
                 "dhcp4-overrides": {"route-metric": 100}, "dhcp6-overrides": {"route-metric": 100},
                 "addresses": ["10.0.0.6/24"]},
        "eth1": {"match": {"macaddress": "0a:1b:2c:3d:4e:60"}, "dhcp4": True,
                 "dhcp4-overrides": {"route-metric": 200}, "optional": True},
    }}


def test_nocloud_v2_passes_through_and_v1_is_translated():
    v2 = {"version": 2, "ethernets": {"eth0": {"dhcp4": True}}}
    assert to_v2({"network": v2}, "nc") == v2
    assert to_v2(V1, "nc")["bonds"]["bond0"]["dhcp4"] is True
    with pytest.raises(NetconvError, match="version must be 1 or 2"):
        to_v2({"version": 3}, "nc")
