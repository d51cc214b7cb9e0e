"""User-data formats: what is accepted, and the errors for what is not."""

from __future__ import annotations

import gzip
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pytest

from ros_init.core.model import Layer
from ros_init.sources.userdata import MAX_DECOMPRESSED, UserDataError, decode


def test_cloud_config():
    out = decode(b"#cloud-config\nhostname: a\n", "src")
    assert [(c.source, c.layer, c.data) for c in out.configs] == [("src", Layer.USER, {"hostname": "a"})]


def test_empty_is_nothing():
    out = decode(b"\n  \n", "src")
    assert out.configs == [] and out.scripts == []


def test_gzip_cloud_config():
    out = decode(gzip.compress(b"#cloud-config\nhostname: z\n"), "src")
    assert out.configs[0].data == {"hostname": "z"}


def test_gzip_bomb_is_refused():
    bomb = gzip.compress(b"#cloud-config\n" + b" " * (MAX_DECOMPRESSED + 10))
    with pytest.raises(UserDataError, match="expands beyond"):
        decode(bomb, "src")


def test_script_is_kept_for_the_commands_stage():
    out = decode(b"#!/bin/sh\necho hi\n", "ec2 user-data")
    assert out.scripts[0].content.startswith(b"#!/bin/sh") and out.scripts[0].name == "user-data"


def test_mime_multipart_merges_configs_and_keeps_scripts():
    msg = MIMEMultipart()
    msg.attach(MIMEText("#cloud-config\nhostname: a\n", "cloud-config"))
    msg.attach(MIMEText("runcmd: [ls]\n", "cloud-config"))  # header added when missing
    part = MIMEText("#!/bin/bash\necho x\n", "x-shellscript")
    part.add_header("Content-Disposition", "attachment", filename="setup.sh")
    msg.attach(part)
    out = decode(msg.as_bytes(), "nocloud user-data")
    assert [c.data for c in out.configs] == [{"hostname": "a"}, {"runcmd": ["ls"]}]
    assert [s.name for s in out.scripts] == ["setup.sh"]
    assert "part 1" in out.configs[0].source


def test_a_mime_part_no_handler_takes_is_skipped_with_a_warning_naming_it(caplog):
    """cloud-init goes on without such a part; so does ros-init, and says which and why."""
    msg = MIMEMultipart()
    msg.attach(MIMEText("#cloud-config\nhostname: a\n", "cloud-config"))
    msg.attach(MIMEText("x", "html"))
    out = decode(msg.as_bytes(), "src")
    assert [c.data for c in out.configs] == [{"hostname": "a"}]
    assert "src part 2" in caplog.text and "text/html" in caplog.text and "ignored" in caplog.text


@pytest.mark.parametrize("data,why", [
    (b"#include\nhttp://x/y\n", "#include"),
    (b"#cloud-boothook\n#!/usr/bin/python3\nprint(1)\n", "boothook for `python3` is refused"),
    (b"#part-handler\ndef list_types(): pass\n", "Python code"),
    (b"## template: jinja\n#cloud-config\nhostname: {{ v1.nope }}\n", r"gce user-data:3: undefined template variable"),
    (b"hostname: a\n", "not a supported format"),
    (b"\x00\x01\x02binary", "not a supported format"),
])
def test_unsupported_formats_are_clear_errors_naming_the_source(data, why):
    with pytest.raises(UserDataError, match=why) as err:
        decode(data, "gce user-data")
    assert str(err.value).startswith("gce user-data")


def test_errors_never_echo_content_that_is_not_a_header():
    with pytest.raises(UserDataError) as err:
        decode(b"password: hunter2\n", "src")
    assert "hunter2" not in str(err.value)
    with pytest.raises(UserDataError, match="#clod-config"):
        decode(b"#clod-config\nhostname: a\n", "src")


def test_plain_yaml_is_accepted_for_drop_in_files():
    assert decode(b"hostname: a\n", "/oem/10.yaml", yaml_without_header=True).configs[0].data == {"hostname": "a"}


def test_yaml_errors_and_non_mappings_are_located():
    with pytest.raises(UserDataError, match="src"):
        decode(b"#cloud-config\nhostname: [a\n", "src")
    with pytest.raises(UserDataError, match="must be a mapping"):
        decode(b"#cloud-config\n- a\n", "src")
