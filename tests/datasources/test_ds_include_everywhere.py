"""Every platform source decodes its user-data through the one path (``metaservice.found``):
``#include`` and MIME parts work the same on EC2 (the fake IMDSv2 server), GCE and every other
metadata service as on NoCloud, each include fetched from a config server on 127.0.0.1."""

from __future__ import annotations

import time
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pytest
import test_ds_clouds
import yaml
from ros_init.datasources import gce
from test_ds_clouds import PLATFORMS, host_for, mod

from ros_init.cli import main
from ros_init.cli.demo import make_os_skeleton
from ros_init.core.model import Layer
from ros_init.core.root import Root
from ros_init.sources.host import Host

INCLUDED = b"#cloud-config\nwrite_files:\n- path: /etc/included\n  content: from-include\n"


def _user_configs(docs) -> list[dict]:
    return [d.data for d in docs.configs if d.layer == Layer.USER]


def test_ec2_user_data_include_is_fetched_and_run(tmp_path, capsys, imds, config_server):
    config_server.state.files["/x.yaml"] = INCLUDED
    imds.state.tree["latest/user-data"] = f"#include\n{config_server.url}/x.yaml?sig=s3cr3t-sig\n"
    root = make_os_skeleton(tmp_path / "root")
    settings = {"datasources": ["ec2"], "deadline": 20, "ec2": {"url": imds.url, "timeout": 1}}
    (root / "etc/ros-init").mkdir(parents=True, exist_ok=True)
    (root / "etc/ros-init/ros-init.yaml").write_text(yaml.safe_dump(settings))
    (root / "proc").mkdir(exist_ok=True)
    (root / "proc/cmdline").write_text("\n")
    code = main(["run", "--phase", "network", "--root", str(root)])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert (root / "etc/included").read_text() == "from-include"
    assert (root / "etc/hostname").read_text().strip() == "ip-10-0-0-5"  # the metadata still counts
    assert config_server.state.hits["/x.yaml"] == 1
    assert "s3cr3t-sig" not in out + err


def test_ec2_mime_user_data_with_an_include_part(tmp_path, imds, config_server):
    config_server.state.files["/x.yaml"] = INCLUDED
    msg = MIMEMultipart()
    msg.attach(MIMEText("#cloud-config\nhostname: from-mime\n", "cloud-config"))
    msg.attach(MIMEText(f"{config_server.url}/x.yaml\n", "x-include-url"))
    imds.state.tree["latest/user-data"] = msg.as_string()
    host = Host(root=Root(tmp_path), settings={"ec2": {"url": imds.url, "timeout": 1}}, sys_root=str(tmp_path))
    docs = mod("ec2").fetch(host, time.monotonic() + 10)
    assert _user_configs(docs) == [{"hostname": "from-mime"},
                                   {"write_files": [{"path": "/etc/included", "content": "from-include"}]}]


def test_gce_user_data_include(tmp_path, gce_server, config_server):
    config_server.state.files["/x.yaml"] = INCLUDED
    gce_server.state.instance["attributes"]["user-data"] = f"#include\n{config_server.url}/x.yaml\n"
    host = Host(root=Root(tmp_path), settings={"gce": {"url": gce_server.url + "/computeMetadata/v1", "timeout": 1}}, sys_root=str(tmp_path))
    docs = gce.fetch(host, time.monotonic() + 10)
    assert _user_configs(docs) == [{"write_files": [{"path": "/etc/included", "content": "from-include"}]}]
    assert {d.data.get("hostname") for d in docs.configs if d.layer == Layer.METADATA} == {"n1"}


@pytest.mark.parametrize("p", PLATFORMS, ids=lambda p: p.name)
def test_every_metadata_service_fetches_an_include(p, platform_server, config_server, tmp_path, monkeypatch):
    config_server.state.files["/x.yaml"] = INCLUDED
    monkeypatch.setattr(test_ds_clouds, "UD", f"#include\n{config_server.url}/x.yaml\n")
    srv = platform_server(p.state())
    docs = mod(p.name).fetch(host_for(tmp_path, p, srv.url), time.monotonic() + 10)
    assert docs is not None and docs.instance_id == p.iid
    assert _user_configs(docs) == [{"write_files": [{"path": "/etc/included", "content": "from-include"}]}]
    assert config_server.state.hits["/x.yaml"] == 1
