"""The ``users``, ``groups`` and ``chpasswd`` sections of a config, read into specs.

Pure: the merged config is plain data in any of the forms the schema accepts (cloud-init's
included); this module turns it into one shape, with defaults applied, and refuses values
that cannot be written to the account files, naming the config path, never a secret value.
The users stage decides with these specs; the sshkeys stage reads ``user_items`` too, so
both agree on who the users are.
"""

from __future__ import annotations

import re

from ros_init.accounts.passwd_db import DatabaseError, check_field
from ros_init.core.findings import Refusals, SpecError
from ros_init.core.logger import logger
from ros_init.core.model import Config
from ros_init.core.record import field, record

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from typing import Any

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,30}\$?\Z")
HASH_RE = re.compile(r"^\$[0-9a-z]+\$")

log = logger("ros_init.stages.users")


class UsersConfigError(SpecError):
    """A users/groups/chpasswd value that cannot be applied; the message names its path."""


@record(frozen=True)
class UserSpec:
    """One ``users[]`` item, defaults applied. Password values are secrets: never printed."""

    name: str
    path: str  # config path, for messages: "users[1]"
    gecos: str | None = None
    homedir: str | None = None
    shell: str | None = None
    primary_group: str | None = None
    groups: tuple[str, ...] = ()
    uid: int | None = None
    system: bool = False
    no_create_home: bool = False
    no_user_group: bool = False
    lock_passwd: bool = True
    create_groups: bool = True
    passwd: str | None = field(default=None, repr=False)
    hashed_passwd: str | None = field(default=None, repr=False)
    plain_text_passwd: str | None = field(default=None, repr=False)
    sudo: tuple[str, ...] = ()


@record(frozen=True)
class PasswordSet:
    """One ``chpasswd.users[]`` item."""

    name: str
    path: str
    password: str = field(repr=False)
    hashed: bool


def _names(value: Any, path: str, *, numeric: bool = False) -> tuple[str, ...]:
    """Names from a list, a comma-separated string or (deprecated) an object of name -> null;
    ``numeric``: a number (a gid) is accepted too."""
    if value is None:
        return ()
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",")]
    elif isinstance(value, list):
        items = [v.strip() if isinstance(v, str) else v for v in value]
    elif isinstance(value, dict):
        items = list(value)
    else:
        raise UsersConfigError(f"{path}: expected a list of names or a comma-separated string")
    out = []
    for i, item in enumerate(items):
        if item == "":
            continue
        if not isinstance(item, str) or not (_NAME_RE.match(item) or (numeric and item.isdigit())):
            raise UsersConfigError(f"{path}[{i}]: not a valid user or group name")
        out.append(item)
    return tuple(out)


def _check_name(name: Any, path: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name) or name.isdigit():
        raise UsersConfigError(f"{path}: not a valid user or group name")
    return name


def _opt_str(item: dict[str, Any], key: str, path: str, *, absolute: bool = False) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise UsersConfigError(f"{path}.{key}: expected a string")
    try:
        check_field(value, f"{path}.{key}")
    except DatabaseError as exc:
        raise UsersConfigError(str(exc).removeprefix(f"{path}.{key} "), f"{path}.{key}") from None
    if absolute and not value.startswith("/"):
        raise UsersConfigError(f"{path}.{key}: must be an absolute path")
    if absolute and ".." in value.split("/"):
        raise UsersConfigError(f"{path}.{key}: must not hold '..' (paths are taken inside the target root)")
    return value


def _secret(item: dict[str, Any], key: str, path: str, *, is_hash: bool) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise UsersConfigError(f"{path}.{key}: expected a string")
    if is_hash:
        if any(ch in value for ch in ":\n\r\0") or value.strip() != value or not value:
            raise UsersConfigError(f"{path}.{key}: not a usable crypt hash (empty, or holds ':', spaces or a line break)")
    elif "\0" in value:
        raise UsersConfigError(f"{path}.{key}: holds a NUL byte")
    return value


def _sudo_rules(value: Any, path: str) -> tuple[str, ...]:
    if value is None or isinstance(value, bool):
        return ()  # true: accepted by the schema for cloud-init compatibility, means no rule
    rules = [value] if isinstance(value, str) else value
    if not isinstance(rules, list):
        raise UsersConfigError(f"{path}: expected a string, a list of strings, false or null")
    out = []
    for i, rule in enumerate(rules):
        where = f"{path}[{i}]" if isinstance(value, list) else path
        if rule is None:
            continue
        if not isinstance(rule, str):
            raise UsersConfigError(f"{where}: expected a string")
        rule = rule.strip()
        if not rule:
            continue
        if any(ch in rule for ch in "\n\r\0"):
            raise UsersConfigError(f"{where}: a sudo rule must be one line")
        if rule.endswith("\\") or rule.startswith("#"):
            raise UsersConfigError(f"{where}: a sudo rule cannot end with '\\' or start with '#'")
        out.append(rule)
    return tuple(out)


def _bool(item: dict[str, Any], key: str, default: bool, path: str) -> bool:
    value = item.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise UsersConfigError(f"{path}.{key}: expected true or false")
    return value


# Hyphenated spellings cloud-init accepted before 24.2 (the schema marks them deprecated).
_ALIASES = {
    "lock-passwd": "lock_passwd", "no-create-home": "no_create_home", "no-user-group": "no_user_group",
    "hashed-passwd": "hashed_passwd", "plain-text-passwd": "plain_text_passwd", "create-groups": "create_groups",
    "primary-group": "primary_group", "ssh-authorized-keys": "ssh_authorized_keys",
}


def user_items(config: Config, *, warn: bool = True) -> list[tuple[str, dict[str, Any]]]:
    """Every user of ``users`` as (config path, user object with canonical keys), in order.

    Accepts the forms of the schema: a list of objects, names or lists of names; a
    comma-separated string; cloud-init's object of name -> user object (or a true-ish
    scalar). ``default`` and entries without a name (``snapuser`` only) are left out;
    hyphenated keys become their underscore spelling (the underscore one wins).
    """
    from ros_init.config.normalize import normalize_users

    raw = config.get("users")
    if raw is None:
        return []
    if not isinstance(raw, str | dict | list):
        raise UsersConfigError("users: expected a list, a comma-separated string or an object")
    # The one normaliser (the merge uses it too): a merged config's users are a list already.
    found: list[tuple[str, Any]] = [(f"users[{i}]", item) for i, item in enumerate(normalize_users(raw))]
    out: list[tuple[str, dict[str, Any]]] = []
    for path, item in found:
        if item == "default" or (isinstance(item, dict) and item.get("name") == "default"):
            if warn:  # with a default user in the image settings, defaultuser.resolve replaced it
                log.warning("%s: 'default' (the image's default user) is ignored: the image settings define no"
                            " default_user", path)
            continue
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict):
            raise UsersConfigError(f"{path}: expected a user object or a name")
        if "name" not in item:
            if "snapuser" in item:
                continue  # snap users are not supported (the schema warns)
            raise UsersConfigError(f"{path}: a user needs a name")
        canonical = dict(item)
        for alias, key in _ALIASES.items():
            if alias in canonical:
                value = canonical.pop(alias)
                canonical.setdefault(key, value)
        out.append((path, canonical))
    return out


def _uid(value: Any, path: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())  # cloud-init's string form (deprecated in the schema)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 4294967294:
        raise UsersConfigError(f"{path}.uid: expected an integer between 0 and 4294967294")
    return value


def read_users(config: Config) -> list[UserSpec]:
    """The ``users`` of the config as specs (``default`` and duplicates dropped with a warning)."""
    specs: list[UserSpec] = []
    seen: set[str] = set()
    refusals = Refusals()  # every refused value of every user, not the first one only
    check = refusals.attempt
    for path, item in refusals.attempt(user_items, config, default=[]):
        name = check(_check_name, item.get("name"), f"{path}.name")
        if name in seen:
            log.warning("%s: user %s is listed twice; the first entry is used", path, name)
            continue
        if name is not None:
            seen.add(name)
        primary = item.get("primary_group")
        if primary is not None and not (isinstance(primary, str) and primary.isdigit()):
            primary = check(_check_name, primary, f"{path}.primary_group")
        fields = dict(
            name=name,
            path=path,
            gecos=check(_opt_str, item, "gecos", path),
            homedir=check(_opt_str, item, "homedir", path, absolute=True),
            shell=check(_opt_str, item, "shell", path),
            primary_group=primary,
            groups=check(_names, item.get("groups"), f"{path}.groups", numeric=True, default=()),
            uid=check(_uid, item.get("uid"), path),
            system=check(_bool, item, "system", False, path),
            no_create_home=check(_bool, item, "no_create_home", False, path),
            no_user_group=check(_bool, item, "no_user_group", False, path),
            lock_passwd=check(_bool, item, "lock_passwd", True, path),
            create_groups=check(_bool, item, "create_groups", True, path),
            passwd=check(_secret, item, "passwd", path, is_hash=True),
            hashed_passwd=check(_secret, item, "hashed_passwd", path, is_hash=True),
            plain_text_passwd=check(_secret, item, "plain_text_passwd", path, is_hash=False),
            sudo=check(_sudo_rules, item.get("sudo"), f"{path}.sudo", default=()),
        )
        if not refusals.errors:
            specs.append(UserSpec(**fields))
    refusals.check()
    return specs


def read_groups(config: Config) -> list[tuple[str, tuple[str, ...]]]:
    """Top-level ``groups``: (name, members) pairs, in order."""
    raw = config.get("groups")
    if raw is None:
        return []
    if isinstance(raw, str | dict):
        raw = [raw]
    if not isinstance(raw, list):
        raise UsersConfigError("groups: expected a list")
    out: list[tuple[str, tuple[str, ...]]] = []
    refusals = Refusals()
    for i, item in enumerate(raw):
        path = f"groups[{i}]"
        if isinstance(item, str):
            out.extend((name, ()) for name in refusals.attempt(_names, item, path, default=()))
        elif isinstance(item, dict):
            for name, members in item.items():
                out.append((refusals.attempt(_check_name, name, f"{path}.{name}"),
                            refusals.attempt(_names, members, f"{path}.{name}", default=())))
        else:
            refusals.add(UsersConfigError(f"{path}: expected a group name or {{name: [members]}}"))
    refusals.check()
    return out


def _password_set(path: str, item: Any) -> PasswordSet | None:
    """One ``chpasswd`` entry (None: a RANDOM one, skipped with a warning)."""
    if not isinstance(item, dict):
        raise UsersConfigError(f"{path}: expected an object with name, password, type")
    refusals = Refusals()
    name = refusals.attempt(_check_name, item.get("name"), f"{path}.name")
    kind = item.get("type") or "hash"
    if kind == "RANDOM":
        log.warning("%s: random passwords are not supported (ros-init never makes one up): skipped", path)
        refusals.check()
        return None
    if kind not in ("hash", "text"):
        refusals.add(UsersConfigError(f"{path}.type: expected 'hash' or 'text'"))
    password = item.get("password")
    if not isinstance(password, str) or not password:
        refusals.add(UsersConfigError(f"{path}.password: expected a non-empty string"))
    refusals.check()
    value = _secret(item, "password", path, is_hash=kind == "hash")
    assert value is not None
    return PasswordSet(name, path, value, kind == "hash")


def read_chpasswd(config: Config) -> tuple[list[PasswordSet], bool]:
    """``chpasswd.users`` (and the deprecated ``chpasswd.list``) and ``expire`` (default true).

    ``type`` defaults to ``hash`` (the schema's default). ``RANDOM`` entries are ignored with
    a warning: ros-init never makes up passwords. In the old ``list`` form (``name:password``
    lines), a value that looks like a crypt hash is one, anything else is text, as in cloud-init.
    """
    raw = config.get("chpasswd")
    if raw is None:
        return [], True
    if not isinstance(raw, dict):
        raise UsersConfigError("chpasswd: expected an object")
    expire = _bool(raw, "expire", True, "chpasswd")
    entries: list[tuple[str, dict[str, Any]]] = []
    items = raw.get("users") or []
    if not isinstance(items, list):
        raise UsersConfigError("chpasswd.users: expected a list")
    entries.extend((f"chpasswd.users[{i}]", item) for i, item in enumerate(items))
    old = raw.get("list")
    if old is not None:
        lines = old.splitlines() if isinstance(old, str) else old
        if not isinstance(lines, list):
            raise UsersConfigError("chpasswd.list: expected a string or a list of name:password lines")
        for i, line in enumerate(lines):
            path = f"chpasswd.list[{i}]"
            if not isinstance(line, str) or ":" not in line:
                raise UsersConfigError(f"{path}: expected name:password")
            name, _, password = line.strip().partition(":")
            kind = "RANDOM" if password in ("R", "RANDOM") else "hash" if HASH_RE.match(password) else "text"
            entries.append((path, {"name": name, "password": password, "type": kind}))
    out = []
    refusals = Refusals()  # every refused entry, not the first one only
    for path, item in entries:
        entry = refusals.attempt(_password_set, path, item)
        if entry is not None:
            out.append(entry)
    refusals.check()
    last = {p.name: p for p in out}  # a name listed twice: the last entry wins, as in chpasswd
    if len(last) != len(out):
        log.warning("chpasswd: a user is listed more than once; the last entry is used")
    return list(last.values()), expire
