"""The editor schema in the real yaml-language-server, driven over LSP as an editor drives it.

Each document is also run through ``ros-init validate``: the editor must say what validate
says (its "did you mean", its messages) and never show an error where validate accepts.
"""

from __future__ import annotations

import itertools

import pytest

from ros_init.config.schema import SchemaWalker, load_schema
from ros_init.config.validate import validate_bytes

ERROR = 1  # LSP DiagnosticSeverity.Error: yaml-language-server reports schema problems as errors
_names = itertools.count()


def _open(yamlls, text: str) -> tuple[str, list[dict]]:
    uri = (yamlls.workspace / f"doc{next(_names)}.cloud-config.yaml").as_uri()
    return uri, yamlls.open(uri, text)


def _schema_errors(diags: list[dict]) -> list[str]:
    return [f"{d['range']['start']['line'] + 1}:{d['range']['start']['character'] + 1} {d['message']}"
            for d in diags if d.get("severity") == ERROR]


def _findings(text: str) -> list:
    return validate_bytes(text.encode(), "doc.yaml")


def test_misspelled_key_says_did_you_mean_like_validate(yamlls):
    text = "#cloud-config\nhostnme: node1\nusers:\n  - name: alice\n    lock_paswd: false\n"
    _, diags = _open(yamlls, text)
    by_line = {d["range"]["start"]["line"]: d["message"] for d in diags}
    assert by_line.get(1) == "unknown key; did you mean `hostname`?", diags
    assert by_line.get(4) == "unknown key; did you mean `lock_passwd`?", diags
    assert not any("is not allowed" in d["message"] for d in diags), diags
    # The same hints from validate, at the same lines.
    hints = {f.location.line - 1: f.message for f in _findings(text) if f.severity == "error"}
    assert "did you mean `hostname`?" in hints[1] and "did you mean `lock_passwd`?" in hints[4]


def test_deprecated_alias_points_to_the_key_it_stands_for(yamlls):
    _, diags = _open(yamlls, "#cloud-config\nusers:\n  - name: alice\n    lock-paswd: false\n")
    assert [d["message"] for d in diags] == ["unknown key; did you mean `lock_passwd`?"]


def test_x_message_replaces_the_raw_regex(yamlls):
    text = "#cloud-config\nusers:\n  - name: alice\n    homedir: home/alice\nrancherd:\n  role: agent\n  token: t\n  server: http://10.0.0.1\n"
    _, diags = _open(yamlls, text)
    messages = [d["message"] for d in diags]
    root = load_schema()
    assert root["$defs"]["user"]["properties"]["homedir"]["x-message"] in messages
    assert root["$defs"]["rancherd"]["properties"]["server"]["x-message"] in messages
    assert not any("does not match the pattern" in m for m in messages), messages


def _acting_keys(defn: str) -> set[str]:
    walker = SchemaWalker(load_schema())
    props = load_schema()["$defs"][defn]["properties"]
    return {k for k, v in props.items()
            if not {"x-ignored", "x-deprecated"} & walker.deref(v).keys()}


def test_completion_in_a_users_item_offers_only_keys_that_act(yamlls):
    uri, _ = _open(yamlls, "#cloud-config\nusers:\n  - name: alice\n    \n")
    items = yamlls.completion(uri, 3, 4)
    keys = {i["label"] for i in items if i.get("kind") == 10}  # CompletionItemKind.Property
    expected = _acting_keys("user") - {"name"}
    assert keys == expected
    assert "hashed_passwd" in keys  # an x-alias-of passwd with its own meaning, not deprecated
    all_keys = set(load_schema()["$defs"]["user"]["properties"])
    assert len(all_keys - {"name"}) > len(keys) + 15  # what the plain schema offers


def test_completion_offers_the_snippets(yamlls):
    uri, _ = _open(yamlls, "#cloud-config\nusers:\n  - \n")
    labels = {i["label"] for i in yamlls.completion(uri, 2, 4)}
    assert "user with SSH keys and sudo" in labels
    uri, _ = _open(yamlls, "#cloud-config\nrancherd:\n  \n")
    labels = {i["label"] for i in yamlls.completion(uri, 2, 2)}
    assert {"rancherd server", "rancherd agent"} <= labels


def test_hover_shows_the_reference_text(yamlls):
    uri, _ = _open(yamlls, "#cloud-config\nusers:\n  - name: alice\n    lock_passwd: true\n    gecos: x\n")
    text = yamlls.hover(uri, 3, 6)
    assert "Lock password login" in text
    uri, _ = _open(yamlls, "#cloud-config\nsnap:\n  commands: []\n")
    assert "Ignored by ros-init" in yamlls.hover(uri, 1, 1)


YAML11 = """#cloud-config
manage_etc_hosts: yes
growpart:
  mode: off
users:
  - name: alice
    lock_passwd: no
    no_create_home: Off
    uid: 1_000
write_files:
  - path: /etc/a
    permissions: 0644
  - path: /usr/local/bin/b
    permissions: 04755
  - path: /etc/c
    permissions: 0o600
network:
  version: 2
  ethernets:
    eth0:
      dhcp4: yes
      dhcp6: ON
"""


def test_yaml11_values_that_validate_accepts_are_no_editor_error(yamlls):
    findings = _findings(YAML11)
    assert not [f for f in findings if f.severity == "error"], findings
    assert sum(f.code == "yaml11-bool" for f in findings) >= 3  # validate warns ...
    _, diags = _open(yamlls, YAML11)
    assert _schema_errors(diags) == []  # ... and the editor does not turn that into an error


def test_not_a_boolean_says_what_is_expected(yamlls):
    text = "#cloud-config\nnetwork:\n  version: 2\n  ethernets:\n    eth0:\n      dhcp4: maybe\n"
    assert any(f.severity == "error" for f in _findings(text))
    _, diags = _open(yamlls, text)
    assert [d["message"] for d in diags][0].startswith("expected true or false"), diags


def test_dependent_required_is_enforced_by_every_version(yamlls):
    # netEthernet: set-name needs match (dependentRequired; 1.19 ignores that keyword).
    text = "#cloud-config\nnetwork:\n  version: 2\n  ethernets:\n    eth0:\n      set-name: lan0\n"
    assert any(f.severity == "error" for f in _findings(text))
    _, diags = _open(yamlls, text)
    assert any('"match"' in d["message"] for d in diags), diags


@pytest.mark.parametrize("text", [
    "#cloud-config\nhostname: node1\n",
    "#cloud-config\nusers:\n  - default\n  - name: alice\n    ssh_authorized_keys: [github:alice]\n",
    "#cloud-config\nsnap:\n  commands: [x]\nbyobu_by_default: enable\n",  # ignored keys: warnings
    "#cloud-config\nusers:\n  - name: bob\n    lock-passwd: false\n    uid: '1001'\n",  # deprecated: warnings
])
def test_warnings_of_validate_are_no_editor_errors(yamlls, text):
    assert not [f for f in _findings(text) if f.severity == "error"]
    _, diags = _open(yamlls, text)
    assert _schema_errors(diags) == []


def test_the_modeline_alone_selects_the_schema(schema_files, tmp_path):
    # No yaml.schemas mapping: the comment after #cloud-config is enough (docs/editors.md).
    from editors.lsp import LspClient
    from editors.tools import yamlls_argv

    client = LspClient(yamlls_argv("2.0.0"), tmp_path, {"yaml": {"validate": True, "schemaStore": {"enable": False}}})
    try:
        text = (f"#cloud-config\n# yaml-language-server: $schema={schema_files['editor'].as_uri()}\n"
                "hostnme: node1\n")
        diags = client.open((tmp_path / "user-data").as_uri(), text)
        assert [d["message"] for d in diags] == ["unknown key; did you mean `hostname`?"]
    finally:
        client.close()


def test_the_plain_schema_offers_what_the_editor_schema_hides(schema_files, tmp_path):
    # The measurement behind docs/editors.md: completion in a users item, source vs editor schema.
    from editors.lsp import LspClient
    from editors.tools import yamlls_argv
    from ros_init.config.schema import schema_path

    text = "#cloud-config\nusers:\n  - name: alice\n    \n"
    found = {}
    for name, path in (("plain", schema_path()), ("editor", str(schema_files["editor"]))):
        settings = {"yaml": {"validate": True, "schemaStore": {"enable": False}, "schemas": {f"file://{path}": ["*.yaml"]}}}
        client = LspClient(yamlls_argv("2.0.0"), tmp_path, settings)
        try:
            uri = (tmp_path / f"{name}.yaml").as_uri()
            client.open(uri, text)
            found[name] = {i["label"] for i in client.completion(uri, 3, 4) if i.get("kind") == 10}
        finally:
            client.close()
    print(f"users item completion: {len(found['plain'])} keys with the source schema, {len(found['editor'])} with the editor's")
    assert found["editor"] < found["plain"] and len(found["plain"]) - len(found["editor"]) >= 15


def test_a_wrong_type_is_named_without_the_yaml11_widening(yamlls):
    text = "#cloud-config\nusers:\n  - name: alice\n    lock_passwd: [x]\nnetwork:\n  version: 2\n  ethernets:\n    eth0:\n      mtu: [1]\n"
    _, diags = _open(yamlls, text)
    messages = {d["range"]["start"]["line"]: d["message"] for d in diags}
    assert messages[3].startswith("expected true or false") and messages[8] == "expected an integer", diags
