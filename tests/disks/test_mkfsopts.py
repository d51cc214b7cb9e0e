"""The mkfs option allow-list: whatever it accepts cannot name a device or file."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ros_init.disks.mkfsopts import _DENIED_KEYS, _FLAGS, OptionError, check_options

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
            assert not {item.split("=", 1)[0].lstrip("^") for item in value.split(",")} & _DENIED_KEYS
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
