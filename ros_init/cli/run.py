"""``ros-init run`` and ``ros-init plan`` on the command line: arguments in, summary or
plan out."""

from __future__ import annotations

import json
import sys

from ros_init.state.status import PhaseRecord

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from typing import Any


def render_plan(rec: PhaseRecord) -> str:
    from ros_init.core.printable import printable

    return "\n".join(printable(line) for line in _plan_lines(rec))


def _plan_lines(rec: PhaseRecord) -> list[str]:
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
    return lines


def cli_main(args: Any) -> int:
    from ros_init.config.settings import SettingsError, load_settings
    from ros_init.core.root import Root, RootError
    from ros_init.engine.inputs import gather_inputs

    dry_run = args.command == "plan"
    if args.config and getattr(args, "cmdline", None):
        # --config replaces the datasources, and the kernel command line is one of them:
        # its ros.* overrides would be silently dropped, so say so instead.
        print(f"ros-init {args.command}: --cmdline reads the datasources' kernel command line, which --config "
              "replaces: put the ros.* overrides in a config file, or drop --config", file=sys.stderr)
        return 2
    try:
        root = Root(args.root)
        settings = load_settings(root, args.settings)
    except (RootError, SettingsError) as exc:
        print(f"ros-init {args.command}: {exc}", file=sys.stderr)
        return 1
    source_phase = None if args.config else args.phase
    from ros_init.config.redact import Scrubber
    from ros_init.core.logger import INFO, WARNING
    from ros_init.engine.logs import journal

    # The datasources' lines (waits, probe decisions) in the phase's format: there is no config
    # to scrub by yet, and they never hold a config value. One journal for the whole command:
    # a network source's thread still logging after the probe (or between the phases) writes
    # in the same format; each phase's run nests its own, with the config's scrubber.
    with journal(args.phase, Scrubber(), WARNING if dry_run else INFO):
        inputs = gather_inputs(root, settings, args.config, getattr(args, "cmdline", None), phase=source_phase)
        # The network phase: the network sources' documents added, then both phases' stages in
        # this one process (every stage converges: what the earlier phases applied stays as it is).
        phases = ("initramfs", "boot") if args.phase == "network" else (args.phase,)
        code = 0
        shown: set[str] = set()  # the network phase's two passes find a bad config's errors twice: say them once
        for phase in phases:
            code = max(code, _one_phase(args, root, settings, inputs, phase, dry_run, shown))
    return code


def _say_once(line: str, shown: set[str]) -> None:
    if line not in shown:
        shown.add(line)
        print(line, file=sys.stderr)


def _one_phase(args: Any, root: Any, settings: dict, inputs: Any, phase: str, dry_run: bool,
               shown: set[str]) -> int:
    from ros_init.core.logger import INFO, WARNING
    from ros_init.engine.run import execute
    from ros_init.state.status import summary_line

    out = execute(root, settings, inputs, phase, dry_run=dry_run,
                  log_level=WARNING if dry_run else INFO)
    from ros_init.config.redact import Scrubber

    scrub = Scrubber.for_config(*(d.data for d in inputs.documents)) if out.findings else Scrubber()
    for f in out.findings:
        _say_once(scrub(f.render()), shown)
    if out.problem:
        from ros_init.core.printable import printable

        _say_once(printable(f"ros-init {args.command}: {out.problem}"), shown)
        return out.code
    if out.record is None:
        _say_once(f"ros-init {args.command}: the config has errors; nothing was changed", shown)
        return out.code
    if dry_run:
        print(render_plan(out.record))
    elif getattr(args, "format", "text") == "json":
        print(json.dumps(out.record.as_dict(), indent=2))
    else:
        print(summary_line(out.record))
    return out.code
