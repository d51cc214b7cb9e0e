"""The network model: netplan v2 (and v1 through netconv) parsed into what renderers read."""

from __future__ import annotations

import copy

import pytest
from network_cases import FULL, V1

from ros_init.network.model import NetworkConfigError, Route, is_disabled, parse_network


def test_full_config_parses_into_typed_interfaces():
    model = parse_network(FULL)
    assert [i.id for i in model.interfaces] == ["eth0", "lan", "p1", "p2", "bond0", "vlan10"]
    lan = model.get("lan")
    assert lan.name == "lan0" and lan.match.macaddress == "52:54:00:12:34:56"
    assert lan.ipv4_addresses == ("192.168.1.10/24",) and lan.ipv6_addresses == ("2001:db8::10/64",)
    assert lan.routes[0] == Route("10.0.0.0/8", "192.168.1.254", 100, True)
    assert model.get("p1").controller == "bond0" and model.get("p1").name is None
    assert model.get("bond0").members == ("p1", "p2")
    assert dict(model.get("bond0").bond_params)["mode"] == "active-backup"
    assert model.get("vlan10").link == "bond0" and model.get("vlan10").vlan_id == 10
    assert model.nameservers == ("1.1.1.1", "2001:db8::53")


def test_names_come_from_set_name_literal_match_or_id():
    model = parse_network({"ethernets": {
        "a": {"match": {"name": "ens3"}},
        "b": {"match": {"name": "en*"}},
        "c": {"match": {"driver": "virtio_net"}},
        "eth9": {},
    }})
    assert [i.name for i in model.interfaces] == ["ens3", None, None, "eth9"]


def test_default_route_takes_the_family_of_its_gateway():
    model = parse_network({"ethernets": {"eth0": {"routes": [
        {"to": "default", "via": "192.0.2.1"}, {"to": "default", "via": "2001:db8::1"}]}}})
    assert [r.to for r in model.interfaces[0].routes] == ["0.0.0.0/0", "::/0"]


def test_yes_no_strings_are_booleans_and_macs_are_normalised():
    model = parse_network({"ethernets": {"x": {"dhcp4": "yes", "dhcp6": "no",
                                               "match": {"macaddress": "52-54-00-AB-CD-EF"}}}})
    iface = model.interfaces[0]
    assert iface.dhcp4 is True and iface.dhcp6 is False and iface.match.macaddress == "52:54:00:ab:cd:ef"


def test_disabled_and_absent_are_empty():
    assert is_disabled({"config": "disabled"})
    assert parse_network({"config": "disabled"}).interfaces == ()
    assert parse_network(None).interfaces == ()
    assert parse_network({"version": 2}).interfaces == ()


@pytest.mark.parametrize(("change", "path", "words"), [
    (lambda n: n["ethernets"]["lan"].update(addresses=["192.168.1.10"]), "network.ethernets.lan.addresses[0]", "prefix"),
    (lambda n: n["ethernets"]["lan"].update(gateway4="2001:db8::1"), "network.ethernets.lan.gateway4", "IPv4"),
    (lambda n: n["ethernets"]["lan"].update(mtu=10), "network.ethernets.lan.mtu", "68"),
    (lambda n: n["ethernets"]["lan"].update(bogus=1), "network.ethernets.lan.bogus", "unknown"),
    (lambda n: n["ethernets"]["lan"]["match"].update(macaddress="zz"), "network.ethernets.lan.match.macaddress", "MAC"),
    (lambda n: n["ethernets"]["lan"].update({"set-name": "x/y"}), "network.ethernets.lan.set-name", "interface name"),
    (lambda n: n["ethernets"].update({"bad/id": {}}), "network.ethernets.bad/id", "id"),
    (lambda n: n["bonds"]["bond0"].update(interfaces=["p1", "nope"]), "network.bonds.bond0.interfaces", "nope"),
    (lambda n: n["bonds"]["bond0"]["parameters"].update(mode="fastest"), "network.bonds.bond0.parameters.mode", "one of"),
    (lambda n: n["bonds"]["bond0"]["parameters"].update(colour=1), "network.bonds.bond0.parameters.colour", "unknown bond"),
    (lambda n: n["vlans"]["vlan10"].update(link="eth7"), "network.vlans.vlan10.link", "eth7"),
    (lambda n: n["vlans"]["vlan10"].update(id=5000), "network.vlans.vlan10.id", "4094"),
    (lambda n: n["ethernets"]["eth0"].update(routes=[{"to": "10.0.0.0/8", "via": "2001:db8::1"}]),
     "network.ethernets.eth0.routes[0].via", "family"),
    (lambda n: n["ethernets"]["eth0"].update(routes=[{"to": "10/8", "table": 5}]), "network.ethernets.eth0.routes[0].table", "policy"),
    (lambda n: n["ethernets"]["eth0"].update(nameservers={"search": ["bad domain"]}), "network.ethernets.eth0.nameservers.search[0]", "domain"),
    (lambda n: n["ethernets"]["eth0"].update(match={"macaddress": "52:54:00:00:00:09"}, **{"set-name": "lan0"}),
     "network.ethernets.", "names device 'lan0'"),
    (lambda n: n.update(version=3), "network.version", "1 or 2"),
])
def test_bad_input_is_a_located_error(change, path, words):
    net = copy.deepcopy(FULL)
    change(net)
    with pytest.raises(NetworkConfigError) as err:
        parse_network(net)
    assert err.value.path.startswith(path)
    assert words in str(err.value)


def test_a_member_of_two_bonds_is_refused():
    net = copy.deepcopy(FULL)
    net["bonds"]["bond1"] = {"interfaces": ["p1"]}
    with pytest.raises(NetworkConfigError, match="already a member of bond 'bond0'"):
        parse_network(net)


def test_version_1_goes_through_netconv():
    model = parse_network(V1)
    eth0 = model.get("eth0")
    assert eth0.match.macaddress == "52:54:00:12:34:56" and eth0.name == "eth0"
    assert eth0.addresses == ("192.168.1.10/24",) and eth0.gateway4 == "192.168.1.1" and eth0.dns == ("1.1.1.1",)


def test_v1_disabled_and_translation_errors():
    assert parse_network({"version": 1, "config": "disabled"}).interfaces == ()
    with pytest.raises(NetworkConfigError, match=r"^network: version 1 config cannot be translated: .*unknown type"):
        parse_network({"version": 1, "config": [{"type": "wormhole", "name": "x"}]})


def test_configdrive_and_ec2_metadata_land_in_the_same_model():
    from ros_init.network.convert import configdrive_to_v2, ec2_macs_to_v2

    cd = configdrive_to_v2({
        "links": [{"id": "tap1", "type": "phy", "ethernet_mac_address": "FA:16:3E:00:00:01", "mtu": 1450}],
        "networks": [{"id": "n1", "link": "tap1", "type": "ipv4", "ip_address": "10.0.0.5",
                      "netmask": "255.255.255.0", "routes": [{"network": "0.0.0.0", "netmask": "0.0.0.0",
                                                              "gateway": "10.0.0.1"}]}],
        "services": [{"type": "dns", "address": "10.0.0.2"}],
    })
    iface = parse_network(cd).interfaces[0]
    assert (iface.match.macaddress, iface.addresses, iface.mtu, iface.dns) == (
        "fa:16:3e:00:00:01", ("10.0.0.5/24",), 1450, ("10.0.0.2",))
    assert iface.routes[0].to == "0.0.0.0/0" and iface.routes[0].via == "10.0.0.1"
    ec2 = ec2_macs_to_v2({"0a:00:00:00:00:01": {"device-number": "0", "local-ipv4s": "172.31.1.5\n172.31.1.6",
                                                "subnet-ipv4-cidr-block": "172.31.0.0/20"},
                          "0a:00:00:00:00:02": {"device-number": "1"}})
    model = parse_network(ec2)
    assert [(i.match.macaddress, i.dhcp4, i.addresses, i.optional) for i in model.interfaces] == [
        ("0a:00:00:00:00:01", True, ("172.31.1.6/20",), False), ("0a:00:00:00:00:02", True, (), True)]


def test_unknown_top_level_keys_are_refused_bridges_parsed():
    with pytest.raises(NetworkConfigError, match="network.wifis: unknown key"):
        parse_network({"wifis": {}})
    model = parse_network({"renderer": "NetworkManager", "bridges": {"br0": {"interfaces": ["eth0"], "dhcp4": True}},
                           "ethernets": {"eth0": {}}})
    assert [(i.id, i.kind, i.controller) for i in model.interfaces] == [("eth0", "ethernet", "br0"),
                                                                        ("br0", "bridge", None)]


def test_schema_ignored_netplan_keys_are_accepted_and_durations_parsed():
    model = parse_network({"ethernets": {"eth0": {"critical": True, "ipv6-privacy": True},
                                         "eth1": {"dhcp4": True, "dhcp4-overrides": {"use-dns": False}}},
                           "bonds": {"bond0": {"interfaces": ["eth0"], "wakeonlan": True, "parameters": {
                               "mii-monitor-interval": "2s", "up-delay": "150ms", "down-delay": "40"}}},
                           "vlans": {}})
    assert model.get("eth1").dhcp4
    assert dict(model.get("bond0").bond_params) == {"mii-monitor-interval": 2000, "up-delay": 150, "down-delay": 40}


@pytest.mark.parametrize("kind", ["bonds", "bridges"])
def test_ip_configuration_on_a_member_is_refused_not_dropped(kind):
    with pytest.raises(NetworkConfigError, match=rf"network.ethernets.eth0.dhcp4: a member of {kind[:-1]} 'x0' has no IP"):
        parse_network({"ethernets": {"eth0": {"dhcp4": True}}, kind: {"x0": {"interfaces": ["eth0"]}}})


def test_bad_duration_is_a_located_error():
    with pytest.raises(NetworkConfigError, match=r"network.bonds.bond0.parameters.up-delay: '1 minute'"):
        parse_network({"bonds": {"bond0": {"parameters": {"up-delay": "1 minute"}}}})


def test_every_key_the_schema_accepts_is_known_to_the_model():
    """The schema is the documentation of record: no key it lets through may fail here."""
    import json
    from importlib import resources

    from ros_init.network.model import _COMMON_KEYS, _KIND_KEYS, BOND_PARAMS, BRIDGE_PARAMS

    schema = json.loads(resources.files("ros_init.schemas").joinpath("cloud-config.v1.json").read_text())
    for name, kind in (("netEthernet", "ethernet"), ("netBond", "bond"), ("netVlan", "vlan"), ("netBridge", "bridge")):
        assert set(schema["$defs"][name]["properties"]) <= _COMMON_KEYS | _KIND_KEYS[kind], name
    # ... and the model knows every bond parameter the schema lets through (all of them: issue 17)
    assert set(schema["$defs"]["netBond"]["properties"]["parameters"]["properties"]) == set(BOND_PARAMS)
    assert set(schema["$defs"]["netBridge"]["properties"]["parameters"]["properties"]) == set(BRIDGE_PARAMS)


def test_gateways_split_into_plain_gateways_and_on_link_default_routes():
    """An on-link gateway cannot be a plain gateway setting: it becomes its default route,
    on-link, ahead of the configured routes; per family or both, gateway4 first."""
    from ros_init.network.model import default_route

    model = parse_network({"ethernets": {
        "eth0": {"addresses": ["10.0.0.2/32", "2001:db8::2/64"], "gateway4": "10.0.0.1", "gateway6": "2001:db8::1",
                 "routes": [{"to": "192.0.2.0/24", "via": "10.0.0.1"}, {"to": "2001:db8:1::/48", "via": "2001:db8::9"}]},
        "eth1": {"dhcp4": True}}})
    eth0, eth1 = model.interfaces
    onlink4 = Route("0.0.0.0/0", "10.0.0.1", None, True)
    assert eth0.gateway_routes == (onlink4, Route("::/0", "2001:db8::1"))
    assert eth0.gateways_and_routes() == (("2001:db8::1",), (onlink4, *eth0.routes))
    assert eth0.gateways_and_routes(4) == ((), (onlink4, eth0.routes[0]))
    assert eth0.gateways_and_routes(6) == (("2001:db8::1",), (eth0.routes[1],))
    assert eth1.gateway_routes == () and eth1.gateways_and_routes() == ((), ())
    assert default_route("2001:db8::1") == Route("::/0", "2001:db8::1")
    assert default_route("192.0.2.1", on_link=True) == Route("0.0.0.0/0", "192.0.2.1", None, True)


def test_port_settings_are_the_bridge_s_per_port_values_for_that_port():
    model = parse_network({"ethernets": {"p1": {}, "p2": {}, "p3": {}},
                           "bridges": {"br0": {"interfaces": ["p1", "p2"], "parameters": {
                               "stp": True, "port-priority": {"p1": 7}, "path-cost": {"p1": 50, "p2": 9}}}}})
    p1, p2, p3, br0 = (model.get(i) for i in ("p1", "p2", "p3", "br0"))
    assert model.port_settings(p1) == (("path-cost", 50), ("port-priority", 7))
    assert model.port_settings(p2) == (("path-cost", 9),)
    assert model.port_settings(p3) == () and model.port_settings(br0) == ()
    bonded = parse_network({"ethernets": {"p1": {}}, "bonds": {"bond0": {"interfaces": ["p1"]}}})
    assert bonded.port_settings(bonded.get("p1")) == ()
