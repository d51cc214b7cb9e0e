"""Property fuzzing (hypothesis) of the parts that take input from people and networks:
the validator, merging, the kernel command-line parser, the MIME multipart reader and the
path resolver. Invariants: never an exception other than the module's own error type,
and the guarantee each part gives (located findings and no secret echoed, precedence and
idempotence, parsed overrides, parts in order, no path outside the root).
"""

from __future__ import annotations

import contextlib
import copy
import os
import string
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path

import pytest
import yaml
from badinput import BASELINE, dump
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ros_init.config.merge import merge_documents
from ros_init.config.validate import validate_bytes, validate_data
from ros_init.core.model import ConfigDocument, Layer
from ros_init.core.root import Root, RootError
from ros_init.sources.cmdline import parse_cmdline, scalar
from ros_init.sources.userdata import UserDataError, decode

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                           HealthCheck.function_scoped_fixture])
SECRET = "Fz-s3cret-VALUE-91"

# -- data shaped like configs ------------------------------------------------------------------
KEYS = sorted(set(BASELINE) | {"users", "name", "path", "content", "passwd", "token", "role", "device", "uid",
                               "append", "permissions", "encoding", "owner", "ethernets", "eth0", "x", "lock_passwd"})
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=False),
                    st.text(max_size=30), st.sampled_from(["0644", "/etc/x", "root:root", "b64", "agent"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=5)),
    max_leaves=25)
configs = st.dictionaries(st.sampled_from(KEYS), values, max_size=6)


def _mutate(draw, base: dict) -> dict:
    """The full baseline config with a few elements replaced by arbitrary values."""
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 4))):
        node: object = doc
        parent, key = None, None
        for _depth in range(draw(st.integers(1, 4))):
            if isinstance(node, dict) and node:
                k = draw(st.sampled_from(sorted(node, key=str)))
            elif isinstance(node, list) and node:
                k = draw(st.integers(0, len(node) - 1))
            else:
                break
            parent, key, node = node, k, node[k]  # type: ignore[index]
        if parent is not None:
            parent[key] = draw(values)  # type: ignore[index]
    return doc


mutated = st.composite(lambda draw: _mutate(draw, BASELINE))()


@FUZZ
@given(mutated)
def test_validate_never_raises_and_locates_every_finding(doc: dict) -> None:
    text = dump(doc)
    findings = validate_bytes(text, "f.yaml")
    for f in findings:
        assert f.severity in ("error", "warning") and f.location is not None and f.location.line >= 1


@FUZZ
@given(configs)
def test_validate_data_never_echoes_a_secret_field(doc: dict) -> None:
    doc = dict(doc)
    doc["rancherd"] = {"role": "agent", "token": SECRET, "server": "http://x"}
    doc["users"] = [{"name": "a", "passwd": SECRET, "plain_text_passwd": [SECRET]}]
    doc["chpasswd"] = {"users": [{"name": "a", "password": {"k": SECRET}}]}
    for f in validate_data(doc, None, "f.yaml"):
        assert SECRET not in f.message, f.render()


@FUZZ
@given(st.binary(max_size=2000))
def test_validate_bytes_takes_any_bytes(data: bytes) -> None:
    for f in validate_bytes(b"#cloud-config\n" + data, "b.yaml"):
        assert f.location is not None


# -- merging ---------------------------------------------------------------------------------
docs_strategy = st.lists(st.tuples(st.sampled_from(list(Layer)), configs), min_size=1, max_size=4)


def _docs(items) -> list[ConfigDocument]:
    return [ConfigDocument(f"d{i}", layer, data) for i, (layer, data) in enumerate(items)]


@FUZZ
@given(docs_strategy)
def test_merge_never_raises_and_never_mutates_its_inputs(items) -> None:
    docs = _docs(items)
    before = copy.deepcopy([d.data for d in docs])
    merged = merge_documents(docs)
    assert [d.data for d in docs] == before
    assert isinstance(merged, dict)
    yaml.safe_dump(merged)  # plain data, nothing that cannot be saved


@FUZZ
@given(configs)
def test_merging_a_document_with_itself_changes_nothing_but_its_appended_lists(data: dict) -> None:
    once = merge_documents(_docs([(Layer.USER, data)]))
    twice = merge_documents(_docs([(Layer.USER, data), (Layer.USER, data)]))
    appended = ("runcmd", "bootcmd", "write_files")  # x-merge append: every item applies, in turn
    for key in appended:
        if isinstance(once.get(key), list):
            assert twice[key] == once[key] * 2
    assert {k: v for k, v in twice.items() if k not in appended or not isinstance(v, list)} == \
        {k: v for k, v in once.items() if k not in appended or not isinstance(v, list)}


@FUZZ
@given(docs_strategy, st.text(string.ascii_lowercase, min_size=1, max_size=10))
def test_the_highest_layer_sets_the_hostname(items, name: str) -> None:
    docs = _docs(items)
    top = max(d.layer for d in docs)
    docs.append(ConfigDocument("top", top, {"hostname": name}))
    assert merge_documents(docs)["hostname"] == name


# -- the kernel command line -------------------------------------------------------------------
@FUZZ
@given(st.text(max_size=300))
def test_cmdline_parser_takes_any_text(text: str) -> None:
    out = parse_cmdline(text)
    assert isinstance(out.problems, list)


key_paths = st.lists(st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True), min_size=1, max_size=4).map(".".join)
plain_values = st.from_regex(r"[A-Za-z0-9/:,._+-]{1,20}", fullmatch=True)


@FUZZ
@given(st.lists(st.tuples(key_paths, plain_values, st.booleans()), min_size=1, max_size=5),
       st.lists(st.sampled_from(["quiet", "console=ttyS0", "root=LABEL=x", "rd.break"]), max_size=3))
def test_cmdline_overrides_are_read_back(pairs, noise) -> None:
    pairs = [(k, v, q) for k, v, q in pairs if k.split(".")[0] not in ("config_url", "datasource", "config")]
    tokens = list(noise) + [f'ros.{k}="{v} x"' if q else f"ros.{k}={v}" for k, v, q in pairs]
    out = parse_cmdline(" ".join(tokens))
    expected = {k: f"{v} x" if q else scalar(v, False) for k, v, q in pairs}  # a later parameter wins
    assert dict(out.overrides) == expected
    assert out.problems == []


# -- MIME multipart user-data -----------------------------------------------------------------
@FUZZ
@given(st.binary(max_size=3000))
def test_userdata_decoder_raises_only_its_own_error(data: bytes) -> None:
    for payload in (data, b"Content-Type: multipart/mixed; boundary=x\n\n--x\n" + data, b"#cloud-config\n" + data):
        with contextlib.suppress(UserDataError):
            decode(payload, "ud")


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["text/cloud-config", "text/x-shellscript"]),
                          st.text(string.ascii_letters + string.digits, min_size=1, max_size=12)),
                min_size=1, max_size=6))
def test_multipart_parts_come_back_in_order(parts) -> None:
    msg = MIMEMultipart()
    for i, (ctype, word) in enumerate(parts):
        body = f"#cloud-config\nhostname: h{i}{word}\n" if ctype == "text/cloud-config" else f"#!/bin/sh\necho {word}\n"
        msg.attach(MIMEText(body, ctype.split("/")[1], "utf-8"))
    out = decode(msg.as_bytes(), "mime")
    configs = [f"h{i}{w}" for i, (c, w) in enumerate(parts) if c == "text/cloud-config"]
    assert [d.data["hostname"] for d in out.configs] == configs
    assert [s.content.decode().split()[-1] for s in out.scripts] == [w for c, w in parts if c != "text/cloud-config"]


# -- the path resolver -------------------------------------------------------------------------
segments = st.sampled_from(["a", "b", "etc", "..", ".", "", "link", "abs", "loop", "up", "x y", "\u00e9"])
paths = st.lists(segments, min_size=1, max_size=6).map(lambda parts: "/" + "/".join(parts))
link_targets = st.one_of(paths, st.lists(segments, min_size=1, max_size=4).map("/".join),
                         st.sampled_from(["../../..", "/", "..", "/etc/../..", "link", "loop"]))


@pytest.fixture
def fence(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzzroot")


@FUZZ
@given(st.lists(st.tuples(paths, link_targets), max_size=5), st.lists(paths, min_size=1, max_size=5))
def test_resolve_and_write_never_leave_the_root(fence: Path, links, targets) -> None:
    base = Path(os.path.realpath(fence)) / str(abs(hash((tuple(links), tuple(targets)))))
    root_dir, outside = base / "root", base / "outside"
    root_dir.mkdir(parents=True, exist_ok=True)
    outside.mkdir(exist_ok=True)
    root = Root(root_dir)
    for where, target in links:  # plant symlinks (through the resolver, the way an image would have them)
        with contextlib.suppress(RootError, OSError):
            root.symlink(where, target)
    for path in targets:
        try:
            host = root.resolve(path)
        except (RootError, OSError):
            continue
        assert host == root.path or host.startswith(root.path + "/"), (path, host)
        try:
            root.write_file(path, b"data")
        except (RootError, OSError):
            continue
    assert list(outside.iterdir()) == []
    for dirpath, _dirs, files in os.walk(base):
        for name in files:
            p = os.path.join(dirpath, name)
            assert p.startswith(str(root_dir) + "/"), p
