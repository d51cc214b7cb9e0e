"""The network stage on scratch roots: plan/apply, idempotence, managed-file clean-up,
renderer choice, and that foreign files are left alone."""

from __future__ import annotations

import copy
import os
import stat
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from network_cases import FULL, network_configs
from ros_init.stages import network

from ros_init.core.model import StageContext
from ros_init.core.root import Root
from ros_init.network.model import NetworkConfigError

RENDERERS = ("networkmanager", "networkd", "wicked")


def fake_sys(base: str, nics: dict[str, str]) -> str:
    """A sysfs tree with ethernet devices ``name -> mac``; returns the sys_root."""
    for name, mac in nics.items():
        folder = os.path.join(base, "sys/class/net", name)
        os.makedirs(os.path.join(folder, "device"))
        for attr, value in (("address", mac), ("type", "1")):
            with open(os.path.join(folder, attr), "w") as fh:
                fh.write(value + "\n")
    return base


def ctx(renderer="auto", sys_root="/nonexistent") -> StageContext:
    return StageContext(phase="initramfs", settings={"network_renderer": renderer}, sys_root=sys_root)


def converge(config, root, context):
    changes = network.plan(network.parse(config), root, context)
    for change in changes:
        network.apply(change, root, context)
    return changes


def tree(path: str) -> dict[str, bytes]:
    out = {}
    for folder, _, files in os.walk(path):
        for name in files:
            full = os.path.join(folder, name)
            with open(full, "rb") as fh:
                out[os.path.relpath(full, path)] = fh.read()
    return out


@pytest.mark.parametrize("renderer", RENDERERS)
def test_apply_then_plan_is_empty(tmp_path, renderer):
    sys_root = fake_sys(str(tmp_path / "host"), {"ens4": "52:54:00:00:00:01", "ens5": "52:54:00:00:00:02"})
    (tmp_path / "target").mkdir()
    root = Root(tmp_path / "target")
    first = converge({"network": FULL}, root, ctx(renderer, sys_root))
    assert first and all(c.action == "write-file" for c in first)
    assert network.plan(network.parse({"network": FULL}), root, ctx(renderer, sys_root)) == []


def test_keyfiles_are_0600_and_networkd_files_0644(tmp_path):
    root = Root(tmp_path)
    converge({"network": FULL}, root, ctx("networkmanager"))
    folder = tmp_path / "etc/NetworkManager/system-connections"
    assert {stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == {0o600}
    # set-name needs a .link for udev whatever the renderer
    assert stat.S_IMODE((tmp_path / "etc/systemd/network/10-ros-init-lan.link").stat().st_mode) == 0o644
    os.chmod(folder / "ros-init-eth0.nmconnection", 0o644)  # NM would ignore it: the plan repairs the mode
    assert [c.target for c in network.plan(network.parse({"network": FULL}), root, ctx("networkmanager"))] == [
        "/etc/NetworkManager/system-connections/ros-init-eth0.nmconnection"]


def test_files_no_longer_configured_are_removed_foreign_files_kept(tmp_path):
    root = Root(tmp_path)
    converge({"network": FULL}, root, ctx("networkd"))
    foreign = tmp_path / "etc/systemd/network/20-admin.network"
    foreign.write_text("[Match]\nName=eth5\n")
    smaller = copy.deepcopy(FULL)
    del smaller["vlans"]
    smaller["bonds"]["bond0"].pop("dhcp6")
    changes = network.plan(network.parse({"network": smaller}), root, ctx("networkd"))
    assert sorted((c.action, c.target) for c in changes) == [
        ("remove-file", "/etc/systemd/network/10-ros-init-vlan10.netdev"),
        ("remove-file", "/etc/systemd/network/10-ros-init-vlan10.network"),
        ("write-file", "/etc/systemd/network/10-ros-init-bond0.network"),
    ]
    for change in changes:
        network.apply(change, root, ctx("networkd"))
    assert network.plan(network.parse({"network": smaller}), root, ctx("networkd")) == []
    assert foreign.read_text() == "[Match]\nName=eth5\n"


def test_switching_renderer_removes_the_other_renderers_files(tmp_path):
    root = Root(tmp_path)
    sys_root = fake_sys(str(tmp_path / "host"), {"ens4": "52:54:00:00:00:01"})
    converge({"network": FULL}, root, ctx("networkd", sys_root))
    converge({"network": FULL}, root, ctx("wicked", sys_root))
    left = sorted(tree(str(tmp_path / "etc")))
    assert not any(p.endswith((".network", ".netdev")) for p in left)
    assert "systemd/network/10-ros-init-lan.link" in left  # still wanted: udev renames for wicked too
    converge({"network": FULL}, root, ctx("networkmanager", sys_root))
    assert not [p for p in tree(str(tmp_path / "etc")) if p.startswith("sysconfig/network/if")]


def test_wicked_replaces_the_images_ifcfg_but_keeps_unrelated_ones(tmp_path):
    folder = tmp_path / "etc/sysconfig/network"
    folder.mkdir(parents=True)
    (folder / "ifcfg-eth0").write_text("BOOTPROTO='dhcp'\nSTARTMODE='auto'\n")
    (folder / "ifcfg-lo").write_text("IPADDR_1=127.0.0.1/8\nSTARTMODE=nfsroot\n")
    (folder / "config").write_text('NETCONFIG_DNS_POLICY="auto"\nNETCONFIG_DNS_STATIC_SERVERS=""\n')
    root = Root(tmp_path)
    net = {"ethernets": {"eth0": {"addresses": ["192.0.2.5/24"], "nameservers": {"addresses": ["192.0.2.53"]}}}}
    converge({"network": net}, root, ctx("wicked"))
    assert "IPADDR_0='192.0.2.5/24'" in (folder / "ifcfg-eth0").read_text()
    assert (folder / "ifcfg-lo").read_text() == "IPADDR_1=127.0.0.1/8\nSTARTMODE=nfsroot\n"
    assert (folder / "config").read_text() == ('NETCONFIG_DNS_POLICY="auto"\nNETCONFIG_DNS_STATIC_SERVERS="192.0.2.53"\n'
                                               'NETCONFIG_DNS_STATIC_SEARCHLIST=""\n')
    assert network.plan(network.parse({"network": net}), root, ctx("wicked")) == []
    # eth0 dropped from the config: our ifcfg-eth0 goes, the foreign ifcfg-lo stays
    converge({"network": {"ethernets": {"eth1": {"dhcp4": True}}}}, root, ctx("wicked"))
    assert sorted(p.name for p in folder.iterdir()) == ["config", "ifcfg-eth1", "ifcfg-lo"]


def test_disabled_touches_nothing_and_absent_only_cleans_up(tmp_path):
    root = Root(tmp_path)
    converge({"network": FULL}, root, ctx("networkd"))
    assert network.plan(network.parse({"network": {"config": "disabled"}}), root, ctx("networkd")) == []
    changes = network.plan(network.parse({}), root, ctx("networkd"))
    assert changes and {c.action for c in changes} == {"remove-file"}


def test_a_symlink_planted_at_a_managed_path_is_replaced_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    target = tmp_path / "target"
    (target / "etc/systemd/network").mkdir(parents=True)
    os.symlink(str(outside / "victim"), target / "etc/systemd/network/10-ros-init-eth0.network")
    root = Root(target)
    converge({"network": {"ethernets": {"eth0": {"dhcp4": True}}}}, root, ctx("networkd"))
    assert not (outside / "victim").exists()
    link = target / "etc/systemd/network/10-ros-init-eth0.network"
    assert not link.is_symlink() and "DHCP=ipv4" in link.read_text()


def test_bad_config_raises_a_located_error_and_writes_nothing(tmp_path):
    root = Root(tmp_path)
    with pytest.raises(NetworkConfigError, match=r"network\.ethernets\.eth0\.addresses\[0\]"):
        network.plan(network.parse({"network": {"ethernets": {"eth0": {"addresses": ["300.1.1.1/24"]}}}}), root, ctx())
    assert tree(str(tmp_path)) == {}


@pytest.mark.parametrize(("files", "alias", "expected"), [
    ({"usr/sbin/NetworkManager", "usr/sbin/wicked"}, None, "networkmanager"),
    ({"usr/sbin/wicked", "usr/lib/systemd/systemd-networkd"}, None, "wicked"),
    ({"lib/systemd/systemd-networkd"}, None, "networkd"),
    (set(), None, "networkd"),
    ({"usr/sbin/NetworkManager", "usr/sbin/wicked"}, "/usr/lib/systemd/system/wicked.service", "wicked"),
])
def test_auto_renderer_follows_what_the_target_has(tmp_path, files, alias, expected):
    for rel in files:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("")
    if alias:
        (tmp_path / "etc/systemd/system").mkdir(parents=True)
        os.symlink(alias, tmp_path / "etc/systemd/system/network.service")
    assert network.choose_renderer("auto", *network.detect_renderers(Root(tmp_path))) == expected
    assert network.choose_renderer("wicked", *network.detect_renderers(Root(tmp_path))) == "wicked"


def test_unknown_renderer_setting_is_an_error():
    with pytest.raises(network.NetworkStageError, match="network_renderer"):
        network.choose_renderer("ifupdown", set(), None)


def test_stage_shape():
    from ros_init.stages import BY_NAME

    assert network.NAME == "network"
    assert (BY_NAME["network"].phases, BY_NAME["network"].order) == (("initramfs", "boot"), 40)


_MACS_PRESENT = {"ens7": "52:54:00:00:00:07"}
# tmpfs where there is one: Root fsyncs every write, and the property test writes thousands
_FAST_TMP = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=network_configs(), second=network_configs(), renderer=st.sampled_from(RENDERERS))
def test_property_converges_and_leaves_only_the_current_configs_files(first, second, renderer):
    with tempfile.TemporaryDirectory(dir=_FAST_TMP) as tmp:
        sys_root = fake_sys(os.path.join(tmp, "host"), _MACS_PRESENT)
        os.makedirs(os.path.join(tmp, "target/etc/systemd/network"))
        root = Root(os.path.join(tmp, "target"))
        with open(root.path + "/etc/systemd/network/50-foreign.network", "w") as fh:
            fh.write("[Match]\nName=x\n")
        context = ctx(renderer, sys_root)
        converge({"network": first}, root, context)
        assert network.plan(network.parse({"network": first}), root, context) == []
        converge({"network": second}, root, context)
        assert network.plan(network.parse({"network": second}), root, context) == []
        # the tree is exactly what a fresh root gets from the second config (plus the foreign file)
        with tempfile.TemporaryDirectory(dir=_FAST_TMP) as fresh:
            converge({"network": second}, Root(fresh), context)
            expected = tree(fresh)
        got = tree(root.path)
        assert got.pop("etc/systemd/network/50-foreign.network") == b"[Match]\nName=x\n"
        # wicked's netconfig is edited, not owned: it may outlive the first config, with the
        # second config's DNS (possibly none) in its two keys
        netconfig = got.pop("etc/sysconfig/network/config", None)
        want = expected.pop("etc/sysconfig/network/config", None)
        if netconfig is not None and want is None:
            assert b'NETCONFIG_DNS_STATIC_SERVERS=""' in netconfig and b'SEARCHLIST=""' in netconfig
        else:
            assert netconfig == want
        assert got == expected
