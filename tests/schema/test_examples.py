"""The packaged example configs (README demo, benchmarks) are valid and show what they claim to."""

from __future__ import annotations

from importlib import resources

import jsonschema
import pytest
import yaml

from .corpus import load_schema

VALIDATOR = jsonschema.Draft202012Validator(load_schema())


def example(name: str) -> str:
    return resources.files("ros_init").joinpath("examples", name).read_text()


@pytest.mark.parametrize("name", ["demo.yaml", "minimal.yaml"])
def test_example_is_valid_cloud_config(name):
    text = example(name)
    assert text.startswith("#cloud-config\n")
    assert [e.message for e in VALIDATOR.iter_errors(yaml.safe_load(text))] == []


def test_demo_covers_the_typical_config():
    demo = yaml.safe_load(example("demo.yaml"))
    admin, system = demo["users"]
    assert admin["sudo"] and len(admin["ssh_authorized_keys"]) == 2 and admin["lock_passwd"] is False
    assert admin["passwd"].startswith("$6$")
    assert system["system"] is True
    # no top-level keys: without a default user in the demo's settings they would go to root
    # only, behind disable_root_opts (cloud-init's rule)
    assert "ssh_authorized_keys" not in demo and demo["ssh_pwauth"] is False
    files = demo["write_files"]
    assert len(files) == 3
    assert {f.get("encoding", "text/plain") for f in files} >= {"text/plain", "b64"}
    assert [f.get("phase") for f in files].count("initramfs") == 1
    assert any("owner" in f and "permissions" in f for f in files)
    ethernets = demo["network"]["ethernets"].values()
    assert any("match" in e and "addresses" in e for e in ethernets)
    assert any(e.get("dhcp4") is True for e in ethernets)
    assert demo["rancherd"]["role"] == "server" and demo["rancherd"]["server"] and demo["rancherd"]["token"]
    assert len(demo["runcmd"]) == 2


def test_demo_password_hash_is_a_real_sha512_crypt_of_the_documented_throwaway():
    from passlib.hash import sha512_crypt

    demo = yaml.safe_load(example("demo.yaml"))
    assert sha512_crypt.verify("throwaway-demo-password", demo["users"][0]["passwd"])
