"""What a run acts on: the documents from ``--config`` files (plus the image defaults) or
from the datasources, merged and validated into one config."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ros_init.core.model import Config, ConfigDocument, Finding, Layer, Script
from ros_init.core.root import Root, RootError
from ros_init.engine.errors import describe_error


@dataclass
class Inputs:
    """What the engine acts on, and what stops it (config errors)."""

    documents: list[ConfigDocument] = field(default_factory=list)
    scripts: list[Script] = field(default_factory=list)
    instance_id: str | None = None
    instance_source: str | None = None  # the datasource that gave the instance (recorded after a run)
    findings: list[Finding] = field(default_factory=list)
    problem: str | None = None  # a reason the run cannot start (no datasource module ...)
    notes: list[str] = field(default_factory=list)  # what the datasources did, for the log
    source_problems: list[str] = field(default_factory=list)  # sources that failed: kept in the status

def load_config_file(path: str, layer: Layer, text: bytes | None = None) -> tuple[ConfigDocument | None, list[Finding]]:
    """One config file (a host path) as a document, or the findings that reject it."""
    from ros_init.config.yamlsource import load_document

    if text is None:
        try:
            with open(path, "rb") as fh:
                text = fh.read()
        except OSError as exc:
            return None, [Finding("error", "read", "", f"cannot read config file: {exc.strerror}", None)]
    parsed = load_document(text, path)
    findings = list(parsed.findings)
    if not parsed.ok:
        return None, findings
    data = parsed.data if parsed.data is not None else {}
    if not isinstance(data, dict):
        from ros_init.core.model import Location

        findings.append(Finding("error", "type", "", f"a config must be a mapping, found {type(data).__name__}",
                                Location(path, 1, 1)))
        return None, findings
    return ConfigDocument(path, layer, data, dict(parsed.positions), dict(parsed.key_positions)), findings

def image_defaults(root: Root, settings: dict[str, Any]) -> tuple[list[ConfigDocument], list[Finding]]:
    path = settings.get("defaults") or "/etc/ros-init/defaults.yaml"
    try:
        text = root.read_bytes(path)
    except (OSError, RootError) as exc:
        return [], [Finding("error", "read", "", f"cannot read image defaults {path}: {describe_error(exc)}")]
    if text is None:
        return [], []
    doc, findings = load_config_file(root.resolve(path), Layer.IMAGE, text)
    return ([doc] if doc else []), findings

def gather_inputs(root: Root, settings: dict[str, Any], config_files: Sequence[str] | None,
                  cmdline_file: str | None = None, phase: str | None = None) -> Inputs:
    """Documents from ``--config`` files (plus image defaults), or from the datasources
    (probed once per boot when ``phase`` is given: see ``collect.collect``)."""
    out = Inputs()
    if config_files:
        docs, findings = image_defaults(root, settings)
        out.documents.extend(docs)
        out.findings.extend(findings)
        for path in config_files:
            doc, findings = load_config_file(path, Layer.USER)
            out.findings.extend(findings)
            if doc is not None:
                out.documents.append(doc)
        return out
    from ros_init.engine import collect as fetch
    cmdline_text = None
    if cmdline_file:
        try:
            with open(cmdline_file, encoding="utf-8", errors="replace") as fh:
                cmdline_text = fh.read()
        except OSError as exc:
            out.problem = f"cannot read {cmdline_file}: {exc.strerror}"
            return out
    try:
        collected = fetch.collect(root, settings, cmdline_text=cmdline_text, phase=phase)
    except Exception as exc:  # a broken datasource layer: one clear line, not a traceback
        out.problem = f"datasources: {describe_error(exc)}"
        return out
    for item in collected.documents:
        if isinstance(item, ConfigDocument):
            out.documents.append(item)
        else:  # a Documents bundle
            out.documents.extend(getattr(item, "configs", []))
            out.scripts.extend(getattr(item, "scripts", []))
    out.scripts.extend(getattr(collected, "scripts", None) or [])
    out.instance_id = getattr(collected, "instance_id", None)
    out.instance_source = getattr(collected, "instance_source", None)
    for p in getattr(collected, "probes", None) or []:
        detail = f": {p.detail}" if getattr(p, "detail", "") else ""
        out.notes.append(f"datasource {p.name}: {p.outcome} ({p.seconds * 1000:.0f} ms){detail}")
        if getattr(p, "outcome", "") in ("error", "timeout"):  # the boot went on without it: say so in the status
            out.source_problems.append(f"datasource {p.name}: {p.outcome}{detail}")
    if getattr(collected, "instance_reason", ""):
        out.notes.append(f"instance: {collected.instance_reason}")
    if not any(d.layer == Layer.IMAGE for d in out.documents):
        docs, findings = image_defaults(root, settings)
        out.documents[:0] = docs
        out.findings.extend(findings)
    return out

def build_config(documents: Sequence[ConfigDocument]) -> tuple[Config, list[Finding]]:
    """Merge by precedence and validate; errors in the findings mean: do not run."""
    from ros_init.config.merge import merge_documents

    config = merge_documents(documents)
    positions: dict[str, Any] = {}
    key_positions: dict[str, Any] = {}
    for doc in sorted(documents, key=lambda d: d.layer):
        positions.update(doc.positions)
        key_positions.update(doc.key_positions)
    source = documents[-1].source if len(documents) == 1 else "<merged config>"
    from ros_init.config.validate import validate_data

    try:
        findings = validate_data(config, positions, source, key_positions=key_positions)
    except FileNotFoundError:  # the config schema is not installed (development trees)
        findings = [Finding("warning", "no-schema", "", "the config schema is missing: config not validated")]
    return config, findings
