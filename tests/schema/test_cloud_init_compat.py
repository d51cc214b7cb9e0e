"""cloud-init compatibility: every key of cloud-init's own schema is a property of ours, implemented
(per SPEC-config) or accepted with an x-ignored warning."""

from __future__ import annotations

import pytest

from .corpus import load_schema, read_key_list

SCHEMA = load_schema()

# The cloud-init top-level keys ros-init implements; every other one must be x-ignored.
IMPLEMENTED = {
    "hostname", "fqdn", "preserve_hostname", "manage_etc_hosts", "users", "groups", "ssh_authorized_keys",
    "ssh_pwauth", "chpasswd", "write_files", "runcmd", "bootcmd", "growpart", "merge_how", "merge_type", "password",
    "disable_root", "disable_root_opts",
}


def test_key_lists_are_not_empty_and_name_their_source():
    for name in ("cloud-init-top-level-keys.txt", "cloud-init-user-keys.txt", "cloud-init-write-files-keys.txt"):
        keys = read_key_list(name)
        assert len(keys) == len(set(keys)) > 5
        assert keys == sorted(keys)


@pytest.mark.parametrize("key", read_key_list("cloud-init-top-level-keys.txt"))
def test_top_level_key_is_known(key):
    prop = SCHEMA["properties"].get(key)
    assert prop is not None, f"cloud-init key {key!r} is not in the schema"
    if key in IMPLEMENTED:
        assert "x-ignored" not in prop
    else:
        assert prop.get("x-ignored"), f"{key} is not implemented: it needs an x-ignored reason"


@pytest.mark.parametrize("key", read_key_list("cloud-init-user-keys.txt"))
def test_user_key_is_known(key):
    assert key in SCHEMA["$defs"]["user"]["properties"]


@pytest.mark.parametrize("key", read_key_list("cloud-init-write-files-keys.txt"))
def test_write_files_key_is_known(key):
    assert key in SCHEMA["$defs"]["writeFile"]["properties"]


def test_implemented_keys_are_all_cloud_init_keys():
    assert set(read_key_list("cloud-init-top-level-keys.txt")) >= IMPLEMENTED
