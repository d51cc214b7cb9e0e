"""Once-per-instance and once-per-boot guards: marker files, written only AFTER success.

cloud-init writes its semaphore before running a module, so a module that fails is never
retried for that instance. Here a marker is written when an item has succeeded, so a run
interrupted by a crash or a failure does the remaining work next time, and what already
succeeded is not repeated.

Layout (root-relative):
  <state_dir>/instances/<instance>/done/<item>   once per instance (persistent state dir)
  <run_dir>/boot/<boot-id>/done/<item>           once per boot (/run is emptied at boot)

``instance`` is the instance-id ``ros_init.state.instance.identify`` decides: a datasource's,
else the one recorded in the state folder (a first boot records a new local one). It never
depends on the config: an edited config is the same instance, and a command added to it is
the only one that runs (each command's guard is its own content).
"""

from __future__ import annotations

import re

from ros_init.core.changes import sha256_hex
from ros_init.core.record import NamedTuple
from ros_init.core.root import Root

_SAFE = re.compile(r"^[A-Za-z0-9._@+-]{1,100}\Z")


def safe_name(text: str) -> str:
    """A file name for ``text``: itself when harmless, else a readable prefix and a hash."""
    if _SAFE.match(text) and not text.startswith("."):
        return text
    digest = sha256_hex(text.encode())[:16]
    prefix = re.sub(r"[^A-Za-z0-9._-]", "_", text)[:40].lstrip(".")
    return f"{prefix}-{digest}" if prefix else digest


class Marker(NamedTuple):
    base: str  # the state or run folder (its missing ancestors are created 0755)
    rel: str  # below base (folders created 0700)

    @property
    def path(self) -> str:
        return f"{self.base.rstrip('/')}/{self.rel}"


def instance_marker(state_dir: str, instance_id: str, item: str) -> Marker:
    return Marker(state_dir, f"instances/{safe_name(instance_id)}/done/{safe_name(item)}")


def boot_marker(run_dir: str, boot_id: str, item: str) -> Marker:
    return Marker(run_dir, f"boot/{safe_name(boot_id)}/done/{safe_name(item)}")


def is_done(root: Root, marker: Marker) -> bool:
    return root.lstat(marker.path) is not None


def mark_done(root: Root, marker: Marker, note: str = "") -> None:
    """Record success of an item (atomic; the note is for people, never a secret)."""
    from ros_init.state.private import write_private

    write_private(root, marker.base, marker.path, (note + "\n").encode() if note else b"")


def boot_id() -> str:
    """The kernel's id of the current boot (changes at every boot)."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as fh:
            return fh.read().strip() or "unknown"
    except OSError:
        return "unknown"
