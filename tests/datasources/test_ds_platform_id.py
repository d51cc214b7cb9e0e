"""The one DMI table: pure matching (property tests), every platform named by its own strings only,
and the cost of probing every platform source when none is there."""

from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st
from ros_init.datasources import BY_NAME

from ros_init.core.root import Root
from ros_init.engine.collect import collect
from ros_init.sources import platform_id
from ros_init.sources.host import Host
from ros_init.sources.platform_id import RULES, Rule, identify, matches

FIELDS = sorted({r.field for r in RULES})


def test_every_rule_names_a_registered_source_or_the_kubevirt_hint():
    assert {r.platform for r in RULES} - set(BY_NAME) == {"kubevirt"}


def test_each_rule_value_names_its_platform_and_no_other():
    for rule in RULES:
        if rule.match.endswith("contains") and rule.platform in ("ec2", "gce", "vmware"):
            continue  # substring rules: checked below with the real firmware strings
        assert identify({rule.field: rule.value}) == [rule.platform], rule


def test_real_firmware_strings():
    cases = {("sys_vendor", "VMware, Inc."): "vmware", ("product_name", "VMware7,1"): "vmware",
             ("product_name", "Google Compute Engine"): "gce", ("sys_vendor", "Amazon EC2"): "ec2",
             ("product_uuid", "EC2E1916-9099-7CAF-FD21-012345ABCDEF"): "ec2",
             ("product_name", "Exoscale Compute Platform"): "exoscale",
             ("chassis_asset_tag", "7783-7084-3265-9085-8269-3286-77"): "azure"}
    for (field, value), platform in cases.items():
        assert identify({field: value}) == [platform]
    assert identify({"sys_vendor": "QEMU", "product_name": "Standard PC (Q35 + ICH9, 2009)",
                     "chassis_asset_tag": ""}) == []


@given(st.text(max_size=40))
def test_exact_rules_match_only_their_value(value):
    rule = Rule("p", "sys_vendor", "exact", "Hetzner")
    assert matches(rule, value) == (value == "Hetzner")


@given(st.text(max_size=20), st.text(max_size=20))
def test_case_insensitive_contains_ignores_case(prefix, suffix):
    rule = Rule("p", "product_name", "icontains", "vmware")
    assert matches(rule, prefix + "VMware" + suffix) and matches(rule, prefix + "vmware" + suffix)


@given(st.dictionaries(st.sampled_from(FIELDS), st.text(max_size=30), max_size=len(FIELDS)))
def test_identify_is_the_rules_that_match_in_table_order(values):
    got = identify(values)
    assert got == list(dict.fromkeys(r.platform for r in RULES if matches(r, values.get(r.field))))
    assert all(p in {r.platform for r in RULES} for p in got)


def test_no_dmi_means_no_platform_and_no_network_probe(tmp_path):
    host = Host(root=Root(tmp_path), settings={}, sys_root=str(tmp_path))
    assert platform_id.platforms(host) == []
    for name in platform_id.NETWORK_PLATFORMS:
        import importlib

        assert not importlib.import_module(BY_NAME[name].module).detect(host), name


def test_each_platform_source_says_why_detect_said_no_from_the_table(tmp_path):
    """``ros-init fetch`` explains an undetected platform source with every DMI value of its
    rules (derived from RULES, so a new firmware string cannot be left out of the hint)."""
    import importlib

    (tmp_path / "root").mkdir()
    names = [p for p in dict.fromkeys(r.platform for r in RULES) if p in BY_NAME]
    c = collect(Root(tmp_path / "root"), {"datasources": names, "deadline": 10}, cmdline_text="",
                sys_root=str(tmp_path))
    details = {p.name: p.detail for p in c.probes}
    for name in names:
        hint = importlib.import_module(BY_NAME[name].module).DETECT_HINT
        assert details[name] == f"not detected ({hint})"
        for rule in RULES:
            if rule.platform == name:
                assert f"{rule.field} " in hint and repr(rule.value) in hint, (name, rule)
    assert platform_id.detect_hint("hetzner") == "DMI sys_vendor is not 'Hetzner' and no hetzner.url in the settings"
    assert platform_id.detect_hint("akamai", "no marker", url=False) == \
        "DMI sys_vendor is none of 'Linode', 'Akamai' and no marker"
    assert platform_id.detect_hint("vmware", url=False) == ("DMI product_name does not contain 'vmware' (any case); "
                                                            "sys_vendor does not contain 'vmware' (any case)")


def test_every_platform_forced_at_a_closed_port_costs_under_a_second(tmp_path):
    from ds_servers import closed_port

    names = [n for n in platform_id.NETWORK_PLATFORMS] + ["equinix"]
    settings = {"datasources": ["cmdline", *names], "deadline": 10,
                **{n: {"url": f"http://127.0.0.1:{closed_port()}", "timeout": 1} for n in names}}
    (tmp_path / "root").mkdir()
    t0 = time.monotonic()
    c = collect(Root(tmp_path / "root"), settings, cmdline_text="", sys_root=str(tmp_path))
    elapsed = time.monotonic() - t0
    outcomes = {p.name: p.outcome for p in c.probes}
    assert all(outcomes[n] == "absent" for n in names), outcomes
    assert elapsed < 1.0, elapsed


def test_need_network_lines_are_generated_from_the_table():
    import subprocess

    text = platform_id.need_network_sh()
    assert subprocess.run(["sh", "-n"], input=text, text=True).returncode == 0
    for name in platform_id.NETWORK_PLATFORMS:
        assert any(r.value.replace('"', "") in text or r.match.startswith("i")
                   for r in RULES if r.platform == name), name
    assert "[vV][mM][wW]" not in text  # guestinfo needs no network: VMware does not start the network phase


def test_need_network_carries_the_generated_dmi_rules_and_every_network_source():
    """packaging/libexec/need-network (plain sh, run before the network phase) reads the same DMI
    table as the sources' detect, and names every network source for ros.datasource=."""
    import subprocess
    import sys
    from pathlib import Path

    from ros_init.datasources import SOURCES

    script = (Path(__file__).resolve().parents[2] / "packaging/libexec/need-network").read_text()
    generated = subprocess.run([sys.executable, "-m", "ros_init.sources.platform_id"], capture_output=True,
                               text=True, check=True).stdout
    begin = script.index("(a test keeps them in sync) ---\n") + len("(a test keeps them in sync) ---\n")
    end = script.index("# --- end of the generated DMI rules ---")
    assert script[begin:end] == generated, "need-network is stale: paste `python -m ros_init.sources.platform_id`"
    for entry in SOURCES:
        if entry.kind == "network":
            assert f"ros.datasource=*{entry.name}*" in script, entry.name
