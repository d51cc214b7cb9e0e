"""The YAML loader: positions, duplicate keys, hostile input, YAML 1.1 traps."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ros_init.config.yamlsource import MAX_BYTES, join_path, load_document, parent_path


def codes(doc):
    return [f.code for f in doc.findings]


def test_positions_point_at_keys_and_values():
    doc = load_document("#cloud-config\nusers:\n  - name: alice\n    shell: /bin/sh\n", "u.yaml")
    assert doc.ok and doc.data == {"users": [{"name": "alice", "shell": "/bin/sh"}]}
    assert (doc.positions["users[0].shell"].line, doc.positions["users[0].shell"].column) == (4, 12)
    assert (doc.key_positions["users[0].shell"].line, doc.key_positions["users[0].shell"].column) == (4, 5)
    assert doc.positions["users[0]"].line == 3


def test_duplicate_key_is_reported_at_the_second_and_last_wins():
    doc = load_document("hostname: a\nruncmd: []\nhostname: b\n", "d.yaml")
    assert doc.data["hostname"] == "b"
    [f] = doc.findings
    assert f.code == "duplicate-key" and f.location.line == 3 and "first at line 1" in f.message


def test_yaml11_plain_scalars_are_remembered():
    doc = load_document("a: 0644\nb: no\nc: '0644'\nd: 2020-01-01\n", "t.yaml")
    assert doc.data["a"] == 420 and doc.data["b"] is False
    assert doc.plain_scalars == {"a": "0644", "b": "no", "d": "2020-01-01"}


def test_syntax_error_is_located_and_explained():
    doc = load_document("users:\n  - name: a\n   shell: x\n", "s.yaml")
    [f] = doc.findings
    assert f.severity == "error" and f.code == "indentation" and f.location.line == 3
    assert "indent it to column 5" in f.message  # a list item's key not aligned with `name`


def test_tabs_are_explained():
    doc = load_document("users:\n\t- name: a\n", "tab.yaml")
    assert "tabs" in doc.findings[0].message


def test_alias_bomb_is_refused_quickly():
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]")
    doc = load_document("\n".join(lines) + "\n", "bomb.yaml")
    assert "too-large" in codes(doc) and doc.data is None


def test_deep_nesting_is_refused_without_crashing_the_parser():
    doc = load_document("[" * 100_000 + "]" * 100_000, "deep.yaml")
    assert codes(doc) == ["too-deep"]
    doc = load_document("a:\n" + "".join(" " * (2 * i) + f"k{i}:\n" for i in range(1, 80)), "deepblock.yaml")
    assert "too-deep" in codes(doc)


def test_size_binary_and_encoding():
    assert codes(load_document(b"a: 1\n" + b" " * MAX_BYTES, "big")) == ["too-large"]
    assert codes(load_document(b"a: \x00\x01", "bin")) == ["binary"]
    bad = load_document(b"hostname: caf\xe9\n", "latin1")
    assert codes(bad) == ["encoding"] and bad.findings[0].location.line == 1
    assert codes(load_document(b"\x1f\x8b\x08\x00", "gz")) == ["binary"]


def test_bom_and_multiple_documents():
    assert load_document("\ufeffa: 1\n".encode(), "bom").data == {"a": 1}
    multi = load_document("a: 1\n---\nb: 2\n", "multi")
    assert codes(multi) == ["yaml-syntax"] and "more than one" in multi.findings[0].message


def test_unknown_tag_and_merge_keys():
    assert codes(load_document("a: !python/object:os.system x\n", "tag")) == ["yaml-syntax"]
    doc = load_document("base: &b {shell: /bin/sh, gecos: x}\nu:\n  <<: *b\n  gecos: y\n", "merge")
    assert doc.data["u"] == {"shell": "/bin/sh", "gecos": "y"}


def test_boolean_key_warning():
    doc = load_document("on: 1\n", "k")
    assert doc.data == {"on": 1} and codes(doc) == ["yaml11-key"]


keys = st.one_of(st.integers(0, 5), st.text(alphabet="abc.-_[]\" x", min_size=1, max_size=6))


@given(st.lists(keys, min_size=1, max_size=5))
def test_parent_path_inverts_join_path(parts):
    path = ""
    for p in parts:
        child = join_path(path, p)
        assert parent_path(child) == path
        path = child


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(data):
    doc = load_document(data, "fuzz")
    assert doc.ok or doc.findings


def test_fast_non_printable_pattern_is_equivalent_to_pyyamls():
    import re

    from ros_init.config.yamlsource import _YAML_NON_PRINTABLE, _YAML_NON_PRINTABLE_FAST

    every = "".join(map(chr, range(0x110000)))
    assert re.compile(_YAML_NON_PRINTABLE).findall(every) == re.compile(_YAML_NON_PRINTABLE_FAST).findall(every)
    import yaml.reader

    assert yaml.reader.Reader.NON_PRINTABLE.pattern in (_YAML_NON_PRINTABLE, _YAML_NON_PRINTABLE_FAST)
