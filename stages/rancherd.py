"""The rancherd stage: ``/etc/rancher/rancherd/config.yaml`` from the ``rancherd:`` section.

The section is written as given (same keys, same order), root:root, mode 0600: it holds the
cluster token, so the file is created 0600 from its first byte (``Root.write_file``) and its
summary names the keys, never a value. No ``rancherd:`` section: nothing is written and an
existing file is left alone (an image may ship one).
"""

from __future__ import annotations

import os

from ros_init.core.findings import SpecError
from ros_init.core.record import NamedTuple

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from typing import Any

    from ros_init.core.model import Change, Config, StageContext
    from ros_init.core.root import Root

NAME = "rancherd"

CONFIG_PATH = "/etc/rancher/rancherd/config.yaml"
MODE = 0o600


class RancherdSpec(NamedTuple):
    section: dict[str, Any]  # the rancherd: section as given (may hold the token: never printed)


def parse(config: Config) -> RancherdSpec | None:
    """The ``rancherd:`` section; None when there is none (an image's file is left alone)."""
    section = config.get("rancherd")
    if section is None or section == {}:
        return None
    if not isinstance(section, dict):
        raise SpecError("expected a mapping", "rancherd")
    return RancherdSpec(section)


def render(section: dict[str, Any]) -> bytes:
    """The YAML rancherd reads: the section's keys in their order, block style, every string
    that some YAML reader could take for something else double-quoted (``yaml_quoting``)."""
    import yaml

    from ros_init.config.yaml_quoting import string_safe_dumper

    text = yaml.dump(section, Dumper=string_safe_dumper(), sort_keys=False, default_flow_style=False,
                     allow_unicode=True)
    return text.encode("utf-8")


def plan(spec: RancherdSpec | None, root: Root, ctx: StageContext) -> list[Change]:
    from ros_init.core.changes import WriteFile, plan_write

    if spec is None:
        return []
    section = spec.section
    data = render(section)
    owner = (0, 0) if os.geteuid() == 0 else None
    role = section.get("role")
    keys = ", ".join(str(k) for k in section)
    who = "root:root" if owner else "owner not set: not running as root"
    summary = (f"write {CONFIG_PATH} ({{reasons}}: 0600 {who}; "
               f"{'role ' + str(role) + '; ' if isinstance(role, str) else ''}keys: {keys})")
    uid, gid = owner if owner else (-1, -1)
    change = plan_write(NAME, root, WriteFile(CONFIG_PATH, data, MODE, uid, gid), summary)
    return [change] if change else []


def apply(change: Change, root: Root, ctx: StageContext) -> None:
    from ros_init.core.changes import apply_payload

    apply_payload(root, change.payload)
