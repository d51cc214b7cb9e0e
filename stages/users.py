"""Users and groups: ``users``, ``groups``, ``chpasswd`` edit the target's account files.

No ``useradd`` is needed in the image: the four files are parsed (``ros_init.accounts.passwd_db``),
changed in memory following cloud-init's rules, and written back whole, atomically, one
change per file. Write order: group, gshadow, shadow, homes, passwd. /etc/passwd is the
commit point: a user "exists" once it is there, so a crash before it leaves nothing that
the next run does not redo (the next run finds the group it made and reuses it, the
allocation is deterministic, the shadow entry is replaced).

What an EXISTING user gets (cloud-init semantics): ``hashed_passwd``,
``plain_text_passwd``, ``lock_passwd``, ``sudo`` (and SSH keys, in the sshkeys stage).
``passwd``, ``uid``, ``gecos``, ``shell``, ``homedir``, ``primary_group`` and ``groups``
apply when the user is created only. See docs/stages.md.
"""

from __future__ import annotations

import os
import stat
import time

from ros_init.core.record import NamedTuple, record

TYPE_CHECKING = False  # parse runs in `validate` too: the account machinery loads only to plan
if TYPE_CHECKING:
    from ros_init.accounts.passwd_db import Database, Table
    from ros_init.accounts.userconfig import PasswordSet, UserSpec
    from ros_init.core.model import Change, Config, StageContext
    from ros_init.core.root import Root

NAME = "users"

SUDOERS_DIR = "/etc/sudoers.d"
SUDOERS_PREFIX = "90-ros-init-"
SKEL = "/etc/skel"
PWD_LOCK = "/etc/.pwd.lock"
_SKEL_LIMIT = 2000  # entries copied from /etc/skel at most


def sudoers_name(user: str) -> str:
    """sudo skips files in sudoers.d whose name holds a '.', so '.' and '_' are escaped."""
    return SUDOERS_PREFIX + user.replace("_", "_5f").replace(".", "_2e")


def sudoers_text(user: str, rules: tuple[str, ...]) -> str:
    return "# Written by ros-init from the users config; changes are overwritten.\n" + "".join(
        f"{user} {rule}\n" for rule in rules)


# -- plan and apply -----------------------------------------------------------------------
@record(frozen=True)
class HomeCreate:
    path: str
    uid: int
    gid: int
    mode: int
    skel: tuple[tuple[str, bool, int], ...]  # (relative path, is_folder, mode)


def _can_chown() -> bool:
    return os.geteuid() == 0


def _db_mode(root: Root, kind: str, db: Database) -> tuple[int, int, int]:
    from ros_init.accounts.passwd_db import PATHS, SECRET_KINDS

    st = root.stat(PATHS[kind])
    secret = kind in SECRET_KINDS
    if st is not None:
        mode = stat.S_IMODE(st.st_mode) & (~0o007 if secret else 0o7777)
        return mode, st.st_uid, st.st_gid
    if secret:
        gid = db.gid_of("shadow")
        return (0o640, 0, gid) if gid is not None else (0o600, 0, 0)
    return 0o644, 0, 0


def _skel(root: Root) -> tuple[tuple[str, bool, int], ...]:
    out: list[tuple[str, bool, int]] = []
    todo = [""]
    while todo and len(out) < _SKEL_LIMIT:
        rel = todo.pop(0)
        for name in root.listdir(f"{SKEL}/{rel}" if rel else SKEL):
            sub = f"{rel}/{name}" if rel else name
            st = root.lstat(f"{SKEL}/{sub}")
            if st is None:
                continue
            if stat.S_ISDIR(st.st_mode):
                out.append((sub, True, stat.S_IMODE(st.st_mode)))
                todo.append(sub)
            elif stat.S_ISREG(st.st_mode):
                out.append((sub, False, stat.S_IMODE(st.st_mode)))
            # symlinks and special files in skel are not copied
    return tuple(out)


class UsersSpec(NamedTuple):
    """``users``, ``groups`` and ``chpasswd`` read and checked (passwords: never printed)."""

    users: tuple[UserSpec, ...]
    groups: tuple[tuple[str, tuple[str, ...]], ...]
    passwords: tuple[PasswordSet, ...]
    expire: bool


def parse(config: Config) -> UsersSpec:
    """Pure: the three sections in one shape, every value that the account files cannot
    hold refused with its path (the one users normaliser, ``normalize_users``, first)."""
    from ros_init.accounts.userconfig import read_chpasswd, read_groups, read_users
    from ros_init.core.findings import Refusals

    refusals = Refusals()  # the refusals of all three sections, not the first one only
    users = refusals.attempt(read_users, config, default=[])
    groups = refusals.attempt(read_groups, config, default=[])
    passwords, expire = refusals.attempt(read_chpasswd, config, default=([], True))
    refusals.check()
    return UsersSpec(tuple(users), tuple(groups), tuple(passwords), expire)


def plan(spec: UsersSpec, root: Root, ctx: StageContext) -> list[Change]:
    """Compare the account files, homes and sudoers drop-ins with the config. No writes."""
    from ros_init.accounts.decide import PasswordHasher, decide
    from ros_init.accounts.logindefs import load_account_defaults
    from ros_init.accounts.passwd_db import PATHS, Database
    from ros_init.core.changes import WriteFile, digest
    from ros_init.core.model import Change

    users, groups, passwords, expire = list(spec.users), list(spec.groups), list(spec.passwords), spec.expire
    if not users and not groups and not passwords and not root.listdir(SUDOERS_DIR):
        return []
    texts = {k: root.read_bytes(p) for k, p in PATHS.items()}
    defs = load_account_defaults(root)
    decoded = {k: None if v is None else v.decode("utf-8", "surrogateescape") for k, v in texts.items()}
    db = Database.parse(decoded)
    d = decide(db, users, groups, passwords, expire, defs, int(time.time() // 86400), PasswordHasher(defs.sha_crypt_rounds))
    chown = _can_chown()
    owner_note = "" if chown else " (owner not set: not running as root)"
    changes: list[Change] = []

    def db_change(kind: str) -> None:
        table: Table | None = d.db.table(kind)
        if table is None:
            return
        new = table.render().encode("utf-8", "surrogateescape")
        if new == texts[kind]:
            return
        mode, uid, gid = _db_mode(root, kind, d.db)
        what = "; ".join(dict.fromkeys(d.notes[kind])) or "rewrite"
        changes.append(Change(NAME, "write-file", PATHS[kind], f"{PATHS[kind]}: {what}",
                              payload=WriteFile(PATHS[kind], new, mode, uid if chown else -1,
                                                gid if chown else -1, digest(texts[kind]), check=True)))

    for kind in ("group", "gshadow", "shadow"):
        db_change(kind)
    skel: tuple[tuple[str, bool, int], ...] | None = None
    for home in d.homes:
        if root.lstat(home.path) is not None:
            continue
        if skel is None:
            skel = _skel(root)
        changes.append(Change(NAME, "create-home", home.path,
                              f"create {home.path} for {home.user} from {SKEL}{owner_note}",
                              payload=HomeCreate(home.path, home.uid if chown else -1,
                                                 home.gid if chown else -1, defs.home_mode, skel)))
    db_change("passwd")
    changes.extend(_plan_sudoers(root, d.sudo, chown))
    return changes


def _plan_sudoers(root: Root, sudo: dict[str, tuple[str, ...]], chown: bool) -> list[Change]:
    from ros_init.core.changes import RemoveFile, WriteFile, plan_write
    from ros_init.core.model import Change

    changes: list[Change] = []
    wanted: dict[str, str] = {}
    for user, rules in sudo.items():
        if rules:
            wanted[sudoers_name(user)] = sudoers_text(user, rules)
    for fname, text in wanted.items():
        path = f"{SUDOERS_DIR}/{fname}"
        data = text.encode()
        owner = 0 if chown else -1
        change = plan_write(NAME, root, WriteFile(path, data, 0o440, owner, owner),
                            f"{path}: sudo rules ({len(data.splitlines()) - 1})")
        if change:
            changes.append(change)
    for fname in root.listdir(SUDOERS_DIR):
        if fname.startswith(SUDOERS_PREFIX) and fname not in wanted:
            path = f"{SUDOERS_DIR}/{fname}"
            changes.append(Change(NAME, "remove-file", path, f"{path}: remove (no sudo rules in the config)",
                                  payload=RemoveFile(path)))
    return changes


def apply(change: Change, root: Root, ctx: StageContext) -> None:
    """Perform one planned change through Root."""
    from ros_init.accounts.passwd_db import PATHS
    from ros_init.core.changes import RemoveFile, WriteFile, apply_payload

    payload = change.payload
    if isinstance(payload, WriteFile) and payload.path in PATHS.values():
        with _account_lock(root):  # compare-and-swap under shadow-utils' own lock
            apply_payload(root, payload)
    elif isinstance(payload, WriteFile | RemoveFile):
        apply_payload(root, payload)
    elif isinstance(payload, HomeCreate):
        _create_home(root, payload)
    else:
        raise ValueError(f"users: unknown change {change.action} {change.target}")


class _account_lock:  # noqa: N801 - used as a function: ``with _account_lock(root):``
    """The lock of glibc's ``lckpwdf`` (a write lock on /etc/.pwd.lock), which shadow-utils
    (useradd, passwd, chpasswd) also takes: no edit of theirs interleaves with ours. A class,
    not ``contextlib.contextmanager``: this module is imported by ``validate`` too."""

    def __init__(self, root: Root, wait: float = 10.0) -> None:
        self.root, self.wait, self.fd = root, wait, -1

    def __enter__(self) -> None:
        import fcntl

        fd = self.root.open_lock_file(PWD_LOCK)
        try:
            deadline = time.monotonic() + self.wait
            while True:
                try:
                    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{PWD_LOCK} is held by another program for {self.wait:g}s: "
                                           "account files not written") from None
                    time.sleep(0.05)
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)  # closing the file releases the lock


def _create_home(root: Root, home: HomeCreate) -> None:
    """Build the home in a temporary sibling folder and rename it into place, so a crash
    never leaves a half-copied home (which a later run would take as done)."""
    if root.lstat(home.path) is not None:
        return
    parent, _, name = home.path.rstrip("/").rpartition("/")
    parent = parent or "/"
    root.makedirs(parent)
    tmp = f"{parent.rstrip('/')}/.{name}.ros-init.tmp"
    root.remove_tree(tmp)  # a half-built home of a run that was killed
    root.makedirs(tmp, mode=home.mode, uid=home.uid, gid=home.gid)
    for rel, is_dir, mode in home.skel:
        if is_dir:
            root.makedirs(f"{tmp}/{rel}", mode=mode, uid=home.uid, gid=home.gid)
            continue
        data = root.read_bytes(f"{SKEL}/{rel}")
        if data is not None:
            root.write_file(f"{tmp}/{rel}", data, mode, home.uid, home.gid)
    root.rename(tmp, home.path)
