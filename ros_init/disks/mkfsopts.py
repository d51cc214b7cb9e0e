"""Which extra mkfs arguments a config may give: an allow-list per filesystem.

Why an allow-list: mkfs tools take more devices and files than the one they format
(``mkfs.btrfs -d raid1 /dev/sdc``, ``mkfs.xfs -l logdev=/dev/sdc``, ``-r rtdev=``,
``mkfs.ext4 -J device=``, ``-d rootdir``). Such an option would write to a disk the plan
never probed, fenced or named. Only options that tune the one filesystem being made are
accepted: no positional argument, no value naming a path, no sub-option naming a device,
and not the label or UUID, which ros-init sets itself (a second one would make the
filesystem unrecognisable on the next boot).
"""

from __future__ import annotations

# flag -> takes a value. Long options may also be written --flag=value; short ones -bVALUE.
_FLAGS: dict[str, dict[str, bool]] = {
    "ext4": {"-b": True, "-C": True, "-E": True, "-g": True, "-G": True, "-i": True, "-I": True, "-J": True,
             "-m": True, "-N": True, "-o": True, "-O": True, "-r": True, "-T": True, "-e": True,
             "-j": False, "-D": False, "-K": False, "-q": False, "-v": False, "-F": False},
    "xfs": {"-b": True, "-d": True, "-i": True, "-l": True, "-m": True, "-n": True, "-r": True, "-s": True,
            "-K": False, "-q": False, "-f": False},
    "btrfs": {"-d": True, "--data": True, "-m": True, "--metadata": True, "-n": True, "--nodesize": True,
              "-s": True, "--sectorsize": True, "-O": True, "--features": True, "-R": True,
              "--runtime-features": True, "--csum": True, "--checksum": True, "-b": True, "--byte-count": True,
              "-M": False, "--mixed": False, "-K": False, "--nodiscard": False, "-q": False, "--quiet": False,
              "-f": False, "--force": False},
    "vfat": {"-F": True, "-S": True, "-s": True, "-r": True, "-f": True, "-R": True, "-h": True, "-D": True,
             "-M": True, "--codepage": True, "-a": False, "-I": False, "-v": False, "--invariant": False},
    "swap": {"-p": True, "--pagesize": True, "-c": False, "--check": False},
}
# Sub-options (``key=value,key``) that name another device or file, or set the identity
# (``journal_dev`` makes an external journal instead of a filesystem). The schema's pattern
# for ``options`` items is built from this list (``schema_pattern``; a test keeps the schema
# equal to it), so ``validate``, an editor and the plan refuse the same options.
_DENIED_KEYS = ("logdev", "rtdev", "device", "name", "file", "uuid", "offset", "protofile", "journal_dev")
# One-device profiles: a multi-device profile needs devices the plan never saw.
_BTRFS_PROFILES = {"single", "dup"}


class OptionError(ValueError):
    """An option a config may not give; ``index`` is the offending item of the list."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index


def check_options(fmt: str, options: list[str] | tuple[str, ...]) -> None:
    """Raise OptionError for the first option ``fmt``'s mkfs may not be given."""
    flags = _FLAGS[fmt]
    i = 0
    while i < len(options):
        tok = options[i]
        if not tok.startswith("-"):
            raise OptionError(i, f"{tok!r} is not an option: extra devices or sizes cannot be given to mkfs")
        flag, value = tok, None
        if tok.startswith("--") and "=" in tok:
            flag, value = tok.split("=", 1)
        elif not tok.startswith("--") and len(tok) > 2 and flags.get(tok[:2]):
            flag, value = tok[:2], tok[2:]
        if flag not in flags:
            raise OptionError(i, f"{flag!r} is not an option ros-init passes to mkfs.{fmt} "
                                 f"(allowed: {' '.join(sorted(flags))}; the label and UUID come from the config)")
        at = i
        if flags[flag] and value is None:
            i += 1
            if i >= len(options):
                raise OptionError(at, f"{flag!r} needs a value")
            value = options[i]
        if value is not None:
            _check_value(fmt, flag, value, i)
        i += 1


def _check_value(fmt: str, flag: str, value: str, index: int) -> None:
    if "/" in value:
        raise OptionError(index, f"{flag} {value!r}: mkfs options cannot name a file or device")
    for item in value.split(","):
        key = sub_option_key(item)
        if key in _DENIED_KEYS:
            raise OptionError(index, f"{flag} {value!r}: {key} would name another device or the identity "
                                     "ros-init sets; not allowed")
    if fmt == "btrfs" and flag in ("-d", "--data", "-m", "--metadata") and value.lower() not in _BTRFS_PROFILES:
        raise OptionError(index, f"{flag} {value!r}: only the one-device profiles single and dup are allowed "
                                 "(multi-device btrfs is not a feature of the disks stage)")


def sub_option_key(item: str) -> str:
    """The key of one ``key=value`` sub-option as mkfs reads it: spaces and a ``^`` (ext4's
    "turn off") around it do not hide it."""
    return item.split("=", 1)[0].strip().lstrip("^").strip()


def options_item_pattern() -> str:
    """The JSON Schema pattern (ECMAScript and Python ``re`` alike) of one ``options`` item:
    no ``/``, and no denied key (``sub_option_key``'s reading: after a comma, ``^`` or spaces,
    with or without ``=``, also glued to a short flag ``-Jdevice=`` or a long one ``--x=device=``)."""
    keys = "|".join(_DENIED_KEYS)
    return (rf"^(?!(?:--[\w-]+=|-\w)?(?:[^,]*,)*\s*\^*\s*(?:{keys})\s*(?:=|,|(?![\s\S])))"
            r"[^/]*(?![\s\S])")


def options_item_message() -> str:
    """The schema's ``x-message`` for that pattern: every denied key named."""
    return ("must not name a file or device (no '/', no " + ", ".join(f"{k}=" for k in _DENIED_KEYS)
            + "): mkfs options cannot reach other devices")
