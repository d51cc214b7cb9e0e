"""Property tests of the platform sources' pure parts: whatever a metadata service sends, the
translation gives a v2 network config or a DatasourceError naming the source, never a traceback;
encodings round-trip; the Azure health report is well-formed XML for any reason."""

from __future__ import annotations

import base64
import gzip
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ros_init.datasources import azure, digitalocean, upcloud, vmware, vultr

from ros_init.sources import metaservice as ms
from ros_init.sources.host import DatasourceError

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=12),
                    lambda children: st.lists(children, max_size=4)
                    | st.dictionaries(st.text(max_size=10), children, max_size=4), max_leaves=20)
KEYS = ["interfaces", "public", "private", "mac", "ipv4", "ipv6", "ip_address", "netmask", "gateway", "address",
        "network-type", "additional", "network", "ip_addresses", "dhcp", "family", "dns", "index", "cidr",
        "anchor_ipv4", "nameservers"]
SHAPED = st.recursive(st.none() | st.booleans() | st.integers(0, 64)
                      | st.sampled_from(["10.0.0.5", "255.255.255.0", "04:01:57:d1:9e:01", "public", "private",
                                         "IPv6", "2001:db8::1", "10.0.0.0/24", "x"]),
                      lambda children: st.lists(children, max_size=3)
                      | st.dictionaries(st.sampled_from(KEYS), children, max_size=5), max_leaves=25)


@pytest.mark.parametrize("module", [digitalocean, vultr, upcloud], ids=lambda m: m.NAME)
@settings(max_examples=150, deadline=None)
@given(meta=st.one_of(JSON, SHAPED))
def test_any_metadata_gives_v2_network_or_a_named_error(module, meta):
    try:
        out = ms.network_from(module.NAME, module.network_v1, meta)
    except DatasourceError as exc:
        assert str(exc).startswith(f"{module.NAME}: network")
    else:
        assert out is None or out["version"] == 2


@settings(max_examples=150, deadline=None)
@given(interfaces=st.one_of(JSON, st.lists(SHAPED, max_size=3)))
def test_azure_imds_network_gives_v2_or_a_named_error(interfaces):
    try:
        out = azure.network_of(interfaces)
    except DatasourceError as exc:
        assert str(exc).startswith("azure: network")
    else:
        assert out is None or out["version"] == 2


@given(st.binary(max_size=300), st.sampled_from(["", "plain", "base64", "b64", "gzip+base64", "gz+b64"]))
def test_guestinfo_encodings_round_trip(data, encoding):
    text = data.decode("latin-1")
    if encoding in ("base64", "b64"):
        value = base64.b64encode(data).decode()
    elif encoding.startswith("gz"):
        value = base64.b64encode(gzip.compress(data)).decode()
    else:
        value, data = text, text.encode()
    assert vmware.decode_value(value, encoding, "userdata") == data


@given(st.text(max_size=2000), st.booleans())
def test_the_health_report_is_well_formed_for_any_reason(reason, ok):
    goal = azure.GoalState("12", "c-1", "r.vm")
    root = ET.fromstring(azure.health_report(goal, ok, reason))
    assert root.findtext("GoalStateIncarnation") == "12"
    state = root.findtext("Container/RoleInstanceList/Role/Health/State")
    assert state == ("Ready" if ok else "NotReady")
    desc = root.findtext("Container/RoleInstanceList/Role/Health/Details/Description")
    assert (desc is None) == ok and (ok or len(desc) <= 512)


@given(JSON)
def test_keys_of_anything_is_a_list_of_lines(value):
    keys = ms.keys_of(value)
    assert all(isinstance(k, str) and k and "\n" not in k for k in keys) and len(keys) == len(set(keys))


@given(st.one_of(st.none(), st.integers(), st.text(max_size=300)))
def test_an_instance_id_is_an_id_or_an_error(value):
    try:
        iid = ms.check_instance_id(value, "x")
    except DatasourceError as exc:
        assert str(exc).startswith("x: ")
    else:
        assert iid == str(value).strip() and ms.INSTANCE_ID.match(iid)


HOSTNAME = r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"


@given(st.one_of(st.text(max_size=300), st.integers(), st.none()))
def test_a_platform_host_name_becomes_a_valid_one_or_none(value):
    import re

    out = ms.host_name(value)
    if out is not None:
        short, fqdn = out
        assert re.match(HOSTNAME, short) and "." not in short
        assert fqdn is None or (re.match(HOSTNAME, fqdn) and len(fqdn) <= 253 and fqdn.startswith(short + "."))


def test_host_names_as_platforms_send_them():
    assert ms.host_name("CLOUDINIT_1") == ("CLOUDINIT-1", None)
    assert ms.host_name("sm-foo-test.novalocal") == ("sm-foo-test", "sm-foo-test.novalocal")
    assert ms.host_name("My VM (prod)") == ("My-VM-prod", None)
    assert ms.host_name(12345678) == ("12345678", None)
    assert ms.host_name("___") is None
