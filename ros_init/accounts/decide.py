"""What the users config makes of a root's account files: the pure decision of the users stage.

``decide`` takes the four parsed tables (``passwd_db.Database``), the specs of ``userconfig``
and the target's ``login.defs`` defaults, and returns the tables to write, the homes to
create and the sudo rules, following cloud-init's rules (see docs/stages.md). No I/O, so it
is tested on its own; the stage imports it only when it plans, so ``validate`` (which only
parses) does not load the account machinery.
"""

from __future__ import annotations

from ros_init.accounts import policy
from ros_init.accounts.logindefs import AccountDefaults
from ros_init.accounts.passwd_db import PATHS, Database, DatabaseError, allocate_id, lock, unlock
from ros_init.accounts.userconfig import PasswordSet, UsersConfigError, UserSpec
from ros_init.core.logger import logger
from ros_init.core.record import field, record, replace

log = logger("ros_init.stages.users")  # the stage's name: its warnings read as the stage's


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
