"""What a run acts on: the documents from ``--config`` files (plus the image defaults) or
from the datasources, merged and validated into one config."""

from __future__ import annotations

from collections.abc import Sequence

from ros_init.core.model import Config, ConfigDocument, Finding, Layer, Script
from ros_init.core.record import field, record
from ros_init.engine.errors import describe_error

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from typing import Any

    from ros_init.core.root import Root

CROSS_DOCUMENT = frozenset({"required"})  # finding codes decided on the merged config only


@record
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
    cmdline_text: str | None = None  # the kernel command line read (None: the root's /proc/cmdline)

def load_config_file(path: str, layer: Layer, text: bytes | None = None) -> tuple[ConfigDocument | None, list[Finding]]:
    """One config file (a host path) as a document, or the findings that reject it."""
    from ros_init.config.yamlsource import load_document

    if text is None:
        from ros_init.config.yamlsource import MAX_BYTES
        from ros_init.core.bounded_read import read_limited

        try:
            text = read_limited(path, MAX_BYTES)  # over the limit: load_document says so
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
    return ConfigDocument(path, layer, data, dict(parsed.positions), dict(parsed.key_positions),
                          plain_scalars=dict(parsed.plain_scalars)), findings

def image_defaults(root: Root, settings: dict[str, Any]) -> tuple[list[ConfigDocument], list[Finding]]:
    """The image's default config (``defaults`` setting; Layer.IMAGE), read the way a local
    drop-in file is (YAML with or without ``#cloud-config``, gzip, MIME): the one loader, for
    ``--config`` runs, datasource runs and ``ros-init fetch`` alike."""
    from ros_init.core.root import RootError
    from ros_init.sources.userdata import UserDataError, decode

    path = settings.get("defaults") or "/etc/ros-init/defaults.yaml"
    try:
        text = root.read_bytes(path)
        if text is None:
            return [], []
        return decode(text, path, Layer.IMAGE, yaml_without_header=True).configs, []
    except (UserDataError, OSError, RootError) as exc:
        return [], [Finding("error", "read", "", f"image defaults {path}: {describe_error(exc)}")]


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
        from ros_init.config.settings import state_dir
        from ros_init.state import instance

        decision = instance.identify(root, state_dir(settings))
        out.instance_id, out.instance_source = decision.instance_id, decision.source
        out.notes.append(f"instance: {decision.reason}")
        return out
    from ros_init.engine import collect as fetch
    cmdline_text = None
    if cmdline_file:
        try:
            from ros_init.core.bounded_read import read_limited

            cmdline_text = read_limited(cmdline_file, 1 << 20)[: 1 << 20].decode("utf-8", "replace")
        except OSError as exc:
            out.problem = f"cannot read {cmdline_file}: {exc.strerror}"
            return out
    out.cmdline_text = cmdline_text
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
    out.findings.extend(getattr(collected, "findings", None) or [])  # the image defaults' (collect loads them)
    return out

def build_config(documents: Sequence[ConfigDocument], *, checked: Sequence[Finding] | None = None,
                 settings: dict[str, Any] | None = None) -> tuple[Config, list[Finding], dict[str, Any]]:
    """Merge by precedence, validate, and parse every stage's spec once.

    Errors in the findings mean: do not run. The specs are what the stages plan with. The
    image's default user (``settings``' ``default_user``) is written into ``users`` before
    the stages parse, so users and sshkeys see the same accounts. ``checked``: the findings
    of the caller's own check of the one document (``ros-init validate`` of a file), which
    is then not checked again.
    """
    from ros_init.accounts.defaultuser import resolve
    from ros_init.config.merge import merge_documents
    from ros_init.config.schema import SchemaWalker, load_schema
    from ros_init.config.validate import validate_data
    from ros_init.config.yamlsource import ParsedDocument
    from ros_init.engine.specs import parse_specs

    try:
        # Each document as written (what `ros-init validate` checks of a file, exactly
        # located), then the merged config (what the merge made of them: its errors only).
        # A missing required key is a question for the merged config alone: the image
        # defaults may give the role and the user-data the token.
        own: list[list[Finding]] | None = [list(checked)] if checked is not None and len(documents) == 1 else [
            validate_data(doc.data, doc.positions, doc.source, key_positions=doc.key_positions,
                          plain_scalars=doc.plain_scalars) for doc in documents]
    except FileNotFoundError:  # the config schema is not installed (development trees)
        own = None
    ignored: list[Finding] = []
    if own is not None:
        kept = [(doc, fs) for doc, fs in zip(documents, own, strict=True) if not _ignored_vendor_data(doc, fs, ignored)]
        documents, own = [doc for doc, _ in kept], [fs for _, fs in kept]
    config = merge_documents(documents)
    source = documents[-1].source if len(documents) == 1 else "<merged config>"
    located = ParsedDocument(source, config)
    _merged_positions(documents, SchemaWalker(load_schema()) if own is not None else None, located)
    written = _users_written(documents, config, located)
    if own is None:
        findings = [Finding("warning", "no-schema", "", "the config schema is missing: config not validated")]
    else:
        findings = [] if checked is not None else [f for fs in own for f in fs if f.code not in CROSS_DOCUMENT]
        seen = {(f.path, f.message) for f in findings}
        if len(documents) == 1 and config == documents[0].data:
            merged = own[0]  # the merge left the one document as it was: its check is the merged config's
        else:
            merged = validate_data(config, located.positions, source, key_positions=located.key_positions,
                                   plain_scalars=located.plain_scalars)
        findings += [f for f in (_as_written(f, written) for f in merged)
                     if f.severity == "error" and (f.path, f.message) not in seen]
    findings = ignored + findings
    if any(f.severity == "error" for f in findings):
        return config, findings, {}
    config = resolve(config, settings or {})  # the default user comes first: the users move
    written = _users_written(documents, config, located)
    specs, problems = parse_specs(config, located.location)
    return config, findings + [_as_written(f, written) for f in problems], specs


def _users_written(documents: Sequence[ConfigDocument], config: Config, located: Any) -> dict[str, tuple[str, bool]]:
    """``users[k]`` of the merged ``config`` -> where that user is written (``users.bob`` in
    the mapping form; the last document naming the user, whose values win), and whether it
    is a mapping holding its name. ``located``'s positions under ``users[k]`` are set to the
    user's own, so that a finding about it points at the lines it is written on."""
    from ros_init.config.normalize import written_users

    users = config.get("users")
    if not isinstance(users, list):
        return {}
    by_name: dict[str, tuple[ConfigDocument, str, bool]] = {}
    for doc in sorted(documents, key=lambda d: d.layer):
        raw = doc.data.get("users") if isinstance(doc.data, dict) else None
        if isinstance(raw, str | dict | list):
            for entry, path, mapping in written_users(raw):
                if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                    by_name[entry["name"]] = (doc, path, mapping)
    out: dict[str, tuple[str, bool]] = {}
    for k, entry in enumerate(users):
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str):
            continue  # a nameless item keeps its place: the merge does not move it
        at = f"users[{k}]"
        for table in (located.positions, located.key_positions):
            for p in [p for p in table if p == at or p.startswith((at + ".", at + "["))]:
                del table[p]  # merged and resolved, an index may name another user than in a file
        if name not in by_name:
            continue  # the image's default user: written in no file
        doc, path, mapping = by_name[name]
        out[f"users[{k}]"] = (path, mapping)
        for src, dst in ((doc.positions, located.positions), (doc.key_positions, located.key_positions)):
            for p, loc in src.items():
                if p == path or p.startswith((path + ".", path + "[")):
                    dst[f"users[{k}]" + p[len(path):]] = loc
    return out


def _as_written(finding: Finding, written: dict[str, tuple[str, bool]]) -> Finding:
    """``finding`` with a merged ``users[k]`` path named as the file writes it (``users.bob.gecos``)."""
    head, sep, rest = finding.path.partition("]")
    if not sep or not head.startswith("users[") or head + "]" not in written:
        return finding
    path, mapping = written[head + "]"]
    if not mapping and rest == ".name" or path == "users" and not mapping:
        rest = ""  # the name is the key or the text written there
    return finding._replace(path=path + rest)


def _ignored_vendor_data(doc: ConfigDocument, own: list[Finding], out: list[Finding]) -> bool:
    """True when ``doc`` is vendor-data that does not validate on its own: it is left out of
    the merge and its errors become warnings in ``out``. The vendor writes vendor-data, not the
    user, and cloud-init uses what it can of it and logs the rest; refusing the whole config
    for it would boot the node with nothing the user asked for either."""
    if doc.layer != Layer.VENDOR:
        return False
    errors = [f for f in own if f.severity == "error" and f.code not in CROSS_DOCUMENT] or _refused_by_stages(doc)
    if not errors:
        return False
    out.append(Finding("warning", "vendor-data", "", f"{doc.source}: ignored: it does not validate"
                       f" ({len(errors)} error{'s' * (len(errors) != 1)}, below); the other documents are used"))
    out.extend(f._replace(severity="warning", message=f"vendor-data ignored: {f.message}") for f in errors)
    return True


def _refused_by_stages(doc: ConfigDocument) -> list[Finding]:
    """What the stages' ``parse`` refuses in ``doc`` alone (located in it): vendor-data the
    schema accepts can still hold a value no stage can apply."""
    from ros_init.config.merge import merge_documents
    from ros_init.config.yamlsource import ParsedDocument
    from ros_init.engine.specs import parse_specs

    located = ParsedDocument(doc.source, doc.data)
    located.positions.update(doc.positions)
    located.key_positions.update(doc.key_positions)
    return [f for f in parse_specs(merge_documents([doc]), located.location)[1] if f.severity == "error"]


def _merged_positions(documents: Sequence[ConfigDocument], walker: Any, out: Any) -> None:
    """Where each element of the merged config was written, and its plain scalars (YAML 1.1
    ``0644``): the documents' own tables, the items of an ``append`` list (write_files,
    runcmd ...) renumbered as the merge places them after the earlier documents' items."""
    offsets: dict[str, int] = {}
    for doc in sorted(documents, key=lambda d: d.layer):
        shifts: dict[str, int] = {}
        for key, value in (doc.data.items() if isinstance(doc.data, dict) else ()):
            if walker is not None and isinstance(value, list) and \
                    walker.annotation(walker.child(walker.root, key), "x-merge") == "append":
                shifts[key] = offsets.get(key, 0)
                offsets[key] = shifts[key] + len(value)
            else:
                offsets.pop(key, None)
        for src, dst in ((doc.positions, out.positions), (doc.key_positions, out.key_positions),
                         (doc.plain_scalars, out.plain_scalars)):
            for path, value in src.items():
                dst[_shifted(path, shifts)] = value


def _shifted(path: str, shifts: dict[str, int]) -> str:
    head, sep, rest = path.partition("[")
    if not sep or head not in shifts or not shifts[head]:
        return path
    index, close, tail = rest.partition("]")
    if not close or not index.isdigit():
        return path
    return f"{head}[{int(index) + shifts[head]}]{tail}"
