"""Account rules that protect the node from its own config: pure checks, one reason each.

- A user name that sudoers reads as something else is refused: ``ALL`` (a rule for every
  user), ``Defaults`` (a settings line: ``visudo -c`` rejects the file) and all-uppercase
  names (read as an alias, so the rule never applies). Refusing is what ``useradd`` does
  with its default NAME_REGEX too; sudoers' ``#uid`` form would work for sudo but leave a
  user that other tools (``su -``, ``chown``) mistake for an alias or keyword.
- A new user never joins an existing group because the names match (``useradd`` refuses:
  "group disk exists"): ``users: [{name: disk}]`` would give raw disk access. Joining is
  allowed when the config names the group as the primary group, and a group that only a
  killed earlier run of ros-init can have made (no members, nobody's primary group, a gid
  in the range this user's group would get) is taken back, so a re-run completes.
- An empty clear-text password opens a login without a password: refused unless the
  password login stays locked, and warned about either way.
"""

from __future__ import annotations

import re

from ros_init.accounts.logindefs import AccountDefaults
from ros_init.accounts.passwd_db import Database

_ALIAS = re.compile(r"^[A-Z][A-Z0-9_]*$")


def sudoers_problem(name: str) -> str | None:
    """Why ``name`` cannot be a user with a sudoers rule, or None."""
    if name == "ALL":
        return "`ALL` is sudoers' word for every user: its rule would apply to everyone"
    if name == "Defaults":
        return "`Defaults` starts a settings line in sudoers: the rule file would be rejected"
    if _ALIAS.match(name):
        return "an all-uppercase name is read by sudoers as an alias: its rule would never apply"
    return None


def own_group_problem(db: Database, name: str, system: bool, defs: AccountDefaults) -> str | None:
    """Why the existing group ``name`` must not become the new user ``name``'s group, or None
    (also None when there is no such group)."""
    entry = db.group.get(name)
    if entry is None:
        return None
    gid = int(entry[2]) if entry[2].isdigit() else -1
    members = [m for m in entry[3].split(",") if m]
    primary_of = next((f[0] for f in db.passwd.entries() if f[3] == entry[2]), None)
    ids = defs.sys_gids if system else defs.gids
    if not members and primary_of is None and gid in ids:
        return None  # an orphan in this user's own range: left by an interrupted run
    return (f"a group named {name} already exists (gid {entry[2]}): a new user does not join it by name "
            f"(as useradd refuses); set primary_group: {name} to join it, or choose another name")


def empty_password(plain: str | None, locked: bool) -> tuple[str | None, str | None]:
    """(error, warning) for a clear-text password: an empty one is refused unless the
    password login stays locked; warned about either way."""
    if plain is None or plain != "":
        return None, None
    if not locked:
        return ("plain_text_passwd is empty and lock_passwd is false: that would allow a login "
                "without a password; set a password or lock_passwd: true"), None
    return None, "plain_text_passwd is empty: the password login stays locked (lock_passwd is true)"
