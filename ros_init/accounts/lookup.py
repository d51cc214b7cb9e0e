"""Read-only lookup of users and groups in the TARGET root's /etc/passwd and /etc/group.

Owners named in a config (``write_files[].owner``) belong to the system being configured,
not to the host that runs ros-init: ``alice`` may be uid 1000 in the target root and
unknown (or someone else) on the host. So names are never resolved with ``pwd``/``grp``.
Editing these files is ``ros_init.accounts.passwd_db``'s job; this module only reads.
"""

from __future__ import annotations

from ros_init.core.record import NamedTuple
from ros_init.core.root import Root


class OwnerError(Exception):
    """An owner spelling that cannot be resolved in the target root."""


class Owner(NamedTuple):
    uid: int
    gid: int


def _table(root: Root, path: str) -> dict[str, list[str]]:
    """name -> fields of a colon-separated account file (missing file: empty)."""
    text = root.read_text(path) or ""
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        fields = line.split(":")
        if len(fields) >= 4 and fields[0] not in out:
            out[fields[0]] = fields
    return out


def lookup_uid(root: Root, user: str) -> int:
    """uid of ``user`` (a name or a number) in the target root."""
    if user.isdigit():
        return int(user)
    entry = _table(root, "/etc/passwd").get(user)
    if entry is None and user == "root":  # uid 0 by definition, even in a bare tree
        return 0
    if entry is None or not entry[2].isdigit():
        raise OwnerError(f"no user {user!r} in the target root's /etc/passwd")
    return int(entry[2])


def lookup_gid(root: Root, group: str) -> int:
    """gid of ``group`` (a name or a number) in the target root."""
    if group.isdigit():
        return int(group)
    entry = _table(root, "/etc/group").get(group)
    if entry is None and group == "root":
        return 0
    if entry is None or not entry[2].isdigit():
        raise OwnerError(f"no group {group!r} in the target root's /etc/group")
    return int(entry[2])


def parse_owner(spec: str | int) -> tuple[str, str | None]:
    """``"user:group"``, ``"user"``, ``"1000:1000"`` or an int -> (user, group or None)."""
    text = str(spec).strip()
    user, sep, group = text.partition(":")
    if not user or (sep and not group):
        raise OwnerError(f"owner {text!r} is not 'user' or 'user:group'")
    return user, (group if sep else None)


def resolve_owner(root: Root, spec: str | int) -> Owner:
    """uid and gid for an owner spelling, looked up in the target root.

    ``user`` alone gives group root (gid 0), as cloud-init does: it changes only the
    owning user of a file it has just created as root.
    """
    user, group = parse_owner(spec)
    uid = lookup_uid(root, user)
    gid = lookup_gid(root, group) if group is not None else 0
    return Owner(uid, gid)


