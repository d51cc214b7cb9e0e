"""Security, rancherd config: every string of the config is read back as that string by a
YAML 1.2 reader (Go's yaml.v3) and a YAML 1.1 one (yaml.v2), not as a number or a boolean.

Before: the config was dumped with PyYAML's YAML 1.1 rules: ``1e3``, ``0128``, ``09``,
``0o17`` came out plain (numbers for YAML 1.2), ``y`` and ``n`` too (booleans for yaml.v2).
No Go YAML reader is on the test machine, so the test carries both resolvers, written from
the specs (YAML 1.2.2 core schema, 10.3.2; YAML 1.1 type repository), and checks every plain
scalar of the written file against them.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from ros_init.stages import rancherd

from ros_init.cli import main
from ros_init.cli.demo import make_os_skeleton

YAML12 = [re.compile(p) for p in (
    r"null|Null|NULL|~", r"true|True|TRUE|false|False|FALSE",
    r"[-+]?[0-9]+", r"0o[0-7]+", r"0x[0-9a-fA-F]+",
    r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?", r"[-+]?\.(inf|Inf|INF)", r"\.(nan|NaN|NAN)")]
YAML11 = [re.compile(p) for p in (
    r"~|null|Null|NULL",
    r"y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF",
    r"[-+]?0b[0-1_]+", r"[-+]?0[0-7_]+", r"[-+]?(0|[1-9][0-9_]*)", r"[-+]?0x[0-9a-fA-F_]+",
    r"[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+",
    r"[-+]?([0-9][0-9_]*)?\.[0-9.]*([eE][-+][0-9]+)?", r"[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]*",
    r"[-+]?\.(inf|Inf|INF)", r"\.(nan|NaN|NAN)", r"<<", r"=",
    r"[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?([Tt]|[ \t]+)?.*")]

TRICKY = ["1e3", "0128", "09", "0o17", "y", "n", "Y", "N", "yes", "No", "on", "OFF", "1:20", "190:20:30.15",
          "0b1010", "0x1F", "1_000", ".inf", "-.INF", ".NaN", "2001-12-14", "2001-12-14t21:59:43.10-05:00",
          "~", "null", "NULL", "<<", "=", "+12", "-1.5e-3", ".5", "1.", "True", "", "012", "0", "1e", "e3"]


def _plain_strings(text: str) -> list[str]:
    """The scalars written plain that are strings (as PyYAML resolves them on reading)."""
    out: list[str] = []

    def walk(node: yaml.Node) -> None:
        if isinstance(node, yaml.ScalarNode):
            if node.style is None and node.tag == "tag:yaml.org,2002:str":
                out.append(node.value)
        elif isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                walk(k)
                walk(v)
        elif isinstance(node, yaml.SequenceNode):
            for v in node.value:
                walk(v)

    root = yaml.compose(text)
    if root is not None:
        walk(root)
    return out


def _misread(value: str) -> str | None:
    for name, patterns in (("YAML 1.2", YAML12), ("YAML 1.1", YAML11)):
        if any(p.fullmatch(value) for p in patterns):
            return name
    return None


def _check(section: dict) -> str:
    text = rancherd.render(section).decode()
    assert yaml.safe_load(text) == section
    for value in _plain_strings(text):
        assert _misread(value) is None, f"{value!r} is written plain and {_misread(value)} reads it as non-string"
    return text


def test_tricky_scalars_through_run(tmp_path: Path, capsys) -> None:
    root = make_os_skeleton(tmp_path / "root")
    section = {"role": "server", "token": "1e3", "server": "https://10.0.0.1:8443",
               "extraConfig": {"tls-san": TRICKY, "n": "y", "node-label": ["0128=09"]},
               "rancherValues": {"replicas": 3, "enabled": True, "hostname": "0o17", "ratio": 1.5, "none": None}}
    cfg = tmp_path / "c.yaml"
    cfg.write_text("#cloud-config\n" + yaml.safe_dump({"rancherd": section}))
    assert main(["run", "--phase", "boot", "--root", str(root), "--config", str(cfg)]) == 0, capsys.readouterr()
    capsys.readouterr()
    written = (root / "etc/rancher/rancherd/config.yaml").read_text()
    assert yaml.safe_load(written) == section
    for value in _plain_strings(written):
        assert _misread(value) is None, f"{value!r} written plain"
    # and the non-strings keep their types, unquoted
    assert "replicas: 3" in written and "enabled: true" in written and "ratio: 1.5" in written


def test_every_tricky_scalar_alone() -> None:
    for value in TRICKY:
        _check({"k": value, value or "empty": "v"})


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=12), st.one_of(
    st.text(max_size=20), st.from_regex(r"[-+]?[0-9._:eExXoObB]{1,8}", fullmatch=True),
    st.sampled_from(TRICKY), st.integers(), st.booleans(), st.none()), max_size=6))
def test_any_string_round_trips_and_no_plain_string_reads_as_a_number(section: dict) -> None:
    _check(section)
