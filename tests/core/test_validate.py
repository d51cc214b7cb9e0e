"""The validator: located, specific, secret-free findings; agreement with jsonschema."""

from __future__ import annotations

import jsonschema
from hypothesis import given, settings
from hypothesis import strategies as st

from ros_init.config.validate import Validator, header_findings
from ros_init.config.yamlsource import load_document

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "hostname": {"type": "string", "format": "hostname"},
        "packages": {"x-ignored": "ros-init does not install packages"},
        "users": {
            "type": "array",
            "items": {"anyOf": [{"type": "string"}, {"$ref": "#/$defs/user"}]},
        },
        "write_files": {"type": "array", "items": {"$ref": "#/$defs/file"}},
        "rancherd": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "role": {"enum": ["cluster-init", "server", "agent"]},
                "server": {"type": "string"},
                "token": {"type": "string", "x-secret": True},
            },
            "if": {"properties": {"role": {"enum": ["server", "agent"]}}, "required": ["role"]},
            "then": {"required": ["server", "token"]},
        },
        "count": {"type": "integer", "minimum": 0, "maximum": 10},
        "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True, "minItems": 1},
    },
    "$defs": {
        "user": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "pattern": "^[a-z_][a-z0-9_-]*$"},
                "lock_passwd": {"type": "boolean"},
                "passwd": {"type": "string", "x-secret": True},
                "groups": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
            },
        },
        "file": {
            "type": "object",
            "additionalProperties": False,
            "required": ["path"],
            "properties": {
                "path": {"type": "string", "pattern": "^/"},
                "permissions": {"type": ["string", "integer"], "format": "file-mode"},
                "content": {"type": "string", "x-secret": True},
            },
        },
    },
}


def run(text: str):
    doc = load_document(text, "c.yaml")
    assert doc.ok, doc.findings
    return Validator(SCHEMA, doc).run()


def one(text: str):
    findings = [f for f in run(text) if f.severity == "error"]
    assert len(findings) == 1, findings
    return findings[0]


def test_misspelled_key_points_at_the_key_with_a_suggestion():
    f = one("users:\n  - name: alice\n    lock_pasword: false\n")
    assert f.path == "users[0].lock_pasword"
    assert (f.location.line, f.location.column) == (3, 5)
    assert "did you mean `lock_passwd`" in f.message


def test_typo_permsisions_is_an_error_not_a_silent_0000():
    f = one("write_files:\n  - path: /etc/sudoers\n    permsisions: '0440'\n")
    assert f.code == "unknown-key" and "permissions" in f.message


def test_yaml11_octal_and_decimal_modes():
    [w] = run("write_files:\n  - path: /a\n    permissions: 0644\n")
    assert w.severity == "warning" and "'0644'" in w.message
    f = one("write_files:\n  - path: /a\n    permissions: 644\n")
    assert "decimal" in f.message and f.location.line == 3
    assert run("write_files:\n  - path: /a\n    permissions: '0644'\n") == []
    assert one("write_files:\n  - path: /a\n    permissions: '0999'\n").code == "format"


def test_number_where_a_string_is_expected_is_explained():
    f = one("hostname: 12\n")
    assert "expected a string" in f.message and "quote '12'" in f.message
    f = one("users:\n  - name: bob\n    groups: no\n")
    assert "YAML 1.1 reads `no` as the boolean false" in f.message


def test_anyof_picks_the_branch_the_author_meant():
    f = one("users:\n  - name: Bad Name\n")
    assert f.path == "users[0].name" and f.code == "pattern"
    f = one("users:\n  - 42\n")
    assert "expected a string or a mapping" in f.message


def test_secrets_are_never_echoed():
    for text in ("users:\n  - name: a\n    passwd: 123456789\n",
                 "rancherd:\n  role: agent\n  server: https://x\n  token: [s3cr3t-canary]\n",
                 "write_files:\n  - path: /a\n    content: 4242424242\n"):
        for f in run(text):
            assert "123456789" not in f.message and "s3cr3t-canary" not in f.message and "4242424242" not in f.message


def test_conditional_rule_says_why():
    f = one("rancherd:\n  role: agent\n  server: https://s:8443\n")
    assert "missing required key `token`" in f.message and "because `role` is agent" in f.message
    assert run("rancherd:\n  role: cluster-init\n") == []


def test_ignored_cloud_init_key_is_a_warning():
    [w] = run("packages: [vim]\n")
    assert w.severity == "warning" and w.code == "ignored" and "packages" in w.message


def test_enum_range_unique_and_missing():
    assert "did you mean `server`" in one("rancherd:\n  role: sever\n  server: x\n  token: t\n").message
    assert "must be <= 10" in one("count: 11\n").message
    assert one("tags: [a, b, a]\n").path == "tags[2]"
    assert one("tags: []\n").code == "length"
    f = one("users:\n  - lock_passwd: true\n")
    assert f.message == "missing required key `name`" and f.location.line == 2


def test_header_rules():
    assert header_findings("#cloud-config", "f") == []
    assert header_findings("# cloud-config", "f")[0].severity == "error"
    assert header_findings("#cloud-confg", "f")[0].severity == "error"
    assert header_findings("hostname: a", "f")[0].severity == "warning"
    assert header_findings("#!/bin/sh", "f")[0].severity == "error"


# -- agreement with jsonschema on generated documents ---------------------------------------
scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 20), st.sampled_from(
    ["", "a", "Bad Name", "/etc/x", "0644", "644", "server", "agent", "node-1", "https://s"]))
user = st.one_of(st.text(max_size=3), st.dictionaries(
    st.sampled_from(["name", "lock_passwd", "passwd", "groups", "shell"]),
    st.one_of(scalars, st.lists(st.sampled_from(["a", "b"]), max_size=2)), max_size=4))
doc = st.dictionaries(
    st.sampled_from(["hostname", "users", "count", "tags", "rancherd", "write_files", "bogus"]),
    st.one_of(scalars, st.lists(user, max_size=3), st.lists(scalars, max_size=3),
              st.dictionaries(st.sampled_from(["role", "server", "token", "x"]), scalars, max_size=3),
              st.lists(st.dictionaries(st.sampled_from(["path", "permissions", "content"]), scalars, max_size=3),
                       max_size=2)),
    max_size=4)



def _without(node, drop):
    """The schema without keywords jsonschema does not assert by default (format) or our x-*."""
    if isinstance(node, dict):
        return {k: _without(v, drop) for k, v in node.items() if k not in drop}
    if isinstance(node, list):
        return [_without(v, drop) for v in node]
    return node


_std = _without(SCHEMA, {"format"})
_std["properties"].pop("packages")


@settings(max_examples=400, deadline=None)
@given(doc)
def test_validity_agrees_with_jsonschema(data):
    from ros_init.config.yamlsource import ParsedDocument

    d = ParsedDocument("gen", data)
    ours = not any(f.severity == "error" for f in Validator(_std, d).run())
    theirs = jsonschema.Draft202012Validator(_std).is_valid(data)
    assert ours == theirs


def test_a_key_that_is_not_a_name_in_a_map_of_names_says_what_a_name_is():
    """cloud-init's mapping form of ``users`` has names for keys: a bad one is not an
    "unknown key" with an empty list of allowed keys, it is a name that breaks the rule."""
    from ros_init.config.validate import validate_bytes

    findings = validate_bytes(b"#cloud-config\nusers:\n  -bad:\n    gecos: x\n  good:\n    gecos: y\n", "u.yaml")
    [f] = [f for f in findings if f.severity == "error"]
    assert f.path == "users.-bad" and (f.location.line, f.location.column) == (3, 3)
    assert f.message.startswith("`-bad` is not a user name: ") and "allowed here" not in f.message
    bond = (b"#cloud-config\nnetwork:\n  version: 1\n  config:\n    - type: bond\n      name: bond0\n"
            b"      bond_interfaces: [eth0]\n      params:\n        bogus: 1\n")
    [f] = [f for f in validate_bytes(bond, "b.yaml") if f.severity == "error"]
    assert f.message.startswith("`bogus` is not a bond parameter") and (f.location.line, f.location.column) == (9, 9)
