"""The translators' meaning for each construct of issue 17 (cloud-init's, see
test_network_vs_cloud_init for the same cases against cloud-init itself), and the model's
checks of what they produce."""

from __future__ import annotations

import ipaddress
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ros_init.network.convert import (
    _BOND_PARAMS,
    NetconvError,
    bond_parameters,
    configdrive_to_v2,
    ec2_macs_to_v2,
    v1_to_v2,
)
from ros_init.network.model import NetworkConfigError, parse_network


def one(subnets, **item):
    out = v1_to_v2({"version": 1, "config": [{"type": "physical", "name": "eth0", "subnets": subnets, **item}]})
    return out["ethernets"]["eth0"]


@given(st.integers(0, 128))
def test_property_an_ipv6_mask_is_its_prefix_length(plen):
    mask = str(ipaddress.IPv6Address(((1 << 128) - 1) ^ ((1 << (128 - plen)) - 1)))
    assert one([{"type": "static6", "address": "2001:db8::5", "netmask": mask}])["addresses"] == [
        str(ipaddress.ip_interface(f"2001:db8::5/{plen}"))]
    assert one([{"type": "static6", "address": f"2001:db8::5/{mask}"}])["addresses"] == [
        str(ipaddress.ip_interface(f"2001:db8::5/{plen}"))]


def test_a_mask_with_holes_or_of_the_wrong_family_is_refused_with_its_place():
    with pytest.raises(NetconvError, match=r"network.config\[0\].subnets\[0\]: netmask 'ffff::ffff' is not contiguous"):
        one([{"type": "static6", "address": "2001:db8::5", "netmask": "ffff::ffff"}])
    with pytest.raises(NetconvError, match="not an IPv4 mask"):
        one([{"type": "static", "address": "10.0.0.5", "netmask": "ffff:ffff::"}])


def test_an_address_without_netmask_gets_cloud_inits_prefix():
    eth = one([{"type": "static6", "address": "2001:db8::5"}, {"type": "static", "address": "10.0.0.5"}])
    assert eth["addresses"] == ["2001:db8::5/64", "10.0.0.5/24"]


def test_a_route_with_an_ipv6_mask_and_the_default_spelled_as_masks():
    eth = one([{"type": "static6", "address": "2001:db8::5/64", "routes": [
        {"network": "2001:db8:9::", "netmask": "ffff:ffff:ffff::", "gateway": "2001:db8::1"},
        {"network": "::", "netmask": "::", "gateway": "2001:db8::1"}]}])
    assert eth["routes"] == [{"to": "2001:db8:9::/48", "via": "2001:db8::1"}, {"to": "default", "via": "2001:db8::1"}]


def test_two_subnets_with_gateways_keep_both_default_routes():
    eth = one([{"type": "static", "address": "10.0.0.5/24", "gateway": "10.0.0.1"},
               {"type": "static", "address": "10.0.1.5/24", "gateway": "10.0.1.1"},
               {"type": "static", "address": "10.0.2.5/24", "gateway": "10.0.0.1"}])
    assert eth["gateway4"] == "10.0.0.1" and eth["routes"] == [{"to": "default", "via": "10.0.1.1"}]


@pytest.mark.parametrize(("kind", "dhcp6", "ra"), [
    ("ipv6_slaac", None, True), ("ipv6_dhcpv6-stateless", None, True), ("ipv6_dhcpv6-stateful", True, None),
    ("dhcp6", True, None)])
def test_ipv6_subnet_types(kind, dhcp6, ra):
    eth = one([{"type": kind}])
    assert (eth.get("dhcp6"), eth.get("accept-ra")) == (dhcp6, ra)
    model = parse_network({"version": 1, "config": [{"type": "physical", "name": "eth0", "subnets": [{"type": kind}]}]})
    assert (model.interfaces[0].dhcp6, model.interfaces[0].accept_ra) == (bool(dhcp6), ra)


def test_accept_ra_false_is_kept_even_with_slaac_and_as_a_string():
    assert one([{"type": "ipv6_slaac"}], **{"accept-ra": False})["accept-ra"] is False
    assert one([{"type": "dhcp6"}], **{"accept-ra": "false"})["accept-ra"] is False


def test_subnet_mtus(caplog):
    with caplog.at_level(logging.WARNING):
        eth = one([{"type": "static6", "address": "2001:db8::5/64", "mtu": 1480},
                   {"type": "static", "address": "10.0.0.5/24", "mtu": 1400}], mtu=9000)
    assert (eth["mtu"], eth["ipv6-mtu"]) == (1400, 1480)
    assert "replaces the link's mtu 9000" in caplog.text
    assert one([{"type": "static6", "address": "2001:db8::5/64", "mtu": 1480}], mtu=9000)["mtu"] == 9000


SPELLINGS = [(f"{prefix}{name.replace('-', sep)}", v2) for name, v2 in _BOND_PARAMS.items()
             for prefix in ("bond-", "bond_") for sep in ("-", "_")]


@pytest.mark.parametrize(("key", "v2"), SPELLINGS, ids=[k for k, _ in SPELLINGS])
def test_every_cloud_init_spelling_of_a_bond_parameter(key, v2):
    assert list(bond_parameters({key: "1"}, "params")) == [v2]


def test_bond_values_in_the_kernels_numbers_and_the_membership_keys():
    assert bond_parameters({"bond-mode": 4, "bond-lacp_rate": "1", "bond_fail_over_mac": 2, "bond-slaves": "none",
                            "bond-arp_ip_target": "10.0.0.1 10.0.0.2", "bond-all_slaves_active": "1"}, "p") == {
        "mode": "802.3ad", "lacp-rate": "fast", "fail-over-mac-policy": "follow",
        "arp-ip-targets": ["10.0.0.1", "10.0.0.2"], "all-slaves-active": True}
    with pytest.raises(NetconvError, match=r"params.bond-bogus: unknown bond parameter"):
        bond_parameters({"bond-bogus": 1}, "params")


def test_v1_bond_mac_members_added_as_cloud_init_does_and_loopback_skipped():
    out = v1_to_v2({"version": 1, "config": [
        {"type": "loopback", "name": "lo"},
        {"type": "bond", "name": "bond0", "mac_address": "52:54:00:AA:00:01", "bond_interfaces": ["eth0", "eth1"],
         "params": {"bond-mode": "active-backup", "bond-primary": "eth0"}, "subnets": [{"type": "dhcp4"}]}]})
    assert out["bonds"]["bond0"]["macaddress"] == "52:54:00:aa:00:01"
    assert out["bonds"]["bond0"]["parameters"] == {"mode": "active-backup", "primary": "eth0"}
    assert out["ethernets"] == {"eth0": {}, "eth1": {}}
    model = parse_network(out)
    assert [(i.id, i.controller) for i in model.interfaces] == [("eth0", "bond0"), ("eth1", "bond0"), ("bond0", None)]


def test_v1_bridge_parameters_in_ifupdown_form():
    out = v1_to_v2({"version": 1, "config": [
        {"type": "physical", "name": "eth0"}, {"type": "physical", "name": "eth1"},
        {"type": "bridge", "name": "br0", "bridge_interfaces": ["eth0", "eth1"],
         "params": {"bridge_stp": "on", "bridge_fd": "4", "bridge_hello": 2, "bridge_maxage": 12, "bridge_ageing": 300,
                    "bridge_bridgeprio": 100, "bridge_pathcost": ["eth0 50", "eth1 75"], "bridge_portprio": "eth1 20",
                    "bridge_hw": "52:54:00:aa:00:02", "bridge_maxwait": 0}}]})
    br = out["bridges"]["br0"]
    assert br["parameters"] == {"stp": True, "forward-delay": 4, "hello-time": 2, "max-age": 12, "ageing-time": 300,
                                "priority": 100, "path-cost": {"eth0": 50, "eth1": 75}, "port-priority": {"eth1": 20}}
    assert br["macaddress"] == "52:54:00:aa:00:02"
    model = parse_network(out)
    assert model.get("br0").bridge_params == (("ageing-time", 300), ("forward-delay", 4), ("hello-time", 2),
                                               ("max-age", 12), ("path-cost", (("eth0", 50), ("eth1", 75))),
                                               ("port-priority", (("eth1", 20),)), ("priority", 100), ("stp", True))
    with pytest.raises(NetconvError, match="is not '<port> <value>'"):
        v1_to_v2({"version": 1, "config": [{"type": "bridge", "name": "b", "bridge_interfaces": [],
                                            "params": {"bridge_pathcost": "50"}}]})


def test_nameservers_of_one_interface_replace_the_global_ones_there():
    out = v1_to_v2({"version": 1, "config": [
        {"type": "physical", "name": "eth0", "subnets": [{"type": "dhcp4"}]},
        {"type": "physical", "name": "eth1", "subnets": [{"type": "dhcp4", "dns_nameservers": ["10.1.1.1"]}]},
        {"type": "nameserver", "address": "10.0.0.53", "interface": "eth0"},
        {"type": "nameserver", "address": ["9.9.9.9"], "search": "example.com"}]})
    assert out["ethernets"]["eth0"]["nameservers"] == {"addresses": ["10.0.0.53"]}
    assert out["ethernets"]["eth1"]["nameservers"] == {"addresses": ["10.1.1.1", "9.9.9.9"], "search": ["example.com"]}
    with pytest.raises(NetconvError, match=r"network.config\[0\]: interface 'eth9' is not in the config"):
        v1_to_v2({"version": 1, "config": [{"type": "nameserver", "address": "1.1.1.1", "interface": "eth9"}]})


def test_v1_wakeonlan_without_mac():
    model = parse_network({"version": 1, "config": [{"type": "physical", "name": "eth0", "wakeonlan": True,
                                                     "subnets": [{"type": "dhcp4"}]}]})
    assert model.interfaces[0].wakeonlan and model.interfaces[0].set_name is None


def test_configdrive_services_gateway_search_and_macs():
    out = configdrive_to_v2({
        "links": [{"id": "eth0", "type": "phy", "ethernet_mac_address": "52:54:00:00:00:01"},
                  {"id": "eth1", "type": "phy", "ethernet_mac_address": "52:54:00:00:00:02"},
                  {"id": "b0", "type": "bond", "bond_links": ["eth1"], "bond_mode": "active-backup",
                   "bond_miimon": "100", "bond_updelay": 200, "bond_primary": "eth1",
                   "ethernet_mac_address": "52:54:00:00:00:0b"},
                  {"id": "v5", "type": "vlan", "vlan_link": "b0", "vlan_id": 5, "vlan_mac_address": "52:54:00:00:00:0c"}],
        "networks": [
            {"id": "n0", "type": "ipv4", "link": "eth0", "ip_address": "10.0.0.5", "netmask": "255.255.255.0",
             "gateway": "10.0.0.1", "services": [{"type": "dns", "address": "10.0.0.53"}],
             "routes": [{"network": "10.9.0.0", "netmask": "255.255.0.0", "gateway": "10.0.0.254",
                         "services": [{"type": "dns", "address": "10.0.0.54"}]}]},
            {"id": "n1", "type": "ipv6", "link": "v5", "ip_address": "2001:db8::5", "netmask": "ffff:ffff:ffff:ffff::",
             "gateway": "2001:db8::1"},
            {"id": "n2", "type": "ipv6_slaac", "link": "b0"}],
        "services": [{"type": "dns", "address": "8.8.8.8", "search": ["example.com"]}]})
    eth0 = out["ethernets"]["eth0"]
    assert eth0["gateway4"] == "10.0.0.1" and eth0["routes"] == [{"to": "10.9.0.0/16", "via": "10.0.0.254"}]
    assert eth0["nameservers"] == {"addresses": ["10.0.0.53", "10.0.0.54", "8.8.8.8"], "search": ["example.com"]}
    assert out["bonds"]["b0"] == {"interfaces": ["eth1"], "macaddress": "52:54:00:00:00:0b", "accept-ra": True,
                                  "parameters": {"mode": "active-backup", "mii-monitor-interval": 100,
                                                 "up-delay": 200, "primary": "eth1"},
                                  "nameservers": {"addresses": ["8.8.8.8"], "search": ["example.com"]}}
    vlan = out["vlans"]["b0.5"]
    assert vlan["macaddress"] == "52:54:00:00:00:0c" and vlan["accept-ra"] is False
    assert vlan["addresses"] == ["2001:db8::5/64"] and vlan["gateway6"] == "2001:db8::1"
    parse_network(out)  # and the model takes it


def test_ec2_secondary_ipv6_with_imds_key_and_missing_blocks():
    out = ec2_macs_to_v2({"0a:00:00:00:00:01": {"device-number": "0", "local-ipv4s": "10.0.0.5\n10.0.0.6",
                                                "ipv6s": "2600:1f18::5\n2600:1f18::6",
                                                "subnet-ipv6-cidr-blocks": "2600:1f18::/64"}})
    eth0 = out["ethernets"]["eth0"]
    assert eth0["addresses"] == ["10.0.0.6/24", "2600:1f18::6/64"]  # no IPv4 block: cloud-init's /24
    assert "dhcp4-overrides" not in eth0  # one NIC: no metric (cloud-init drops it too)
    no_block = ec2_macs_to_v2({"0a:00:00:00:00:01": {"ipv6s": "2600:1f18::5\n2600:1f18::6"}})
    assert no_block["ethernets"]["eth0"]["addresses"] == ["2600:1f18::6/128"]


def test_ec2_metrics_follow_device_numbers():
    macs = {f"0a:00:00:00:00:0{n}": {"device-number": str(n), "local-ipv4s": f"10.{n}.0.5"} for n in (2, 0, 1)}
    out = ec2_macs_to_v2(macs)["ethernets"]
    assert {k: v["dhcp4-overrides"]["route-metric"] for k, v in out.items()} == {"eth0": 100, "eth1": 200, "eth2": 300}
    model = parse_network(ec2_macs_to_v2(macs))
    assert [i.dhcp4_metric for i in model.interfaces] == [100, 200, 300]


@given(st.integers(0, 2**32 - 1), st.integers(8, 32), st.integers(0, 2**32 - 1))
def test_property_a_gateway_is_on_link_exactly_when_outside_the_subnet(addr, plen, gw):
    address = ipaddress.ip_interface(f"{ipaddress.IPv4Address(addr)}/{plen}")
    gateway = ipaddress.IPv4Address(gw)
    if gateway == address.ip or gateway.is_link_local:
        return
    model = parse_network({"ethernets": {"eth0": {"addresses": [str(address)], "gateway4": str(gateway),
                                                  "routes": [{"to": "10.250.0.0/16", "via": str(gateway)}]}}})
    iface = model.interfaces[0]
    outside = gateway not in address.network
    assert iface.gateway4_on_link == outside and iface.routes[0].on_link == outside


def test_a_dhcp_interface_with_a_gateway_is_not_marked_on_link():
    iface = parse_network({"ethernets": {"eth0": {"dhcp4": True, "gateway4": "192.0.2.1"}}}).interfaces[0]
    assert not iface.gateway4_on_link


@pytest.mark.parametrize(("value", "seconds"), [(4, 4), ("4", 4), ("4s", 4), ("4000ms", 4)])
def test_bridge_times(value, seconds):
    net = {"ethernets": {"e": {}}, "bridges": {"br0": {"interfaces": ["e"], "parameters": {"forward-delay": value}}}}
    assert parse_network(net).get("br0").bridge_params == (("forward-delay", seconds),)


def test_bridge_errors_are_located():
    with pytest.raises(NetworkConfigError, match=r"network.bridges.br0.parameters.forward-delay: '1500ms' is not a whole"):
        parse_network({"bridges": {"br0": {"parameters": {"forward-delay": "1500ms"}}}})
    with pytest.raises(NetworkConfigError, match=r"network.bridges.br0.parameters.bogus: unknown bridge parameter"):
        parse_network({"bridges": {"br0": {"parameters": {"bogus": 1}}}})
    with pytest.raises(NetworkConfigError, match=r"'e' is already a member of bridge 'br0'"):
        parse_network({"ethernets": {"e": {}}, "bridges": {"br0": {"interfaces": ["e"]}, "br1": {"interfaces": ["e"]}}})
    with pytest.raises(NetworkConfigError, match=r"network.bridges.br1.interfaces: 'br0' is not the id"):
        parse_network({"bridges": {"br0": {}, "br1": {"interfaces": ["br0"]}}})


def test_netplan_misspelt_gratuitous_arp_and_dhcp_overrides():
    model = parse_network({"ethernets": {"p": {}, "e": {"dhcp4": True, "dhcp4-overrides": {"route-metric": 5, "use-dns": False}}},
                           "bonds": {"b": {"interfaces": ["p"], "parameters": {"gratuitious-arp": 3}}}})
    assert model.get("b").bond_params == (("gratuitous-arp", 3),) and model.get("e").dhcp4_metric == 5
    with pytest.raises(NetworkConfigError, match=r"dhcp4-overrides.bogus: unknown key"):
        parse_network({"ethernets": {"e": {"dhcp4-overrides": {"bogus": 1}}}})
