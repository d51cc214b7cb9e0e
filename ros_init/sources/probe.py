"""The probing engine: every datasource under one deadline, each outcome recorded.

Local sources (command line, files, seed volumes) are read first, one after the other, in
the order of the settings' ``datasources`` list. Network sources whose cheap ``detect``
says they may be present are then fetched in parallel threads; the engine waits for them
until the deadline and no longer: a source still running then is reported ``timeout``
and abandoned (its thread is a daemon and its HTTP client is bounded by the same
deadline).

The platform rule lives here, whole: a platform source (one that identifies the instance,
``platform`` in the registry) listed after a platform source already found is not probed
(``outranked``); among the platform sources found, the first in list order is used and gives
the instance, the others are reported "not used" (``choose``).

The sources are given as registry entries (``ros_init.datasources.SOURCES``): this layer
does not import the plugins' package, the engine hands the entries in.
"""

from __future__ import annotations

from ros_init.core.record import record

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Protocol

    from ros_init.core.model import Documents
    from ros_init.sources.host import Host

    class SourceEntry(Protocol):
        """What the probing engine reads of a registry entry (``ros_init.datasources.SourceEntry``)."""

        name: str
        kind: str
        platform: bool
        module: str


@record
class ProbeOutcome:
    """What happened to one source: ``found``, ``absent``, ``skipped``, ``error`` or ``timeout``."""

    name: str
    outcome: str
    seconds: float
    detail: str = ""


@record
class Probed:
    outcome: ProbeOutcome
    documents: Documents | None = None
    order: int = 0
    platform: bool = False  # the source identifies the instance (registry entry's platform)


def _run_one(mod: ModuleType, host: Host, deadline: float) -> tuple[str, Documents | None, str]:
    """(outcome, documents, detail) of one source; never raises."""
    try:
        docs = mod.fetch(host, deadline)
    except Exception as exc:  # a bug in a source must not stop the others
        return _failed(mod, host, exc)
    if docs is None:
        return "absent", None, "nothing found"
    return "found", docs, _describe(docs)


def _failed(mod: ModuleType, host: Host, exc: Exception) -> tuple[str, None, str]:
    """(outcome, None, detail) of a source whose fetch raised ``exc``. The error classes are
    imported here, once a source failed: a boot whose sources answer never loads the HTTP
    client or the converters for them."""
    from ros_init.network.convert import NetconvError
    from ros_init.sources.host import DatasourceError
    from ros_init.sources.httpfetch import FetchError
    from ros_init.sources.userdata import UserDataError

    if isinstance(exc, FetchError):
        return ("timeout" if exc.kind == "timeout" else "error"), None, str(exc)
    if isinstance(exc, DatasourceError | UserDataError | NetconvError):
        return "error", None, str(exc)
    host.logger.debug("datasource %s failed", mod.NAME, exc_info=True)
    return "error", None, f"internal error: {type(exc).__name__}: {exc}"


def _describe(docs: Documents) -> str:
    parts = [docs.source]
    if docs.instance_id:
        parts.append(f"instance-id {docs.instance_id}")
    n = len(docs.configs)
    parts.append(f"{n} config document{'s' if n != 1 else ''}")
    if docs.scripts:
        parts.append(f"{len(docs.scripts)} script{'s' if len(docs.scripts) != 1 else ''}")
    if docs.how:
        parts.append(docs.how)
    return ", ".join(parts)


def _absent(mod: ModuleType, host: Host, name: str, start: float) -> ProbeOutcome | None:
    """The "absent" outcome when the source's cheap local ``detect`` says no (or fails)."""
    try:
        if mod.detect(host):
            return None
        detail = f"not detected ({getattr(mod, 'DETECT_HINT', 'detect said no')})"
    except Exception as exc:
        detail = f"detect failed: {type(exc).__name__}: {exc}"
    return ProbeOutcome(name, "absent", host.clock() - start, detail)


def outranked(platform: bool, index: int, found_at: int | None) -> bool:
    """Pure: is the source at ``index`` of the list passed over because a platform source
    listed earlier (at ``found_at``) was found? Only platform sources are."""
    return platform and found_at is not None and index > found_at


def first_platform_at(probed: list[Probed], names: list[str]) -> int | None:
    """Pure: the list index of the first platform source found among ``probed``, or None."""
    return min((names.index(p.outcome.name) for p in probed if p.platform and p.documents is not None),
               default=None)


def choose(probed: list[Probed]) -> tuple[list[Probed], Probed | None]:
    """Pure: (sources whose documents are used, the source giving the instance).

    ``probed`` in list order. The first platform source found is used; a platform source found
    after it gets a note in its outcome's detail and is not used. Without a platform source,
    the first source used that gives an instance-id gives the instance (an http NoCloud seed).
    """
    used: list[Probed] = []
    platform: Probed | None = None
    for p in probed:
        if p.documents is None:
            continue
        if p.platform:
            if platform is not None:
                p.outcome.detail += f" (not used: {platform.outcome.name} comes first)"
                continue
            platform = p
        used.append(p)
    identity = platform or next((p for p in used if p.documents and p.documents.instance_id), None)
    return used, identity


def _load(entry: SourceEntry, index: int) -> ModuleType | Probed:
    """The source's module, or its ``error`` outcome when it cannot be imported. A source is
    imported only when it is probed: one passed over (``outranked``) costs nothing, and a cloud
    source's libraries stay off a boot that a seed volume configures."""
    import importlib

    try:
        return importlib.import_module(entry.module)
    except ImportError as exc:
        return Probed(ProbeOutcome(entry.name, "error", 0.0, f"cannot load datasource: {exc}"), order=index)


def probe_all(host: Host, entries: list[SourceEntry], deadline: float) -> list[Probed]:
    """Probe the sources of ``entries`` (in order) until ``deadline``; one Probed per entry, in
    that order."""
    results: dict[str, Probed] = {}
    platform_found: int | None = None
    skip_note = ""

    def passed_over(i: int, entry: SourceEntry) -> bool:
        if outranked(entry.platform, i, platform_found):
            results[entry.name] = Probed(ProbeOutcome(entry.name, "skipped", 0.0, skip_note), order=i)
            return True
        return False

    for i, entry in enumerate(entries):
        if entry.kind != "local" or passed_over(i, entry):
            continue
        name, start = entry.name, host.clock()
        if start >= deadline:
            results[name] = Probed(ProbeOutcome(name, "timeout", 0.0, "deadline passed before it was probed"), order=i)
            continue
        mod = _load(entry, i)
        if isinstance(mod, Probed):
            results[name] = mod
            continue
        absent = _absent(mod, host, name, start)
        if absent is not None:
            results[name] = Probed(absent, order=i)
            continue
        outcome, docs, detail = _run_one(mod, host, deadline)
        results[name] = Probed(ProbeOutcome(name, outcome, host.clock() - start, detail), docs, i)
        if outcome == "found" and entry.platform and platform_found is None:
            platform_found = i
            skip_note = f"{name}, listed earlier, was found"

    # Network sources, in parallel (threads only when one is detected).
    pending: dict[str, tuple[int, float]] = {}
    done = None
    for i, entry in enumerate(entries):
        if entry.kind == "local" or passed_over(i, entry):
            continue
        name, start = entry.name, host.clock()
        mod = _load(entry, i)
        if isinstance(mod, Probed):
            results[name] = mod
            continue
        absent = _absent(mod, host, name, start)
        if absent is not None:
            results[name] = Probed(absent, order=i)
            continue
        if done is None:
            import queue
            import threading

            done = queue.Queue()
        pending[name] = (i, start)

        def worker(m: ModuleType = mod, n: str = name, t0: float = start, q: queue.Queue = done) -> None:
            outcome, docs, detail = _run_one(m, host, deadline)
            q.put((n, outcome, docs, detail, host.clock() - t0))

        threading.Thread(target=worker, name=f"ros-init-{name}", daemon=True).start()
    if pending:
        host.logger.info("waiting up to %.1fs for network datasources: %s",
                         max(0.0, deadline - host.clock()), ", ".join(pending))
    while pending:
        remaining = deadline - host.clock()
        try:
            name, outcome, docs, detail, secs = done.get(timeout=max(0.0, remaining) + 0.05)
        except queue.Empty:
            break
        results[name] = Probed(ProbeOutcome(name, outcome, secs, detail), docs, pending.pop(name)[0])
    for name, (i, start) in pending.items():
        results[name] = Probed(ProbeOutcome(name, "timeout", host.clock() - start,
                                            "still waiting for an answer at the deadline"), order=i)
    for entry in entries:
        results[entry.name].platform = entry.platform
    return [results[e.name] for e in entries]
