"""Properties: hostile input gives a clear error type, never a crash."""

from __future__ import annotations

import contextlib
import gzip

from hypothesis import given, settings
from hypothesis import strategies as st

from ros_init.network.convert import NetconvError, configdrive_to_v2, v1_to_v2
from ros_init.sources.cmdline import overrides_to_config, parse_cmdline
from ros_init.sources.userdata import UserDataError, decode
from ros_init.system.blockdev import label_from_bytes

TEXT = st.text(alphabet=st.sampled_from(list('ros.=" \t-_,;abc/:1\\x')), max_size=80)


@given(TEXT)
def test_parse_cmdline_never_raises(text):
    c = parse_cmdline(text)
    data, _ = overrides_to_config(c.overrides)
    assert isinstance(data, dict)


@given(st.lists(st.tuples(st.from_regex(r"[a-z]{1,3}(\.[a-z]{1,3}){0,2}", fullmatch=True), st.integers()),
                max_size=8))
def test_the_last_override_of_a_path_wins(overrides):
    data, _ = overrides_to_config(overrides)
    if overrides:
        path, value = overrides[-1]
        node = data
        for k in path.split("."):
            node = node[k]
        assert node == value


@settings(max_examples=200)
@given(st.one_of(st.binary(max_size=300),
                 st.builds(lambda b: gzip.compress(b), st.binary(max_size=200)),
                 st.builds(lambda t: b"#cloud-config\n" + t.encode(), st.text(max_size=120)),
                 st.builds(lambda t: b"Content-Type: multipart/mixed; boundary=XX\n\n--XX\n" + t.encode(),
                           st.text(max_size=120))))
def test_user_data_decodes_or_fails_with_a_named_error(data):
    try:
        out = decode(data, "src")
    except UserDataError as exc:
        assert str(exc).startswith("src")
    else:
        assert all(isinstance(c.data, dict) for c in out.configs)


JSONISH = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8)),
                       lambda inner: st.one_of(st.lists(inner, max_size=4),
                                               st.dictionaries(st.sampled_from(
                                                   ["type", "name", "subnets", "address", "netmask", "links",
                                                    "networks", "id", "link", "ip_address", "config", "version",
                                                    "ethernet_mac_address", "vlan_id", "vlan_link", "routes"]),
                                                   inner, max_size=5)),
                       max_leaves=20)


@settings(max_examples=300)
@given(JSONISH)
def test_network_translators_fail_only_with_netconv_errors(doc):
    for fn in (v1_to_v2, configdrive_to_v2):
        with contextlib.suppress(NetconvError):
            fn(doc)


@given(st.binary(min_size=0, max_size=70000))
def test_superblock_reader_never_raises(head):
    label, fstype = label_from_bytes(head)
    assert label is None or isinstance(label, str)
