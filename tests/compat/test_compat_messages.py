"""Findings for documents cloud-init accepts: warnings that say what would happen at boot,
cloud-init's header rule, and the sections of other dialects explained."""

from __future__ import annotations

import pytest

from ros_init.config.validate import header_findings


def test_header_is_a_case_insensitive_prefix_after_whitespace():
    """cloud-init's rule: `#cloud-config (1)` and `#Cloud-Config` are headers."""
    for line in ("#cloud-config (1)", "#Cloud-Config", "  #cloud-config", "#CLOUD-CONFIG  # comment"):
        assert header_findings(line, "f") == [], line
    assert header_findings("# cloud-config", "f")[0].severity == "error"


def test_binary_content_in_write_files_is_accepted_and_elsewhere_refused():
    from ros_init.config.validate import validate_bytes

    ok = b"#cloud-config\nwrite_files:\n- path: /a\n  content: !!binary |\n    aGVsbG8=\n"
    assert [f for f in validate_bytes(ok, "f") if f.severity == "error"] == []
    bad = b"#cloud-config\nhostname: !!binary aGVsbG8=\n"
    errs = [f for f in validate_bytes(bad, "f") if f.severity == "error"]
    assert errs and "binary data" in errs[0].message


@pytest.mark.parametrize("value", ["${hostname}", "node-{{ v1.local_hostname }}", "%{ var }", "<%= name %>"])
def test_template_placeholder_is_a_named_warning(value):
    from ros_init.config.validate import validate_bytes

    doc = f"#cloud-config\nhostname: '{value}'\nusers:\n- name: '{value}'\n".encode()
    found = validate_bytes(doc, "f")
    assert [f.severity for f in found] == ["warning", "warning"]
    assert all(f.code == "template" and "unrendered template variable" in f.message for f in found)
    assert "hostname stage would refuse it at boot" in found[0].message


def test_format_checks_cloud_init_does_not_make_are_warnings():
    from ros_init.config.validate import validate_bytes

    doc = (b"#cloud-config\nssh_authorized_keys: ['ssh-rsa AAAA...', 'ssh-rsa YOUR KEY']\n"
           b"users:\n- name: a\n  passwd: secretpass\n")
    found = validate_bytes(doc, "f")
    assert [f.severity for f in found] == ["warning"] * 3
    assert "not a crypt hash: the account would be unusable for password login" in found[2].message
    assert "secretpass" not in found[2].message
    assert "sshd would ignore" in found[0].message


def test_rancheros_v1_and_coreos_sections_are_explained():
    from ros_init.config.validate import validate_bytes

    found = validate_bytes(b"#cloud-config\nrancher:\n  network: {}\ncoreos:\n  units: []\n", "f")
    assert [(f.path, f.severity) for f in found] == [("rancher", "error"), ("coreos", "error")]
    assert "RancherOS v1" in found[0].message and "rancherd" in found[0].message
    assert "CoreOS" in found[1].message


def _found(text: str) -> list[str]:
    from ros_init.config.validate import validate_bytes

    return [f.render() for f in validate_bytes(text.encode(), "f")]


def test_ssh_pwauth_1_suggests_true():
    [msg] = _found("#cloud-config\nssh_pwauth: 1\n")
    assert msg.startswith("f:2:13: error: ssh_pwauth:") and "write true" in msg and "quote" not in msg


def test_missing_colon_is_located_on_the_culprit_line():
    [msg] = _found("#cloud-config\nhostname: a\nruncmd\n  - ls\nusers: []\n")
    assert msg.startswith("f:3:1: error: could not find expected ':'")


@pytest.mark.parametrize("text,where,column", [
    ("#cloud-config\nwrite_files:\n- path: /a\n content: x\n", "f:4:2", 3),  # less than the item's keys
    ("#cloud-config\nwrite_files:\n  - path: /a\n  content: x\n", "f:4:3", 5),  # at the dash
    ("#cloud-config\nwrite_files:\n- path: /a\n  content: x\n- path: /b\ncontent: y\n  permissions: '0644'\n",
     "f:6:1", 3),  # out of the item, the next line then breaks the YAML
])
def test_a_list_item_key_that_lost_its_indent_is_one_finding(text, where, column):
    [msg] = _found(text)
    assert msg.startswith(f"{where}: error: indentation: `") and f"indent it to column {column}" in msg


@pytest.mark.parametrize("text,message", [
    ("#cloud-config\ngrowpart:\n  mode: auto\ndevices: ['/']\n",
     "f:4:1: error: devices: indentation: `devices` is not a top-level key but one of `growpart` (line 2):"
     " indent it under `growpart`"),
    ("#cloud-config\nwrite_files:\n- path: /a\ncontent: x\n",
     "f:4:1: error: content: indentation: `content` is not a top-level key but one of the last item of `write_files`"
     " (line 2): indent it like `path` (line 3, column 3)"),
])
def test_a_key_one_level_too_high_is_one_indentation_finding(text, message):
    assert _found(text) == [message]


def test_a_really_unknown_key_stays_unknown():
    [msg] = _found("#cloud-config\ngrowpart:\n  mode: auto\nfrobnicate: 1\n")
    assert "unknown key `frobnicate`" in msg
