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

import contextlib
import os
import stat
import time
from collections.abc import Iterator

from ros_init.accounts import policy
from ros_init.accounts.logindefs import AccountDefaults, load_account_defaults
from ros_init.accounts.passwd_db import (
    PATHS,
    SECRET_KINDS,
    Database,
    DatabaseError,
    Table,
    allocate_id,
    lock,
    unlock,
)
from ros_init.accounts.userconfig import (
    PasswordSet,
    UsersConfigError,
    UserSpec,
    read_chpasswd,
    read_groups,
    read_users,
)
from ros_init.core.changes import RemoveFile, WriteFile, apply_payload, digest, plan_write
from ros_init.core.logger import logger
from ros_init.core.model import Change, Config, StageContext
from ros_init.core.record import NamedTuple, field, record, replace
from ros_init.core.root import Root

NAME = "users"

SUDOERS_DIR = "/etc/sudoers.d"
SUDOERS_PREFIX = "90-ros-init-"
SKEL = "/etc/skel"
PWD_LOCK = "/etc/.pwd.lock"
_SKEL_LIMIT = 2000  # entries copied from /etc/skel at most


log = logger(__name__)


# -- passwords ---------------------------------------------------------------------------
class PasswordHasher:
    """SHA-512 crypt through libpass (import name ``passlib``; stdlib ``crypt`` is gone in 3.13).

    Imported lazily: most boots hash nothing.
    """

    def __init__(self, rounds: int = 5000) -> None:
        self.rounds = rounds

    def hash(self, plain: str) -> str:
        from passlib.hash import sha512_crypt

        return sha512_crypt.using(rounds=self.rounds).hash(plain)

    def verify(self, plain: str, hashed: str) -> bool:
        from passlib.hash import sha256_crypt, sha512_crypt

        for scheme in (sha512_crypt, sha256_crypt):
            if scheme.identify(hashed):
                try:
                    return bool(scheme.verify(plain, hashed))
                except ValueError:
                    return False
        return False


def _from_plain(plain: str, current: str, hasher: PasswordHasher) -> str:
    """The hash to store for ``plain``: the current one when it already matches (so the
    shadow file does not change on every boot), else a fresh hash with a random salt."""
    bare = current.lstrip("!")
    if bare and hasher.verify(plain, bare):
        return bare
    return hasher.hash(plain)


# -- the decision (pure) ------------------------------------------------------------------
@record(frozen=True)
class Home:
    user: str
    path: str
    uid: int
    gid: int


@record
class Decision:
    """The databases to write and what changes, in words free of secrets."""

    db: Database
    notes: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in PATHS})
    homes: list[Home] = field(default_factory=list)
    sudo: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _ensure_gshadow(d: Decision, group: str) -> None:
    """Give an existing group its missing gshadow entry: a run killed between writing
    /etc/group and /etc/gshadow left the group without one, and the next run, finding the
    group, would otherwise never add it (grpck: "no matching group file entry")."""
    if d.db.gshadow is not None and d.db.group.get(group) is not None and d.db.gshadow.get(group) is None:
        d.db = replace(d.db, gshadow=d.db.gshadow.put((group, "!", "", "")))
        d.notes["gshadow"].append(f"add missing entry of group {group}")


def _group_gid(d: Decision, group: str, defs: AccountDefaults, *, create: bool, system: bool, why: str) -> int:
    gid = d.db.gid_of(group)
    if gid is not None:
        _ensure_gshadow(d, group)
        return gid
    if not create:
        raise UsersConfigError(f"{why}: group {group} does not exist and create_groups is false")
    gid = allocate_id(d.db.used_gids(), defs.sys_gids if system else defs.gids, system=system)
    d.db = d.db.add_group(group, gid)
    d.notes["group"].append(f"create group {group} (gid {gid})")
    if d.db.gshadow is not None:
        d.notes["gshadow"].append(f"add group {group}")
    return gid


def _add_member(d: Decision, group: str, user: str) -> None:
    before = d.db
    d.db = d.db.add_member(group, user)
    if d.db.group is not before.group:
        d.notes["group"].append(f"add {user} to {group}")
    if d.db.gshadow is not before.gshadow:
        d.notes["gshadow"].append(f"add {user} to {group}")


def _create_user(d: Decision, spec: UserSpec, defs: AccountDefaults, today: int) -> None:
    db = d.db
    if spec.uid is not None:
        owner = db.user_with_uid(spec.uid)
        if owner is not None:
            raise UsersConfigError(f"{spec.path}.uid: uid {spec.uid} already belongs to user {owner}")
        uid = spec.uid
    else:
        uid = allocate_id(db.used_uids(), defs.sys_uids if spec.system else defs.uids, system=spec.system)
    if spec.primary_group is not None and spec.primary_group.isdigit():
        gid = int(spec.primary_group)
        if gid not in d.db.used_gids():
            raise UsersConfigError(f"{spec.path}.primary_group: no group has gid {gid}")
    elif spec.primary_group is not None:
        gid = _group_gid(d, spec.primary_group, defs, create=spec.create_groups, system=spec.system,
                         why=f"{spec.path}.primary_group")
    elif spec.no_user_group:
        gid = d.db.gid_of(defs.users_group) if not defs.users_group.isdigit() else int(defs.users_group)
        if gid is None:
            gid = 100
    else:
        problem = policy.own_group_problem(d.db, spec.name, spec.system, defs)
        if problem:
            raise UsersConfigError(f"{spec.path}.name: {problem}")
        gid = d.db.gid_of(spec.name)
        if gid is not None:
            _ensure_gshadow(d, spec.name)
        else:
            gid = uid if uid not in d.db.used_gids() else allocate_id(
                d.db.used_gids(), defs.sys_gids if spec.system else defs.gids, system=spec.system)
            d.db = d.db.add_group(spec.name, gid)
            d.notes["group"].append(f"create group {spec.name} (gid {gid})")
            if d.db.gshadow is not None:
                d.notes["gshadow"].append(f"add group {spec.name}")
    for group in spec.groups:
        if group.isdigit():
            named = d.db.group_with_gid(group)
            if named is None:
                log.warning("%s.groups: no group has gid %s: skipped", spec.path, group)
                continue
            group = named
        _ensure_gshadow(d, group)
        if d.db.group.get(group) is None:
            if not spec.create_groups:
                log.warning("%s.groups: group %s does not exist (create_groups is false): skipped", spec.path, group)
                continue
            _group_gid(d, group, defs, create=True, system=False, why=f"{spec.path}.groups")
        _add_member(d, group, spec.name)
    home = spec.homedir or f"{defs.home_base}/{spec.name}"
    shell = spec.shell or defs.shell
    d.db = d.db.put_user(
        (spec.name, "x", str(uid), str(gid), spec.gecos or "", home, shell),
        # an earlier run that crashed before /etc/passwd may have left a shadow entry:
        # its password field is kept as the starting point (the hash is then reused).
        (spec.name, (d.db.shadow.get(spec.name) or (spec.name, "!"))[1], str(today),
         str(defs.pass_min_days), str(defs.pass_max_days), str(defs.pass_warn_age), "", "", ""),
    )
    d.notes["passwd"].append(f"create user {spec.name} (uid {uid}, gid {gid})")
    d.notes["shadow"].append(f"add user {spec.name}")


def _set_field(d: Decision, name: str, value: str) -> None:
    entry = d.db.shadow.get(name)
    assert entry is not None
    if entry[1] != value:
        d.db = replace(d.db, shadow=d.db.shadow.put((name, value, *entry[2:])))


def _ensure_shadow(d: Decision, name: str, defs: AccountDefaults, today: int) -> None:
    """A user we manage has a shadow entry and ``x`` in passwd (its hash lives in shadow)."""
    pw = d.db.passwd.get(name)
    assert pw is not None
    if d.db.shadow.get(name) is None:
        start = pw[1] if pw[1] != "x" else "!"
        d.db = replace(d.db, shadow=d.db.shadow.put(
            (name, start, str(today), str(defs.pass_min_days), str(defs.pass_max_days),
             str(defs.pass_warn_age), "", "", "")))
        d.notes["shadow"].append(f"add missing entry of {name}")
    if pw[1] != "x":
        d.db = replace(d.db, passwd=d.db.passwd.put((name, "x", *pw[2:])))
        d.notes["passwd"].append(f"move the password of {name} to /etc/shadow")


def decide(
    db: Database,
    users: list[UserSpec],
    groups: list[tuple[str, tuple[str, ...]]],
    passwords: list[PasswordSet],
    expire: bool,
    defs: AccountDefaults,
    today: int,
    hasher: PasswordHasher,
) -> Decision:
    """Pure: the databases after applying the config, following cloud-init's rules."""
    d = Decision(db.editable())  # changed in place: linear in the number of users
    for spec in users:
        reason = policy.sudoers_problem(spec.name)
        if reason:
            raise UsersConfigError(f"{spec.path}.name: {reason}")
        error, warning = policy.empty_password(spec.plain_text_passwd, spec.lock_passwd)
        if error:
            raise UsersConfigError(f"{spec.path}: {error}")
        if warning:
            log.warning("%s: %s", spec.path, warning)
    original = {f[0]: f[1] for f in db.shadow.entries()}
    for name, _members in groups:
        _group_gid(d, name, defs, create=True, system=False, why="groups")
    created: set[str] = set()
    by_chpasswd = {p.name for p in passwords}
    for spec in users:
        if d.db.passwd.get(spec.name) is None:
            try:
                _create_user(d, spec, defs, today)
            except DatabaseError as exc:
                raise UsersConfigError(f"{spec.path}: {exc}") from None
            created.add(spec.name)
        _ensure_shadow(d, spec.name, defs, today)
        if spec.name not in by_chpasswd:
            # chpasswd runs after users in cloud-init and replaces the whole field (so the
            # password ends unlocked): the users settings would be overwritten; skipping
            # them here also keeps the result stable from one run to the next.
            current = d.db.shadow.get(spec.name)[1]  # type: ignore[index]
            value = current
            if spec.name in created and spec.passwd is not None:
                value = spec.passwd
            if spec.hashed_passwd is not None:
                value = spec.hashed_passwd
            elif spec.plain_text_passwd is not None:
                value = _from_plain(spec.plain_text_passwd, current, hasher)
            value = lock(value) if spec.lock_passwd else unlock(value)
            _set_field(d, spec.name, value)
        pw = d.db.passwd.get(spec.name)
        assert pw is not None
        if not spec.no_create_home and not spec.system and pw[2].isdigit() and pw[3].isdigit():
            d.homes.append(Home(spec.name, pw[5], int(pw[2]), int(pw[3])))
        d.sudo[spec.name] = spec.sudo
    for name, members in groups:
        for member in members:
            if d.db.passwd.get(member) is None:
                log.warning("groups: %s is not a user here; not added to %s", member, name)
                continue
            _add_member(d, name, member)
    expired: set[str] = set()
    for item in passwords:
        if d.db.passwd.get(item.name) is None:
            log.warning("%s: user %s does not exist; password not set", item.path, item.name)
            continue
        _ensure_shadow(d, item.name, defs, today)
        current = d.db.shadow.get(item.name)[1]  # type: ignore[index]
        value = item.password if item.hashed else _from_plain(item.password, current, hasher)
        _set_field(d, item.name, value)
        if expire:
            expired.add(item.name)
    # Words for the summary and the password-change date, from the net effect only.
    for fields in list(d.db.shadow.entries()):
        name, value = fields[0], fields[1]
        before = original.get(name)
        if before is None or before == value:
            continue
        if before.lstrip("!") != value.lstrip("!"):
            d.notes["shadow"].append(f"set the password of {name}")
            lastchg = "0" if name in expired else str(today)
            if fields[2] != lastchg:
                d.db = replace(d.db, shadow=d.db.shadow.put((name, value, lastchg, *fields[3:])))
        else:
            d.notes["shadow"].append(f"{'lock' if value.startswith('!') else 'unlock'} the password of {name}")
    for name in expired:
        if name not in original:
            entry = d.db.shadow.get(name)
            assert entry is not None
            d.db = replace(d.db, shadow=d.db.shadow.put((name, entry[1], "0", *entry[3:])))
    d.db = d.db.frozen()
    return d


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
    from ros_init.core.findings import Refusals

    refusals = Refusals()  # the refusals of all three sections, not the first one only
    users = refusals.attempt(read_users, config, default=[])
    groups = refusals.attempt(read_groups, config, default=[])
    passwords, expire = refusals.attempt(read_chpasswd, config, default=([], True))
    refusals.check()
    return UsersSpec(tuple(users), tuple(groups), tuple(passwords), expire)


def plan(spec: UsersSpec, root: Root, ctx: StageContext) -> list[Change]:
    """Compare the account files, homes and sudoers drop-ins with the config. No writes."""
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


@contextlib.contextmanager
def _account_lock(root: Root, wait: float = 10.0) -> Iterator[None]:
    """The lock of glibc's ``lckpwdf`` (a write lock on /etc/.pwd.lock), which shadow-utils
    (useradd, passwd, chpasswd) also takes: no edit of theirs interleaves with ours."""
    import fcntl

    fd = root.open_lock_file(PWD_LOCK)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{PWD_LOCK} is held by another program for {wait:g}s: "
                                       "account files not written") from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)


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
