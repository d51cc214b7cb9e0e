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
- ``keys``: the top-level config keys the stage's ``parse`` reads. A config without any of
  them cannot hold an error for that stage, so ``validate`` and ``run`` parse (and import)
  only the stages whose keys are present; the others parse an empty section when planned.
"""

from __future__ import annotations

from ros_init.core.record import NamedTuple


class StageEntry(NamedTuple):
    name: str
    phases: tuple[str, ...]
    order: int
    requires: tuple[str, ...]
    module: str
    keys: tuple[str, ...] = ()  # top-level config keys its parse reads (validate imports only those stages)


STAGES: tuple[StageEntry, ...] = (
    # bootcmd first, as cloud-init runs it before write_files and the users
    StageEntry("bootcmd", ("boot",), 5, (), "ros_init.stages.bootcmd", ("bootcmd",)),
    StageEntry("users", ("boot",), 10, (), "ros_init.stages.users", ("users", "groups", "chpasswd")),
    StageEntry("sshkeys", ("boot",), 20, (), "ros_init.stages.sshkeys",
               ("users", "ssh_authorized_keys", "ssh_pwauth", "disable_root", "disable_root_opts")),
    StageEntry("hostname", ("initramfs", "boot"), 30, (), "ros_init.stages.hostname",
               ("hostname", "fqdn", "preserve_hostname", "manage_etc_hosts")),
    StageEntry("network", ("initramfs", "boot"), 40, (), "ros_init.stages.network", ("network",)),
    StageEntry("disks", ("initramfs",), 50, (), "ros_init.stages.disks", ("disks", "filesystems", "growpart")),
    StageEntry("files", ("initramfs", "boot"), 60, (), "ros_init.stages.files", ("write_files",)),
    StageEntry("rancherd", ("boot",), 70, (), "ros_init.stages.rancherd", ("rancherd",)),
    # commands commonly use the files and filesystems set up before them
    StageEntry("commands", ("boot",), 80, ("files", "disks"), "ros_init.stages.commands", ("runcmd",)),
)

BY_NAME: dict[str, StageEntry] = {s.name: s for s in STAGES}
