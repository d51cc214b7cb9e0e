"""merge_how / merge_type between user-data parts, as cloud-init folds them.

Conformance: cloud-init's own merge fixtures (tests/data/merge_sources in its repository,
read from the compat corpus in place): the sources of a group folded in order give the
expected document. Properties: the invariants of each merger, over generated configs.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from ros_init.config import mergehow
from ros_init.core.model import ConfigDocument, Layer

from .test_compat_corpus import CORPUS


def _groups() -> list[tuple[str, list[Path], Path]]:
    if CORPUS is None:
        return []
    base = CORPUS / "cloud-init-unittests"
    out = []
    for exp in sorted(base.glob("tests__data__merge_sources__expected*.yaml")):
        n = re.search(r"expected(\d+)", exp.name).group(1)  # type: ignore[union-attr]
        sources = []
        i = 1
        while (base / f"tests__data__merge_sources__source{n}-{i}.yaml").exists():
            sources.append(base / f"tests__data__merge_sources__source{n}-{i}.yaml")
            i += 1
        # a group needs all its sources: from 1, and more than one (the corpus lacks some files)
        if len(sources) >= 2 and len(sources) == len(list(base.glob(f"tests__data__merge_sources__source{n}-*.yaml"))):
            out.append((n, sources, exp))
    return out


GROUPS = _groups()


def test_the_fixtures_are_there():
    if CORPUS is None:
        pytest.skip("the compat corpus is not beside the repo")
    assert len(GROUPS) >= 6


@pytest.mark.parametrize("group", GROUPS, ids=lambda g: f"merge_sources-{g[0]}")
def test_cloud_init_merge_fixtures(group):
    _, sources, expected = group
    parts = [yaml.safe_load(p.read_text()) or {} for p in sources]
    folded = mergehow.fold([(d, mergehow.directive(d)) for d in parts])
    assert folded == yaml.safe_load(expected.read_text())


def test_fold_through_the_decoder_keeps_parts_without_directives_apart():
    from ros_init.config.merge import merge_documents
    from ros_init.sources.userdata import decode

    plain = decode(b"#cloud-config-archive\n- {type: text/cloud-config, content: 'runcmd: [a]'}\n"
                   b"- {type: text/cloud-config, content: 'runcmd: [b]'}\n", "ud")
    assert len(plain.configs) == 2
    assert merge_documents(plain.configs)["runcmd"] == ["a", "b"]  # ros-init's rule for runcmd: append
    text = (b"#cloud-config-archive\n- {type: text/cloud-config, content: 'runcmd: [a]'}\n"
            b"- {type: text/cloud-config, content: 'runcmd: [b]'}\n"
            b"- {type: text/cloud-config, content: \"merge_how: dict(replace)\\nhostname: h\"}\n")
    folded = decode(text, "ud")
    assert len(folded.configs) == 1  # a directive: the payload folds cloud-init's way
    assert folded.configs[0].data == {"runcmd": ["b"], "hostname": "h"}  # default dict(replace): b replaces a


def test_bad_directives_are_refused_with_the_reason():
    for bad, why in (("list(apend)", "no option `apend`"), ("lists()", "unknown merger"), ("list", "not a merger"),
                     (42, "must be a string")):
        with pytest.raises(mergehow.MergeHowError, match=re.escape(why)):
            mergehow.parse(bad)
    assert mergehow.parse([{"name": "list", "settings": ["append"]}, ["dict", "no_replace"]]) == {
        "list": frozenset({"append"}), "dict": frozenset({"no_replace"})}


# -- properties ------------------------------------------------------------------------------
scalars = st.one_of(st.integers(-5, 5), st.text("abc", max_size=3), st.booleans())
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.sampled_from("xyz"), inner, max_size=3)),
                      max_leaves=8)
configs = st.dictionaries(st.sampled_from(["a", "b", "c", "runcmd"]), values, max_size=4)
SPECS = ["dict(replace)+list()+str()", "list(append)+dict(no_replace,recurse_list)+str()",
         "dict(recurse_array)+list(append)", "list(prepend)+dict(no_replace,recurse_list)",
         "dict(no_replace,recurse_str)+str(append)", "dict(allow_delete,no_replace)+list()"]


@given(configs, configs, st.sampled_from(SPECS))
def test_inputs_are_never_mutated(a, b, how):
    ca, cb = copy.deepcopy(a), copy.deepcopy(b)
    mergehow.merge(a, b, mergehow.parse(how))
    assert (a, b) == (ca, cb)


@given(configs, configs)
def test_default_user_data_rule_is_a_top_level_replace(a, b):
    assert mergehow.fold([(a, None), (b, None)]) == {**a, **b}


@given(configs, configs)
def test_append_and_no_replace(a, b):
    out = mergehow.merge(a, b, mergehow.parse("list(append)+dict(no_replace,recurse_list)+str()"))
    for k, v in b.items():
        if k not in a:
            assert out[k] == v
        elif isinstance(a[k], list) and isinstance(v, list):
            assert out[k] == a[k] + v
        elif not isinstance(a[k], dict) and not isinstance(v, (dict, list)):
            assert out[k] == a[k]  # no_replace keeps what was there
    assert set(out) == set(a) | set(b)


@given(st.lists(scalars, max_size=4), st.lists(scalars, max_size=4))
def test_prepend_is_append_the_other_way(a, b):
    assert mergehow.merge(a, b, mergehow.parse("list(prepend)")) == b + a
    assert mergehow.merge(a, b, mergehow.parse("list(append)")) == a + b


@given(st.lists(scalars, max_size=5), st.lists(scalars, max_size=5))
def test_list_replace_is_index_by_index(a, b):
    out = mergehow.merge(a, b, mergehow.parse("list()"))
    assert out[: len(b)] == b[: len(a)] and out[len(b):] == a[len(b):] and len(out) == len(a)


@given(configs)
def test_merging_nothing_changes_nothing(a):
    for how in SPECS:
        assert mergehow.merge(a, {}, mergehow.parse(how)) == a


@given(configs, st.sampled_from(["a", "b"]))
def test_allow_delete_removes_a_key_set_to_null(a, key):
    out = mergehow.merge({**a, key: 1}, {key: None}, mergehow.parse("dict(allow_delete,no_replace)"))
    assert key not in out


def test_a_type_without_merger_keeps_the_earlier_value():
    """cloud-init's unknown-type rule: `list(append)` alone does not merge mappings."""
    assert mergehow.fold([({"a": 1}, None), ({"b": 2}, "list(append)")]) == {"a": 1}


def test_merge_documents_applies_jsonp_to_the_config_merged_so_far():
    from ros_init.config.merge import merge_documents

    docs = [ConfigDocument("meta", Layer.METADATA, {"hostname": "m"}),
            ConfigDocument("ud", Layer.USER, {"runcmd": ["a"]}),
            ConfigDocument("ud jsonp", Layer.USER, {}, patches=[{"op": "add", "path": "/runcmd/-", "value": "b"},
                                                              {"op": "remove", "path": "/hostname"}])]
    assert merge_documents(docs) == {"runcmd": ["a", "b"]}
    bad = docs[:2] + [ConfigDocument("ud jsonp", Layer.USER, {}, patches=[{"op": "remove", "path": "/nope"}])]
    assert merge_documents(bad) == {"hostname": "m", "runcmd": ["a"]}  # not applied, nothing half-done


def test_mime_merge_type_header_is_the_part_directive():
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText

    from ros_init.sources.userdata import decode

    msg = MIMEMultipart()
    msg.attach(MIMEText("#cloud-config\nruncmd: [a]\nhostname: one\n", "cloud-config"))
    second = MIMEText("#cloud-config\nruncmd: [b]\nhostname: two\n", "cloud-config")
    second.add_header("Merge-Type", "list(append)+dict(no_replace,recurse_list)+str()")
    msg.attach(second)
    [doc] = decode(msg.as_bytes(), "ud").configs
    assert doc.data == {"runcmd": ["a", "b"], "hostname": "one"}  # no_replace keeps the first hostname
