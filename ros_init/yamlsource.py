"""YAML text -> data, positions and findings. (Minimal first version; hardened next.)"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ros_init.model import Finding, Location


@dataclass
class ParsedDocument:
    data: Any
    positions: dict[str, Location] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)


def load_document(text: bytes | str, source: str) -> ParsedDocument:
    """Parse one YAML document; never raises for bad input, reports findings instead."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        loc = Location(source, mark.line + 1, mark.column + 1) if mark else None
        return ParsedDocument(None, {}, [Finding("error", "yaml-syntax", "", str(exc), loc)])
    return ParsedDocument(data)
