"""The kernel command line: ``ros.*`` keys and the compatible spellings of other systems.

Pure parsing, no I/O. Recognised:

- ``ros.config_url=URL``: a config to fetch (the ``http`` source); also cloud-init's
  ``cloud-config-url=URL`` and RancherOS v2's ``rancheros.install.config_url=URL``.
- ``ds=nocloud;s=URL`` (or ``nocloud-net``): a NoCloud seed fetched over HTTP.
- ``ros.datasource=NAME[,NAME]``: probe only these sources.
- ``ros.config=<base64 YAML>``: a whole config document.
- ``ros.<key.path>=<value>``: one override, e.g. ``ros.rancherd.role=server``.

Values may be quoted (``ros.hostname="n1"``); a quoted value is always a string, an
unquoted ``true``/``false``/integer becomes a bool/integer.
"""

from __future__ import annotations

import re

from ros_init.core.record import field, record

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from typing import Any

_RESERVED = {"config_url", "datasource", "config"}
_KEY_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*\Z")
_INT = re.compile(r"^-?(0|[1-9][0-9]*)\Z")


@record
class KernelCmdline:
    """What ros-init reads from the command line (see the module docstring)."""

    config_url: str | None = None
    config_url_param: str | None = None  # which parameter gave it, for messages
    nocloud_seed: str | None = None
    datasources: list[str] | None = None
    config_b64: str | None = None
    overrides: list[tuple[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def split_cmdline(text: str) -> list[str]:
    """Split like the kernel does: on blanks outside double quotes; quotes are kept.

    The kernel (lib/cmdline.c next_arg) removes only quotes around a whole value; we keep
    them in the token and strip them in ``_value`` so quoted-ness is known.
    """
    out: list[str] = []
    cur: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
            cur.append(ch)
        elif ch.isspace() and not quoted:
            if cur:
                out.append("".join(cur))
                cur = []
        else:
            cur.append(ch)
    if cur:
        out.append("".join(cur))
    return out


def _value(raw: str) -> tuple[str, bool]:
    """Unquote a value: ``"a b"`` -> (``a b``, True); ``a"b"`` -> (``ab``, True)."""
    if '"' in raw:
        return raw.replace('"', ""), True
    return raw, False


def scalar(raw: str, quoted: bool) -> Any:
    """The typed value of an override: bool and integers when unquoted, else the string."""
    if quoted:
        return raw
    low = raw.lower()
    if low in ("true", "false"):
        return low == "true"
    if _INT.match(raw):
        return int(raw)
    return raw


def parse_cmdline(text: str) -> KernelCmdline:
    """Parse a kernel command line; bad ``ros.*`` parameters become ``problems``, never raise."""
    out = KernelCmdline()
    tokens = split_cmdline(text or "")
    if "--" in tokens:  # everything after -- belongs to init, not to the kernel
        tokens = tokens[: tokens.index("--")]
    for token in tokens:
        name, sep, raw = token.partition("=")
        name = name.replace('"', "")
        value, quoted = _value(raw)
        if name in ("cloud-config-url", "rancheros.install.config_url") and sep:
            if out.config_url is None or out.config_url_param != "ros.config_url":
                out.config_url, out.config_url_param = value, name
        elif name == "ds" and sep:
            _parse_ds(value, out)
        elif name.startswith("ros."):
            key = name[4:]
            if not sep:
                out.problems.append(f"{name}: missing '=value'")
            elif key == "config_url":
                out.config_url, out.config_url_param = value, name
            elif key == "datasource":
                out.datasources = [n.strip() for n in value.split(",") if n.strip()]
            elif key == "config":
                out.config_b64 = value
            elif _KEY_PATH.match(key):
                out.overrides.append((key, scalar(value, quoted)))
            else:
                out.problems.append(f"{name}: not a key path (letters, digits, _ and - separated by dots)")
    return out


def _parse_ds(value: str, out: KernelCmdline) -> None:
    """cloud-init's ``ds=nocloud;s=URL`` (also ``seedfrom=``); other ds values are ignored."""
    parts = value.split(";")
    if parts[0].lower() not in ("nocloud", "nocloud-net"):
        return
    for part in parts[1:]:
        k, _, v = part.partition("=")
        if k in ("s", "seedfrom") and v:
            out.nocloud_seed = v if v.endswith("/") else v + "/"


def overrides_to_config(overrides: list[tuple[str, Any]]) -> tuple[dict[str, Any], list[str]]:
    """Nest dot-path overrides into a mapping; later parameters win. Returns (data, problems).

    A path that would descend into a value set as a scalar by an earlier parameter
    (``ros.a=1 ros.a.b=2``) replaces it and is reported.
    """
    data: dict[str, Any] = {}
    problems: list[str] = []
    for path, value in overrides:
        keys = path.split(".")
        node = data
        for k in keys[:-1]:
            nxt = node.get(k)
            if not isinstance(nxt, dict):
                if nxt is not None:
                    problems.append(f"ros.{path}: replaces the value given to ros.{k}")
                nxt = node[k] = {}
            node = nxt
        node[keys[-1]] = value
    return data, problems
