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

import importlib
import queue
import threading
from dataclasses import dataclass
from types import ModuleType
from typing import Protocol

from ros_init.core.model import Documents
from ros_init.sources.host import DatasourceError, Host


@dataclass
class ProbeOutcome:
    """What happened to one source: ``found``, ``absent``, ``skipped``, ``error`` or ``timeout``."""

    name: str
    outcome: str
    seconds: float
    detail: str = ""


@dataclass
class Probed:
    outcome: ProbeOutcome
    documents: Documents | None = None
    order: int = 0
    platform: bool = False  # the source identifies the instance (registry entry's platform)


class SourceEntry(Protocol):
    """What the probing engine reads of a registry entry (``ros_init.datasources.SourceEntry``)."""

    name: str
    kind: str
    platform: bool
    module: str


def _run_one(mod: ModuleType, host: Host, deadline: float) -> tuple[str, Documents | None, str]:
    """(outcome, documents, detail) of one source; never raises."""
    from ros_init.network.convert import NetconvError
    from ros_init.sources.httpfetch import FetchError
    from ros_init.sources.userdata import UserDataError

    try:
        docs = mod.fetch(host, deadline)
    except FetchError as exc:
        return ("timeout" if exc.kind == "timeout" else "error"), None, str(exc)
    except (DatasourceError, UserDataError, NetconvError) as exc:
        return "error", None, str(exc)
    except Exception as exc:  # a bug in a source must not stop the others
        host.logger.debug("datasource %s failed", mod.NAME, exc_info=True)
        return "error", None, f"internal error: {type(exc).__name__}: {exc}"
    if docs is None:
        return "absent", None, "nothing found"
    return "found", docs, _describe(docs)


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


def probe_all(host: Host, entries: list[SourceEntry], deadline: float) -> list[Probed]:
    """Probe the sources of ``entries`` (in order) until ``deadline``; one Probed per entry, in
    that order."""
    results: dict[str, Probed] = {}
    mods: dict[str, ModuleType] = {}
    kinds = {e.name: e.kind for e in entries}
    platforms = {e.name: e.platform for e in entries}
    names = [e.name for e in entries]
    for i, entry in enumerate(entries):
        try:
            mods[entry.name] = importlib.import_module(entry.module)
        except ImportError as exc:
            results[entry.name] = Probed(ProbeOutcome(entry.name, "error", 0.0, f"cannot load datasource: {exc}"),
                                         order=i)
    order = {n: i for i, n in enumerate(names)}
    platform_found: int | None = None
    skip_note = ""

    def skipped_by_platform(name: str) -> bool:
        return outranked(platforms[name], order[name], platform_found)

    for name in names:
        mod = mods.get(name)
        if mod is None or kinds[name] != "local":
            continue
        start = host.clock()
        if skipped_by_platform(name):
            results[name] = Probed(ProbeOutcome(name, "skipped", 0.0, skip_note),
                                   order=order[name])
            continue
        if host.clock() >= deadline:
            results[name] = Probed(ProbeOutcome(name, "timeout", 0.0, "deadline passed before it was probed"),
                                   order=order[name])
            continue
        absent = _absent(mod, host, name, start)
        if absent is not None:
            results[name] = Probed(absent, order=order[name])
            continue
        outcome, docs, detail = _run_one(mod, host, deadline)
        results[name] = Probed(ProbeOutcome(name, outcome, host.clock() - start, detail), docs, order[name])
        if outcome == "found" and platforms[name] and platform_found is None:
            platform_found = order[name]
            skip_note = f"{name}, listed earlier, was found"

    # Network sources, in parallel.
    done: queue.Queue[tuple[str, str, Documents | None, str, float]] = queue.Queue()
    pending: dict[str, float] = {}
    for name in names:
        mod = mods.get(name)
        if mod is None or kinds[name] == "local":
            continue
        start = host.clock()
        if skipped_by_platform(name):
            results[name] = Probed(ProbeOutcome(name, "skipped", 0.0, skip_note),
                                   order=order[name])
            continue
        absent = _absent(mod, host, name, start)
        if absent is not None:
            results[name] = Probed(absent, order=order[name])
            continue
        pending[name] = start

        def worker(m: ModuleType = mod, n: str = name, t0: float = start) -> None:
            outcome, docs, detail = _run_one(m, host, deadline)
            done.put((n, outcome, docs, detail, host.clock() - t0))

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
        pending.pop(name, None)
        results[name] = Probed(ProbeOutcome(name, outcome, secs, detail), docs, order[name])
    for name, start in pending.items():
        results[name] = Probed(ProbeOutcome(name, "timeout", host.clock() - start,
                                            "still waiting for an answer at the deadline"), order=order[name])
    for name, p in results.items():
        p.platform = platforms[name]
    return [results[n] for n in names]
