"""The network renderers' files read back as their services read them, for every network test.

networkd's INI repeats keys (``Address=``, ``[Route]``), so it is read as ordered
(section, key, value) triples; a NetworkManager keyfile has unique keys per section and is
read by ``configparser`` (strict: a repeated key or section fails, as it is a bug).
"""

from __future__ import annotations

import configparser
from pathlib import Path


def _text(source: str | bytes | Path) -> str:
    if isinstance(source, Path):
        return source.read_text()
    return source.decode() if isinstance(source, bytes) else source


def ini_items(source: str | bytes | Path) -> list[tuple[str, str, str]]:
    """(section, key, value) in file order; comments and blank lines skipped."""
    out, section = [], ""
    for line in _text(source).splitlines():
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        out.append((section, key, value))
    return out


def keyfile(source: str | bytes | Path) -> configparser.ConfigParser:
    """A NetworkManager keyfile, keys kept case-sensitive."""
    cp = configparser.ConfigParser(interpolation=None, strict=True)
    cp.optionxform = str  # type: ignore[assignment,method-assign]
    cp.read_string(_text(source))
    return cp
