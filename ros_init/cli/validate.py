"""``ros-init validate``: each file checked against the schema, then by every stage's
``parse`` (``ros_init.engine.specs``), so that it reports everything ``run`` would refuse."""

from __future__ import annotations

import sys

from ros_init.config.validate import validate_bytes
from ros_init.config.yamlsource import MAX_BYTES, ParsedDocument
from ros_init.core.findings import Finding


def stage_findings(doc: ParsedDocument, checked: list[Finding]) -> list[Finding]:
    """What ``run`` finds beyond the schema check of the file (``checked``, its findings):
    the document merged (in the canonical form the merge gives it) and validated, then parsed
    by every stage. The same function as ``run`` (``engine.inputs.build_config``), so the two
    cannot disagree."""
    from ros_init.core.model import ConfigDocument, Layer
    from ros_init.engine.inputs import build_config

    document = ConfigDocument(doc.source, Layer.USER, doc.data, doc.positions, doc.key_positions,  # type: ignore[arg-type]
                              plain_scalars=doc.plain_scalars)
    return build_config([document], checked=checked)[1]


def _read_input(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read(MAX_BYTES + 1)
    from ros_init.core.bounded_read import read_limited

    return read_limited(name, MAX_BYTES)


def cli_main(args: object) -> int:
    schema = "settings" if getattr(args, "as_settings", False) else "cloud-config"
    strict = bool(getattr(args, "strict", False))
    fmt = getattr(args, "format", "text")
    all_findings: list[Finding] = []
    unreadable = False
    files = []
    for name in args.files:  # type: ignore[attr-defined]
        source = "<stdin>" if name == "-" else name
        try:
            raw = _read_input(name)
        except IsADirectoryError:
            print(f"ros-init validate: {name}: is a folder, not a file", file=sys.stderr)
            unreadable = True
            continue
        except OSError as exc:
            print(f"ros-init validate: {name}: cannot read: {exc.strerror}", file=sys.stderr)
            unreadable = True
            continue
        findings = validate_bytes(raw, source, schema, semantic=stage_findings if schema == "cloud-config" else None)
        all_findings.extend(findings)
        files.append((source, findings))
    errors = sum(f.severity == "error" for f in all_findings)
    warnings = len(all_findings) - errors
    invalid = errors > 0 or (strict and warnings > 0)
    if fmt == "json":
        import json

        out = {
            "valid": not invalid and not unreadable,
            "strict": strict,
            "files": [{"file": src, "valid": not any(f.severity == "error" or strict for f in fs),
                       "findings": [f.as_dict() for f in fs]} for src, fs in files],
            "errors": errors,
            "warnings": warnings,
        }
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
    else:
        for f in all_findings:
            sys.stdout.write(f.render() + "\n")
        for src, fs in files:
            e = sum(f.severity == "error" for f in fs)
            w = len(fs) - e
            state = "invalid" if e or (strict and w) else "valid"
            print(f"{src}: {state} ({e} error{'s' * (e != 1)}, {w} warning{'s' * (w != 1)})", file=sys.stderr)
    if unreadable:
        return 2
    return 1 if invalid else 0
