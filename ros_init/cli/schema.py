"""``ros-init schema``: the JSON Schema as shipped, or its editor or portable variant
(docs/editors.md)."""

from __future__ import annotations

import json
import sys

from ros_init.config.schema import load_schema, schema_path


def cli_main(args: object) -> int:
    """Print the schema as shipped, or its editor or portable variant (docs/editors.md)."""
    name = "settings" if getattr(args, "settings", False) else "cloud-config"
    if getattr(args, "editor", False) or getattr(args, "portable", False):
        from ros_init.config import schema_variants

        make = schema_variants.editor_schema if getattr(args, "editor", False) else schema_variants.portable_schema
        sys.stdout.write(json.dumps(make(load_schema(name)), indent=2, ensure_ascii=False) + "\n")
        return 0
    with open(schema_path(name), encoding="utf-8") as fh:
        sys.stdout.write(fh.read())
    return 0
