"""Each construct of issue 17, written as a user writes it (a cloud-config file), validated,
merged and run by the CLI (``ros-init validate`` / ``ros-init run``) into a scratch root, and
read back from the files of each of the three renderers."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from network_cases import BOND_ALL_PARAMS
from network_files import ini_items, keyfile

from ros_init.cli import main

V2 = """\
#cloud-config
network:
  version: 2
  ethernets:
    eth0:
      addresses: [10.0.0.2/32, "2001:db8::2/64"]
      gateway4: 10.0.0.1
      routes: [{to: 10.9.0.0/16, via: 10.0.0.1}]
      accept-ra: false
      ipv6-mtu: 1400
      mtu: 9000
      wakeonlan: true
    eth1:
      dhcp4: true
      dhcp4-overrides: {route-metric: 200}
      dhcp6-overrides: {route-metric: 300}
      macaddress: "02:00:00:00:00:01"
      accept-ra: true
    p1: {}
    p2: {}
    bp1: {}
    bp2: {}
  bonds:
    bond0:
      interfaces: [p1, p2]
      macaddress: "02:00:00:00:00:b0"
      dhcp4: true
      parameters: {mode: active-backup, arp-interval: 100, arp-ip-targets: [10.0.0.9], arp-validate: all,
                   arp-all-targets: any, gratuitous-arp: 3, primary-reselect-policy: better,
                   all-slaves-active: true}
  vlans:
    vlan10: {id: 10, link: bond0, macaddress: "02:00:00:00:00:10", addresses: [10.10.0.2/24]}
  bridges:
    br0:
      interfaces: [bp1, bp2]
      dhcp4: true
      parameters: {stp: true, forward-delay: 4, hello-time: 2, max-age: 12, priority: 100, ageing-time: 300,
                   path-cost: {bp1: 10}, port-priority: {bp2: 20}}
"""

V1 = """\
#cloud-config
network:
  version: 1
  config:
    - {type: loopback, name: lo, subnets: [{type: static, address: 127.0.0.1/8}]}
    - type: physical
      name: eth0
      mtu: 9000
      subnets:
        - {type: static, address: "2001:db8::10", netmask: "ffff:ffff:ffff:ffff::", mtu: 1480}
        - {type: static, address: 10.0.0.5/24, gateway: 10.0.0.1, dns_nameservers: [10.0.0.53]}
        - {type: static, address: 10.0.1.5/24, gateway: 10.0.1.1}
        - {type: static, address: 10.2.0.5}
    - {type: physical, name: eth1, subnets: [{type: ipv6_slaac}, {type: dhcp4}]}
    - {type: physical, name: eth2, subnets: [{type: ipv6_dhcpv6-stateless}]}
    - {type: physical, name: ens3}
    - {type: physical, name: ens4}
    - type: bond
      name: bond0
      mac_address: "02:00:00:00:00:b1"
      bond_interfaces: [ens3, ens4]
      params: {bond-mode: 802.3ad, bond_miimon: 100, bond-lacp_rate: fast, bond-xmit_hash_policy: layer3+4,
               bond-num_grat_arp: 2, bond-fail_over_mac: none, bond-primary_reselect: always}
      subnets: [{type: dhcp4}]
    - {type: physical, name: ens5}
    - {type: physical, name: ens6}
    - type: bridge
      name: br0
      bridge_interfaces: [ens5, ens6]
      params: {bridge_stp: "off", bridge_fd: 3, bridge_pathcost: ["ens5 40"], bridge_portprio: ["ens6 12"]}
      subnets: [{type: dhcp4}]
    - {type: nameserver, address: [1.1.1.1], search: [example.com]}
"""


def run(tmp_path: Path, text: str, renderer: str, capsys) -> Path:
    """validate, then run the initramfs phase into a fresh root; the root."""
    cfg = tmp_path / f"config-{renderer}.yaml"
    cfg.write_text(text)
    assert main(["validate", str(cfg)]) == 0, capsys.readouterr()
    root = tmp_path / f"root-{renderer}"
    root.mkdir()
    settings = tmp_path / "settings.yaml"
    settings.write_text(f"network_renderer: {renderer}\nstate_dir: /var/lib/ros-init\n")
    code = main(["run", "--root", str(root), "--settings", str(settings),
                 "--phase", "initramfs", "--config", str(cfg)])
    assert code == 0, capsys.readouterr()
    return root


def sysconfig(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines()[1:]:
        key, _, value = line.partition("=")
        out[key] = value.strip("'")
    return out


ND = "etc/systemd/network/10-ros-init-"
NM = "etc/NetworkManager/system-connections/ros-init-"
WK = "etc/sysconfig/network/"


# -- version 2 ------------------------------------------------------------------------------
def test_v2_constructs_networkd(tmp_path, capsys):
    root = run(tmp_path, V2, "networkd", capsys)
    eth0 = ini_items(root / (ND + "eth0.network"))
    # on-link default route (gateway outside 10.0.0.2/32) and on-link static route
    assert ("Route", "Destination", "0.0.0.0/0") in eth0 and eth0.count(("Route", "GatewayOnLink", "yes")) == 2
    assert not any(k == "Gateway" and s == "Network" for s, k, _ in eth0)
    assert ("Network", "IPv6AcceptRA", "no") in eth0 and ("Network", "IPv6MTUBytes", "1400") in eth0
    assert ("Link", "MTUBytes", "9000") in eth0
    link = ini_items(root / (ND + "eth0.link"))  # wake-on-LAN without set-name: the default naming kept
    assert ("Link", "WakeOnLan", "magic") in link and ("Link", "NamePolicy", "keep kernel database onboard slot path") in link
    assert ("Match", "OriginalName", "eth0") in link and not any(k == "Name" for _, k, _ in link)
    eth1 = ini_items(root / (ND + "eth1.network"))
    assert ("DHCPv4", "RouteMetric", "200") in eth1 and ("Network", "IPv6AcceptRA", "yes") in eth1
    assert ("IPv6AcceptRA", "RouteMetric", "300") in eth1  # IPv6 default routes come from RAs
    assert ("Link", "MACAddress", "02:00:00:00:00:01") in eth1
    bond = ini_items(root / (ND + "bond0.netdev"))
    assert ("NetDev", "MACAddress", "02:00:00:00:00:b0") in bond
    for key, value in (("ARPIntervalSec", "100ms"), ("ARPIPTargets", "10.0.0.9"), ("ARPValidate", "all"),
                       ("ARPAllTargets", "any"), ("GratuitousARP", "3"), ("PrimaryReselectPolicy", "better"),
                       ("AllSlavesActive", "yes")):
        assert ("Bond", key, value) in bond
    assert ("NetDev", "MACAddress", "02:00:00:00:00:10") in ini_items(root / (ND + "vlan10.netdev"))
    br = ini_items(root / (ND + "br0.netdev"))
    assert br[:2] == [("NetDev", "Name", "br0"), ("NetDev", "Kind", "bridge")]
    assert {("Bridge", "STP", "yes"), ("Bridge", "ForwardDelaySec", "4"), ("Bridge", "HelloTimeSec", "2"),
            ("Bridge", "MaxAgeSec", "12"), ("Bridge", "Priority", "100"), ("Bridge", "AgeingTimeSec", "300")} <= set(br)
    bp1, bp2 = ini_items(root / (ND + "bp1.network")), ini_items(root / (ND + "bp2.network"))
    assert ("Network", "Bridge", "br0") in bp1 and ("Bridge", "Cost", "10") in bp1
    assert ("Bridge", "Priority", "20") in bp2 and not any(k == "Cost" for _, k, _ in bp2)
    assert ("Network", "DHCP", "ipv4") in ini_items(root / (ND + "br0.network"))


def test_v2_constructs_networkmanager(tmp_path, capsys):
    root = run(tmp_path, V2, "networkmanager", capsys)
    eth0 = keyfile(root / (NM + "eth0.nmconnection"))
    assert eth0["ipv4"]["route1"] == "0.0.0.0/0,10.0.0.1" and eth0["ipv4"]["route1_options"] == "onlink=true"
    assert eth0["ipv4"]["route2_options"] == "onlink=true" and "gateway" not in eth0["ipv4"]
    assert eth0["ipv6"]["method"] == "manual" and eth0["ipv6"]["mtu"] == "1400"  # accept-ra false
    assert eth0["ethernet"]["wake-on-lan"] == "64"
    eth1 = keyfile(root / (NM + "eth1.nmconnection"))
    assert eth1["ipv4"]["route-metric"] == "200" and eth1["ipv6"]["method"] == "auto"  # accept-ra: SLAAC
    assert eth1["ipv6"]["route-metric"] == "300"
    assert eth1["ethernet"]["cloned-mac-address"] == "02:00:00:00:00:01"
    bond = keyfile(root / (NM + "bond0.nmconnection"))
    assert bond["ethernet"]["cloned-mac-address"] == "02:00:00:00:00:b0"
    assert {k: bond["bond"][k] for k in ("arp_interval", "arp_ip_target", "arp_validate", "arp_all_targets",
                                         "num_grat_arp", "primary_reselect", "all_slaves_active")} == {
        "arp_interval": "100", "arp_ip_target": "10.0.0.9", "arp_validate": "all", "arp_all_targets": "any",
        "num_grat_arp": "3", "primary_reselect": "better", "all_slaves_active": "1"}
    assert keyfile(root / (NM + "vlan10.nmconnection"))["ethernet"]["cloned-mac-address"] == "02:00:00:00:00:10"
    br = keyfile(root / (NM + "br0.nmconnection"))
    assert br["connection"]["type"] == "bridge" and br["ipv4"]["method"] == "auto"
    assert dict(br["bridge"]) == {"stp": "true", "forward-delay": "4", "hello-time": "2", "max-age": "12",
                                  "priority": "100", "ageing-time": "300"}
    bp1, bp2 = keyfile(root / (NM + "bp1.nmconnection")), keyfile(root / (NM + "bp2.nmconnection"))
    assert bp1["connection"]["slave-type"] == "bridge" and bp1["connection"]["master"] == br["connection"]["uuid"]
    assert dict(bp1["bridge-port"]) == {"path-cost": "10"} and dict(bp2["bridge-port"]) == {"priority": "20"}
    assert "ipv4" not in bp1


def test_v2_constructs_wicked(tmp_path, capsys):
    root = run(tmp_path, V2, "wicked", capsys)
    routes = (root / (WK + "ifroute-eth0")).read_text().splitlines()[1:]
    assert routes == ["default - - eth0 nexthop via 10.0.0.1 dev eth0 onlink",
                      "10.9.0.0/16 - - eth0 nexthop via 10.0.0.1 dev eth0 onlink"]
    assert (root / (WK + "ifsysctl-eth0")).read_text().splitlines()[1:] == [
        "net/ipv6/conf/eth0/accept_ra = 0", "net/ipv6/conf/eth0/mtu = 1400"]
    assert sysconfig(root / (WK + "ifcfg-eth0"))["ETHTOOL_OPTIONS"] == "wol g"
    eth1 = sysconfig(root / (WK + "ifcfg-eth1"))
    assert eth1["DHCLIENT_ROUTE_PRIORITY"] == "200" and eth1["LLADDR"] == "02:00:00:00:00:01"
    assert eth1["BOOTPROTO"] == "dhcp" and eth1["DHCLIENT6_MODE"] == "auto"  # accept-ra: the router decides
    bond = sysconfig(root / (WK + "ifcfg-bond0"))
    assert bond["LLADDR"] == "02:00:00:00:00:b0"
    assert bond["BONDING_MODULE_OPTS"] == ("mode=active-backup all_slaves_active=1 arp_all_targets=any "
                                           "arp_interval=100 arp_ip_target=10.0.0.9 arp_validate=all "
                                           "num_grat_arp=3 primary_reselect=better")
    assert sysconfig(root / (WK + "ifcfg-vlan10"))["LLADDR"] == "02:00:00:00:00:10"
    br = sysconfig(root / (WK + "ifcfg-br0"))
    assert {k: v for k, v in br.items() if k.startswith("BRIDGE")} == {
        "BRIDGE": "yes", "BRIDGE_PORTS": "bp1 bp2", "BRIDGE_STP": "on", "BRIDGE_FORWARDDELAY": "4",
        "BRIDGE_HELLOTIME": "2", "BRIDGE_MAXAGE": "12", "BRIDGE_AGEINGTIME": "300", "BRIDGE_PRIORITY": "100",
        "BRIDGE_PORTPRIORITIES": "- 20", "BRIDGE_PATHCOSTS": "10 -"}
    assert sysconfig(root / (WK + "ifcfg-bp1")) == {"BOOTPROTO": "none", "STARTMODE": "auto"}


# -- version 1 ------------------------------------------------------------------------------
def test_v1_constructs_networkd(tmp_path, capsys):
    root = run(tmp_path, V1, "networkd", capsys)
    assert not (root / (ND + "lo.network")).exists()  # loopback skipped
    eth0 = ini_items(root / (ND + "eth0.network"))
    assert [v for s, k, v in eth0 if k == "Address"] == ["2001:db8::10/64", "10.0.0.5/24", "10.0.1.5/24", "10.2.0.5/24"]
    # both subnets' gateways: two default routes (the second as a [Route])
    assert ("Network", "Gateway", "10.0.0.1") in eth0 and ("Route", "Gateway", "10.0.1.1") in eth0
    assert ("Link", "MTUBytes", "9000") in eth0 and ("Network", "IPv6MTUBytes", "1480") in eth0
    # the subnet's DNS merged with the global one, not replaced by it
    assert [v for s, k, v in eth0 if k == "DNS"] == ["10.0.0.53", "1.1.1.1"] and ("Network", "Domains", "example.com") in eth0
    eth1, eth2 = ini_items(root / (ND + "eth1.network")), ini_items(root / (ND + "eth2.network"))
    assert ("Network", "DHCP", "ipv4") in eth1 and ("Network", "IPv6AcceptRA", "yes") in eth1  # SLAAC, no DHCPv6
    assert ("Network", "DHCP", "no") in eth2 and ("Network", "IPv6AcceptRA", "yes") in eth2
    bond = ini_items(root / (ND + "bond0.netdev"))
    assert {("Bond", "Mode", "802.3ad"), ("Bond", "MIIMonitorSec", "100ms"), ("Bond", "LACPTransmitRate", "fast"),
            ("Bond", "TransmitHashPolicy", "layer3+4"), ("Bond", "GratuitousARP", "2"),
            ("Bond", "FailOverMACPolicy", "none"), ("Bond", "PrimaryReselectPolicy", "always"),
            ("NetDev", "MACAddress", "02:00:00:00:00:b1")} <= set(bond)
    assert ("Bridge", "STP", "no") in ini_items(root / (ND + "br0.netdev"))
    assert ("Bridge", "Cost", "40") in ini_items(root / (ND + "ens5.network"))
    assert ("Bridge", "Priority", "12") in ini_items(root / (ND + "ens6.network"))


def test_v1_constructs_networkmanager(tmp_path, capsys):
    root = run(tmp_path, V1, "networkmanager", capsys)
    eth0 = keyfile(root / (NM + "eth0.nmconnection"))
    assert eth0["ipv4"]["gateway"] == "10.0.0.1" and eth0["ipv4"]["route1"] == "0.0.0.0/0,10.0.1.1"
    assert eth0["ipv6"]["address1"] == "2001:db8::10/64" and eth0["ipv6"]["mtu"] == "1480"
    assert eth0["ipv4"]["address3"] == "10.2.0.5/24" and eth0["ethernet"]["mtu"] == "9000"
    assert eth0["ipv4"]["dns"] == "10.0.0.53;1.1.1.1;" and eth0["ipv4"]["dns-search"] == "example.com;"
    assert keyfile(root / (NM + "eth2.nmconnection"))["ipv6"]["method"] == "auto"
    bond = keyfile(root / (NM + "bond0.nmconnection"))
    assert dict(bond["bond"]) == {"mode": "802.3ad", "fail_over_mac": "none", "num_grat_arp": "2", "lacp_rate": "fast",
                                  "miimon": "100", "primary_reselect": "always", "xmit_hash_policy": "layer3+4"}
    assert bond["ethernet"]["cloned-mac-address"] == "02:00:00:00:00:b1"
    assert keyfile(root / (NM + "br0.nmconnection"))["bridge"]["stp"] == "false"
    assert dict(keyfile(root / (NM + "ens5.nmconnection"))["bridge-port"]) == {"path-cost": "40"}
    assert not (root / (NM + "lo.nmconnection")).exists()


def test_v1_constructs_wicked(tmp_path, capsys):
    root = run(tmp_path, V1, "wicked", capsys)
    assert not (root / (WK + "ifcfg-lo")).exists()
    assert (root / (WK + "ifroute-eth0")).read_text().splitlines()[1:] == [
        "default 10.0.0.1 - eth0", "default 10.0.1.1 - eth0"]
    assert "net/ipv6/conf/eth0/mtu = 1480" in (root / (WK + "ifsysctl-eth0")).read_text()
    eth0 = sysconfig(root / (WK + "ifcfg-eth0"))
    assert [eth0[f"IPADDR_{n}"] for n in range(4)] == ["2001:db8::10/64", "10.0.0.5/24", "10.0.1.5/24", "10.2.0.5/24"]
    assert eth0["MTU"] == "9000"
    assert sysconfig(root / (WK + "ifcfg-bond0"))["LLADDR"] == "02:00:00:00:00:b1"
    # wicked has global DNS only: the subnet's and the global servers, merged
    netconfig = (root / "etc/sysconfig/network/config").read_text()
    assert 'NETCONFIG_DNS_STATIC_SERVERS="10.0.0.53 1.1.1.1"' in netconfig
    assert sysconfig(root / (WK + "ifcfg-eth2"))["BOOTPROTO"] == "dhcp6"
    assert sysconfig(root / (WK + "ifcfg-eth2"))["DHCLIENT6_MODE"] == "auto"
    assert sysconfig(root / (WK + "ifcfg-bond0"))["BONDING_MODULE_OPTS"] == (
        "mode=802.3ad fail_over_mac=none num_grat_arp=2 lacp_rate=fast miimon=100 primary_reselect=always "
        "xmit_hash_policy=layer3+4")
    br = sysconfig(root / (WK + "ifcfg-br0"))
    assert br["BRIDGE_STP"] == "off" and br["BRIDGE_PATHCOSTS"] == "40 -" and br["BRIDGE_PORTPRIORITIES"] == "- 12"


def test_every_spelling_the_translator_reads_passes_validation(tmp_path, capsys):
    from test_network_convert import SPELLINGS

    from ros_init.network.convert import _BRIDGE_PARAMS

    bond = {key: "10.0.0.1" if "arp" in key and "target" in key else 1 for key, _ in SPELLINGS} | {"bond-slaves": "none"}
    bridge = {f"bridge_{k}": [] if k in ("pathcost", "portprio") else 1 for k in _BRIDGE_PARAMS}
    cfg = tmp_path / "v1.yaml"
    cfg.write_text("#cloud-config\n" + yaml.safe_dump({"network": {"version": 1, "config": [
        {"type": "physical", "name": "eth0"},
        {"type": "bond", "name": "b0", "bond_interfaces": [], "params": bond},
        {"type": "bridge", "name": "br0", "bridge_interfaces": ["eth0"], "params": bridge}]}}))
    assert main(["validate", str(cfg)]) == 0, capsys.readouterr()


def test_every_bond_parameter_passes_validation(tmp_path, capsys):
    import copy

    net = copy.deepcopy(BOND_ALL_PARAMS)  # bond2 and bond3 without members: the schema wants one
    net["ethernets"].update({"p3": {}, "p4": {}})
    net["bonds"]["bond2"]["interfaces"], net["bonds"]["bond3"]["interfaces"] = ["p3"], ["p4"]
    cfg = tmp_path / "bonds.yaml"
    cfg.write_text("#cloud-config\n" + yaml.safe_dump({"network": net}))
    assert main(["validate", str(cfg)]) == 0, capsys.readouterr()


@pytest.mark.parametrize(("text", "where"), [
    # caught by the schema, located in the file
    ("network: {version: 1, config: [{type: bond, name: b0, bond_interfaces: [], params: {bond-miimom: 1}}]}",
     ":2:85: error: network.config[0].params.bond-miimom: unknown key `bond-miimom`; did you mean `bond-miimon`?"),
    ("network: {version: 1, config: [{type: bridge, name: br0, bridge_interfaces: [], params: {bridge_nope: 1}}]}",
     ":2:90: error: network.config[0].params.bridge_nope: unknown key"),
    # caught by the network model, named by their path
    ("network: {version: 2, bridges: {br0: {interfaces: [nope]}}}",
     "network.bridges.br0.interfaces: 'nope' is not the id of an ethernet, bond or vlan"),
    ("network: {version: 2, ethernets: {e: {}}, bridges: {br0: {interfaces: [e], parameters: {path-cost: {x: 1}}}}}",
     "network.bridges.br0.parameters.path-cost.x: is not one of this bridge's interfaces"),
])
def test_what_ros_init_refuses_is_named_and_nothing_is_written(tmp_path, capsys, text, where):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("#cloud-config\n" + text + "\n")
    root = tmp_path / "root"
    root.mkdir()
    settings = tmp_path / "settings.yaml"
    settings.write_text("network_renderer: networkd\nstate_dir: /var/lib/ros-init\n")
    code = main(["run", "--root", str(root), "--settings", str(settings),
                 "--phase", "initramfs", "--config", str(cfg)])
    err = capsys.readouterr().err
    assert code != 0 and where in err and "Traceback" not in err
    assert not (root / "etc/systemd/network").exists()


def test_nmcli_offline_reads_the_new_constructs(tmp_path, capsys):
    """NetworkManager's own keyfile reader on every keyfile the constructs produce."""
    from test_network_render import _nmcli

    nmcli = _nmcli()
    for text, name in ((V2, "v2"), (V1, "v1")):
        (tmp_path / name).mkdir()
        root = run(tmp_path / name, text, "networkmanager", capsys)
        for path in sorted((root / "etc/NetworkManager/system-connections").iterdir()):
            proc = subprocess.run([*nmcli, "--offline", "connection", "modify", "connection.autoconnect", "yes"],
                                  input=path.read_bytes(), capture_output=True, timeout=30)
            assert proc.returncode == 0, (path.name, proc.stderr.decode())
            back = keyfile(proc.stdout.decode())
            ours = keyfile(path)
            for section in ("bridge", "bridge-port"):
                if ours.has_section(section):
                    # NM leaves out a property at its default value
                    got = {**NM_BRIDGE_DEFAULTS[section], **(dict(back[section]) if back.has_section(section) else {})}
                    assert {k: got[k] for k in ours[section]} == dict(ours[section]), (path.name, section)
            if ours.has_section("ethernet") and "cloned-mac-address" in ours["ethernet"]:
                assert back["ethernet"]["cloned-mac-address"].lower() == ours["ethernet"]["cloned-mac-address"]
            for family in ("ipv4", "ipv6"):
                if ours.has_section(family):
                    assert back[family]["method"] == ours[family]["method"], (path.name, family)
                    for key, value in ours[family].items():
                        if key.endswith("_options") or key in ("mtu", "route-metric"):
                            assert back[family][key] == value, (path.name, family, key)


NM_BRIDGE_DEFAULTS = {
    "bridge": {"stp": "true", "priority": "32768", "forward-delay": "15", "hello-time": "2", "max-age": "20",
               "ageing-time": "300"},
    "bridge-port": {"priority": "32", "path-cost": "100"},
}


# -- the differential corpus, through the user's path and every renderer --------------------
def _corpus():
    from network_corpus import cases

    return cases()


@pytest.mark.parametrize("case", [c for c in _corpus() if c["format"] in ("v1", "v2")], ids=lambda c: c["id"])
def test_every_corpus_config_passes_validation(case, tmp_path, capsys):
    cfg = tmp_path / "network.yaml"
    cfg.write_text("#cloud-config\n" + yaml.safe_dump({"network": case["input"]}))
    assert main(["validate", str(cfg)]) == 0, capsys.readouterr()


def test_every_corpus_case_renders_in_every_renderer_and_nmcli_reads_the_keyfiles():
    from ros_init.stages.network import desired_files
    from test_network_render import _nmcli
    from test_network_vs_cloud_init import model_of

    from ros_init.network.nics import device_names

    nmcli = _nmcli()
    counts = {}
    for case in _corpus():
        model = model_of(case)
        names = device_names(model.interfaces, [])
        for renderer in ("networkd", "networkmanager", "wicked"):
            files = desired_files(model, renderer, names, None)
            counts[renderer] = counts.get(renderer, 0) + len(files)
            if renderer != "networkmanager":
                continue
            for path, (data, _) in files.items():
                if path.endswith(".nmconnection"):
                    proc = subprocess.run([*nmcli, "--offline", "connection", "modify", "connection.autoconnect", "yes"],
                                          input=data, capture_output=True, timeout=30)
                    assert proc.returncode == 0, (case["id"], path, proc.stderr.decode())
    assert min(counts.values()) > 50, counts
