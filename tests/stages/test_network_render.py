"""The three renderers: pure functions from the model to file contents, read back as the
services read them (INI for NetworkManager and networkd, shell assignments for wicked)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from hypothesis import given, settings
from network_cases import BOND_ALL_PARAMS, FULL, network_configs
from network_files import ini_items, keyfile

from ros_init.network import networkd as netrender_networkd
from ros_init.network import networkmanager as netrender_nm
from ros_init.network import wicked as netrender_wicked
from ros_init.network.model import parse_network
from ros_init.network.nics import Nic, device_names

NICS = [Nic("ens3", "52:54:00:12:34:56", "virtio_net", True), Nic("ens4", "52:54:00:00:00:01", "virtio_net", True),
        Nic("ens5", "52:54:00:00:00:02", "e1000", True)]


def names_for(model, nics=NICS):
    return device_names(model.interfaces, nics)


def nm_files(net=FULL):
    model = parse_network(net)
    return netrender_nm.render(model, names_for(model))


# -- NetworkManager -------------------------------------------------------------------
def test_nm_keyfiles_are_0600_with_stable_uuids():
    files = nm_files()
    assert sorted(files) == [f"/etc/NetworkManager/system-connections/ros-init-{i}.nmconnection"
                             for i in sorted(["eth0", "lan", "p1", "p2", "bond0", "vlan10"])]
    assert {mode for _, mode in files.values()} == {0o600}
    assert files == nm_files()  # same config, same bytes (uuid5 of the id)
    uuids = {keyfile(d)["connection"]["uuid"] for d, _ in files.values()}
    assert len(uuids) == 6


def test_nm_static_interface_matched_by_mac():
    cp = keyfile(nm_files()["/etc/NetworkManager/system-connections/ros-init-lan.nmconnection"][0])
    assert cp["connection"]["type"] == "ethernet"
    assert "interface-name" not in cp["connection"]  # the MAC decides, renamed (set-name) or not yet
    assert cp["ethernet"]["mac-address"] == "52:54:00:12:34:56" and cp["ethernet"]["mtu"] == "9000"
    assert cp["ipv4"]["method"] == "manual" and cp["ipv4"]["address1"] == "192.168.1.10/24"
    assert cp["ipv4"]["gateway"] == "192.168.1.1" and cp["ipv4"]["dns"] == "1.1.1.1;"
    assert cp["ipv4"]["dns-search"] == "example.com;corp.example;"
    assert cp["ipv4"]["route1"] == "10.0.0.0/8,192.168.1.254,100" and cp["ipv4"]["route1_options"] == "onlink=true"
    assert cp["ipv6"]["method"] == "manual" and cp["ipv6"]["address1"] == "2001:db8::10/64"
    assert cp["ipv6"]["gateway"] == "2001:db8::1" and cp["ipv6"]["route1"] == "2001:db8:1::/48,2001:db8::fe"


def test_nm_bond_ports_and_vlan_point_at_their_profiles():
    files = nm_files()
    folder = "/etc/NetworkManager/system-connections"
    bond = keyfile(files[f"{folder}/ros-init-bond0.nmconnection"][0])
    port = keyfile(files[f"{folder}/ros-init-p1.nmconnection"][0])
    vlan = keyfile(files[f"{folder}/ros-init-vlan10.nmconnection"][0])
    assert bond["connection"]["type"] == "bond"
    assert dict(bond["bond"]) == {"mode": "active-backup", "all_slaves_active": "0", "miimon": "100",
                                  "primary": "ens4", "updelay": "200"}
    assert bond["ipv4"]["method"] == "auto" and bond["ipv6"]["method"] == "auto"
    assert port["connection"]["master"] == bond["connection"]["uuid"]
    assert port["connection"]["slave-type"] == "bond"
    assert "ipv4" not in port and "interface-name" not in port["connection"]
    assert port["ethernet"]["mac-address"] == "52:54:00:00:00:01"
    assert vlan["vlan"]["id"] == "10" and vlan["vlan"]["parent"] == bond["connection"]["uuid"]


def test_nm_glob_and_driver_matches_use_the_match_section():
    files = nm_files({"ethernets": {"any": {"match": {"name": "en*", "driver": "virtio_net"}, "dhcp4": True}}})
    cp = keyfile(next(iter(files.values()))[0])
    assert dict(cp["match"]) == {"interface-name": "en*", "driver": "virtio_net"}
    assert "interface-name" not in cp["connection"]


def test_nm_no_ip_config_disables_ipv4_and_leaves_ipv6_to_the_kernel():
    cp = keyfile(next(iter(nm_files({"ethernets": {"eth1": {}}}).values()))[0])
    assert cp["ipv4"]["method"] == "disabled" and cp["ipv6"]["method"] == "ignore"


def test_nm_bond_primary_that_is_not_present_is_left_out():
    model = parse_network(FULL)
    files = netrender_nm.render(model, names_for(model, nics=[]))
    bond = keyfile(files["/etc/NetworkManager/system-connections/ros-init-bond0.nmconnection"][0])
    assert "primary" not in bond["bond"]


NM_DEFAULTS = {("connection", "autoconnect", "true"),
               ("bridge", "stp", "true"), ("bridge", "priority", "32768"), ("bridge", "forward-delay", "15"),
               ("bridge", "hello-time", "2"), ("bridge", "max-age", "20"), ("bridge", "ageing-time", "300"),
               ("bridge-port", "priority", "32"), ("bridge-port", "path-cost", "100")}


def _nmcli() -> list[str]:
    from facilities import unpacked_tool

    nmcli = shutil.which("nmcli")
    if nmcli is not None:
        return [nmcli]
    cmd = unpacked_tool("network-manager", ["network-manager", "libnm0"], "/usr/bin/nmcli")
    if cmd is None:
        pytest.skip("needs nmcli >= 1.40: not installed, and Debian's network-manager could not be unpacked")
    return cmd


def test_nmcli_offline_reads_every_keyfile_and_keeps_every_key():
    """NetworkManager's own keyfile reader and verifier (nmcli --offline, NM >= 1.40)."""
    nets = [FULL, BOND_ALL_PARAMS, {"ethernets": {"any": {"match": {"name": "en*", "driver": "virtio_net"},
                                                          "dhcp6": True, "wakeonlan": True}}}]
    nmcli_accepts_and_keeps(_nmcli(), nets)


@settings(max_examples=25, deadline=None)
@given(net=network_configs())
def test_property_nmcli_accepts_random_configs(net):
    nmcli_accepts_and_keeps(_nmcli(), [net])


def nmcli_accepts_and_keeps(nmcli: list[str], nets: list) -> None:
    for net in nets:
        for path, (data, _) in nm_files(net).items():
            proc = subprocess.run([*nmcli, "--offline", "connection", "modify", "connection.autoconnect", "yes"],
                                  input=data, capture_output=True, timeout=30)
            assert proc.returncode == 0, (path, proc.stderr.decode())
            back = keyfile(proc.stdout)
            ours = keyfile(data)
            for section in ours.sections():
                for key, value in ours[section].items():
                    if (section, key) in (("ipv4", "gateway"), ("ipv6", "gateway")):
                        # NM folds the gateway into the first address
                        assert back[section]["address1"].endswith("," + value), path
                        continue
                    if (section, key, value) in NM_DEFAULTS and (not back.has_section(section)
                                                                  or key not in back[section]):
                        continue  # NM does not write a property that has its default value
                    got = back[section][key]
                    if key == "address1" and "gateway" in ours[section]:
                        got = got.rsplit(",", 1)[0]
                    if key.endswith("mac-address"):
                        got = got.lower()  # NM writes MACs in upper case
                    assert got.rstrip(";") == value.rstrip(";"), (path, section, key)


# -- systemd-networkd -------------------------------------------------------------------
def nd_files(net=FULL):
    model = parse_network(net)
    return netrender_networkd.render(model, names_for(model))


def test_networkd_files_and_matches():
    files = nd_files()
    folder = "/etc/systemd/network/10-ros-init-"
    assert sorted(p.removeprefix(folder) for p in files) == [
        "bond0.netdev", "bond0.network", "eth0.network", "lan.link", "lan.network", "p1.network",
        "p2.network", "vlan10.netdev", "vlan10.network"]
    lan = ini_items(files[folder + "lan.network"][0])
    assert ("Match", "MACAddress", "52:54:00:12:34:56") in lan and ("Match", "Type", "ether") in lan
    assert [v for s, k, v in lan if k == "Address"] == ["192.168.1.10/24", "2001:db8::10/64"]
    assert [v for s, k, v in lan if (s, k) == ("Network", "Gateway")] == ["192.168.1.1", "2001:db8::1"]
    assert [v for s, k, v in lan if k == "DNS"] == ["1.1.1.1", "2001:db8::53"]
    assert ("Network", "Domains", "example.com corp.example") in lan and ("Link", "MTUBytes", "9000") in lan
    assert ("Route", "GatewayOnLink", "yes") in lan and ("Route", "Metric", "100") in lan
    link = ini_items(files[folder + "lan.link"][0])
    assert link == [("Match", "MACAddress", "52:54:00:12:34:56"), ("Match", "Type", "ether"), ("Link", "Name", "lan0")]


def test_networkd_bond_and_vlan():
    files = nd_files()
    folder = "/etc/systemd/network/10-ros-init-"
    netdev = ini_items(files[folder + "bond0.netdev"][0])
    assert netdev[:3] == [("NetDev", "Name", "bond0"), ("NetDev", "Kind", "bond"), ("Bond", "Mode", "active-backup")]
    assert ("Bond", "MIIMonitorSec", "100ms") in netdev and ("Bond", "UpDelaySec", "200ms") in netdev
    assert ("Bond", "AllSlavesActive", "no") in netdev
    p1 = ini_items(files[folder + "p1.network"][0])
    assert ("Network", "Bond", "bond0") in p1 and ("Network", "PrimarySlave", "yes") in p1
    assert not any(k == "DHCP" for _, k, _ in p1)
    assert ("Network", "VLAN", "vlan10") in ini_items(files[folder + "bond0.network"][0])
    assert ("Network", "DHCP", "yes") in ini_items(files[folder + "bond0.network"][0])
    assert ini_items(files[folder + "vlan10.netdev"][0]) == [
        ("NetDev", "Name", "vlan10"), ("NetDev", "Kind", "vlan"), ("NetDev", "MTUBytes", "1400"), ("VLAN", "Id", "10")]


# -- wicked -------------------------------------------------------------------------------
def wk_files(net=FULL, nics=NICS, netconfig=None):
    model = parse_network(net)
    return netrender_wicked.render(model, names_for(model, nics))


def sourced(data: bytes, *names: str) -> dict[str, str]:
    """Values as a shell sees them (wicked's sysconfig reader follows shell quoting)."""
    script = "set -eu\n" + data.decode() + "\n" + "".join(f'printf "%s\\0" "${{{n}-}}"\n' for n in names)
    out = subprocess.run(["bash", "-c", script], capture_output=True, check=True).stdout.decode()
    return dict(zip(names, out.split("\0")[:-1], strict=True))


def test_wicked_names_files_by_kernel_name_found_by_mac():
    files = wk_files()
    folder = "/etc/sysconfig/network/"
    assert sorted(p.removeprefix(folder) for p in files) == [
        "ifcfg-bond0", "ifcfg-ens4", "ifcfg-ens5", "ifcfg-eth0", "ifcfg-lan0", "ifcfg-vlan10", "ifroute-lan0"]
    lan = sourced(files[folder + "ifcfg-lan0"][0], "BOOTPROTO", "STARTMODE", "IPADDR_0", "IPADDR_1", "MTU")
    assert lan == {"BOOTPROTO": "static", "STARTMODE": "auto", "IPADDR_0": "192.168.1.10/24",
                   "IPADDR_1": "2001:db8::10/64", "MTU": "9000"}
    bond = sourced(files[folder + "ifcfg-bond0"][0], "BOOTPROTO", "BONDING_MASTER", "BONDING_SLAVE_0",
                   "BONDING_SLAVE_1", "BONDING_MODULE_OPTS")
    assert bond == {"BOOTPROTO": "dhcp", "BONDING_MASTER": "yes", "BONDING_SLAVE_0": "ens4", "BONDING_SLAVE_1": "ens5",
                    "BONDING_MODULE_OPTS": "mode=active-backup all_slaves_active=0 miimon=100 primary=ens4 updelay=200"}
    assert sourced(files[folder + "ifcfg-ens4"][0], "BOOTPROTO", "STARTMODE") == {"BOOTPROTO": "none", "STARTMODE": "hotplug"}
    assert sourced(files[folder + "ifcfg-vlan10"][0], "ETHERDEVICE", "VLAN_ID") == {"ETHERDEVICE": "bond0", "VLAN_ID": "10"}
    routes = files[folder + "ifroute-lan0"][0].decode().splitlines()[1:]
    assert routes == ["default 192.168.1.1 - lan0", "default 2001:db8::1 - lan0",
                      "10.0.0.0/8 - - lan0 metric 100 nexthop via 192.168.1.254 dev lan0 onlink",
                      "2001:db8:1::/48 2001:db8::fe - lan0"]
    assert all(d.startswith(netrender_wicked.MARKER.encode()) for d, _ in files.values())


def test_wicked_skips_devices_that_are_not_present():
    files = wk_files(nics=[])
    assert "/etc/sysconfig/network/ifcfg-ens4" not in files
    assert "BONDING_SLAVE_0" not in files["/etc/sysconfig/network/ifcfg-bond0"][0].decode()


def test_wicked_dhcp_variants():
    for flags, proto in (((True, True), "dhcp"), ((True, False), "dhcp4"), ((False, True), "dhcp6"), ((False, False), "static")):
        files = wk_files({"ethernets": {"eth0": {"dhcp4": flags[0], "dhcp6": flags[1]}}})
        got = sourced(files["/etc/sysconfig/network/ifcfg-eth0"][0], "BOOTPROTO", "DHCLIENT6_MODE")
        assert got == {"BOOTPROTO": proto, "DHCLIENT6_MODE": "managed" if flags[1] else ""}


def test_netconfig_edit_keeps_the_rest_of_the_file():
    text = ('## Type: string\n# NETCONFIG_DNS_STATIC_SERVERS="commented"\nNETCONFIG_DNS_POLICY="auto"\n'
            'NETCONFIG_DNS_STATIC_SERVERS=""\nOTHER="x"\n')
    out = netrender_wicked.edit_netconfig(text, ("1.1.1.1", "2001:db8::53"), ("example.com",))
    assert out.splitlines() == ['## Type: string', '# NETCONFIG_DNS_STATIC_SERVERS="commented"',
                                'NETCONFIG_DNS_POLICY="auto"', 'NETCONFIG_DNS_STATIC_SERVERS="1.1.1.1 2001:db8::53"',
                                'OTHER="x"', 'NETCONFIG_DNS_STATIC_SEARCHLIST="example.com"']
    assert netrender_wicked.edit_netconfig(out, ("1.1.1.1", "2001:db8::53"), ("example.com",)) == out
    values = sourced(out.encode(), "NETCONFIG_DNS_STATIC_SERVERS", "NETCONFIG_DNS_POLICY")
    assert values["NETCONFIG_DNS_STATIC_SERVERS"] == "1.1.1.1 2001:db8::53"


def test_wicked_refuses_values_that_would_break_quoting():
    with pytest.raises(ValueError):
        netrender_wicked.quote("a'b")
