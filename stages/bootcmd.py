"""The bootcmd stage: ``bootcmd`` on every boot, first in the boot phase.

cloud-init runs ``bootcmd`` very early, before ``write_files`` and the users; so does
ros-init: this stage has the lowest order of the boot phase. The commands run exactly as
``runcmd`` does (``stages/commands.py``: timeout, output logged, chroot into a target
root), guarded once per boot instead of once per instance.
"""

from __future__ import annotations

from ros_init.stages import commands
from ros_init.stages.commands import CommandsSpec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ros_init.core.model import Change, Config, StageContext
    from ros_init.core.root import Root


NAME = "bootcmd"
STOP_AFTER_FAILED_STEP = True


def parse(config: Config) -> CommandsSpec:
    return commands.parse_kind(config, "bootcmd")


def plan(spec: CommandsSpec, root: Root, ctx: StageContext) -> list[Change]:
    return commands.plan(spec, root, ctx)


def apply(change: Change, root: Root, ctx: StageContext) -> str:
    return commands.apply(change, root, ctx)
