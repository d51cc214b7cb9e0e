"""OpenStack's metadata service against a real server on 127.0.0.1 (shapes from the Nova docs)."""

from __future__ import annotations

import json
import time

import pytest
from platform_servers import PlatformState
from ros_init.datasources import openstack

from ros_init.core.model import Layer
from ros_init.core.root import Root
from ros_init.engine.collect import collect
from ros_init.sources.host import DatasourceError, Host

KEY = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ ubuntu@server-460"
META = {"availability_zone": "nova", "hostname": "sm-foo-test.novalocal", "name": "sm-foo-test",
        "uuid": "b0fa911b-69d4-4476-bbe2-1c92bff6535c", "meta": {"dsmode": "local"},
        "public_keys": {"mykey": KEY + "\n"}}
NETWORK = {"services": [{"type": "dns", "address": "199.204.44.24"}],
           "links": [{"id": "tap1a5382f8-04", "type": "ovs", "ethernet_mac_address": "fa:16:3e:05:30:fe",
                      "mtu": None, "vif_id": "1a5382f8-04c5", "name": "nic0"}],
           "networks": [{"id": "network0", "link": "tap1a5382f8-04", "type": "ipv4_dhcp",
                         "network_id": "dab2ba57"}]}


def routes(**over):
    r = {"GET /openstack": "2012-08-10\nlatest",
         "GET /openstack/latest/meta_data.json": META,
         "GET /openstack/latest/user_data": "#cloud-config\nruncmd: [echo user]\n",
         "GET /openstack/latest/vendor_data.json": {"magic": ""},
         "GET /openstack/latest/vendor_data2.json": {"cloud-init": "#cloud-config\nntp: {enabled: true}\n"},
         "GET /openstack/latest/network_data.json": NETWORK}
    r.update(over)
    return {k: v for k, v in r.items() if v is not None}


def host_for(tmp_path, url, **cfg) -> Host:
    return Host(root=Root(tmp_path), settings={"openstack": {"url": url, "timeout": 0.5, **cfg}},
                sys_root=str(tmp_path))


def test_fetch_identity_keys_network_vendor_and_user_data(platform_server, tmp_path):
    srv = platform_server(PlatformState(routes=routes()))
    docs = openstack.fetch(host_for(tmp_path, srv.url), time.monotonic() + 10)
    assert docs.instance_id == META["uuid"]
    meta = [d for d in docs.configs if d.layer == Layer.METADATA][0].data
    assert meta["hostname"] == "sm-foo-test" and meta["fqdn"] == "sm-foo-test.novalocal"
    assert meta["ssh_authorized_keys"] == [KEY]
    eth = list(meta["network"]["ethernets"].values())[0]
    assert eth["match"]["macaddress"] == "fa:16:3e:05:30:fe" and eth["dhcp4"] is True
    assert [d.data for d in docs.configs if d.layer == Layer.VENDOR] == [{"ntp": {"enabled": True}}]
    assert [d.data for d in docs.configs if d.layer == Layer.USER] == [{"runcmd": ["echo user"]}]


def test_missing_user_and_vendor_data_are_none(platform_server, tmp_path):
    srv = platform_server(PlatformState(routes=routes(**{
        "GET /openstack/latest/user_data": None, "GET /openstack/latest/vendor_data2.json": None,
        "GET /openstack/latest/network_data.json": None})))
    docs = openstack.fetch(host_for(tmp_path, srv.url), time.monotonic() + 10)
    assert [d.layer for d in docs.configs] == [Layer.METADATA] and "network" not in docs.configs[0].data


def test_a_service_without_the_openstack_tree_is_absent(platform_server, tmp_path):
    srv = platform_server(PlatformState(routes={"GET /latest/meta-data/instance-id": "i-1"}))
    assert openstack.fetch(host_for(tmp_path, srv.url), time.monotonic() + 10) is None


def test_meta_data_without_uuid_is_an_error(platform_server, tmp_path):
    srv = platform_server(PlatformState(routes=routes(**{"GET /openstack/latest/meta_data.json": {"hostname": "x"}})))
    with pytest.raises(DatasourceError, match="no instance id"):
        openstack.fetch(host_for(tmp_path, srv.url), time.monotonic() + 10)


def test_bad_network_data_is_an_error_naming_openstack(platform_server, tmp_path):
    bad = {"links": [{"id": "l0", "ethernet_mac_address": "fa:16:3e:00:00:01"}],
           "networks": [{"id": "n0", "link": "l0", "type": "weird"}]}
    srv = platform_server(PlatformState(routes=routes(**{"GET /openstack/latest/network_data.json": bad})))
    with pytest.raises(DatasourceError, match="openstack"):
        openstack.fetch(host_for(tmp_path, srv.url), time.monotonic() + 10)


@pytest.mark.parametrize("field,value", [("product_name", "OpenStack Nova"), ("product_name", "OpenStack Compute"),
                                         ("chassis_asset_tag", "OpenTelekomCloud"),
                                         ("chassis_asset_tag", "HUAWEICLOUD")])
def test_detect_by_dmi(tmp_path, field, value):
    dmi = tmp_path / "sys/class/dmi/id"
    dmi.mkdir(parents=True)
    assert not openstack.detect(Host(root=Root(tmp_path), settings={}, sys_root=str(tmp_path)))
    (dmi / field).write_text(value + "\n")
    assert openstack.detect(Host(root=Root(tmp_path), settings={}, sys_root=str(tmp_path)))


def test_the_config_drive_is_preferred_when_both_exist(platform_server, tmp_path):
    """cdrom is listed before openstack: the volume is used, the metadata service is skipped."""
    srv = platform_server(PlatformState(routes=routes()))
    root = tmp_path / "root"
    cd = root / "seed/openstack/latest"
    cd.mkdir(parents=True)
    (cd / "meta_data.json").write_text(json.dumps({"uuid": "from-the-drive", "hostname": "drive"}))
    settings = {"datasources": ["cmdline", "cdrom", "openstack"], "deadline": 10,
                "cdrom": {"labels": ["ROS-TEST-NONE"], "seed_dirs": ["/seed"]},
                "openstack": {"url": srv.url, "timeout": 0.5}}
    (tmp_path / "sys").mkdir()
    c = collect(Root(root), settings, cmdline_text="", sys_root=str(tmp_path / "sys"))
    assert c.instance_id == "from-the-drive"
    outcome = {p.name: p.outcome for p in c.probes}
    assert outcome["cdrom"] == "found" and outcome["openstack"] == "skipped"
    assert not srv.state.requests
