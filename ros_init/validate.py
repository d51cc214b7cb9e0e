"""Config validation. (First version on jsonschema; the fast located validator comes next.)"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from ros_init.model import Finding, Location

SCHEMA_FILES = {"cloud-config": "cloud-config.v1.json", "settings": "settings.v1.json"}


def validate_data(data: Any, positions: dict[str, Location], source: str,
                  schema: str = "cloud-config") -> list[Finding]:
    """Findings for ``data`` against the named schema (an empty list when valid)."""
    import jsonschema

    doc = json.loads(resources.files("ros_init.schemas").joinpath(SCHEMA_FILES[schema]).read_text())
    out = []
    for err in jsonschema.Draft202012Validator(doc).iter_errors(data):
        path = ".".join(str(p) for p in err.absolute_path)
        out.append(Finding("error", "schema", path, err.message, positions.get(path)))
    return out
