"""Real interfaces and the real systemd-networkd, inside network namespaces the tests create.

* MAC matching (``ros_init.network.nics``) on veth devices with chosen MACs, seen through the
  namespace's own sysfs (``ip netns exec`` mounts it);
* the files the stage renders for systemd-networkd, run by systemd-networkd itself in the
  namespace (private mount namespace: our folder bound over /etc/systemd/network, a tmpfs
  on /run/systemd, /sys read-only so networkd does not wait for a udev that is not here).

Root only; skipped where veth or systemd-networkd is missing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest
from facilities import need_root, need_tools
from network_cases import BOND_ALL_PARAMS, FULL
from ros_init.stages import network

from ros_init.core.model import StageContext
from ros_init.core.root import Root

NETWORKD = next((p for p in ("/lib/systemd/systemd-networkd", "/usr/lib/systemd/systemd-networkd")
                 if os.access(p, os.X_OK)), None)
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def netns():
    """A fresh network namespace with two veth pairs of known MACs; removed afterwards."""
    need_root()
    need_tools("ip", "unshare")
    name = f"rosinit-test-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        for dev, mac, peer, peer_mac in (("d0", "52:54:00:12:34:56", "d0p", "52:54:00:aa:00:01"),
                                         ("d1", "52:54:00:00:00:01", "d1p", "52:54:00:aa:00:02")):
            proc = subprocess.run(["ip", "-n", name, "link", "add", dev, "address", mac, "type", "veth",
                                   "peer", "name", peer, "address", peer_mac], capture_output=True, text=True)
            if proc.returncode != 0:
                pytest.skip(f"cannot create veth devices here: {proc.stderr.strip()}")
            subprocess.run(["ip", "-n", name, "link", "set", peer, "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def in_netns(ns: str, code: str) -> str:
    env = dict(os.environ, PYTHONPATH=REPO)
    proc = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", code],
                          capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_nics_sees_the_namespaces_devices_and_matches_by_mac(netns):
    out = json.loads(in_netns(netns, (
        "import json\n"
        "from ros_init.network.nics import list_nics, matching\n"
        "from ros_init.network.model import Match\n"
        "nics = list_nics('/')\n"
        "print(json.dumps({'all': [[n.name, n.mac, n.physical] for n in nics],\n"
        "  'mac': [n.name for n in matching(nics, Match(macaddress='52:54:00:00:00:01'))],\n"
        "  'glob': [n.name for n in matching(nics, Match(name='d?p'))],\n"
        "  'none': [n.name for n in matching(nics, Match(macaddress='52:54:00:99:99:99'))]}))\n")))
    assert sorted(out["all"]) == [["d0", "52:54:00:12:34:56", False], ["d0p", "52:54:00:aa:00:01", False],
                                  ["d1", "52:54:00:00:00:01", False], ["d1p", "52:54:00:aa:00:02", False]]
    assert out["mac"] == ["d1"] and out["glob"] == ["d0p", "d1p"] and out["none"] == []


def test_wicked_files_are_named_after_the_device_found_by_mac(netns, tmp_path):
    code = (
        "import sys\n"
        "from ros_init.core.model import StageContext\n"
        "from ros_init.core.root import Root\n"
        "from ros_init.stages import network\n"
        "config = {'network': {'ethernets': {'uplink': {'match': {'macaddress': '52:54:00:12:34:56'}, 'dhcp4': True},\n"
        "                                    'gone': {'match': {'macaddress': '52:54:00:99:99:99'}}}}}\n"
        "ctx = StageContext(phase='initramfs', settings={'network_renderer': 'wicked'}, sys_root='/')\n"
        f"root = Root({str(tmp_path)!r})\n"
        "for c in network.plan(config, root, ctx):\n"
        "    network.apply(c, root, ctx)\n"
        "print(len(network.plan(config, root, ctx)))\n"
    )
    assert in_netns(netns, code).strip() == "0"
    assert sorted(os.listdir(tmp_path / "etc/sysconfig/network")) == ["ifcfg-d0"]
    assert "BOOTPROTO='dhcp4'" in (tmp_path / "etc/sysconfig/network/ifcfg-d0").read_text()


_RUN_NETWORKD = r"""
set -u
mount -o remount,bind,ro /sys
mount -t tmpfs tmpfs /run/systemd
mount --bind "$FILES" /etc/systemd/network
"$NETWORKD" 2>"$LOG" &
pid=$!
for i in $(seq 100); do
    eval "$READY" && break
    sleep 0.1
done
echo '== addr'; ip -j addr show dev d0
echo '== addr-peer'; ip -j addr show dev d0p
echo '== link'; ip -j link show dev d0
echo '== route4'; ip -j route show dev d0
echo '== route6'; ip -j -6 route show dev d0
echo '== state'; cat /run/systemd/netif/links/$(cat /sys/class/net/d0/ifindex) 2>/dev/null || true
eval "$EXTRA"
kill $pid; wait $pid 2>/dev/null || true
"""


def _sections(text: str) -> dict[str, str]:
    out, name = {}, None
    for line in text.splitlines():
        if line.startswith("== "):
            name = line[3:]
            out[name] = ""
        elif name:
            out[name] += line + "\n"
    return out


def test_systemd_networkd_applies_our_files(netns, tmp_path):
    """Our .network/.netdev files, read and applied by the real systemd-networkd."""
    if NETWORKD is None:
        pytest.skip("needs systemd-networkd (package systemd)")
    root = Root(tmp_path)
    context = StageContext(phase="initramfs", settings={"network_renderer": "networkd"}, sys_root="/nonexistent")
    for change in network.plan({"network": FULL}, root, context):
        network.apply(change, root, context)
    log = tmp_path / "networkd.log"
    ready = "ip -6 route show dev d0 | grep -q '^2001:db8:1::/48' && ip route show dev d0 | grep -q '^10.0.0.0/8'"
    out = _sections(run_networkd(netns, tmp_path / "etc/systemd/network", log, ready))
    messages = log.read_text()
    # networkd parsed every file we wrote without complaint (it names unknown keys/sections)
    assert "d0: Configuring with /etc/systemd/network/10-ros-init-lan.network" in messages
    assert "d1: Configuring with /etc/systemd/network/10-ros-init-p1.network" in messages  # bond port by MAC
    assert "d0p: Configuring" not in messages and "d1p: Configuring" not in messages
    for bad in ("Unknown key", "Unknown section", "Invalid", "Failed to parse", "ignoring assignment"):
        assert bad not in messages, messages
    addrs = {(a["local"], a["prefixlen"]) for i in json.loads(out["addr"]) for a in i["addr_info"]}
    assert {("192.168.1.10", 24), ("2001:db8::10", 64)} <= addrs
    assert not [a for i in json.loads(out["addr-peer"]) for a in i["addr_info"] if a["family"] == "inet"]
    assert json.loads(out["link"])[0]["mtu"] == 9000
    routes4 = {(r["dst"], r.get("gateway"), r.get("metric"), "onlink" in r.get("flags", [])) for r in json.loads(out["route4"])}
    assert ("default", "192.168.1.1", None, False) in routes4
    assert ("10.0.0.0/8", "192.168.1.254", 100, True) in routes4
    routes6 = {(r["dst"], r.get("gateway")) for r in json.loads(out["route6"])}
    assert ("2001:db8:1::/48", "2001:db8::fe") in routes6
    state = out["state"]
    assert "DNS=1.1.1.1 2001:db8::53" in state and "DOMAINS=example.com corp.example" in state
    assert "NETWORK_FILE=/etc/systemd/network/10-ros-init-lan.network" in state


def test_systemd_networkd_parses_every_bond_parameter(netns, tmp_path):
    """networkd names every key or value it cannot use; the bonds themselves need a kernel module."""
    if NETWORKD is None:
        pytest.skip("needs systemd-networkd (package systemd)")
    root = Root(tmp_path)
    context = StageContext(phase="initramfs", settings={"network_renderer": "networkd"}, sys_root="/nonexistent")
    for change in network.plan({"network": BOND_ALL_PARAMS}, root, context):
        network.apply(change, root, context)
    netdev = (tmp_path / "etc/systemd/network/10-ros-init-bond1.netdev").read_text()
    assert "ARPIPTargets=192.0.2.1 192.0.2.2" in netdev
    # a control: a foreign file with a key networkd does not know must be reported
    (tmp_path / "etc/systemd/network/99-control.network").write_text("[Match]\nName=none\n\n[Network]\nBogus=1\n")
    log = tmp_path / "networkd.log"
    run_networkd(netns, tmp_path / "etc/systemd/network", log,
                 "grep -q 'Enumeration completed' \"$LOG\" && grep -q 'd1: Configuring' \"$LOG\"")
    messages = log.read_text()
    assert "d1: Configuring with /etc/systemd/network/10-ros-init-p1.network" in messages
    complaints = [ln for ln in messages.splitlines()
                  if any(bad in ln for bad in ("Unknown", "Invalid", "Failed to parse", "ignoring"))]
    assert complaints == ["/etc/systemd/network/99-control.network:5: Unknown key 'Bogus' in section [Network], ignoring."]


def run_networkd(netns: str, files, log, ready: str, extra: str = "true") -> str:
    """systemd-networkd in the namespace until the shell condition ``ready`` holds (10 s at
    most); then the shell commands ``extra`` run while it still runs."""
    env = dict(os.environ, FILES=str(files), NETWORKD=NETWORKD, LOG=str(log), READY=ready, EXTRA=extra)
    proc = subprocess.run(["ip", "netns", "exec", netns, "unshare", "-m", "sh", "-c", _RUN_NETWORKD],
                          capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_dhcp_through_systemd_networkd_end_to_end(netns, tmp_path):
    """A DHCP-configured NIC (matched by MAC) gets a lease from networkd's DHCP server on its peer."""
    if NETWORKD is None:
        pytest.skip("needs systemd-networkd (package systemd)")
    root = Root(tmp_path)
    context = StageContext(phase="initramfs", settings={"network_renderer": "networkd"}, sys_root="/nonexistent")
    config = {"network": {"ethernets": {"uplink": {"match": {"macaddress": "52:54:00:12:34:56"}, "dhcp4": True}}}}
    for change in network.plan(config, root, context):
        network.apply(change, root, context)
    # the test's DHCP server on the peer end: not ours, a foreign file the stage leaves alone
    (tmp_path / "etc/systemd/network/90-test-dhcp-server.network").write_text(
        "[Match]\nName=d0p\n\n[Network]\nAddress=192.168.77.1/24\nDHCPServer=yes\n\n"
        "[DHCPServer]\nPoolOffset=100\nPoolSize=20\nEmitDNS=yes\nDNS=192.168.77.53\n")
    assert network.plan(config, root, context) == []
    log = tmp_path / "networkd.log"
    out = _sections(run_networkd(netns, tmp_path / "etc/systemd/network", log,
                                 "ip -4 addr show dev d0 | grep -q 'inet 192.168.77.'"))
    leases = [a for i in json.loads(out["addr"]) for a in i["addr_info"] if a["family"] == "inet"]
    assert len(leases) == 1, log.read_text()
    assert leases[0]["local"].startswith("192.168.77.") and leases[0]["prefixlen"] == 24
    assert 101 <= int(leases[0]["local"].rsplit(".", 1)[1]) <= 120
    assert "DNS=192.168.77.53" in out["state"]


def _apply(tmp_path, config) -> None:
    root = Root(tmp_path)
    context = StageContext(phase="initramfs", settings={"network_renderer": "networkd"}, sys_root="/nonexistent")
    for change in network.plan(config, root, context):
        network.apply(change, root, context)


def test_bridge_of_two_veth_ports_gets_its_dhcp_lease(netns, tmp_path):
    """br0 built by systemd-networkd from our .netdev, its two ports enslaved by our .network
    files, asks DHCP through a port: the server on the far end of d0 answers."""
    if NETWORKD is None:
        pytest.skip("needs systemd-networkd (package systemd)")
    config = {"network": {"ethernets": {"port0": {"match": {"macaddress": "52:54:00:12:34:56"}},
                                        "port1": {"match": {"macaddress": "52:54:00:00:00:01"}}},
                          "bridges": {"br0": {"interfaces": ["port0", "port1"], "dhcp4": True,
                                              "parameters": {"stp": False, "forward-delay": 0,
                                                             "path-cost": {"port1": 42}}}}}}
    _apply(tmp_path, config)
    (tmp_path / "etc/systemd/network/90-test-dhcp-server.network").write_text(
        "[Match]\nName=d0p\n\n[Network]\nAddress=192.168.88.1/24\nDHCPServer=yes\n\n"
        "[DHCPServer]\nPoolOffset=100\nPoolSize=20\n")
    log = tmp_path / "networkd.log"
    out = _sections(run_networkd(netns, tmp_path / "etc/systemd/network", log,
                                 "ip -4 addr show dev br0 2>/dev/null | grep -q 'inet 192.168.88.'",
                                 "echo '== br0'; ip -j addr show dev br0; echo '== ports'; ip -j -d link show master br0"))
    leases = [a for i in json.loads(out["br0"]) for a in i["addr_info"] if a["family"] == "inet"]
    messages = log.read_text()
    assert leases and leases[0]["local"].startswith("192.168.88."), messages
    assert 100 <= int(leases[0]["local"].rsplit(".", 1)[1]) <= 119
    by_name = {p["ifname"]: p for p in json.loads(out["ports"])}
    assert sorted(by_name) == ["d0", "d1"]
    assert by_name["d1"]["linkinfo"]["info_slave_data"]["cost"] == 42
    for bad in ("Unknown key", "Unknown section", "Invalid", "Failed to parse", "ignoring assignment"):
        assert bad not in messages, messages


def test_an_on_link_gateway_route_is_installed(netns, tmp_path):
    """10.0.0.2/32 with gateway 10.0.0.1: only GatewayOnLink= lets the kernel take the route."""
    if NETWORKD is None:
        pytest.skip("needs systemd-networkd (package systemd)")
    config = {"network": {"ethernets": {"uplink": {
        "match": {"macaddress": "52:54:00:12:34:56"}, "addresses": ["10.0.0.2/32"], "gateway4": "10.0.0.1",
        "routes": [{"to": "10.9.0.0/16", "via": "10.0.0.1", "metric": 7}]}}}}
    _apply(tmp_path, config)
    log = tmp_path / "networkd.log"
    out = _sections(run_networkd(netns, tmp_path / "etc/systemd/network", log,
                                 "ip route show dev d0 | grep -q '^10.9.0.0/16' && ip route show dev d0 | grep -q '^default'"))
    routes = {(r["dst"], r.get("gateway"), r.get("metric"), "onlink" in r.get("flags", []))
              for r in json.loads(out["route4"])}
    assert ("default", "10.0.0.1", None, True) in routes, log.read_text()
    assert ("10.9.0.0/16", "10.0.0.1", 7, True) in routes


@pytest.mark.parametrize("which", ["V1", "V2"])
def test_systemd_networkd_parses_the_files_of_every_construct(netns, tmp_path, which):
    """The .network/.netdev files of test_network_constructs (bridges, on-link routes, RA,
    IPv6 MTU, DHCP route metrics, device MACs ...) loaded by networkd without a complaint."""
    if NETWORKD is None:
        pytest.skip("needs systemd-networkd (package systemd)")
    import test_network_constructs
    import yaml

    config = yaml.safe_load(getattr(test_network_constructs, which))
    _apply(tmp_path, config)
    (tmp_path / "etc/systemd/network/99-control.network").write_text("[Match]\nName=none\n\n[Network]\nBogus=1\n")
    log = tmp_path / "networkd.log"
    run_networkd(netns, tmp_path / "etc/systemd/network", log, "grep -q 'Enumeration completed' \"$LOG\"")
    messages = log.read_text()
    complaints = [ln for ln in messages.splitlines()
                  if any(bad in ln for bad in ("Unknown", "Invalid", "Failed to parse", "ignoring", "rror"))]
    assert complaints == ["/etc/systemd/network/99-control.network:5: Unknown key 'Bogus' in section [Network], ignoring."]
