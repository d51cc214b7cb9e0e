"""The mkfs option allow-list: whatever it accepts cannot name a device or file."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ros_init.disks.mkfsopts import _DENIED_KEYS, _FLAGS, OptionError, check_options, sub_option_key

TOKENS = st.sampled_from(sorted({f for flags in _FLAGS.values() for f in flags}
                                | {"raid1", "single", "dup", "/dev/vdc", "vdc", "logdev=/dev/vdc", "size=10m",
                                   "logdev=x", "rtdev=y", "device=z", "stride=4,uuid=1", "4096", "^has_journal",
                                   "-L", "-U", "-n", "-i", "--data=raid1", "-dsingle", "-mraid10", "-Jdevice=x"}))


@given(fmt=st.sampled_from(sorted(_FLAGS)), options=st.lists(TOKENS, max_size=6))
def test_accepted_options_never_name_a_device(fmt: str, options: list[str]) -> None:
    try:
        check_options(fmt, options)
    except OptionError as exc:
        assert 0 <= exc.index < len(options)
        return
    flags = _FLAGS[fmt]
    i = 0
    while i < len(options):  # every accepted token is a known flag or that flag's value
        tok = options[i]
        assert tok.startswith("-")
        assert "/" not in tok
        name = tok.split("=", 1)[0] if tok.startswith("--") else tok[:2]
        assert name in flags
        if flags[name] and (tok == name):
            i += 1
            value = options[i]
            assert "/" not in value
            assert not {sub_option_key(item) for item in value.split(",")} & set(_DENIED_KEYS)
        i += 1


@pytest.mark.parametrize("fmt,options,index", [
    ("btrfs", ["-d", "raid1", "-m", "raid1", "/dev/vdc"], 1),
    ("btrfs", ["vdc"], 0),
    ("xfs", ["-l", "size=10m,logdev=/dev/vdc"], 1),
    ("xfs", ["-r", "rtdev=vdc"], 1),
    ("xfs", ["-d", "name=img"], 1),
    ("ext4", ["-J", "device=UUID=1234"], 1),
    ("ext4", ["-L", "other"], 0),
    ("ext4", ["-d", "/etc"], 0),
    ("vfat", ["-C"], 0),
    ("swap", ["-U", "clear"], 0),
])
def test_options_that_reach_further_are_refused(fmt: str, options: list[str], index: int) -> None:
    with pytest.raises(OptionError) as err:
        check_options(fmt, options)
    assert err.value.index == index, str(err.value)


@pytest.mark.parametrize("fmt,options", [
    ("ext4", ["-O", "^has_journal", "-b", "4096", "-m0", "-E", "lazy_itable_init=0,stride=8"]),
    ("xfs", ["-m", "reflink=1", "-i", "size=512", "-K"]),
    ("btrfs", ["-m", "dup", "--csum", "xxhash", "-O", "no-holes"]),
    ("vfat", ["-F", "32", "-s", "1"]),
    ("swap", ["-p", "4096"]),
])
def test_tuning_options_are_accepted(fmt: str, options: list[str]) -> None:
    check_options(fmt, options)


# -- one source of truth: the schema's options pattern is built from _DENIED_KEYS ----------------
def _schema_option_items() -> list[dict]:
    import json
    from importlib.resources import files

    schema = json.loads(files("ros_init.schemas").joinpath("cloud-config.v1.json").read_text())
    found: list[dict] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            opts = node.get("properties", {}).get("options") if isinstance(node.get("properties"), dict) else None
            if isinstance(opts, dict) and "mkfs" in opts.get("description", ""):
                found.append(opts["items"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(schema)
    return found


def test_the_schema_refuses_the_keys_the_plan_refuses() -> None:
    from ros_init.disks.mkfsopts import options_item_message, options_item_pattern

    items = _schema_option_items()
    assert len(items) == 2  # disks[].partitions[].filesystem and filesystems[]
    for item in items:
        assert item["pattern"] == options_item_pattern()
        assert item["x-message"] == options_item_message()
    assert all(f"{k}=" in options_item_message() for k in _DENIED_KEYS)


ITEMS = st.sampled_from(["stride=8", "size=10m", "^has_journal", "lazy_itable_init=0", "reflink=1", "xxhash", "32",
                         "filesystem=1", "devices", "uname", *_DENIED_KEYS, *(f"{k}=x" for k in _DENIED_KEYS),
                         "^journal_dev", " uuid =1", "^ name", "^^uuid=1", "^^ name", "a/b", "logdev=/dev/vdc"])
VALUES = st.lists(ITEMS, min_size=1, max_size=3).map(",".join) | st.lists(ITEMS, min_size=1, max_size=2).map(", ".join)
VALUED = sorted({(fmt, f) for fmt, flags in _FLAGS.items() for f, takes in flags.items() if takes
                 and not (fmt == "btrfs" and f in ("-d", "--data", "-m", "--metadata"))})


@given(flag=st.sampled_from(VALUED), value=VALUES, glued=st.booleans())
def test_validate_and_the_plan_refuse_the_same_option_values(flag: tuple[str, str], value: str, glued: bool) -> None:
    """Through the validator that `ros-init validate` and `run` use: the schema alone refuses an
    option exactly when the plan's check does (no '/', no denied key in any reading of it)."""
    from ros_init.config.validate import validate_data

    fmt, name = flag
    joined = f"{name}={value}" if name.startswith("--") else name + value
    options = [joined] if glued else [name, value]
    try:
        check_options(fmt, options)
        plan_refuses = False
    except OptionError:
        plan_refuses = True
    findings = validate_data({"filesystems": [{"device": "/dev/vdb", "format": fmt, "options": options}]}, None, "t")
    schema_refuses = any(f.severity == "error" and "cannot reach other devices" in f.message for f in findings)
    assert schema_refuses == plan_refuses, (options, [f.render() for f in findings])


@pytest.mark.parametrize("fmt,options", [
    ("ext4", "[-O, journal_dev]"),  # the schema missed journal_dev
    ("ext4", "[-Jdevice=UUID=1]"),  # a value glued to its flag
    ("xfs", "[-l, 'size=10m, logdev=x']"),  # a space after the comma
    ("xfs", "[-d, file]"),  # a key without '='
    ("ext4", "[-E, '^uuid=x']"),
])
def test_validate_and_run_refuse_the_option_at_the_same_place(tmp_path, capsys, fmt: str, options: str) -> None:
    from ros_init.cli import main

    config = tmp_path / "c.yaml"
    config.write_text(f"#cloud-config\nfilesystems:\n  - device: /dev/vdb\n    format: {fmt}\n    options: {options}\n")
    outs = []
    for argv in (["validate", str(config)],
                 ["run", "--phase", "initramfs", "--root", str(tmp_path / "root"), "--config", str(config)]):
        (tmp_path / "root").mkdir(exist_ok=True)
        assert main(argv) == 1
        out, err = capsys.readouterr()
        outs.append(out + err)
        assert f"{config}:5:" in out + err and "cannot reach other devices" in out + err, out + err
    line = [x for x in outs[0].splitlines() if "cannot reach" in x]
    assert line and line[0] in outs[1]  # the same finding, word for word
    assert "nothing was changed" in outs[1]
