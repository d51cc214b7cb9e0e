"""Collecting the config from the datasources (``ros-init fetch`` prints it: ``cli/fetch.py``).

Which source wins (the rule ``docs/datasources.md`` documents):

1. Every source in the settings' ``datasources`` list is probed (``ros.datasource=`` on
   the kernel command line narrows the list; the command line itself is always read).
2. Platform sources (``platform`` in the registry, ``datasources/__init__.py``: seed volumes,
   VMware and the cloud metadata services) identify the instance. Only the first one found, in
   list order, is used; the others are reported ``found, not used`` (the rule is
   ``ros_init.sources.probe``'s ``outranked`` and ``choose``, for probing and handed-over results alike).
3. Documents merge by layer: image defaults < metadata < vendor-data < user-data <
   kernel-command-line overrides. Within the user layer the order is fixed, most
   specific last (last wins): platform user-data, local files (lexical), the config URL,
   ``ros.config`` from the command line.
4. The instance-id comes from the platform source used (else from an http NoCloud seed);
   ``ros_init.state.instance`` says whether it is a new instance.
"""

from __future__ import annotations

from ros_init.config.settings import state_dir as settings_state_dir
from ros_init.core.record import field, record
from ros_init.datasources import BY_NAME
from ros_init.sources.probe import ProbeOutcome, choose, first_platform_at, outranked, probe_all

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from typing import Any

    from ros_init.core.model import ConfigDocument, Finding, Script
    from ros_init.core.root import Root
    from ros_init.sources.probe import Probed


@record
class Collected:
    documents: list[ConfigDocument]
    scripts: list[Script]
    instance_id: str | None
    new_instance: bool
    probes: list[ProbeOutcome]
    instance_source: str | None = None
    instance_reason: str = ""
    raw: dict[str, dict[str, bytes]] = field(default_factory=dict, repr=False)
    findings: list[Finding] = field(default_factory=list)  # the image defaults' errors


def probe_names(settings: dict[str, Any], pinned: list[str] | None) -> tuple[list[str], list[ProbeOutcome]]:
    """Pure: the sources to probe, in order, and outcomes for bad pins."""
    names = [n for n in settings.get("datasources") or [] if n in BY_NAME]
    notes: list[ProbeOutcome] = []
    if pinned:
        unknown = [n for n in pinned if n not in BY_NAME]
        for n in unknown:
            notes.append(ProbeOutcome(n, "error", 0.0, f"ros.datasource names an unknown source {n!r}"))
        names = ["cmdline"] + [n for n in pinned if n in BY_NAME and n != "cmdline"]
    return list(dict.fromkeys(names)), notes


def ordered_documents(used: list[Probed]) -> list[ConfigDocument]:
    """Pure: documents in merge order (merge_documents sorts stably by layer)."""
    docs: list[ConfigDocument] = []
    for p in sorted(used, key=lambda p: (BY_NAME[p.outcome.name].rank, p.order)):
        assert p.documents is not None
        docs += p.documents.configs
    return docs


def read_cmdline(root: Root) -> str:
    """The target root's ``/proc/cmdline`` (the host's when the root is ``/``)."""
    try:
        return root.read_text("/proc/cmdline") or ""
    except OSError:
        return ""


def collect(root: Root, settings: dict[str, Any], *, cmdline_text: str | None = None,
            sys_root: str = "/", devices: list[str] | None = None, phase: str | None = None) -> Collected:
    """Probe the datasources and gather their documents, in merge order.

    With a ``phase`` (``ros-init run``), one probe per boot: the initramfs and boot phases
    hand what they probed to the later phases (``ros_init.state.handover``), the boot phase
    takes the initramfs phase's record instead of probing, the network phase probes only the
    network sources. Without (``ros-init fetch``), it probes everything and writes nothing.
    """
    from ros_init.sources.host import Host
    from ros_init.state import instance

    host = Host(root=root, settings=settings, cmdline_text=read_cmdline(root) if cmdline_text is None else cmdline_text,
                sys_root=sys_root, devices=devices)
    names, notes = probe_names(settings, host.cmdline.datasources)
    deadline = host.clock() + float(settings.get("deadline") or 30)
    probed = _probe_once(root, host, names, deadline, phase)
    used, identity = choose(probed)
    from ros_init.engine.inputs import image_defaults

    defaults, findings = image_defaults(root, settings)
    notes += [ProbeOutcome("defaults", "error", 0.0, f.message) for f in findings]
    documents = defaults + ordered_documents(used)
    scripts = [s for p in used for s in (p.documents.scripts if p.documents else [])]
    state_dir = settings_state_dir(settings)
    unsure = any(p.outcome.outcome in ("error", "timeout") for p in probed)
    decision = instance.identify(
        root, state_dir,
        identity.documents.instance_id if identity and identity.documents else None,
        identity.outcome.name if identity else None,
        unsure)
    raw = {p.outcome.name: dict(p.documents.raw) for p in used if p.documents}
    return Collected(documents, scripts, decision.instance_id, decision.new_instance,
                     notes + [p.outcome for p in probed], decision.source, decision.reason, raw, findings)


# Which earlier phase's record a phase takes: each record is used once, by the next phase, so
# running a phase again by hand (after changing a seed) probes again.
_TAKES = {"boot": ("initramfs",), "network": ("initramfs", "boot")}


def _probe_once(root: Root, host: Any, names: list[str], deadline: float, phase: str | None) -> list[Probed]:
    """This phase's probe results: handed over by the previous phase of this boot, or probed now."""
    if phase is None:
        return probe_all(host, [BY_NAME[n] for n in names], deadline)
    from ros_init.engine.run import run_status_root
    from ros_init.state import handover, once

    run_root = run_status_root(root)
    boot = once.boot_id()
    record, why = handover.load(run_root, boot) if phase in _TAKES else (None, "")
    if record is not None and (record.names != names or record.phase not in _TAKES[phase]):
        record, why = None, f"handover record of the {record.phase} phase, not for this one"
    if record is None:
        if why:
            host.logger.info("probing the datasources (%s)", why)
        probed = probe_all(host, [BY_NAME[n] for n in names], deadline)
    else:
        probed = _take(record, host, names, deadline, phase)
    problem = handover.save(run_root, handover.Handover(boot, names, probed, phase))
    if problem:
        host.logger.warning("cannot hand the probe over to the next phase: %s", problem)
    return probed


def _take(record: Any, host: Any, names: list[str], deadline: float, phase: str) -> list[Probed]:
    """The record's results (only the local sources' for the network phase, which probes the
    network sources now, except platform ones listed after a platform source found)."""
    kept = [p for p in record.probed if phase != "network" or BY_NAME[p.outcome.name].kind == "local"]
    for p in kept:  # named once, by the phase that probed (a later handover keeps that name)
        if not p.outcome.detail.startswith("handed over by the "):
            p.outcome.detail = f"handed over by the {record.phase} phase: {p.outcome.detail}".rstrip(": ")
    if phase != "network":
        return kept
    platform_at = first_platform_at(kept, names)
    network = [BY_NAME[n] for i, n in enumerate(names) if BY_NAME[n].kind != "local"
               and not outranked(BY_NAME[n].platform, i, platform_at)]
    fresh = probe_all(host, network, deadline) if network else []
    by_name = {p.outcome.name: p for p in kept + fresh}
    out = [by_name[n] for n in names if n in by_name]
    for i, p in enumerate(out):
        p.order = i
    return out



SAVE_DIR = "/run/ros-init/fetch"


def save(root: Root, settings: dict[str, Any], collected: Collected, merged: dict[str, Any]) -> str:
    """Raw documents and the merged config under ``/run/ros-init/fetch/``, mode 0600.

    They hold every secret of the config as fetched, so they are kept in /run (tmpfs: gone
    at the next boot) and never in the persistent state dir, which must hold no secret
    (a disk image or backup of /var keeps what is written there).
    """
    import yaml

    from ros_init.state.private import ensure_folder

    base = SAVE_DIR
    ensure_folder(root, "/run/ros-init")
    ensure_folder(root, base)
    for source, files in collected.raw.items():
        for name, data in files.items():
            safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name) or "data"
            root.write_file(f"{base}/raw/{source}/{safe}", data, mode=0o600, dir_mode=0o700)
    root.write_file(f"{base}/merged.yaml", yaml.safe_dump(merged, sort_keys=False).encode(), mode=0o600,
                    dir_mode=0o700)
    return base
