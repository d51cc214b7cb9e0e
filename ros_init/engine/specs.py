"""Every stage's ``parse``: the merged config turned into typed specs once.

``ros-init validate`` and ``ros-init run`` both call ``parse_specs`` after the schema, so a
config that ``validate`` accepts is one that ``run`` accepts, and what ``run`` refuses,
``validate`` reports, located (FILE:LINE:COL, with the config path, never a secret value):
every refusal of every stage, not the first of each (a ``parse`` raises ``SpecErrors``).
Every registered stage is parsed, whatever the phase: a config error anywhere stops the
run before anything changes, in the initramfs as at boot.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from ros_init.core.findings import Finding, Location, SpecError, SpecErrors
from ros_init.core.model import Config

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from typing import Any


def spec_error(exc: Exception, stage: str) -> SpecError:
    """The SpecError for anything a ``parse`` raised (domain errors name their path first)."""
    if isinstance(exc, SpecError):
        return exc
    if isinstance(exc, ValueError) or type(exc).__name__.endswith("Error") and type(exc).__module__.startswith(
            ("ros_init.disks", "ros_init.network", "ros_init.accounts", "ros_init.stages")):
        return SpecError(str(exc))
    return SpecError(f"the {stage} stage cannot read its part of the config ({type(exc).__name__})")


def parse_specs(config: Config, locate: Callable[[str], Location | None] | None = None,
                names: tuple[str, ...] | None = None) -> tuple[dict[str, Any], list[Finding]]:
    """(stage name -> spec, the findings of the specs that could not be made).

    ``locate`` maps a config path to where it is written. A stage whose module cannot be
    loaded is left out here: the run reports it as a failed stage.
    """
    from ros_init.stages import STAGES

    specs: dict[str, Any] = {}
    findings: list[Finding] = []
    for entry in STAGES:
        if names is not None and entry.name not in names:
            continue
        if entry.keys and not any(k in config for k in entry.keys):
            continue  # nothing of it in the config: nothing to refuse (planned with an empty section)
        try:
            parse = importlib.import_module(entry.module).parse
        except Exception:  # noqa: S112 - a broken stage module fails its stage in run_phase
            continue
        try:
            specs[entry.name] = spec = parse(config)
            # What cloud-init accepts but cannot do either: a warning here, one failed step at run.
            for path, message in getattr(spec, "warnings", None) or ():
                findings.append(Finding("warning", "at-boot", path, message, locate(path) if locate else None))
        except Exception as exc:
            # A parse reports every refusal (SpecErrors), so that validate lists them all.
            errors = exc.errors if isinstance(exc, SpecErrors) else (spec_error(exc, entry.name),)
            for err in errors:
                if any(f.path == err.path and f.message == err.message for f in findings):
                    continue  # users and sshkeys read the same users: one finding
                loc = locate(err.path) if locate else None
                findings.append(Finding("error", "config", err.path, err.message, loc))
    return specs, findings
