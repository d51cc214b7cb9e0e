"""The closed set of changes a stage plans, one planner of "is this file already right",
and one applier through ``Root``.

A stage decides (``plan``) with what is in the target root and returns ``Change`` values
whose payload is one of the types below; the engine shows their summaries and the stage's
``apply`` hands the file ones to ``apply_payload``. ``plan_write`` and ``plan_remove`` are the
one "desired file vs what is there" planner every stage uses. ``RunCommand`` (the commands
stage) and ``DiskAction`` (the disks stage) are performed by their stage, which alone knows
how; a stage with needs of its own (accounts edited under a lock, a home built from /etc/skel,
an authorized_keys file with its folder) keeps its own payload type, but every write still
goes through ``Root``.

Payloads may hold secrets (file contents): they are never printed, logged or compared.
"""

from __future__ import annotations

import stat

from ros_init.core.model import Change, SkipStep
from ros_init.core.record import NamedTuple, field, record
from ros_init.core.root import Root

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from typing import Any


class WriteFile(NamedTuple):
    """Replace ``path`` with ``data`` (atomic, through ``Root.write_file``).

    ``expected``: the sha256 of the content planned against (None: the file was missing);
    with ``check``, the write is refused if someone changed the file since (compare and swap).
    """

    path: str
    data: bytes
    mode: int
    uid: int = -1
    gid: int = -1
    expected: str | None = None
    dir_mode: int = 0o755
    check: bool = False  # True: refuse when the file changed since it was planned


class RemoveFile(NamedTuple):
    path: str


class Symlink(NamedTuple):
    path: str
    target: str


class Refused(NamedTuple):
    """An item that cannot be applied here (a folder in the way, an unknown owner): its
    step fails with ``reason`` while the other changes of the stage still apply."""

    path: str
    reason: str


class Skipped(NamedTuple):
    """An item left alone for a reason that is not a failure (a user the target does not
    have): its step is recorded skipped, with ``reason``."""

    path: str
    reason: str


class RunCommand(NamedTuple):
    """Run one config command or user-data script (the commands stage performs it)."""

    kind: str  # "bootcmd" | "runcmd" | "script"
    label: str  # runcmd[2], script part-001
    argv: tuple[str, ...] | None  # None for scripts
    script: bytes | None
    marker: Any  # the once-guard marked done after exit 0 (``ros_init.state.once.Marker``)


@record(frozen=True)
class DiskAction:
    """One step of a disk layout (the disks stage runs the tool); ``args`` hold what the tool
    needs (no secrets exist here)."""

    kind: str  # create-table, delete-partition, create-partition, grow-partition, format, grow-filesystem
    device: str
    summary: str
    destructive: bool = False
    args: dict[str, Any] = field(default_factory=dict)


class ChangedSincePlanned(RuntimeError):
    """A file changed between plan and apply: nothing is written, the next run plans again."""


def sha256_hex(data: bytes) -> str:
    """SHA-256 of ``data``, hex. CPython's built-in implementation when it has one: ``hashlib``
    would load OpenSSL (``_hashlib``, ~4 ms of every start-up) for a few short digests."""
    try:
        from _sha256 import sha256  # CPython 3.11
    except ImportError:
        from hashlib import sha256
    return sha256(data).hexdigest()


def digest(data: bytes | None) -> str | None:
    """What a planned write expects to find (None: no file)."""
    return None if data is None else sha256_hex(data)


def file_reasons(root: Root, path: str, data: bytes, mode: int, uid: int = -1, gid: int = -1,
                 *, follow: bool = False) -> list[str]:
    """Why the file at ``path`` is not ``data`` with ``mode`` and owner (empty: it is right).

    ``uid``/``gid`` -1 leave the owner out of the comparison. A symlink or special file is
    replaced by the write, unless ``follow`` (the hostname stage accepts a link whose target
    holds the right name).
    """
    st = root.stat(path) if follow else root.lstat(path)
    if st is None:
        return ["create"]
    if not stat.S_ISREG(st.st_mode):
        return ["replace symlink" if stat.S_ISLNK(st.st_mode) else "replace special file"]
    reasons = []
    if root.read_bytes(path) != data:
        reasons.append("update content")
    if stat.S_IMODE(st.st_mode) != mode:
        reasons.append(f"mode {stat.S_IMODE(st.st_mode):04o} -> {mode:04o}")
    if uid != -1 and (st.st_uid, st.st_gid) != (uid, gid if gid != -1 else st.st_gid):
        reasons.append(f"owner {st.st_uid}:{st.st_gid} -> {uid}:{gid}")
    return reasons


def plan_write(stage: str, root: Root, write: WriteFile, summary: str, *, follow: bool = False) -> Change | None:
    """The change that makes ``write.path`` hold ``write`` (None when it already does).

    ``summary`` may hold ``{reasons}``: why the file is not right yet ("create", "update
    content", "mode 0600 -> 0644" ...)."""
    reasons = file_reasons(root, write.path, write.data, write.mode, write.uid, write.gid, follow=follow)
    if not reasons:
        return None
    return Change(stage, "write-file", write.path, summary.replace("{reasons}", ", ".join(reasons)), payload=write)


def plan_remove(stage: str, root: Root, path: str, summary: str) -> Change | None:
    """The change that removes ``path`` (None when nothing is there)."""
    if root.lstat(path) is None:
        return None
    return Change(stage, "remove-file", path, summary, payload=RemoveFile(path))


def ensure_unchanged(path: str, current: bytes | None, data: bytes, expected: str | None) -> None:
    """Compare and swap: refuse to write ``data`` when what is there (``current``) is neither
    what was planned against (digest ``expected``) nor already ``data``."""
    if current != data and digest(current) != expected:
        raise ChangedSincePlanned(f"{path} changed since it was planned; run ros-init again")


def apply_payload(root: Root, payload: object) -> None:
    """Perform one of the common changes through ``Root``."""
    if isinstance(payload, WriteFile):
        if payload.check:  # what is there now: a regular file's content, else nothing (a link is replaced)
            st = root.lstat(payload.path)
            current = root.read_bytes(payload.path) if st is not None and stat.S_ISREG(st.st_mode) else None
            ensure_unchanged(payload.path, current, payload.data, payload.expected)
        root.write_file(payload.path, payload.data, payload.mode, payload.uid, payload.gid, dir_mode=payload.dir_mode)
    elif isinstance(payload, RemoveFile):
        root.remove(payload.path)
    elif isinstance(payload, Symlink):
        root.symlink(payload.path, payload.target)
    elif isinstance(payload, Refused):
        raise RefusedChange(payload.reason)
    elif isinstance(payload, Skipped):
        raise SkipStep(payload.reason)
    else:
        raise TypeError(f"not a common change: {type(payload).__name__}")


class RefusedChange(RuntimeError):
    """Raised when a ``Refused`` change is applied; the message says why."""
