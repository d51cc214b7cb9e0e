"""The datasources, as data.

Adding a source is one module in this folder (``detect``, ``fetch``, ``NAME``, optional
``DETECT_HINT`` and ``after_run``) plus one line in ``SOURCES``. The probing engine and the
merge read everything else from here, so no other module keeps its own list or rank table.

- ``kind``: ``local`` sources are read first, one after the other, in the order of the
  settings' ``datasources`` list; ``network`` sources are probed in parallel threads.
- ``platform``: the source identifies the instance (seed volume, cloud metadata); only
  the first one found, in list order, is used.
- ``rank``: where its user documents stand within the user layer (later wins): platform
  user-data 0, local files 1, the config URL 2, ``ros.config`` on the command line 3.

``after_run(host, ok, reason)``, where a module has it, is the platform's duty once the run
is over (``ok``: every stage applied; ``reason``: why not, no secret): Azure's ready report
to the wireserver, VMware's guestinfo redaction. The engine calls ``after_run(name, host, ok,
reason)`` below with the platform source that gave the instance, once the run is over.
"""

from __future__ import annotations

from ros_init.core.record import NamedTuple

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from typing import Any


class SourceEntry(NamedTuple):
    name: str
    kind: str
    platform: bool
    rank: int
    module: str


SOURCES: tuple[SourceEntry, ...] = (
    SourceEntry("cmdline", "local", False, 3, "ros_init.datasources.cmdline"),
    SourceEntry("file", "local", False, 1, "ros_init.datasources.file"),
    SourceEntry("cdrom", "local", True, 0, "ros_init.datasources.cdrom"),
    SourceEntry("vmware", "local", True, 0, "ros_init.datasources.vmware"),
    SourceEntry("ec2", "network", True, 0, "ros_init.datasources.ec2"),
    SourceEntry("gce", "network", True, 0, "ros_init.datasources.gce"),
    SourceEntry("openstack", "network", True, 0, "ros_init.datasources.openstack"),
    SourceEntry("azure", "network", True, 0, "ros_init.datasources.azure"),
    SourceEntry("digitalocean", "network", True, 0, "ros_init.datasources.digitalocean"),
    SourceEntry("hetzner", "network", True, 0, "ros_init.datasources.hetzner"),
    SourceEntry("vultr", "network", True, 0, "ros_init.datasources.vultr"),
    SourceEntry("oracle", "network", True, 0, "ros_init.datasources.oracle"),
    SourceEntry("akamai", "network", True, 0, "ros_init.datasources.akamai"),
    SourceEntry("exoscale", "network", True, 0, "ros_init.datasources.exoscale"),
    SourceEntry("upcloud", "network", True, 0, "ros_init.datasources.upcloud"),
    SourceEntry("scaleway", "network", True, 0, "ros_init.datasources.scaleway"),
    SourceEntry("alibaba", "network", True, 0, "ros_init.datasources.alibaba"),
    SourceEntry("equinix", "network", True, 0, "ros_init.datasources.equinix"),
    SourceEntry("http", "network", False, 2, "ros_init.datasources.http"),
)

BY_NAME: dict[str, SourceEntry] = {s.name: s for s in SOURCES}


def after_run(name: str | None, host: Any, ok: bool, reason: str = "", deadline: float | None = None) -> Any:
    """Call the ``after_run`` duty of the platform source ``name`` (the one that gave the
    instance), if it has one. Never raises: a report that cannot be sent is logged, and the
    boot goes on (the run's own outcome is already recorded). Returns the hook's result, or
    None when there is no hook or it failed."""
    import importlib

    entry = BY_NAME.get(name or "")
    if entry is None or not entry.platform:
        return None
    try:
        hook = getattr(importlib.import_module(entry.module), "after_run", None)
        return hook(host, ok, reason, deadline) if hook is not None else None
    except Exception as exc:  # noqa: BLE001 - a platform duty must not turn a good boot into a failed one
        host.logger.warning("%s: after the run: %s", name, exc)
        return None
