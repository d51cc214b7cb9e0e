"""What a datasource may look at: the target root, the image settings, the kernel command
line, the host's /sys and /dev, a logger and a clock.

Datasources receive a ``Host`` instead of reaching for globals, so a test can point every
one of them at a scratch root, a fake /sys tree, a command line of its choosing and an
HTTP server on 127.0.0.1, and the same code runs unchanged on a VM, bare metal or a cloud.
"""

from __future__ import annotations

import os
import time

from ros_init.core.logger import logger
from ros_init.core.record import field, record
from ros_init.core.root import Root
from ros_init.sources.cmdline import KernelCmdline, parse_cmdline

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    import logging
    from collections.abc import Callable
    from typing import Any

LOG = logger("ros_init.datasources")


class DatasourceError(Exception):
    """A datasource is present but broken (bad document, refused request, unreadable volume).

    The message names the source and never holds a secret value.
    """


@record
class Host:
    """The environment a datasource probes.

    ``sys_root`` is where the host's ``/sys``, ``/dev`` and ``/proc`` are found: the
    hardware is the host's even when the target root is a scratch folder. ``devices``
    restricts the block devices the seed-volume scan considers (None: all of them); tests
    use it so they never read a volume another process attached. ``cmdline`` is
    ``cmdline_text`` parsed (``KernelCmdline``), set at construction.
    """

    root: Root
    settings: dict[str, Any]
    cmdline_text: str = ""
    sys_root: str = "/"
    logger: logging.Logger = field(default=LOG)  # a core.logger.LazyLogger by default
    clock: Callable[[], float] = time.monotonic
    devices: list[str] | None = None
    memo: dict[str, Any] = field(default_factory=dict, repr=False)  # detect results fetch reuses

    def __post_init__(self) -> None:
        self.cmdline: KernelCmdline = parse_cmdline(self.cmdline_text)

    def source_settings(self, name: str) -> dict[str, Any]:
        """The settings mapping of one datasource (``ec2: {url: ..., timeout: ...}``)."""
        value = self.settings.get(name)
        return value if isinstance(value, dict) else {}

    def sys_path(self, path: str) -> str:
        """Host path of a /sys, /dev or /proc path under ``sys_root``."""
        return os.path.join(self.sys_root, path.lstrip("/"))

    def read_sys(self, path: str, limit: int = 4096) -> str | None:
        """A small host file (a DMI attribute ...) stripped, or None when unreadable."""
        try:
            with open(self.sys_path(path), "rb") as fh:
                return fh.read(limit).decode("utf-8", errors="replace").strip()
        except OSError:
            return None

    def remaining(self, deadline: float) -> float:
        return max(0.0, deadline - self.clock())
