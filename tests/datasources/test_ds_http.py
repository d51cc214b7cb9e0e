"""The http source: config URLs (TLS, pins) and NoCloud seeds over HTTP."""

from __future__ import annotations

import hashlib
import logging
import shutil
import time

import pytest
from ros_init.datasources import http

from ros_init.core.model import Layer
from ros_init.core.root import Root
from ros_init.sources.host import DatasourceError, Host
from ros_init.sources.httpfetch import FetchError


def _host(tmp_path, cmdline="", **cfg) -> Host:
    return Host(root=Root(tmp_path), settings={"http": {"timeout": 1, **cfg}}, cmdline_text=cmdline)


def test_config_url_from_the_settings_with_a_sha512_pin(tmp_path, config_server):
    body = b"#cloud-config\nhostname: pinned\n"
    config_server.state.files["/c"] = body
    host = _host(tmp_path, url=config_server.url + "/c", hash="sha512-" + hashlib.sha512(body).hexdigest())
    assert http.detect(host)
    docs = http.fetch(host, time.monotonic() + 5)
    assert docs.configs[0].data == {"hostname": "pinned"} and docs.configs[0].layer == Layer.USER


def test_command_line_url_wins_over_the_settings(tmp_path, config_server):
    config_server.state.files["/cmd"] = b"hostname: cmd\n"
    host = _host(tmp_path, f"cloud-config-url={config_server.url}/cmd", url=config_server.url + "/settings")
    docs = http.fetch(host, time.monotonic() + 5)
    assert docs.configs[0].data == {"hostname": "cmd"}
    assert "cloud-config-url" not in docs.source and config_server.state.hits.get("/settings") is None


def test_https_with_the_ca_from_the_target_root(tmp_path, tls_server, pki):
    shutil.copy(pki.ca_pem, tmp_path / "ca.pem")
    tls_server.state.files["/c"] = b"#cloud-config\nhostname: tls\n"
    docs = http.fetch(_host(tmp_path, url=tls_server.url + "/c", ca="/ca.pem"), time.monotonic() + 5)
    assert docs.configs[0].data == {"hostname": "tls"}


def test_https_without_the_ca_is_a_tls_error(tmp_path, tls_server):
    with pytest.raises(FetchError) as err:
        http.fetch(_host(tmp_path, url=tls_server.url + "/c"), time.monotonic() + 5)
    assert err.value.kind == "tls"


def test_missing_ca_file_is_named(tmp_path, tls_server):
    with pytest.raises(DatasourceError, match="CA file /nope.pem"):
        http.fetch(_host(tmp_path, url=tls_server.url + "/c", ca="/nope.pem"), time.monotonic() + 5)


def test_404_config_url_is_an_error(tmp_path, config_server):
    with pytest.raises(DatasourceError, match="404"):
        http.fetch(_host(tmp_path, url=config_server.url + "/missing"), time.monotonic() + 5)


def test_non_http_url_is_refused(tmp_path):
    with pytest.raises(DatasourceError, match="only http"):
        http.fetch(_host(tmp_path, "ros.config_url=file:///etc/shadow"), time.monotonic() + 5)


def test_nocloud_seed_over_http(tmp_path, config_server):
    config_server.state.files.update({
        "/seed/meta-data": b"instance-id: iid-net\nlocal-hostname: netseed\n",
        "/seed/user-data": b"#cloud-config\nruncmd: [net]\n",
        "/seed/network-config": b"version: 1\nconfig:\n  - {type: physical, name: eth0, subnets: [{type: dhcp}]}\n",
    })
    docs = http.fetch(_host(tmp_path, f"ds=nocloud;s={config_server.url}/seed/"), time.monotonic() + 5)
    assert docs.instance_id == "iid-net"
    assert docs.configs[0].data == {"hostname": "netseed",
                                    "network": {"version": 2, "ethernets": {"eth0": {"dhcp4": True}}}}
    assert docs.configs[1].data == {"runcmd": ["net"]}


def test_nocloud_seed_without_meta_data_is_an_error(tmp_path, config_server):
    with pytest.raises(DatasourceError, match="meta-data not found"):
        http.fetch(_host(tmp_path, f"ds=nocloud;s={config_server.url}/empty"), time.monotonic() + 5)


def _fake_proc(base, routes: str, routes6: str = "") -> str:
    (base / "proc/net").mkdir(parents=True)
    (base / "proc/net/route").write_text(
        "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n" + routes)
    (base / "proc/net/ipv6_route").write_text(routes6)
    return str(base)


LO6 = "00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000001 00000000 80200001       lo\n"
LINK6 = "fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n"
ETH4 = "eth0\t00000000\t0102A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"


def test_has_network_reads_the_route_tables(tmp_path):
    def host_with(routes, routes6=""):
        h = _host(tmp_path / "root")
        h.sys_root = _fake_proc(tmp_path / f"sys{len(list(tmp_path.iterdir()))}", routes, routes6)
        return h

    (tmp_path / "root").mkdir()
    from ros_init.sources.netroute import has_network

    assert not has_network(host_with("", LO6 + LINK6))  # loopback and link-local only
    assert has_network(host_with(ETH4, LO6))


def test_a_source_steps_aside_only_without_a_route_to_what_it_needs(tmp_path, caplog):
    """The one rule every network source follows early in boot (http, metadata services,
    Azure's report): nothing to reach, something on this machine, or a route: go ahead."""
    from ros_init.sources.netroute import steps_aside

    (tmp_path / "root").mkdir()
    host = _host(tmp_path / "root")
    host.sys_root = _fake_proc(tmp_path / "sys", "", LO6 + LINK6)
    marker = tmp_path / "root/run/ros-init/need-network"
    assert not steps_aside(host, "ec2", [], "the metadata service")
    assert not steps_aside(host, "ec2", ["http://127.0.0.1:8080", "http://192.0.2.1"], "the metadata service")
    assert not marker.exists()
    with caplog.at_level(logging.INFO):
        assert steps_aside(host, "ec2", ["http://169.254.169.254"], "the metadata service")
    assert marker.read_text() == "ec2\n"
    assert "ec2: no network route yet; the metadata service is left to the network phase" in caplog.text
    routed = _host(tmp_path / "root")
    routed.sys_root = _fake_proc(tmp_path / "sys-routed", ETH4, LO6)
    assert not steps_aside(routed, "gce", ["http://169.254.169.254"], "the metadata service")


def test_a_config_url_before_the_network_is_left_to_the_network_phase(tmp_path, monkeypatch):
    import ros_init.sources.httpfetch

    def no_request(*a, **k):
        raise AssertionError("no request may be sent without a network")

    monkeypatch.setattr(ros_init.sources.httpfetch, "request", no_request)
    (tmp_path / "root").mkdir()
    host = _host(tmp_path / "root", "ros.config_url=http://192.0.2.1/config")
    host.sys_root = _fake_proc(tmp_path / "sys", "", LO6)
    t0 = time.monotonic()
    assert http.fetch(host, t0 + 30) is None
    assert time.monotonic() - t0 < 1
    assert (tmp_path / "root/run/ros-init/need-network").exists()
