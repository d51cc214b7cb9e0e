"""The types that flow between the layers of ros-init.

datasources -> ``Documents`` (raw documents) -> ``ConfigDocument`` list -> merged config
(a plain dict, validated against ``schemas/cloud-config.v1.json``) -> ``Change`` list per
stage -> applied on the target ``Root`` -> status.
"""

from __future__ import annotations

from enum import IntEnum

from ros_init.core.findings import Finding, Location
from ros_init.core.record import field, record

TYPE_CHECKING = False  # typing costs start-up time; the annotations below are strings
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "Change", "Config", "ConfigDocument", "Documents", "Finding", "Layer", "Location", "Script", "StageContext",
]

Config = dict[str, "Any"]
"""A (merged, validated) cloud-config: plain data as YAML/JSON would give it."""


class Layer(IntEnum):
    """Where a document comes from; a higher layer wins when documents are merged."""

    IMAGE = 0  # defaults shipped in the OS image (/etc/ros-init/defaults.yaml, /system/oem)
    METADATA = 1  # what a datasource's metadata implies: hostname, public keys, network
    VENDOR = 2  # vendor-data
    USER = 3  # user-data, local drop-in files, config URLs
    CMDLINE = 4  # ros.* overrides on the kernel command line


@record
class ConfigDocument:
    """One cloud-config document, parsed, with where it came from and its layer."""

    source: str  # human-readable origin: "nocloud /dev/sr0 user-data", "cmdline", "/oem/10.yaml"
    layer: Layer
    data: Config
    positions: dict[str, Location] = field(default_factory=dict, repr=False)  # where each value is
    key_positions: dict[str, Location] = field(default_factory=dict, repr=False)  # where each key is
    patches: list[dict[str, Any]] | None = field(default=None, repr=False)  # #cloud-config-jsonp: RFC 6902 ops
    plain_scalars: dict[str, str] = field(default_factory=dict, repr=False)  # unquoted scalars as written (0644)


@record
class Script:
    """A user-data shell script (``#!``), run by the commands stage once per instance."""

    source: str
    name: str
    content: bytes = field(repr=False)


@record
class Documents:
    """What a datasource found: its identity, its config documents and its scripts.

    ``raw`` maps file names (``user-data``, ``meta-data`` ...) to the bytes as fetched,
    saved with mode 0600 in the state directory for ``ros-init fetch`` and debugging.
    """

    source: str
    instance_id: str | None = None
    configs: list[ConfigDocument] = field(default_factory=list)
    scripts: list[Script] = field(default_factory=list)
    raw: dict[str, bytes] = field(default_factory=dict, repr=False)
    how: str = ""  # how it was read, for the probe report ("mounted as iso9660 ...")


@record(frozen=True)
class Change:
    """One change a stage would make to the target root.

    ``summary`` is what ``ros-init plan`` prints and the status records: it never holds a
    secret. ``payload`` carries what ``apply`` needs (it may hold secrets) and is never
    printed, logged or compared.
    """

    stage: str
    action: str  # "write-file", "create-user", "run-command", "format" ...
    target: str  # the path or object acted on ("/etc/hostname", "user alice", "/dev/vdb1")
    summary: str
    destructive: bool = False
    payload: Any = field(default=None, repr=False, compare=False)


@record
class StageContext:
    """What a stage may know besides the config and the root.

    ``state_dir`` and ``run_dir`` are root-relative. ``sys_root`` is where the host's
    ``/sys`` and ``/dev`` are looked up (the hardware is the host's even when the target
    root is a scratch folder; tests point it at a fake tree). ``dry_run`` is True for
    ``ros-init plan``. ``run_commands`` is False where config commands must never run
    (``ros-init demo``).
    """

    phase: str  # "initramfs" | "boot"
    instance_id: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    state_dir: str = "/var/lib/ros-init"
    run_dir: str = "/run/ros-init"
    sys_root: str = "/"
    dry_run: bool = False
    scripts: list[Script] = field(default_factory=list)
    run_commands: bool = True  # False: config commands are planned and reported skipped (demo)
    deadline: float | None = None  # time.monotonic() by which network work of the phase must end
    http: Any = field(default=None, repr=False)  # ros_init.sources.httpfetch.request (None: imported when needed)


class SkipStep(Exception):
    """Raised by a stage's ``apply`` when a change cannot be made here and that is no failure.

    The message says why (``no /bin/sh in the target root``); it is recorded as the step's
    note, the step counts as skipped, and the stage does not fail.
    """
