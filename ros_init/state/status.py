"""The record of a run: what each stage and step did, kept where people and units look.

``/run/ros-init/status.json`` (root-relative; emptied at every boot) holds the phases run
in this boot; ``<state_dir>/status.json`` keeps the same record across boots. Both are
written atomically through ``Root``, mode 0600 in folders of mode 0700. A record holds only
change summaries, notes and error messages, which never hold a secret (the engine scrubs
them before they get here).

``ros-init status`` prints it: exit 0 when the last run of every phase succeeded, 1 when one
failed, 2 when ros-init never ran on this root.
"""

from __future__ import annotations

import json
import time

from ros_init.core.record import asdict, field, record
from ros_init.core.root import Root, RootError

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from typing import Any

RUN_STATUS = "/run/ros-init/status.json"
STATE_STATUS = "status.json"  # inside the state dir
FORMAT_VERSION = 1


@record
class StepRecord:
    """One change of a stage: ``result`` is changed | skipped | failed | planned."""

    action: str
    target: str
    summary: str
    result: str
    duration_ms: float = 0.0
    error: str | None = None
    note: str | None = None
    destructive: bool = False  # destroys data on a disk (the plan marks it)


@record
class StageRecord:
    """One stage in one phase: ``result`` is ok (nothing to do) | changed | skipped | failed."""

    name: str
    result: str
    duration_ms: float = 0.0
    steps: list[StepRecord] = field(default_factory=list)
    error: str | None = None
    note: str | None = None


@record
class PhaseRecord:
    phase: str
    root: str
    instance_id: str | None
    started: float  # epoch seconds
    duration_ms: float = 0.0
    dry_run: bool = False
    boot_id: str = ""
    sources: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    stages: list[StageRecord] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(s.result == "failed" for s in self.stages)

    def counts(self) -> dict[str, int]:
        out = {"changed": 0, "skipped": 0, "failed": 0, "planned": 0}
        for stage in self.stages:
            for step in stage.steps:
                out[step.result] = out.get(step.result, 0) + 1
            if stage.result == "skipped" and not stage.steps:
                out["skipped"] += 1
            if stage.result == "failed" and not any(s.result == "failed" for s in stage.steps):
                out["failed"] += 1
        return out

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["result"] = "failed" if self.failed else "ok"
        data["counts"] = self.counts()
        data["started"] = _iso(self.started)
        return data


def summary_line(rec: PhaseRecord) -> str:
    """The one line per phase for the console."""
    c = rec.counts()
    verb = "planned" if rec.dry_run else "changed"
    n = c["planned"] if rec.dry_run else c["changed"]
    ran = sum(1 for s in rec.stages if s.result != "skipped")
    word = "FAILED" if rec.failed else "ok"
    return (f"ros-init {rec.phase}: {word}: {n} {verb}, {c['failed']} failed, {c['skipped']} skipped"
            f" ({ran} stages, {rec.duration_ms:.0f} ms)")


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


# -- writing ----------------------------------------------------------------------------
def merge_phase(existing: dict[str, Any] | None, rec: PhaseRecord) -> dict[str, Any]:
    """The status document with ``rec`` as its entry for its phase (other phases kept)."""
    phases = dict((existing or {}).get("phases") or {}) if _usable(existing) else {}
    phases[rec.phase] = rec.as_dict()
    return {
        "version": FORMAT_VERSION,
        "updated": _iso(time.time()),
        "result": "failed" if any(p.get("result") == "failed" for p in phases.values()) else "ok",
        "phases": {k: phases[k] for k in ("initramfs", "boot") if k in phases},
    }


def _usable(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("version") == FORMAT_VERSION and isinstance(doc.get("phases"), dict)


def read_status(root: Root, path: str) -> dict[str, Any] | None:
    try:
        data = root.read_bytes(path)
    except (OSError, RootError):
        return None
    if data is None:
        return None
    try:
        doc = json.loads(data)
    except ValueError:
        return None
    return doc if _usable(doc) else None


def failed_in(doc: dict[str, Any] | None, phase: str, boot_id: str) -> set[str]:
    """Names of the stages that failed (or were skipped for a failure) in ``phase`` of this
    boot, per the status ``doc`` (pure). The boot phase uses it so that a stage that
    REQUIRES an initramfs stage (commands: disks) knows that one failed."""
    if not doc or not boot_id:
        return set()
    rec = (doc.get("phases") or {}).get(phase) or {}
    if rec.get("boot_id") != boot_id:
        return set()
    return {s.get("name") for s in rec.get("stages", [])
            if s.get("result") == "failed" or (s.get("result") == "skipped" and "fail" in (s.get("note") or ""))}


def record(root: Root, rec: PhaseRecord, state_dir: str, run_root: Root | None = None) -> list[str]:
    """Write the run status (through ``run_root``, default ``root``) and its persistent copy
    in the root's state dir; return the problems met (never raises)."""
    problems = []
    from ros_init.state.private import write_private

    for where, path, base in ((run_root or root, RUN_STATUS, "/run/ros-init"),
                              (root, f"{state_dir.rstrip('/')}/{STATE_STATUS}", state_dir)):
        try:
            doc = merge_phase(read_status(where, path), rec)
            text = json.dumps(doc, indent=2, sort_keys=False) + "\n"
            write_private(where, base, path, text.encode())
        except (OSError, RootError) as exc:
            problems.append(f"cannot write {path}: {getattr(exc, 'strerror', None) or exc}")
    return problems


# -- ros-init status --------------------------------------------------------------------
def load(root: Root, state_dir: str) -> tuple[dict[str, Any] | None, str | None]:
    """The status of this boot, else the persistent record; and where it came from."""
    doc = read_status(root, RUN_STATUS)
    if doc is not None:
        return doc, RUN_STATUS
    path = f"{state_dir.rstrip('/')}/{STATE_STATUS}"
    doc = read_status(root, path)
    return (doc, path) if doc is not None else (None, None)


def render_text(doc: dict[str, Any], origin: str) -> str:
    """The status for people; every value escaped (``printable``): the file may hold a
    newline or an ESC sequence from a config, and is read by anyone's terminal."""
    from ros_init.core.printable import printable

    return "\n".join(printable(line) for line in _render_lines(doc, origin))


def _render_lines(doc: dict[str, Any], origin: str) -> list[str]:
    lines = [f"ros-init status: {doc.get('result', '?')} (from {origin}, updated {doc.get('updated', '?')})"]
    for name, phase in doc["phases"].items():
        c = phase.get("counts", {})
        lines.append(f"phase {name}: {phase.get('result')} at {phase.get('started')}, "
                     f"{c.get('changed', 0)} changed, {c.get('failed', 0)} failed, {c.get('skipped', 0)} skipped, "
                     f"{phase.get('duration_ms', 0):.0f} ms; instance {phase.get('instance_id')}")
        for warning in phase.get("warnings", []):
            lines.append(f"  warning: {warning}")
        for stage in phase.get("stages", []):
            extra = f": {stage['error']}" if stage.get("error") else (f" ({stage['note']})" if stage.get("note") else "")
            lines.append(f"  {stage['name']:<10} {stage['result']:<8} {stage.get('duration_ms', 0):6.0f} ms{extra}")
            for step in stage.get("steps", []):
                if step["result"] == "failed":
                    why = f": {step['error']}" if step.get("error") else ""  # a config finding says it all
                    lines.append(f"    FAILED {step['summary']}{why}")
                elif step["result"] == "skipped":
                    lines.append(f"    skipped {step['summary']}: {step.get('note')}")
                else:
                    note = f" ({step['note']})" if step.get("note") else ""
                    lines.append(f"    {step['result']} {step['summary']}{note}")
    return lines
