"""``ros-init fetch``: probe the datasources, save what they gave under /run/ros-init/fetch,
print the merged config with secrets redacted and where each key came from."""

from __future__ import annotations

import json
import sys
from typing import Any

from ros_init.engine.collect import Collected


def _report(collected: Collected, settings: dict[str, Any]) -> list[str]:
    lines = [f"sources probed (deadline {float(settings.get('deadline') or 30):g}s):"]
    width = max((len(p.name) for p in collected.probes), default=7)
    for p in collected.probes:
        lines.append(f"  {p.name:<{width}}  {p.outcome:<7}  {p.seconds:6.2f}s  {p.detail}")
    iid = collected.instance_id or "none"
    lines.append(f"instance: {iid} ({'new instance' if collected.new_instance else 'same instance'}; "
                 f"{collected.instance_reason})")
    if collected.scripts:
        lines.append("scripts for the commands stage: " + ", ".join(s.source for s in collected.scripts))
    return lines


def cli_main(args: Any) -> int:
    """``ros-init fetch``: exit 0 when every probed source answered, 1 when one failed."""
    import yaml

    from ros_init.config.merge import merge_documents, provenance
    from ros_init.config.redact import Scrubber, redact
    from ros_init.config.settings import SettingsError, load_settings
    from ros_init.core.root import Root, RootError
    from ros_init.engine.collect import collect, save

    try:
        root = Root(args.root)
        settings = load_settings(root, args.settings)
    except (RootError, SettingsError, OSError) as exc:
        print(f"ros-init fetch: {exc}", file=sys.stderr)
        return 2
    cmdline_text = None
    if args.cmdline:
        try:
            from ros_init.core.bounded_read import read_limited

            cmdline_text = read_limited(args.cmdline, 1 << 20)[: 1 << 20].decode("utf-8", "replace")
        except OSError as exc:
            print(f"ros-init fetch: {args.cmdline}: {exc.strerror}", file=sys.stderr)
            return 2
    from ros_init.core.logger import INFO
    from ros_init.engine.logs import journal

    # The datasources' lines as a boot writes them (one line each, escaped), tagged [fetch].
    with journal("fetch", Scrubber(), INFO):  # the merge's warnings too (a jsonp patch skipped)
        collected = collect(root, settings, cmdline_text=cmdline_text)
        merged = merge_documents(collected.documents)
    where = save(root, settings, collected, merged)
    shown = redact(merged)  # by the schema (and by name where it says nothing) ...
    scrub = Scrubber.for_config(merged, *(getattr(d, "data", {}) for d in collected.documents))
    origin = provenance(collected.documents)
    report = _report(collected, settings)
    if args.format == "json":
        out = {"config": shown, "origins": {k: v[-1] for k, v in origin.items()},
               "probes": [vars(p) for p in collected.probes], "instance_id": collected.instance_id,
               "new_instance": collected.new_instance, "instance_reason": collected.instance_reason,
               "scripts": [s.source for s in collected.scripts], "saved": where}
        print(scrub(json.dumps(out, indent=2, default=str)))  # ... and secret values anywhere else
    else:
        print("\n".join(f"# {line}" for line in report))
        print(f"# saved raw and merged documents in {root.resolve(where)}")
        if not shown:
            print("# no config found")
        for key, value in shown.items():
            srcs = origin.get(key, ["?"])
            also = f" (over {', '.join(dict.fromkeys(srcs[:-1]))})" if len(srcs) > 1 else ""
            print(f"# {key}: from {srcs[-1]}{also}")
            print(scrub(yaml.safe_dump({key: value}, sort_keys=False, default_flow_style=False,
                                       width=1 << 20).rstrip()))
    return 1 if any(p.outcome == "error" for p in collected.probes) else 0
