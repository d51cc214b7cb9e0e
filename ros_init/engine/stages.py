"""The stages the engine runs: registry entries (``ros_init.stages.STAGES``) joined with
their loaded modules, in order, and the pure rules of which stage runs.

Only the stages of the phase being run are imported.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable

from ros_init.core.record import NamedTuple, record

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from typing import Any

PHASES = ("initramfs", "boot")


@record(frozen=True)
class Stage:
    """A stage ready to run: what the registry says of it, and its ``plan``/``apply``."""

    name: str
    phases: tuple[str, ...]
    order: int
    plan: Callable[..., Any]  # plan(spec, root, ctx)
    apply: Callable[..., Any]
    requires: tuple[str, ...] = ()
    stop_after_failed_step: bool = False  # a later step may rely on an earlier one (commands, disks)
    parse: Callable[[Any], Any] = lambda config: config  # parse(config) -> spec


class StageLoadError(NamedTuple):
    name: str
    error: str


def load_stages(phase: str | None = None) -> tuple[list[Stage], list[StageLoadError]]:
    """The registered stages acting in ``phase`` (every stage with None), in order, and
    those whose module could not be loaded."""
    from ros_init.stages import STAGES

    found: list[Stage] = []
    broken: list[StageLoadError] = []
    for entry in STAGES:
        if phase is not None and phase not in entry.phases:
            continue
        try:
            mod = importlib.import_module(entry.module)
            found.append(Stage(entry.name, entry.phases, entry.order, mod.plan, mod.apply, entry.requires,
                               bool(getattr(mod, "STOP_AFTER_FAILED_STEP", False)), mod.parse))
        except Exception as exc:  # a broken stage is a failed stage, not a crashed run
            broken.append(StageLoadError(entry.name, f"cannot load stage module: {type(exc).__name__}: {exc}"))
    return order_stages(found), broken


def order_stages(stages: Iterable[Stage]) -> list[Stage]:
    return sorted(stages, key=lambda s: (s.order, s.name))


def stages_for_phase(stages: Iterable[Stage], phase: str) -> list[Stage]:
    """The stages that act in ``phase``, in order (pure)."""
    return [s for s in order_stages(stages) if phase in s.phases]


def blocked_reason(stage: Stage, blocked: set[str], failure_policy: str) -> str | None:
    """Why ``stage`` must not run given the stages that failed so far (None: it runs)."""
    if failure_policy == "stop" and blocked:
        return "not run: an earlier stage failed (failure_policy: stop)"
    deps = [d for d in stage.requires if d in blocked]
    if deps:
        return f"not run: depends on {', '.join(deps)}, which failed"
    return None
