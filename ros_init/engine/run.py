"""``ros-init run`` and ``ros-init plan``: config in, stages planned and applied, status out.

The flow is one way: settings -> documents (``ros_init.engine.inputs``) -> merged,
validated config -> for each registered stage of the phase (``ros_init.engine.stages``),
in order: plan (pure) -> apply each change (thin, through ``Root``) -> record.

The decisions (which stages run, whether a stage is blocked, the summary) are pure
functions; ``run_phase`` does the acting.
"""

from __future__ import annotations

import os
import time

from ros_init.config.redact import Scrubber
from ros_init.config.settings import state_dir
from ros_init.core.logger import INFO, logger
from ros_init.core.model import Change, Config, Finding, SkipStep, StageContext
from ros_init.core.record import field, record
from ros_init.core.root import Root, RootError
from ros_init.engine.duties import report_outcome
from ros_init.engine.errors import describe_error
from ros_init.engine.inputs import Inputs, build_config
from ros_init.engine.logs import journal
from ros_init.engine.stages import Stage, StageLoadError, blocked_reason, load_stages, stages_for_phase
from ros_init.state.status import PhaseRecord, StageRecord, StepRecord

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any

log = logger("ros_init")


def _ms(t0: float) -> float:
    return round((time.monotonic() - t0) * 1000, 1)

def run_phase(
    root: Root,
    config: Config,
    ctx: StageContext,
    stages: Sequence[Stage],
    *,
    specs: dict[str, Any] | None = None,
    failure_policy: str = "continue",
    scrub: Scrubber | None = None,
    failed_before: Iterable[str] = (),
    broken: Sequence[StageLoadError] = (),
    sources: Sequence[str] = (),
    warnings: Sequence[str] = (),
) -> PhaseRecord:
    """Plan every stage of ``ctx.phase``; unless ``ctx.dry_run``, apply each change.

    ``failed_before``: stages that failed in an earlier phase of this boot; the stages that
    require them are skipped (a failure_policy ``stop`` does not look across phases).
    ``specs``: each stage's parsed config (``engine.specs.parse_specs``); a stage missing
    from it parses ``config`` itself.
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
            rec.stages.append(StageRecord(stage.name, "skipped", note=reason))
            log.warning("%s: skipped, %s", stage.name, reason)
            blocked.add(stage.name)
            continue
        srec = _run_stage(stage, root, config, ctx, scrub, specs)
        rec.stages.append(srec)
        if srec.result == "failed":
            blocked.add(stage.name)
    rec.duration_ms = _ms(t_phase)
    return rec

def _run_stage(stage: Stage, root: Root, config: Config, ctx: StageContext, scrub: Scrubber,
               specs: dict[str, Any] | None = None) -> StageRecord:
    name = stage.name
    t0 = time.monotonic()
    srec = StageRecord(name, "ok")
    try:
        spec = specs[name] if specs is not None and name in specs else stage.parse(config)
        changes: list[Change] = list(stage.plan(spec, root, ctx))
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
            if stage.stop_after_failed_step:
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


@record
class Outcome:
    code: int
    record: PhaseRecord | None = None
    findings: list[Finding] = field(default_factory=list)
    problem: str | None = None


def execute(root: Root, settings: dict[str, Any], inputs: Inputs, phase: str, *, dry_run: bool = False,
            run_commands: bool = True, record_status: bool = True, log_level: int = INFO) -> Outcome:
    """Everything after the inputs are gathered: build the config, run the phase, record it."""
    from ros_init.state import once, status
    if inputs.problem or any(f.severity == "error" for f in inputs.findings):
        out = Outcome(1, problem=inputs.problem, findings=inputs.findings)
    else:
        config, findings, specs = build_config(inputs.documents, settings=settings) if inputs.documents else ({}, [], None)
        findings = inputs.findings + findings
        out = Outcome(1, findings=findings) if any(f.severity == "error" for f in findings) else None
    if out is not None:  # nothing runs; the boot must still be able to tell why (ros-init status)
        if not dry_run and record_status:
            scrub = Scrubber.for_config(*(d.data for d in inputs.documents))
            rec = config_failure_record(phase, root, out.problem, out.findings, scrub)
            for problem in status.record(root, rec, state_dir(settings),
                                         run_status_root(root)):
                log.error("status: %s", problem)
            report_outcome(root, settings, inputs.instance_source, inputs.cmdline_text, phase, ok=False,
                           reason=rec.stages[0].error or "the config cannot be used")
        return out
    scrub = Scrubber.for_config(config)
    with journal(phase, scrub, log_level):  # the phase's log lines (engine.logs), until it is recorded
        ctx = StageContext(
            phase=phase,
            instance_id=inputs.instance_id,
            settings=settings,
            state_dir=state_dir(settings),
            dry_run=dry_run,
            scripts=list(inputs.scripts),
            run_commands=run_commands,
            deadline=time.monotonic() + float(settings.get("deadline") or 30),
        )
        for note in inputs.notes:
            log.info("%s", note)
        stages, broken = load_stages(phase)
        run_root = run_status_root(root)
        boot = once.boot_id()
        failed_before = (status.failed_in(status.read_status(run_root, status.RUN_STATUS), "initramfs", boot)
                         if phase == "boot" else set())
        rec = run_phase(root, config, ctx, stages, specs=specs,
                        failure_policy=settings.get("failure_policy", "continue"),
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
        if not dry_run and record_status:
            failed = next((s for s in rec.stages if s.result == "failed"), None)
            report_outcome(root, settings, inputs.instance_source, inputs.cmdline_text, phase, ok=not rec.failed,
                           reason=f"{failed.name}: {failed.error}" if failed else "")
        return Outcome(1 if rec.failed else 0, record=rec, findings=findings)


def run_status_root(root: Root) -> Root:
    """Where /run/ros-init/status.json goes: the target root's /run, except in the initramfs
    (``/etc/initrd-release``), where the target's /run is hidden at switch-root while the
    initramfs' own /run is carried over to the booted system."""
    if not root.is_host and os.path.exists("/etc/initrd-release"):
        return Root("/")
    return root


def config_failure_record(phase: str, root: Root, problem: str | None, findings: Sequence[Finding],
                          scrub: Scrubber | None = None) -> PhaseRecord:
    """The status of a phase that did not start: the config (or its source) is unusable.

    Findings are meant to hold no secret value; like every record, this one still goes
    through the scrubber (of the documents as given), in case one does.
    """
    scrub = scrub or Scrubber()
    errors = [f for f in findings if f.severity == "error"]
    rec = PhaseRecord(phase=phase, root=root.path, instance_id=None, started=time.time(),
                      warnings=[scrub(f.render()) or "" for f in findings if f.severity == "warning"])
    stage = StageRecord("config", "failed", note="nothing was changed")
    if problem:
        stage.error = scrub(problem)
    else:
        stage.error = scrub(f"{len(errors)} error{'s' * (len(errors) != 1)} in the config; "
                            f"first: {errors[0].render()}")
        stage.steps = [StepRecord("validate", scrub(str(f.location or "")) or "", scrub(f.render()) or "", "failed")
                       for f in errors]
    rec.stages.append(stage)
    return rec
