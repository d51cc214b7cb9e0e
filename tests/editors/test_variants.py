"""The generated variants, checked without the editors: what each keeps, adds and drops."""

from __future__ import annotations

import json
import re

from hypothesis import given
from hypothesis import strategies as st

from ros_init.config.schema import SchemaWalker, load_schema
from ros_init.config.schema_variants import DEFAULT_SNIPPETS, editor_schema, near_misses, portable_schema
from ros_init.config.validate import validate_data


def _nodes(node: object):
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _nodes(v)
    elif isinstance(node, list):
        for v in node:
            yield from _nodes(v)


def test_portable_has_no_extension_and_no_custom_format():
    portable = portable_schema(load_schema())
    assert '"x-' not in json.dumps(portable)
    # format as a keyword has a string value; a property named format has a schema
    assert [n["format"] for n in _nodes(portable) if isinstance(n.get("format"), str)] == []


def test_variants_leave_the_source_untouched():
    before = json.dumps(load_schema(), sort_keys=True)
    editor_schema(load_schema())
    portable_schema(load_schema())
    assert json.dumps(load_schema(), sort_keys=True) == before


def test_every_x_message_reaches_the_editor():
    source = {n["x-message"] for n in _nodes(load_schema()) if "x-message" in n and n.get("x-severity") != "warning"}
    editor = {n.get("patternErrorMessage") or n.get("errorMessage") for n in _nodes(editor_schema(load_schema()))}
    assert len(source) > 20 and source <= editor


def test_do_not_suggest_exactly_the_keys_that_do_not_act():
    src, ed = load_schema(), editor_schema(load_schema())
    walker = SchemaWalker(src)
    for path in ["properties", *[f"$defs/{d}/properties" for d in src["$defs"] if "properties" in src["$defs"][d]]]:
        s_props = src
        e_props = ed
        for part in path.split("/"):
            s_props, e_props = s_props[part], e_props[part]
        for key, sub in s_props.items():
            quiet = bool({"x-ignored", "x-deprecated"} & walker.deref(sub).keys())
            assert bool(e_props[key].get("doNotSuggest")) == quiet, (path, key)
    user = ed["$defs"]["user"]["properties"]
    assert "doNotSuggest" not in user["hashed_passwd"] and "deprecated" not in user["hashed_passwd"]
    assert user["lock-passwd"]["doNotSuggest"] is True and user["lock-passwd"]["deprecated"] is True
    assert portable_schema(src)["$defs"]["user"]["properties"]["lock-passwd"]["deprecated"] is True


def _expand(body: object) -> object:
    """A snippet as the editor inserts it when every placeholder keeps its default."""
    if isinstance(body, str):
        return re.sub(r"\$\{\d+:([^}]*)\}", r"\1", body)
    if isinstance(body, list):
        return [_expand(v) for v in body]
    if isinstance(body, dict):
        return {k: _expand(v) for k, v in body.items()}
    return body


def _embed(path: str, value: object) -> dict:
    return {"#/$defs/usersItem": lambda v: {"users": [v]},
            "#/$defs/rancherd": lambda v: {"rancherd": v},
            "#/$defs/netEthernet": lambda v: {"network": {"version": 2, "ethernets": {"eth0": v}}},
            "#/$defs/writeFile": lambda v: {"write_files": [v]}}[path](value)


def test_every_snippet_is_a_valid_config():
    count = 0
    for path, snippets in DEFAULT_SNIPPETS.items():
        for snippet in snippets:
            findings = validate_data(_embed(path, _expand(snippet["body"])), None, "snippet")
            assert findings == [], (snippet["label"], findings)
            count += 1
    assert count == 5
    ed = editor_schema(load_schema())
    assert all(ed["$defs"][p.rsplit("/", 1)[1]]["defaultSnippets"] for p in DEFAULT_SNIPPETS)


keys = st.from_regex(r"[a-z][a-z0-9_-]{2,20}", fullmatch=True)


@given(keys, st.data())
def test_near_misses_match_one_slip(key, data):
    i = data.draw(st.integers(0, len(key) - 1))
    c = data.draw(st.sampled_from("abcxyz_-0"))
    slips = [key[:i] + key[i + 1:], key[:i] + c + key[i + 1:], key[:i] + c + key[i:], key + c, key.upper(),
             key.replace("_", "-")]
    if i < len(key) - 1:
        slips.append(key[:i] + key[i + 1] + key[i] + key[i + 2:])
    pattern = re.compile(f"^(?:{near_misses(key)})$")
    for slip in slips:
        assert pattern.match(slip), (key, slip)
    assert not pattern.match(key[::-1] + "zzzz")


@given(st.text(min_size=3, max_size=12))
def test_near_misses_is_a_valid_regex_for_any_key(key):
    pattern = re.compile(f"^(?:{near_misses(key)})$")
    assert pattern.match(key)


def _corpus_instances():
    import csv

    from editors.tools import compat_corpus
    from ros_init.config.yamlsource import load_document

    corpus = compat_corpus()
    with open(corpus / "verdicts.tsv", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            doc = load_document((corpus / row["file"]).read_bytes(), row["file"])
            if doc.ok and isinstance(doc.data, dict):
                yield row["file"], json.loads(json.dumps(doc.data, default=str))


def test_variants_are_valid_schemas_and_never_stricter_than_the_source():
    import jsonschema

    from ros_init.config.schema_variants import _map_schema, as_validate_reads

    # "source": the schema as validate reads it (its warning-only patterns are not errors)
    source = _map_schema(load_schema(), as_validate_reads)
    editor, portable = editor_schema(load_schema()), portable_schema(load_schema())
    for schema in (editor, portable):
        jsonschema.Draft202012Validator.check_schema(schema)
    check = {name: jsonschema.Draft202012Validator(s) for name, s in
             (("source", source), ("editor", editor), ("portable", portable))}
    count = 0
    for name, data in _corpus_instances():
        ok = {k: v.is_valid(data) for k, v in check.items()}
        assert ok["portable"] == ok["source"], name  # the same rules without the annotations
        assert ok["editor"] or not ok["source"], name  # the editor only ever widens
        count += 1
    assert count > 400


def test_the_command_prints_the_variants():
    import os
    import subprocess
    import sys

    run = [os.path.join(os.path.dirname(sys.executable), "ros-init"), "schema"]  # as installed
    for flag, make in (("--editor", editor_schema), ("--portable", portable_schema)):
        r = subprocess.run([*run, flag], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and json.loads(r.stdout) == make(load_schema())
    r = subprocess.run([*run, "--settings", "--portable"], capture_output=True, text=True, timeout=60)
    assert json.loads(r.stdout)["$id"].endswith("settings.v1.portable.json")
    r = subprocess.run([*run, "--editor", "--portable"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "not allowed with" in r.stderr
