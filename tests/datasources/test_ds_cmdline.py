"""Kernel command line parsing and the cmdline datasource."""

from __future__ import annotations

import base64
import time

import pytest
from ros_init.datasources import cmdline as ds_cmdline

from ros_init.core.model import Layer
from ros_init.core.root import Root
from ros_init.sources.cmdline import overrides_to_config, parse_cmdline, split_cmdline
from ros_init.sources.host import DatasourceError, Host


def test_split_keeps_quoted_blanks_together():
    assert split_cmdline('a ros.x="b c" d') == ["a", 'ros.x="b c"', "d"]


def test_ros_keys_and_typed_overrides():
    c = parse_cmdline('BOOT_IMAGE=/vmlinuz ros.hostname=n1 ros.rancherd.role=server ros.ssh_pwauth=false '
                      'ros.x.port=6443 ros.x.s="6443" ros.datasource=cdrom,ec2 quiet')
    assert c.overrides == [("hostname", "n1"), ("rancherd.role", "server"), ("ssh_pwauth", False),
                           ("x.port", 6443), ("x.s", "6443")]
    assert c.datasources == ["cdrom", "ec2"]
    data, problems = overrides_to_config(c.overrides)
    assert data == {"hostname": "n1", "rancherd": {"role": "server"}, "ssh_pwauth": False,
                    "x": {"port": 6443, "s": "6443"}}
    assert problems == []


def test_quoted_value_with_blanks():
    c = parse_cmdline('ros.rancherd.labels.note="two words"')
    assert overrides_to_config(c.overrides)[0] == {"rancherd": {"labels": {"note": "two words"}}}


def test_compatible_config_url_spellings_and_precedence():
    assert parse_cmdline("cloud-config-url=http://a/c").config_url == "http://a/c"
    assert parse_cmdline("rancheros.install.config_url=http://b/c").config_url == "http://b/c"
    c = parse_cmdline("ros.config_url=http://ros/c cloud-config-url=http://ci/c")
    assert (c.config_url, c.config_url_param) == ("http://ros/c", "ros.config_url")


def test_nocloud_ds_seed():
    assert parse_cmdline("ds=nocloud;s=http://10.0.0.1/seed").nocloud_seed == "http://10.0.0.1/seed/"
    assert parse_cmdline("ds=nocloud-net;seedfrom=http://h/s/").nocloud_seed == "http://h/s/"
    assert parse_cmdline("ds=ec2").nocloud_seed is None


def test_parameters_after_double_dash_belong_to_init():
    assert parse_cmdline("quiet -- ros.hostname=x").overrides == []


def test_bad_keys_are_problems_not_crashes():
    c = parse_cmdline("ros.=x ros.a..b=1 ros.flag")
    assert len(c.problems) == 3


def test_later_override_replacing_a_scalar_is_reported():
    data, problems = overrides_to_config([("a", 1), ("a.b", 2)])
    assert data == {"a": {"b": 2}} and problems


def _host(text: str, tmp_path) -> Host:
    return Host(root=Root(tmp_path), settings={}, cmdline_text=text)


def test_cmdline_source_gives_a_user_document_and_an_override_document(tmp_path):
    cfg = base64.b64encode(b"#cloud-config\nhostname: from-b64\nssh_pwauth: true\n").decode()
    host = _host(f"ros.config={cfg} ros.hostname=n1", tmp_path)
    assert ds_cmdline.detect(host)
    docs = ds_cmdline.fetch(host, time.monotonic() + 5)
    assert [(d.layer, d.data) for d in docs.configs] == [
        (Layer.USER, {"hostname": "from-b64", "ssh_pwauth": True}),
        (Layer.CMDLINE, {"hostname": "n1"}),
    ]


def test_cmdline_config_accepts_plain_yaml_and_urlsafe_base64(tmp_path):
    cfg = base64.urlsafe_b64encode(b"hostname: \xc3\xa9t\xc3\xa9?\n").decode().rstrip("=")
    docs = ds_cmdline.fetch(_host(f"ros.config={cfg}", tmp_path), time.monotonic() + 5)
    assert docs.configs[0].data == {"hostname": "été?"}


def test_bad_base64_is_a_clear_error(tmp_path):
    with pytest.raises(DatasourceError, match="ros.config is not valid base64"):
        ds_cmdline.fetch(_host("ros.config=@@@", tmp_path), time.monotonic() + 5)


def test_no_ros_parameters_means_not_detected(tmp_path):
    assert not ds_cmdline.detect(_host("quiet console=ttyS0", tmp_path))
