"""YAML output that every reader reads back with the same types: YAML 1.1 (PyYAML, Go's
yaml.v2) and YAML 1.2 (Go's yaml.v3, rancherd and k3s/rke2 configs) disagree on plain
scalars: ``1e3``, ``0128``, ``09``, ``0o17`` are numbers in 1.2 but strings for PyYAML, and
``y``, ``n`` are booleans in yaml.v2 but strings for PyYAML. PyYAML quotes only what its own
1.1 resolver would misread, so such strings came out plain.

The rule here is explicit and deliberately broad: a string is written double-quoted when it
could be read as anything but a string by any of them: a null/boolean word of either version
(any case), anything that starts like a number (an optional sign, then a dot or a digit:
decimal, octal, hex, binary, floats, exponents, sexagesimal ``1:20``, dates), ``.inf`` and
``.nan``, the merge key ``<<`` and the 1.1 value key ``=``. Quoting a string that needed none
costs nothing; a number read where a string was meant breaks a cluster join.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from typing import Any

WORDS = frozenset({"~", "null", "true", "false", "yes", "no", "on", "off", "y", "n"})
_NUMBERISH = re.compile(r"^[-+]?(\.|[0-9])")
_SPECIAL = re.compile(r"^[-+]?\.(inf|nan)$", re.I)


def needs_quotes(text: str) -> bool:
    """True when some YAML 1.1 or 1.2 reader would not read ``text`` as a plain string."""
    return (text.lower() in WORDS or bool(_NUMBERISH.match(text)) or bool(_SPECIAL.match(text))
            or text in ("", "=", "<<"))


_dumper: Any = None


def string_safe_dumper() -> Any:
    """A SafeDumper that double-quotes every string ``needs_quotes`` flags (built once)."""
    global _dumper
    if _dumper is None:
        import yaml

        base = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

        class StringSafeDumper(base):  # type: ignore[misc, valid-type]
            pass

        def represent_str(dumper: Any, value: str) -> Any:
            if needs_quotes(value):
                return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
            return dumper.represent_str(value)

        StringSafeDumper.add_representer(str, represent_str)
        _dumper = StringSafeDumper
    return _dumper
