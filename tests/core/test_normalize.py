"""Canonical forms before merging: aliases and every accepted spelling of users."""

from __future__ import annotations

from ros_init.config.merge import merge_documents
from ros_init.config.normalize import normalize, normalize_users
from ros_init.core.model import ConfigDocument, Layer


def test_users_forms():
    assert normalize_users("a, b") == [{"name": "a"}, {"name": "b"}]
    assert normalize_users(["default", "c", ["d", "e"], {"name": "f", "shell": "/bin/sh"}]) == [
        {"name": "default"}, {"name": "c"}, {"name": "d"}, {"name": "e"}, {"name": "f", "shell": "/bin/sh"}]
    assert normalize_users({"g": {"gecos": "G"}, "h": True, "i": False}) == [{"name": "g", "gecos": "G"}, {"name": "h"}]


def test_alias_keys_are_renamed_canonical_wins():
    data = {"users": [{"name": "a", "lock-passwd": False}, {"name": "b", "lock-passwd": True, "lock_passwd": False}]}
    out = normalize(data)
    assert out["users"] == [{"name": "a", "lock_passwd": False}, {"name": "b", "lock_passwd": False}]
    assert data["users"][0] == {"name": "a", "lock-passwd": False}


def test_string_users_merge_with_full_entries():
    docs = [ConfigDocument("v", Layer.VENDOR, {"users": "alice, bob"}),
            ConfigDocument("u", Layer.USER, {"users": [{"name": "alice", "groups": ["wheel"]}]})]
    assert merge_documents(docs)["users"] == [{"name": "alice", "groups": ["wheel"]}, {"name": "bob"}]
