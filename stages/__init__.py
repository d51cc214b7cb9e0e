"""The stages, as data.

Adding a stage is one module in this folder (``NAME``, ``parse``, ``plan``, ``apply``; optional
``STOP_AFTER_FAILED_STEP``) plus one line in ``STAGES``. The engine reads the phases, the
order and the dependencies from here, so it imports only the stages of the phase it runs:
the initramfs does not pay for the users stage, nor the boot phase for the disks stage.

- ``phases``: the phases whose ``plan`` is called (the files stage writes ``phase:
  initramfs`` items in the initramfs phase and the rest at boot).
- ``order``: stages of a phase run in ascending order.
- ``requires``: stages this one depends on; when one of them failed (or was skipped
  because of a failure), this stage is skipped and says why.
"""

from __future__ import annotations

from typing import NamedTuple


class StageEntry(NamedTuple):
    name: str
    phases: tuple[str, ...]
    order: int
    requires: tuple[str, ...]
    module: str


STAGES: tuple[StageEntry, ...] = (
    # bootcmd first, as cloud-init runs it before write_files and the users
    StageEntry("bootcmd", ("boot",), 5, (), "ros_init.stages.bootcmd"),
    StageEntry("users", ("boot",), 10, (), "ros_init.stages.users"),
    StageEntry("sshkeys", ("boot",), 20, (), "ros_init.stages.sshkeys"),
    StageEntry("hostname", ("initramfs", "boot"), 30, (), "ros_init.stages.hostname"),
    StageEntry("network", ("initramfs", "boot"), 40, (), "ros_init.stages.network"),
    StageEntry("disks", ("initramfs",), 50, (), "ros_init.stages.disks"),
    StageEntry("files", ("initramfs", "boot"), 60, (), "ros_init.stages.files"),
    StageEntry("rancherd", ("boot",), 70, (), "ros_init.stages.rancherd"),
    # commands commonly use the files and filesystems set up before them
    StageEntry("commands", ("boot",), 80, ("files", "disks"), "ros_init.stages.commands"),
)

BY_NAME: dict[str, StageEntry] = {s.name: s for s in STAGES}
