"""Bugs the hardening corpus found, one focused test each (the corpus keeps the wider proof)."""

from __future__ import annotations

import gzip
import time

import pytest

from ros_init.config.normalize import normalize_users
from ros_init.config.validate import validate_bytes
from ros_init.config.yamlsource import load_document


def codes(text: str | bytes) -> list[str]:
    return [f.code for f in load_document(text, "t.yaml").findings]


def test_a_tag_on_a_collection_is_refused_not_dropped() -> None:
    # was: the list was taken at face value, the tag silently dropped
    assert codes('runcmd: !!python/object/apply:os.system ["touch /tmp/x"]\n') == ["yaml-syntax"]
    assert codes("a: !!set {x: null}\n") == ["yaml-syntax"]
    assert codes("a: !!seq [1]\nb: !!map {c: 1}\n") == []


def test_a_recursive_merge_key_is_a_finding_not_a_recursion_error() -> None:
    # was: RecursionError out of load_document
    assert codes("a: &a {<<: *a}\n") == ["too-deep"]


@pytest.mark.parametrize("width,depth", [(10, 9), (2, 40), (1000, 3)])
def test_alias_bombs_are_refused_before_anything_is_built(width: int, depth: int) -> None:
    # was: built 200000 elements first (about 3 s per parse, three parses per boot)
    lines = ["a0: &a0 [" + ", ".join(["x"] * width) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]" for i in range(1, depth)]
    t0 = time.monotonic()
    assert codes("\n".join(lines) + "\n") == ["too-large"]
    assert time.monotonic() - t0 < 0.5


def test_many_unknown_keys_cost_little() -> None:
    # was: a "did you mean" search per key: 60000 keys took over a minute to validate
    data = b"#cloud-config\n{" + b", ".join(b"k%d: v" % i for i in range(20000)) + b"}\n"
    t0 = time.monotonic()
    findings = validate_bytes(data, "t.yaml")
    assert time.monotonic() - t0 < 5
    assert len(findings) == 51 and "19950 more unknown keys" in findings[0].message


def test_duplicate_entries_of_keyed_lists_are_located_warnings() -> None:
    text = b"#cloud-config\nusers:\n  - {name: a, uid: 1500}\n  - {name: a, uid: 1600}\nwrite_files:\n" \
           b"  - {path: /x, content: a}\n  - {path: /x, content: b, append: true}\n  - {path: /x, content: c}\n"
    found = [(f.severity, f.path, f.location.line) for f in validate_bytes(text, "t.yaml")]
    # write_files items apply in turn, as in cloud-init: the same path twice is no duplicate
    assert found == [("warning", "users[1]", 4)]


def test_users_of_the_wrong_type_reach_the_validator() -> None:
    # was: dropped by normalization, so `run` accepted what `validate` refuses
    assert normalize_users(2.5) == 2.5
    assert normalize_users(["a", None, True, ["b", 3]]) == [{"name": "a"}, None, True, {"name": "b"}, 3]


def test_write_files_gzip_bomb_is_refused() -> None:
    from ros_init.stages.files import MAX_DECOMPRESSED, FileSpecError, gunzip_bounded

    bomb = gzip.compress(b"\0" * (MAX_DECOMPRESSED + 1), 1)
    with pytest.raises(FileSpecError, match="limit"):
        gunzip_bounded(bomb, MAX_DECOMPRESSED)
    two = gzip.compress(b"ab") + gzip.compress(b"cd")  # multi-member gzip stays supported
    assert gunzip_bounded(two, 100) == b"abcd"
    with pytest.raises(FileSpecError, match="truncated"):
        gunzip_bounded(gzip.compress(b"hello" * 50)[:-12], 1000)
