"""The rancherd stage: ``/etc/rancher/rancherd/config.yaml`` from the ``rancherd:`` section.

The section is written as given (same keys, same order), root:root, mode 0600: it holds the
cluster token, so the file is created 0600 from its first byte (``Root.write_file``) and its
summary names the keys, never a value. No ``rancherd:`` section: nothing is written and an
existing file is left alone (an image may ship one).
"""

from __future__ import annotations

import os
import stat
from typing import Any

from ros_init.core.model import Change, Config, StageContext
from ros_init.core.root import Root

NAME = "rancherd"

CONFIG_PATH = "/etc/rancher/rancherd/config.yaml"
MODE = 0o600


def render(section: dict[str, Any]) -> bytes:
    """The YAML rancherd reads: the section's keys in their order, block style, every string
    that some YAML reader could take for something else double-quoted (``yaml_quoting``)."""
    import yaml

    from ros_init.config.yaml_quoting import string_safe_dumper

    text = yaml.dump(section, Dumper=string_safe_dumper(), sort_keys=False, default_flow_style=False,
                     allow_unicode=True)
    return text.encode("utf-8")


def plan(config: Config, root: Root, ctx: StageContext) -> list[Change]:
    section = config.get("rancherd")
    if not isinstance(section, dict) or not section:
        return []
    data = render(section)
    owner = (0, 0) if os.geteuid() == 0 else None
    st = root.lstat(CONFIG_PATH)
    reasons = []
    if st is None:
        reasons.append("create")
    elif not stat.S_ISREG(st.st_mode):
        reasons.append("replace non-regular file")
    else:
        if root.read_bytes(CONFIG_PATH) != data:
            reasons.append("update content")
        if stat.S_IMODE(st.st_mode) != MODE:
            reasons.append(f"mode {stat.S_IMODE(st.st_mode):04o} -> {MODE:04o}")
        if owner is not None and (st.st_uid, st.st_gid) != owner:
            reasons.append(f"owner {st.st_uid}:{st.st_gid} -> root:root")
    if not reasons:
        return []
    role = section.get("role")
    keys = ", ".join(str(k) for k in section)
    who = "root:root" if owner else "owner not set: not running as root"
    summary = (f"write {CONFIG_PATH} ({', '.join(reasons)}: 0600 {who}; "
               f"{'role ' + str(role) + '; ' if isinstance(role, str) else ''}keys: {keys})")
    return [Change(NAME, "write-file", CONFIG_PATH, summary, payload=(data, owner))]


def apply(change: Change, root: Root, ctx: StageContext) -> None:
    data, owner = change.payload
    uid, gid = owner if owner else (-1, -1)
    root.write_file(CONFIG_PATH, data, mode=MODE, uid=uid, gid=gid, dir_mode=0o755)
