"""The constructs that only datasources produce, through the user's path: a ConfigDrive seed
folder and an EC2 metadata server on 127.0.0.1, probed by ``ros-init run``, merged,
validated, and rendered by the network stage."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from network_files import ini_items

from ros_init.cli import main
from ros_init.cli.demo import make_os_skeleton

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "datasources"))
from ds_servers import ImdsHandler, ImdsState, _serve, _shutdown, ec2_tree  # noqa: E402

ND = "etc/systemd/network/10-ros-init-"


def run(root: Path, tmp_path: Path, settings: dict, phase: str, capsys) -> str:
    (tmp_path / "settings.yaml").write_text(json.dumps({"network_renderer": "networkd", "state_dir": "/var/lib/ros-init",
                                                        "deadline": 20, **settings}))
    (tmp_path / "cmdline").write_text("")
    code = main(["run", "--root", str(root), "--settings", str(tmp_path / "settings.yaml"),
                 "--cmdline", str(tmp_path / "cmdline"), "--phase", phase])
    out = capsys.readouterr()
    assert code == 0, out
    return out.err


NETWORK_DATA = {
    "links": [{"id": "tap0", "type": "phy", "ethernet_mac_address": "fa:16:3e:00:00:01", "mtu": 1450},
              {"id": "tap1", "type": "phy", "ethernet_mac_address": "fa:16:3e:00:00:02"},
              {"id": "bond0", "type": "bond", "bond_links": ["tap1"], "bond_mode": "active-backup",
               "bond_miimon": 100, "bond_updelay": 200, "ethernet_mac_address": "fa:16:3e:00:00:0b"},
              {"id": "vlan7", "type": "vlan", "vlan_link": "bond0", "vlan_id": 7, "vlan_mac_address": "fa:16:3e:00:00:07"}],
    "networks": [
        {"id": "n0", "type": "ipv4", "link": "tap0", "ip_address": "10.0.0.2", "netmask": "255.255.255.255",
         "gateway": "10.0.0.1", "services": [{"type": "dns", "address": "10.0.0.53"}],
         "routes": [{"network": "10.9.0.0", "netmask": "255.255.0.0", "gateway": "10.0.0.1",
                     "services": [{"type": "dns", "address": "10.0.0.54"}]}]},
        {"id": "n1", "type": "ipv6", "link": "tap0", "ip_address": "2001:db8::2", "netmask": "ffff:ffff:ffff:ffff::",
         "routes": [{"network": "::", "netmask": "::", "gateway": "2001:db8::1"}]},
        {"id": "n2", "type": "ipv6_slaac", "link": "vlan7"}],
    "services": [{"type": "dns", "address": "8.8.8.8", "search": ["cloud.example"]}],
}


def test_configdrive_seed_through_run(tmp_path, capsys):
    root = make_os_skeleton(tmp_path / "root")
    seed = root / "seed/openstack/latest"
    seed.mkdir(parents=True)
    (seed / "meta_data.json").write_text(json.dumps({"uuid": "83679162-1378-4288-a2d4-70e13ec132aa", "name": "cd"}))
    (seed / "network_data.json").write_text(json.dumps(NETWORK_DATA))
    run(root, tmp_path, {"datasources": ["cdrom"], "cdrom": {"labels": [], "seed_dirs": ["/seed"]}}, "initramfs", capsys)
    tap0 = ini_items(root / (ND + "tap0.network"))
    assert ("Network", "IPv6AcceptRA", "no") in tap0  # a static ipv6 network: RA off, as cloud-init
    assert ("Network", "Address", "2001:db8::2/64") in tap0  # the IPv6 netmask written as a mask
    assert [v for _, k, v in tap0 if k == "DNS"] == ["10.0.0.53", "10.0.0.54", "8.8.8.8"]
    assert ("Network", "Domains", "cloud.example") in tap0
    # the network's own gateway, outside 10.0.0.2/32: on-link, and so is the route through it
    assert tap0.count(("Route", "GatewayOnLink", "yes")) == 2 and ("Route", "Gateway", "10.0.0.1") in tap0
    assert ("Link", "MTUBytes", "1450") in tap0
    bond = ini_items(root / (ND + "bond0.netdev"))
    assert {("NetDev", "MACAddress", "fa:16:3e:00:00:0b"), ("Bond", "Mode", "active-backup"),
            ("Bond", "MIIMonitorSec", "100ms"), ("Bond", "UpDelaySec", "200ms")} <= set(bond)
    assert ("NetDev", "MACAddress", "fa:16:3e:00:00:07") in ini_items(root / (ND + "bond0.7.netdev"))
    assert ("Network", "IPv6AcceptRA", "yes") in ini_items(root / (ND + "bond0.7.network"))


@pytest.fixture
def imds():
    tree = ec2_tree(user_data=None)
    mac0 = "0a:1b:2c:3d:4e:5f"
    tree[f"latest/meta-data/network/interfaces/macs/{mac0}/ipv6s"] = "2600:1f18::5\n2600:1f18::6"
    tree[f"latest/meta-data/network/interfaces/macs/{mac0}/subnet-ipv6-cidr-blocks"] = "2600:1f18::/64"
    tree["latest/meta-data/network/interfaces/macs/0a:1b:2c:3d:4e:60/local-ipv4s"] = "10.0.1.7\n10.0.1.8"
    del tree["latest/meta-data/network/interfaces/macs/0a:1b:2c:3d:4e:60/subnet-ipv4-cidr-block"]
    r = _serve(ImdsHandler, ImdsState(tree))
    yield r
    _shutdown(r)


def test_ec2_metadata_through_run(tmp_path, capsys, imds):
    root = make_os_skeleton(tmp_path / "root")
    run(root, tmp_path, {"datasources": ["ec2"], "ec2": {"url": imds.url, "timeout": 5}}, "boot", capsys)
    eth0, eth1 = ini_items(root / (ND + "eth0.network")), ini_items(root / (ND + "eth1.network"))
    assert ("DHCPv4", "RouteMetric", "100") in eth0 and ("DHCPv4", "RouteMetric", "200") in eth1
    assert ("IPv6AcceptRA", "RouteMetric", "100") in eth0
    assert [v for _, k, v in eth0 if k == "Address"] == ["10.0.0.6/24", "2600:1f18::6/64"]
    assert [v for _, k, v in eth1 if k == "Address"] == ["10.0.1.8/24"]  # no subnet block: /24, as cloud-init
    assert ("Link", "RequiredForOnline", "no") in eth1
