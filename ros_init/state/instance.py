"""The instance identity, persisted in the state folder.

A node is configured once per instance: once-only actions (commands, disk creation) are
guarded by the instance-id. This module is the one place that decides it (``identify``),
for a boot from the datasources and for ``--config`` files alike: the id a datasource
gives, else the instance recorded in the persistent state folder, else (a first boot with
no id anywhere) a new local id, recorded after the run. Never a hash of the config, so
editing a config never re-runs once-only work, and nothing in ``/etc`` (ephemeral on
RancherOS) decides it. ``decide`` is pure: a different id from the source that won
means a new instance; no id, or a source that could not be reached, never does (a
flaky metadata service must not re-run first-boot commands). ``record`` writes the
state; ``ros-init fetch`` never calls it (looking must not change what ``run`` will do),
the engine does once a run is through.
"""

from __future__ import annotations

import json

from ros_init.core.record import record
from ros_init.core.root import Root, RootError

STATE_FILE = "instance.json"


@record(frozen=True)
class InstanceState:
    instance_id: str
    source: str


@record(frozen=True)
class Decision:
    instance_id: str | None
    source: str | None
    new_instance: bool
    reason: str


def load(root: Root, state_dir: str) -> InstanceState | None:
    """The recorded instance, or None (first boot, or an unreadable record)."""
    try:
        raw = root.read_bytes(f"{state_dir}/{STATE_FILE}", limit=64 * 1024)
    except (OSError, RootError):  # unreadable, or a planted link leading out of the root
        return None
    if raw is None:
        return None
    try:
        data = json.loads(raw)
        return InstanceState(str(data["instance_id"]), str(data.get("source", "")))
    except (ValueError, KeyError, TypeError):
        return None


def decide(previous: InstanceState | None, found_id: str | None, found_source: str | None,
           unsure: bool, fallback_id: str | None) -> Decision:
    """Pure: which instance this boot belongs to.

    ``unsure`` is True when some source that might have given an id failed or timed out:
    then a change of source does not change the instance. ``fallback_id`` identifies a
    node with no metadata source at all and no recorded instance (a new local id).
    """
    if found_id:
        if previous is None:
            return Decision(found_id, found_source, True, f"first instance-id {found_id} from {found_source}")
        if previous.instance_id == found_id:
            return Decision(found_id, found_source, False, f"same instance-id as recorded ({found_id})")
        if unsure and previous.source != found_source:
            return Decision(previous.instance_id, previous.source, False,
                            f"{found_source} gives {found_id} but {previous.source}, which gave the recorded id, "
                            "did not answer: keeping the recorded instance")
        return Decision(found_id, found_source, True,
                        f"instance-id changed from {previous.instance_id} to {found_id} ({found_source})")
    if previous is not None:
        return Decision(previous.instance_id, previous.source, False,
                        "no source gave an instance-id: keeping the recorded instance")
    if fallback_id:
        return Decision(fallback_id, "local", True, f"no source gave an instance-id: local id {fallback_id}")
    return Decision(None, None, True, "no instance-id anywhere: treated as a first boot")


def new_local_id(token: str) -> str:
    """The id of a node that no source identifies: ``iid-local-<token>`` (``token`` is
    random, injected for tests)."""
    return f"iid-local-{token}"


def identify(root: Root, state_dir: str, found_id: str | None = None, found_source: str | None = None,
             unsure: bool = False, token: str | None = None) -> Decision:
    """The instance of this run: ``decide`` on the recorded state, with a fresh local id
    for a first boot without one."""
    if token is None:
        import os

        token = os.urandom(16).hex()  # random, as uuid4 (whose import costs a boot more)
    return decide(load(root, state_dir), found_id, found_source, unsure, new_local_id(token))


def record(root: Root, state_dir: str, instance_id: str, source: str) -> None:
    """Persist the instance (mode 0600, atomic)."""
    data = json.dumps({"instance_id": instance_id, "source": source}, indent=1).encode() + b"\n"
    root.makedirs(state_dir, mode=0o700)
    root.write_file(f"{state_dir}/{STATE_FILE}", data, mode=0o600, dir_mode=0o700)
