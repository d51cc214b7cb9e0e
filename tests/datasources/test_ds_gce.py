"""GCE against a real metadata server on 127.0.0.1."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
import requests
from ds_servers import closed_port, gce_instance
from ros_init.datasources import gce

from ros_init.core.model import Layer
from ros_init.core.root import Root
from ros_init.sources.host import DatasourceError, Host

KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA alice@laptop"
KEY_OLD = 'ssh-rsa AAAAB3old google-ssh {"userName":"bob@x.com","expireOn":"2018-01-01T00:00:00+0000"}'
KEY_NEW = 'ssh-rsa AAAAB3new google-ssh {"userName":"bob@x.com","expireOn":"2099-01-01T00:00:00+0000"}'


def _host(tmp_path, url, default_user: str | None = "rancher") -> Host:
    settings = {"gce": {"url": url + "/computeMetadata/v1", "timeout": 0.5}}
    if default_user:
        settings["default_user"] = {"name": default_user}
    return Host(root=Root(tmp_path), settings=settings, sys_root=str(tmp_path))


def test_the_test_server_refuses_requests_without_the_flavor_header(gce_server):
    r = requests.get(gce_server.url + "/computeMetadata/v1/instance/?recursive=true", timeout=2)
    assert r.status_code == 403 and r.headers["Metadata-Flavor"] == "Google"


def test_fetch_id_hostname_user_data_and_keys(gce_server, tmp_path):
    gce_server.state.instance = gce_instance(**{"user-data": "#cloud-config\nruncmd: [date]\n",
                                         "ssh-keys": f"cloudinit:{KEY_A}\nrancher:{KEY_OLD}\nrancher:{KEY_NEW}\n"})
    gce_server.state.project = {"ssh-keys": "rancher:ssh-ed25519 AAAAproj carol"}
    docs = gce.fetch(_host(tmp_path, gce_server.url), time.monotonic() + 10)
    assert docs.instance_id == "4520031799277581759"
    meta = docs.configs[0]
    assert meta.layer == Layer.METADATA
    assert meta.data["hostname"] == "n1" and meta.data["fqdn"] == "n1.c.proj.internal"
    assert meta.data["ssh_authorized_keys"] == [KEY_A, KEY_NEW, "ssh-ed25519 AAAAproj carol"]
    assert docs.configs[1].data == {"runcmd": ["date"]}
    assert all(flavored for _, flavored in gce_server.state.requests)


def test_keys_labelled_for_other_accounts_are_not_the_instances(gce_server, tmp_path):
    """cloud-init's GCE rule: only the lines labelled ``cloudinit`` or with the image's default
    user are public keys of the instance (they go to the default user and root). A key for
    ``alice`` is alice's own account's (the guest agent's business): handing it to the default
    user would let alice in as someone else."""
    other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB carol@desk"
    gce_server.state.instance = gce_instance(**{"ssh-keys": f"alice:{KEY_A}\ncloudinit:{KEY_NEW}\n"})
    gce_server.state.project = {"ssh-keys": f"carol:{other}\nrancher:{other}"}
    docs = gce.fetch(_host(tmp_path, gce_server.url), time.monotonic() + 10)
    assert docs.configs[0].data["ssh_authorized_keys"] == [KEY_NEW, other]
    # Without a default user in the image settings, only the cloudinit label counts.
    docs = gce.fetch(_host(tmp_path, gce_server.url, default_user=None), time.monotonic() + 10)
    assert docs.configs[0].data["ssh_authorized_keys"] == [KEY_NEW]


def test_block_project_ssh_keys(gce_server, tmp_path):
    gce_server.state.instance = gce_instance(**{"block-project-ssh-keys": "TRUE", "ssh-keys": f"rancher:{KEY_A}"})
    gce_server.state.project = {"ssh-keys": "rancher:ssh-ed25519 AAAAproj carol"}
    docs = gce.fetch(_host(tmp_path, gce_server.url), time.monotonic() + 10)
    assert docs.configs[0].data["ssh_authorized_keys"] == [KEY_A]
    assert not any("project" in path for path, _ in gce_server.state.requests)


def test_base64_user_data(gce_server, tmp_path):
    ud = base64.b64encode(b"#cloud-config\nhostname: b64\n").decode()
    gce_server.state.instance = gce_instance(**{"user-data": ud, "user-data-encoding": "base64"})
    docs = gce.fetch(_host(tmp_path, gce_server.url), time.monotonic() + 10)
    assert docs.configs[-1].data == {"hostname": "b64"}


def test_bad_base64_user_data_is_an_error(gce_server, tmp_path):
    gce_server.state.instance = gce_instance(**{"user-data": "!!!", "user-data-encoding": "base64"})
    with pytest.raises(DatasourceError, match="base64"):
        gce.fetch(_host(tmp_path, gce_server.url), time.monotonic() + 10)


def test_an_answer_without_the_flavor_header_is_not_trusted(gce_server, tmp_path):
    gce_server.state.impostor = True
    with pytest.raises(DatasourceError, match="Metadata-Flavor"):
        gce.fetch(_host(tmp_path, gce_server.url), time.monotonic() + 10)


def test_closed_port_means_absent(tmp_path):
    assert gce.fetch(_host(tmp_path, f"http://127.0.0.1:{closed_port()}"), time.monotonic() + 10) is None


def test_parse_ssh_keys_edge_cases():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    text = "\n".join(["", "nocolon", "u:", f"u:{KEY_OLD}", f"u:{KEY_NEW}", "u:ssh-rsa AAA google-ssh {bad json",
                      "u:ssh-ed25519 AAAA caf\u00e9", "v:ssh-ed25519 AAAAv"])
    assert gce.parse_ssh_keys(text, now, {"u"}) == [KEY_NEW, "ssh-rsa AAA google-ssh {bad json"]
    assert gce.parse_ssh_keys(text, now) == []  # only the cloudinit label by default


def test_detect_by_dmi(tmp_path):
    dmi = tmp_path / "sys/class/dmi/id"
    dmi.mkdir(parents=True)
    host = Host(root=Root(tmp_path), settings={}, sys_root=str(tmp_path))
    assert not gce.detect(host)
    (dmi / "product_name").write_text("Google Compute Engine\n")
    assert gce.detect(host)


def test_both_key_attributes_and_the_legacy_one_blocks_the_project(gce_server, tmp_path):
    """cloud-init reads the instance's ``sshKeys`` and ``ssh-keys``; the project's keys only when
    the instance neither blocks them nor has the legacy ``sshKeys`` (which replaces them)."""
    k1, k2, k3 = (f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{c} k{c}" for c in "123")
    gce_server.state.instance = gce_instance(**{"sshKeys": f"cloudinit:{k1}", "ssh-keys": f"rancher:{k2}"})
    gce_server.state.project = {"ssh-keys": f"cloudinit:{k3}"}
    docs = gce.fetch(_host(tmp_path, gce_server.url), time.monotonic() + 10)
    assert docs.configs[0].data["ssh_authorized_keys"] == [k1, k2]
    assert not any("project" in path for path, _ in gce_server.state.requests)
    gce_server.state.instance = gce_instance(**{"ssh-keys": f"rancher:{k2}"})
    docs = gce.fetch(_host(tmp_path, gce_server.url), time.monotonic() + 10)
    assert docs.configs[0].data["ssh_authorized_keys"] == [k2, k3]
