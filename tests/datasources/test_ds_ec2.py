"""EC2 against a real IMDSv2 server on 127.0.0.1."""

from __future__ import annotations

import time

import pytest
import requests
from ds_servers import closed_port, ec2_tree
from ros_init.datasources import ec2

from ros_init.core.model import Layer
from ros_init.core.root import Root
from ros_init.sources.host import DatasourceError, Host
from ros_init.sources.httpfetch import FetchError


def _host(tmp_path, url, **cfg) -> Host:
    return Host(root=Root(tmp_path), settings={"ec2": {"url": url, "timeout": 0.5, **cfg}}, sys_root=str(tmp_path))


def test_the_test_server_refuses_what_imds_refuses(imds):
    assert requests.get(imds.url + "/latest/meta-data/instance-id", timeout=10).status_code == 401
    assert requests.put(imds.url + "/latest/api/token", timeout=10).status_code == 400
    assert requests.put(imds.url + "/latest/api/token", timeout=10,
                        headers={"X-aws-ec2-metadata-token-ttl-seconds": "60",
                                 "X-Forwarded-For": "1.2.3.4"}).status_code == 403
    assert requests.get(imds.url + "/latest/meta-data/instance-id", timeout=10,
                        headers={"X-aws-ec2-metadata-token": "forged"}).status_code == 401


def test_fetch_everything_with_a_token_on_every_request(imds, tmp_path):
    docs = ec2.fetch(_host(tmp_path, imds.url), time.monotonic() + 10)
    assert docs.instance_id == "i-0123456789abcdef0"
    meta = [d for d in docs.configs if d.layer == Layer.METADATA][0].data
    assert meta["hostname"] == "ip-10-0-0-5" and meta["fqdn"] == "ip-10-0-0-5.ec2.internal"
    assert meta["ssh_authorized_keys"] == ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEc2 my-key"]
    assert meta["network"]["ethernets"]["eth0"]["addresses"] == ["10.0.0.6/24"]
    assert [d.data for d in docs.configs if d.layer == Layer.USER] == [{"runcmd": ["echo hi"]}]
    gets = [r for r in imds.state.requests if r[0] == "GET"]
    assert gets and all(had_token for _, _, had_token in gets)
    assert imds.state.requests[0][:2] == ("PUT", "/latest/api/token")


def test_user_data_404_means_none(imds, tmp_path):
    del imds.state.tree["latest/user-data"]
    docs = ec2.fetch(_host(tmp_path, imds.url), time.monotonic() + 10)
    assert [d.layer for d in docs.configs] == [Layer.METADATA] and "user-data" not in docs.raw


def test_401_gets_a_new_token_once(imds, tmp_path):
    imds.state.expire_tokens_after = 2
    docs = ec2.fetch(_host(tmp_path, imds.url), time.monotonic() + 10)
    assert docs.instance_id == "i-0123456789abcdef0"
    assert sum(1 for r in imds.state.requests if r[0] == "PUT") == 2


def test_403_on_the_token_stops_at_once(imds, tmp_path):
    imds.state.token_status = 403
    t0 = time.monotonic()
    with pytest.raises(DatasourceError, match="403"):
        ec2.fetch(_host(tmp_path, imds.url), time.monotonic() + 10)
    assert time.monotonic() - t0 < 1


def test_403_on_a_path_stops(imds, tmp_path):
    imds.state.faults["latest/meta-data/instance-id"] = [(403, {})]
    with pytest.raises(DatasourceError, match="refused latest/meta-data/instance-id"):
        ec2.fetch(_host(tmp_path, imds.url), time.monotonic() + 10)


def test_503_honours_retry_after(imds, tmp_path):
    imds.state.faults["latest/meta-data/instance-id"] = [(503, {"Retry-After": "1"})]
    t0 = time.monotonic()
    docs = ec2.fetch(_host(tmp_path, imds.url), time.monotonic() + 10)
    assert docs.instance_id and time.monotonic() - t0 >= 0.95


def test_imdsv1_is_not_used_unless_allowed(imds, tmp_path):
    imds.state.token_status = 405
    with pytest.raises(DatasourceError, match="405"):
        ec2.fetch(_host(tmp_path, imds.url), time.monotonic() + 10)


def test_closed_port_means_absent_quickly(tmp_path):
    t0 = time.monotonic()
    assert ec2.fetch(_host(tmp_path, f"http://127.0.0.1:{closed_port()}"), time.monotonic() + 10) is None
    assert time.monotonic() - t0 < 0.5


def test_hanging_imds_ends_at_the_deadline(imds, tmp_path):
    imds.state.hang = True
    t0 = time.monotonic()
    with pytest.raises(FetchError) as err:
        ec2.fetch(_host(tmp_path, imds.url), time.monotonic() + 1.0)
    assert err.value.kind == "timeout" and time.monotonic() - t0 < 1.6


def test_bad_user_data_is_an_error_naming_ec2(imds, tmp_path):
    imds.state.tree["latest/user-data"] = "hostname: not-cloud-config\n"
    with pytest.raises(Exception, match="ec2 user-data"):
        ec2.fetch(_host(tmp_path, imds.url), time.monotonic() + 10)


def test_detect_by_dmi_or_setting(tmp_path):
    dmi = tmp_path / "sys/class/dmi/id"
    dmi.mkdir(parents=True)
    host = Host(root=Root(tmp_path), settings={}, sys_root=str(tmp_path))
    assert not ec2.detect(host)
    (dmi / "sys_vendor").write_text("Amazon EC2\n")
    assert ec2.detect(host)
    assert ec2.detect(Host(root=Root(tmp_path), settings={"ec2": {"url": "http://x"}}, sys_root="/nonexistent"))


def test_network_config_from_the_tree_matches_the_translator(imds, tmp_path):
    tree = ec2_tree()
    docs = ec2.fetch(_host(tmp_path, imds.url), time.monotonic() + 10)
    net = docs.configs[0].data["network"]
    assert set(net["ethernets"]) == {"eth0", "eth1"}
    assert net["ethernets"]["eth0"]["match"]["macaddress"] in tree["latest/meta-data/network/interfaces/macs/"]
