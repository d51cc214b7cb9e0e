"""What a platform needs to hear after a run: Azure's wireserver must get a Ready (or NotReady
with a reason) health report, or it marks the VM failed after about 20-40 minutes.

The platform source that gave the instance does its own duty (``after_run`` in its module,
called through ``ros_init.datasources.after_run``, which never raises); this module only
decides when: after the boot phase recorded its outcome, good or bad, for a run whose inputs
came from the datasources (never for ``--config``, never for a plan).
"""

from __future__ import annotations

from ros_init.core.root import Root

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from typing import Any


def report_outcome(root: Root, settings: dict[str, Any], instance_source: str | None, cmdline_text: str | None,
                   phase: str, ok: bool, reason: str) -> None:
    """Tell the platform of ``instance_source`` how the boot phase ended (``reason``: a status
    line, which never holds a secret)."""
    if phase != "boot" or not instance_source:
        return
    from ros_init.datasources import BY_NAME, after_run

    entry = BY_NAME.get(instance_source)
    if entry is None or not entry.platform:
        return
    from ros_init.engine.collect import read_cmdline
    from ros_init.sources.host import Host

    host = Host(root=root, settings=settings, cmdline_text=read_cmdline(root) if cmdline_text is None else cmdline_text)
    after_run(instance_source, host, ok=ok, reason=reason, deadline=host.clock() + 60)
