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
