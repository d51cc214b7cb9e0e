"""``ros-init run`` and ``ros-init plan``: config in, stages planned and applied, status out.

The flow is one way: settings -> documents (``--config`` files and the image defaults, or
the datasources) -> merged config -> validated config -> for each stage of the phase, in
ORDER: plan (pure) -> apply each change (thin, through ``Root``) -> record.

Stages are the modules of the ``ros_init.stages`` package that define NAME, PHASE, ORDER,
plan and apply; adding a stage is adding a file. Optional module attributes:

- ``PHASES``: the phases whose ``plan`` is called (default ``(PHASE,)``); the files stage
  uses it to write ``phase: initramfs`` items in the initramfs phase.
- ``REQUIRES``: names of stages this one depends on; when one of them failed (or was
  skipped because of a failure), this stage is skipped and says why.
- ``STOP_AFTER_FAILED_STEP``: when a step fails, the stage's later steps are skipped
  (commands: a later command may rely on an earlier one).

The decisions (which stages run, whether a stage is blocked, the summary) are pure
functions; ``run_phase`` does the acting.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import re
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, NamedTuple

from ros_init.core.model import Change, Config, ConfigDocument, Finding, Layer, Script, SkipStep, StageContext
from ros_init.core.root import Root, RootError
from ros_init.state.status import PhaseRecord, StageRecord, StepRecord, summary_line

log = logging.getLogger("ros_init")

PHASES = ("initramfs", "boot")


# -- stages -------------------------------------------------------------------------------
class StageLoadError(NamedTuple):
    name: str
    error: str


_PHASE_LINE = re.compile(r"^(PHASES?)\s*=\s*(.+?)\s*(?:#.*)?$", re.MULTILINE)


def declared_phases(source: str) -> tuple[str, ...] | None:
    """The phases a stage module's source declares in literal ``PHASE``/``PHASES`` lines
    (pure). None when they are not plain literals: the module must then be imported to know.

    This lets a phase import only its own stages: the initramfs does not pay for the users
    stage, nor the boot phase for the disks stage.
    """
    found = dict(_PHASE_LINE.findall(source))
    text = found.get("PHASES") or found.get("PHASE")
    if text is None:
        return None
    names = re.findall(r"""["'](initramfs|boot)["']""", text)
    rest = re.sub(r"""["'](initramfs|boot)["']|[\s(),\[\]]""", "", text)
    return tuple(names) if names and not rest else None


def discover_stages(phase: str | None = None) -> tuple[list[ModuleType], list[StageLoadError]]:
    """Stage modules of ``ros_init.stages`` in ORDER, and those that could not be loaded.

    With ``phase``, a module whose source declares other phases only is not imported.
    """
    import ros_init.stages as package

    found: list[ModuleType] = []
    broken: list[StageLoadError] = []
    for folder, name in _stage_module_names(package.__path__):
        if phase is not None:
            phases = _source_phases(folder, name)
            if phases is not None and phase not in phases:
                continue
        try:
            mod = importlib.import_module(f"ros_init.stages.{name}")
        except Exception as exc:  # a broken stage is a failed stage, not a crashed run
            broken.append(StageLoadError(name, f"cannot load stage module: {type(exc).__name__}: {exc}"))
            continue
        if all(hasattr(mod, attr) for attr in ("NAME", "PHASE", "ORDER", "plan", "apply")):
            found.append(mod)
    return order_stages(found), broken


def _stage_module_names(paths: Iterable[str]) -> list[tuple[str, str]]:
    """(folder, module name) of every ``*.py`` stage module (a plain listing: pkgutil costs
    more at start-up than planning a converged boot)."""
    out = []
    for folder in paths:
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        out.extend((folder, n[:-3]) for n in names if n.endswith(".py") and not n.startswith("_"))
    return out


def _source_phases(folder: str | None, name: str) -> tuple[str, ...] | None:
    if not folder:
        return None
    try:
        with open(os.path.join(folder, name + ".py"), encoding="utf-8") as fh:
            return declared_phases(fh.read())
    except (OSError, UnicodeDecodeError):
        return None


def order_stages(stages: Iterable[Any]) -> list[Any]:
    return sorted(stages, key=lambda m: (m.ORDER, m.NAME))


def stage_phases(stage: Any) -> tuple[str, ...]:
    return tuple(getattr(stage, "PHASES", (stage.PHASE,)))


def stages_for_phase(stages: Iterable[Any], phase: str) -> list[Any]:
    """The stages that act in ``phase``, in order (pure)."""
    return [s for s in order_stages(stages) if phase in stage_phases(s)]


def blocked_reason(stage: Any, blocked: set[str], failure_policy: str) -> str | None:
    """Why ``stage`` must not run given the stages that failed so far (None: it runs)."""
    if failure_policy == "stop" and blocked:
        return "not run: an earlier stage failed (failure_policy: stop)"
    deps = [d for d in getattr(stage, "REQUIRES", ()) if d in blocked]
    if deps:
        return f"not run: depends on {', '.join(deps)}, which failed"
    return None


# -- secrets ------------------------------------------------------------------------------
class Scrubber:
    """Replaces known secret values in any text that leaves the engine (logs, status, errors).

    The stages already keep secrets out of summaries; this is the second line: a secret that
    an exception or a command's output happens to carry is replaced before it is shown.
    """

    MIN_LEN = 4  # a secret field's value (password, token)
    MIN_CONTENT_LEN = 16  # a line of a file's content (keys, certificates): short lines are
    # words that appear in paths and messages ("br_netfilter") and hold nothing secret

    def __init__(self, secrets: Iterable[str] = (), contents: Iterable[str] = ()) -> None:
        values = {s for s in secrets if len(s) >= self.MIN_LEN}
        for text in list(secrets) + list(contents):
            values.update(line.strip() for line in text.splitlines() if len(line.strip()) >= self.MIN_CONTENT_LEN)
        self._values = sorted(values, key=len, reverse=True)

    def __call__(self, text: str | None) -> str | None:
        if not text or not self._values:
            return text
        for value in self._values:
            if value in text:
                text = text.replace(value, "<redacted>")
        return text


def secret_values(config: Config) -> tuple[list[str], list[str]]:
    """The strings of ``config`` that ``redact`` hides, and the file contents."""
    from ros_init.config.redact import REDACTED, redact

    out: list[str] = []

    def walk(orig: Any, red: Any) -> None:
        if isinstance(orig, dict) and isinstance(red, dict):
            for k, v in orig.items():
                walk(v, red.get(k))
        elif isinstance(orig, list) and isinstance(red, list):
            for a, b in zip(orig, red, strict=False):
                walk(a, b)
        elif red == REDACTED and orig != REDACTED:
            collect(orig)

    def collect(value: Any) -> None:
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                collect(v)
        elif isinstance(value, list):
            for v in value:
                collect(v)

    walk(config, redact(config))
    contents = [item["content"] for item in config.get("write_files") or []
                if isinstance(item, dict) and isinstance(item.get("content"), str)]
    return out, contents


def describe_error(exc: BaseException) -> str:
    """A one-line cause for a failed step, from the exception (no traceback)."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror}{where}"
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else ""
    if type(exc) in _BUG_TYPES or not text:  # a bug, not a domain error: its type says more
        return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text


_BUG_TYPES = {KeyError, TypeError, AttributeError, IndexError, ValueError, ZeroDivisionError, AssertionError,
              NameError, UnboundLocalError, RecursionError, NotImplementedError, LookupError, RuntimeError}


# -- the run --------------------------------------------------------------------------------
def _ms(t0: float) -> float:
    return round((time.monotonic() - t0) * 1000, 1)


def run_phase(
    root: Root,
    config: Config,
    ctx: StageContext,
    stages: Sequence[Any],
    *,
    failure_policy: str = "continue",
    scrub: Scrubber | None = None,
    failed_before: Iterable[str] = (),
    broken: Sequence[StageLoadError] = (),
    sources: Sequence[str] = (),
    warnings: Sequence[str] = (),
) -> PhaseRecord:
    """Plan every stage of ``ctx.phase``; unless ``ctx.dry_run``, apply each change.

    ``failed_before``: stages that failed in an earlier phase of this boot; the stages that
    REQUIRE them are skipped (a failure_policy ``stop`` does not look across phases).
    """
    scrub = scrub or Scrubber()
    t_phase = time.monotonic()
    rec = PhaseRecord(phase=ctx.phase, root=root.path, instance_id=ctx.instance_id, started=time.time(),
                      dry_run=ctx.dry_run, sources=list(sources), warnings=list(warnings))
    blocked: set[str] = set(failed_before)  # failed in an earlier phase of this boot
    for b in broken:
        rec.stages.append(StageRecord(b.name, "failed", error=scrub(b.error)))
        log.error("%s: FAILED: %s", b.name, scrub(b.error))
        blocked.add(b.name)
    for stage in stages_for_phase(stages, ctx.phase):
        reason = blocked_reason(stage, blocked, failure_policy)
        if reason:
            rec.stages.append(StageRecord(stage.NAME, "skipped", note=reason))
            log.warning("%s: skipped, %s", stage.NAME, reason)
            blocked.add(stage.NAME)
            continue
        srec = _run_stage(stage, root, config, ctx, scrub)
        rec.stages.append(srec)
        if srec.result == "failed":
            blocked.add(stage.NAME)
    rec.duration_ms = _ms(t_phase)
    return rec


def _run_stage(stage: Any, root: Root, config: Config, ctx: StageContext, scrub: Scrubber) -> StageRecord:
    name = stage.NAME
    t0 = time.monotonic()
    srec = StageRecord(name, "ok")
    try:
        changes: list[Change] = list(stage.plan(config, root, ctx))
    except Exception as exc:
        srec.result, srec.error, srec.duration_ms = "failed", scrub(describe_error(exc)), _ms(t0)
        log.error("%s: FAILED to plan: %s", name, srec.error)
        return srec
    stop_rest = False
    for change in changes:
        summary = scrub(change.summary) or ""
        step = StepRecord(change.action, change.target, summary, "planned", destructive=change.destructive)
        srec.steps.append(step)
        if ctx.dry_run:
            continue
        if stop_rest:
            step.result, step.note = "skipped", "not run: an earlier step of this stage failed"
            log.warning("%s: skipped %s: %s", name, summary, step.note)
            continue
        t_step = time.monotonic()
        try:
            note = stage.apply(change, root, ctx)
        except SkipStep as exc:
            step.result, step.note = "skipped", scrub(str(exc))
            log.info("%s: skipped %s: %s", name, summary, step.note)
        except Exception as exc:
            step.result, step.error = "failed", scrub(describe_error(exc))
            log.error("%s: FAILED %s: %s", name, summary, step.error)
            if getattr(stage, "STOP_AFTER_FAILED_STEP", False):
                stop_rest = True
        else:
            step.result = "changed"
            step.note = scrub(note) if isinstance(note, str) and note else None
            log.info("%s: %s%s", name, summary, f" ({step.note})" if step.note else "")
        step.duration_ms = _ms(t_step)
    results = {s.result for s in srec.steps}
    if "failed" in results:
        srec.result = "failed"
        srec.error = next(f"{s.summary}: {s.error}" for s in srec.steps if s.result == "failed")
    elif "changed" in results:
        srec.result = "changed"
    elif results == {"skipped"}:
        srec.result, srec.note = "skipped", "every step skipped"
    srec.duration_ms = _ms(t0)
    return srec


# -- inputs ---------------------------------------------------------------------------------
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
                  cmdline_file: str | None = None) -> Inputs:
    """Documents from ``--config`` files (plus image defaults), or from the datasources."""
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
        collected = fetch.collect(root, settings, cmdline_text=cmdline_text)
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


# -- logging ----------------------------------------------------------------------------------
class _JournalFormatter(logging.Formatter):
    """One line per event; a ``<N>`` syslog priority prefix when stderr is the journal."""

    _PRIO = {logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6, logging.DEBUG: 7}

    def __init__(self, phase: str, journal: bool, scrub: Scrubber) -> None:
        super().__init__()
        self.phase, self.journal, self.scrub = phase, journal, scrub

    def format(self, record: logging.LogRecord) -> str:
        text = self.scrub(record.getMessage()) or ""
        prefix = f"<{self._PRIO.get(record.levelno, 6)}>" if self.journal else ""
        return "\n".join(f"{prefix}ros-init[{self.phase}] {line}" for line in text.splitlines() or [""])


def setup_logging(phase: str, scrub: Scrubber, level: int = logging.INFO) -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JournalFormatter(phase, bool(os.environ.get("JOURNAL_STREAM")), scrub))
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False
    return handler


# -- commands -----------------------------------------------------------------------------------
@dataclass
class Outcome:
    code: int
    record: PhaseRecord | None = None
    findings: list[Finding] = field(default_factory=list)
    problem: str | None = None


def execute(root: Root, settings: dict[str, Any], inputs: Inputs, phase: str, *, dry_run: bool = False,
            run_commands: bool = True, record_status: bool = True, log_level: int = logging.INFO) -> Outcome:
    """Everything after the inputs are gathered: build the config, run the phase, record it."""
    from ros_init.state import once, status
    if inputs.problem or any(f.severity == "error" for f in inputs.findings):
        out = Outcome(1, problem=inputs.problem, findings=inputs.findings)
    else:
        config, findings = build_config(inputs.documents) if inputs.documents else ({}, [])
        findings = inputs.findings + findings
        out = Outcome(1, findings=findings) if any(f.severity == "error" for f in findings) else None
    if out is not None:  # nothing runs; the boot must still be able to tell why (ros-init status)
        if not dry_run and record_status:
            rec = config_failure_record(phase, root, out.problem, out.findings)
            for problem in status.record(root, rec, settings.get("state_dir") or "/var/lib/ros-init",
                                         run_status_root(root)):
                log.error("status: %s", problem)
        return out
    scrub = Scrubber(*secret_values(config))
    setup_logging(phase, scrub, log_level)
    ctx = StageContext(
        phase=phase,
        instance_id=inputs.instance_id or once.config_instance_id(
            [d.data for d in inputs.documents if d.layer != Layer.IMAGE] or config),
        settings=settings,
        state_dir=settings.get("state_dir") or "/var/lib/ros-init",
        dry_run=dry_run,
        scripts=list(inputs.scripts),
        run_commands=run_commands,
    )
    for note in inputs.notes:
        log.info("%s", note)
    stages, broken = discover_stages(phase)
    run_root = run_status_root(root)
    boot = once.boot_id()
    failed_before = (status.failed_in(status.read_status(run_root, status.RUN_STATUS), "initramfs", boot)
                     if phase == "boot" else set())
    rec = run_phase(root, config, ctx, stages, failure_policy=settings.get("failure_policy", "continue"),
                    scrub=scrub, broken=broken, sources=[d.source for d in inputs.documents],
                    warnings=[scrub(f.render()) or "" for f in findings if f.severity == "warning"]
                    + [scrub(p) or "" for p in inputs.source_problems],
                    failed_before=failed_before)
    rec.boot_id = boot
    if not dry_run and record_status:
        for problem in status.record(root, rec, ctx.state_dir, run_root):
            log.error("status: %s", problem)
    if not dry_run and inputs.instance_id and inputs.instance_source:
        from ros_init.state import instance
        try:  # the instance this run configured: the next boot compares its id with it
            instance.record(root, ctx.state_dir, inputs.instance_id, inputs.instance_source)
        except (OSError, RootError) as exc:
            log.error("cannot record the instance: %s", describe_error(exc))
    return Outcome(1 if rec.failed else 0, record=rec, findings=findings)


def run_status_root(root: Root) -> Root:
    """Where /run/ros-init/status.json goes: the target root's /run, except in the initramfs
    (``/etc/initrd-release``), where the target's /run is hidden at switch-root while the
    initramfs' own /run is carried over to the booted system."""
    if not root.is_host and os.path.exists("/etc/initrd-release"):
        return Root("/")
    return root


def config_failure_record(phase: str, root: Root, problem: str | None, findings: Sequence[Finding]) -> PhaseRecord:
    """The status of a phase that did not start: the config (or its source) is unusable.

    Findings never hold secret values, so they can go into the status as they are.
    """
    errors = [f for f in findings if f.severity == "error"]
    rec = PhaseRecord(phase=phase, root=root.path, instance_id=None, started=time.time(),
                      warnings=[f.render() for f in findings if f.severity == "warning"])
    stage = StageRecord("config", "failed", note="nothing was changed")
    if problem:
        stage.error = problem
    else:
        stage.error = f"{len(errors)} error{'s' * (len(errors) != 1)} in the config; first: {errors[0].render()}"
        stage.steps = [StepRecord("validate", str(f.location or ""), f.render(), "failed") for f in errors]
    rec.stages.append(stage)
    return rec


def render_plan(rec: PhaseRecord) -> str:
    steps = [(s.name, st) for s in rec.stages for st in s.steps]
    destructive = sum(1 for _, st in steps if st.destructive)
    head = f"{len(steps)} changes" if steps else "no changes"
    if destructive:
        head += f", {destructive} DESTRUCTIVE (marked !)"
    lines = [f"ros-init plan --phase {rec.phase}: {head}"]
    for stage in rec.stages:
        if stage.result in ("failed", "skipped") and not stage.steps:
            lines.append(f"  {stage.name}: {stage.result}: {stage.error or stage.note}")
        for st in stage.steps:
            lines.append(f"{'! ' if st.destructive else '  '}{stage.name}: {st.summary}")
    return "\n".join(lines)


def cli_main(args: Any) -> int:
    from ros_init.config.settings import SettingsError, load_settings

    dry_run = args.command == "plan"
    try:
        root = Root(args.root)
        settings = load_settings(root, args.settings)
    except (RootError, SettingsError) as exc:
        print(f"ros-init {args.command}: {exc}", file=sys.stderr)
        return 1
    inputs = gather_inputs(root, settings, args.config, getattr(args, "cmdline", None))
    out = execute(root, settings, inputs, args.phase, dry_run=dry_run,
                  log_level=logging.WARNING if dry_run else logging.INFO)
    for f in out.findings:
        print(f.render(), file=sys.stderr)
    if out.problem:
        print(f"ros-init {args.command}: {out.problem}", file=sys.stderr)
        return out.code
    if out.record is None:
        print(f"ros-init {args.command}: the config has errors; nothing was changed", file=sys.stderr)
        return out.code
    if dry_run:
        print(render_plan(out.record))
    elif getattr(args, "format", "text") == "json":
        print(json.dumps(out.record.as_dict(), indent=2))
    else:
        print(summary_line(out.record))
    return out.code
