"""The http source: config URLs (TLS, pins) and NoCloud seeds over HTTP."""

from __future__ import annotations

import hashlib
import shutil
import time

import pytest
from ros_init.datasources import http

from ros_init.host import DatasourceError, Host
from ros_init.httpfetch import FetchError
from ros_init.model import Layer
from ros_init.root import Root


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
