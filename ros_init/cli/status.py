"""``ros-init status``: the outcome of the last run (exit 0 ok, 1 failed, 2 never ran)."""

from __future__ import annotations

import json
import sys
from typing import Any


def cli_main(args: Any) -> int:
    from ros_init.config.settings import SettingsError, defaults, load_settings
    from ros_init.core.root import Root, RootError
    from ros_init.state.status import FORMAT_VERSION, load, render_text

    try:
        root = Root(args.root)
    except RootError as exc:
        print(f"ros-init status: {exc}", file=sys.stderr)
        return 2
    try:
        state_dir = load_settings(root, getattr(args, "settings", None))["state_dir"]
    except SettingsError:
        state_dir = defaults()["state_dir"]
    doc, origin = load(root, state_dir)
    if doc is None:
        if args.format == "json":
            print(json.dumps({"version": FORMAT_VERSION, "result": "never-ran", "phases": {}}))
        else:
            print(f"ros-init status: never ran on {root.path}")
        return 2
    if args.format == "json":
        print(json.dumps({**doc, "origin": origin}, indent=2))
    else:
        print(render_text(doc, origin or "?"))
    return 1 if doc.get("result") == "failed" else 0
