"""Merging: documented precedence, list rules from the schema, property-tested."""

from __future__ import annotations

import copy

from hypothesis import given
from hypothesis import strategies as st

from ros_init.config.merge import merge_documents, provenance
from ros_init.config.redact import REDACTED, redact
from ros_init.core.model import ConfigDocument, Layer

SCHEMA = {
    "type": "object",
    "properties": {
        "hostname": {"type": "string"},
        "users": {"type": "array", "x-merge": "keyed", "x-merge-key": "name",
                  "items": {"anyOf": [{"type": "string"}, {"type": "object", "properties": {
                      "name": {"type": "string"}, "passwd": {"type": "string", "x-secret": True},
                      "groups": {"type": "array", "items": {"type": "string"}}}}]}},
        "write_files": {"type": "array", "x-merge": "keyed", "x-merge-key": "path",
                        "items": {"type": "object", "properties": {"content": {"type": "string", "x-secret": True}}}},
        "ssh_authorized_keys": {"type": "array", "x-merge": "union", "items": {"type": "string"}},
        "runcmd": {"type": "array", "x-merge": "append"},
        "rancherd": {"type": "object", "properties": {"token": {"type": "string", "x-secret": True},
                                                      "tlsSans": {"type": "array"},
                                                      "rancherValues": {"type": "object"}}},
        "network": {"type": "object", "x-merge": "replace"},
    },
}


def doc(data, layer=Layer.USER, source="u"):
    return ConfigDocument(source, layer, data)


def merge(*docs):
    return merge_documents(list(docs), SCHEMA)


def test_precedence_by_layer_not_by_order():
    out = merge(doc({"hostname": "cmd"}, Layer.CMDLINE), doc({"hostname": "user"}),
                doc({"hostname": "image"}, Layer.IMAGE), doc({"hostname": "vendor"}, Layer.VENDOR))
    assert out["hostname"] == "cmd"


def test_users_keyed_by_name_and_merged():
    out = merge(doc({"users": [{"name": "a", "groups": ["x"]}, "b"]}, Layer.VENDOR),
                doc({"users": [{"name": "a", "passwd": "$6$h"}, {"name": "c"}]}))
    assert out["users"] == [{"name": "a", "groups": ["x"], "passwd": "$6$h"}, {"name": "b"}, {"name": "c"}]


def test_files_keyed_by_path_later_wins():
    out = merge(doc({"write_files": [{"path": "/a", "content": "1"}]}, Layer.IMAGE),
                doc({"write_files": [{"path": "/a", "content": "2"}, {"path": "/b"}]}))
    assert out["write_files"] == [{"path": "/a", "content": "2"}, {"path": "/b"}]


def test_keys_union_runcmd_append_lists_replace():
    out = merge(doc({"ssh_authorized_keys": ["k1", "k2"], "runcmd": ["a", "b"], "rancherd": {"tlsSans": ["x"]}}, Layer.VENDOR),
                doc({"ssh_authorized_keys": ["k2", "k3"], "runcmd": ["b", "c"], "rancherd": {"tlsSans": ["y"]}}))
    assert out["ssh_authorized_keys"] == ["k1", "k2", "k3"]
    assert out["runcmd"] == ["a", "b", "b", "c"]  # appended: a command given twice runs twice
    assert out["rancherd"]["tlsSans"] == ["y"]


def test_replace_annotation_on_objects():
    out = merge(doc({"network": {"version": 2, "ethernets": {"a": {}}}}, Layer.METADATA),
                doc({"network": {"version": 2, "bonds": {}}}))
    assert out["network"] == {"version": 2, "bonds": {}}


def test_provenance_lists_sources_per_key():
    p = provenance([doc({"hostname": "a"}, Layer.METADATA, "ec2"), doc({"hostname": "b", "runcmd": []}, source="ud")])
    assert p == {"hostname": ["ec2", "ud"], "runcmd": ["ud"]}


def test_redaction_uses_the_schema_and_names_in_free_form_sections():
    data = {"users": [{"name": "a", "passwd": "$6$canary"}], "write_files": [{"path": "/k", "content": "key"}],
            "rancherd": {"token": "t", "rancherValues": {"bootstrapPassword": "pw", "replicas": 1}}}
    out = redact(data, SCHEMA)
    assert out["users"][0]["passwd"] == REDACTED and out["write_files"][0]["content"] == REDACTED
    assert out["rancherd"]["token"] == REDACTED
    assert out["rancherd"]["rancherValues"] == {"bootstrapPassword": REDACTED, "replicas": 1}
    assert data["users"][0]["passwd"] == "$6$canary"


# -- properties -------------------------------------------------------------------------------
names = st.sampled_from(["a", "b", "c"])
user = st.one_of(names, st.fixed_dictionaries({"name": names}, optional={
    "passwd": st.text(max_size=3), "groups": st.lists(names, max_size=2)}))
config = st.fixed_dictionaries({}, optional={
    "hostname": st.text(max_size=4),
    "users": st.lists(user, max_size=4),
    "write_files": st.lists(st.fixed_dictionaries({"path": st.sampled_from(["/a", "/b"])},
                                                  optional={"content": st.text(max_size=3)}), max_size=3),
    "ssh_authorized_keys": st.lists(st.sampled_from(["k1", "k2", "k3"]), max_size=4),
    "runcmd": st.lists(st.sampled_from(["x", "y"]), max_size=3),
    "rancherd": st.fixed_dictionaries({}, optional={"token": st.text(max_size=2), "tlsSans": st.lists(names, max_size=2)}),
})
layers = st.sampled_from(list(Layer))


@given(config)
def test_merging_a_document_with_itself_changes_nothing_but_its_appended_lists(a):
    once = merge(doc(a))
    twice = merge(doc(a), doc(a))
    assert twice.get("runcmd") == (once["runcmd"] * 2 if "runcmd" in once else None)
    assert {k: v for k, v in twice.items() if k != "runcmd"} == {k: v for k, v in once.items() if k != "runcmd"}
    assert merge(doc(once)) == once


@given(config, config, layers, layers)
def test_inputs_are_never_mutated(a, b, la, lb):
    a0, b0 = copy.deepcopy(a), copy.deepcopy(b)
    merge(doc(a, la), doc(b, lb))
    assert a == a0 and b == b0


@given(config, config)
def test_later_scalars_win_and_keyed_lists_keep_one_entry_per_key(a, b):
    out = merge(doc(a, Layer.VENDOR), doc(b, Layer.USER))
    if "hostname" in b:
        assert out["hostname"] == b["hostname"]
    elif "hostname" in a:
        assert out["hostname"] == a["hostname"]
    for key, field in (("users", "name"), ("write_files", "path")):
        ids = [u if isinstance(u, str) else u[field] for u in out.get(key, [])]
        assert len(ids) == len(set(ids))
    if "token" in b.get("rancherd", {}):
        assert out["rancherd"]["token"] == b["rancherd"]["token"]


@given(config, config)
def test_every_key_survives(a, b):
    out = merge(doc(a, Layer.IMAGE), doc(b, Layer.USER))
    assert set(out) == set(a) | set(b)
    assert set(out.get("ssh_authorized_keys", [])) == set(a.get("ssh_authorized_keys", [])) | set(b.get("ssh_authorized_keys", []))
