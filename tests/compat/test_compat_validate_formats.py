"""`ros-init validate` on the user-data formats beyond #cloud-config: each part checked,
findings located inside the part, nothing fetched."""

from __future__ import annotations

import pytest

from ros_init.config.validate import validate_bytes


def _render(raw: bytes) -> list[str]:
    return [f.render() for f in validate_bytes(raw, "ud")]


def test_archive_parts_are_checked_with_positions_inside_the_archive():
    raw = (b"#cloud-config-archive\n- type: text/cloud-config\n  content: |\n    #cloud-config\n    users:\n"
           b"    - name: x\n      shel: y\n- type: text/cloud-config\n  content: |\n    hostnme: a\n")
    assert _render(raw) == [
        "ud:7:7: error: users[0].shel: unknown key `shel`; did you mean `shell`?",
        "ud:10:5: error: hostnme: unknown key `hostnme`; did you mean `hostname`?",
    ]


def test_archive_shape_errors_are_located():
    assert _render(b"#cloud-config-archive\n- {type: text/cloud-config}\n") == [
        "ud:2:3: error: archive part 1 needs a string `content`"]
    assert "must be a list of parts" in _render(b"#cloud-config-archive\nhostname: a\n")[0]


def test_jsonp_operations_are_checked():
    assert _render(b'#cloud-config-jsonp\n[{"op": "add", "path": "/a", "value": 1}]\n') == []
    bad = _render(b'#cloud-config-jsonp\n[{"op": "frobnicate", "path": "/a"}]\n')
    assert len(bad) == 1 and "operation 0" in bad[0] and "frobnicate" in bad[0]
    assert "expected a list" in _render(b"#cloud-config-jsonp\n{op: add}\n")[0]


def test_include_lines_are_checked_not_fetched():
    raw = b"#include\n# comment\nhttps://203.0.113.9/never-fetched\n  file:///etc/shadow\n"
    assert _render(raw) == ["ud:4:3: error: file: refused: only http:// and https:// URLs are included"
                            " (a file: URL would read the node's own files)"]


def test_jinja_template_is_checked_with_placeholders_and_located():
    raw = (b"## template: jinja\n#cloud-config\nhostname: {{ v1.local_hostname }}\nusers:\n"
           b"- name: {{ ds.meta_data.user }}\n  uid: {{ ds.meta_data.uid }}\n  shel: /bin/sh\n")
    assert _render(raw) == ["ud:7:3: error: users[0].shel: unknown key `shel`; did you mean `shell`?"]
    syntax = _render(b"## template: jinja\n#cloud-config\nhostname: {{ v1.x }\n")
    assert syntax[0].startswith("ud:3:1: error: Jinja syntax error")


@pytest.mark.parametrize("raw,ok", [
    (b"#cloud-boothook\n#!/bin/bash\necho hi\n", True),
    (b"#cloud-boothook\necho hi\n", True),
    (b"#cloud-boothook\n#!/usr/bin/python3\nprint(1)\n", False),
    (b"#part-handler\ndef list_types(): pass\n", False),
])
def test_boothooks_and_part_handlers(raw, ok):
    errors = [f for f in validate_bytes(raw, "ud") if f.severity == "error"]
    assert (errors == []) is ok


def test_mime_parts_are_checked_where_they_are_in_the_file():
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText

    msg = MIMEMultipart()
    msg.attach(MIMEText("#cloud-config\nhostname: a\nusers:\n- name: x\n  shel: y\n", "cloud-config"))
    msg.attach(MIMEText("#!/bin/sh\necho\n", "x-shellscript"))
    msg.attach(MIMEText("x", "html"))
    raw = msg.as_bytes()
    lines = raw.decode().split("\n")
    found = validate_bytes(raw, "ud")
    [err] = [f for f in found if f.severity == "error"]
    assert lines[err.location.line - 1].strip() == "shel: y" and err.location.column == 3
    [warn] = [f for f in found if f.severity == "warning"]
    assert "text/html" in warn.message and lines[warn.location.line - 1] == "x"


def test_leading_blank_lines_before_the_header_are_fine():
    assert validate_bytes(b"\n\n  #cloud-config\nhostname: a\n", "ud") == []


def test_jinja_v1_names_ros_init_does_not_give_are_warned_at_their_place():
    found = validate_bytes(b"## template: jinja\n#cloud-config\nhostname: {{ v1.regoin }}-{{ v1.local_hostname }}\n",
                           "ud")
    assert [f.render() for f in found] == [
        "ud:3:14: warning: `v1.regoin` is not instance data ros-init gives: the template would stop at boot with an"
        " undefined variable; did you mean `v1.region`?"]


def test_instance_data_gives_every_name_validate_accepts():
    from ros_init.config.template import V1_NAMES
    from ros_init.sources.instancedata import instance_data

    v1 = instance_data(cloud_name="aws", platform="ec2", instance_id="i-1", local_hostname="h", region="r",
                       availability_zone="r1a", subplatform="imds", public_ssh_keys=["k"])["v1"]
    assert set(V1_NAMES) == set(v1)
