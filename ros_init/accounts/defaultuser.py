"""The image's default user (settings ``default_user``, cloud-init's ``system_info.default_user``).

cloud-init's rule, made explicit in the config before the users and SSH-key stages read it:

- the default user is created when ``users`` is absent or lists ``default`` (an empty
  ``users`` creates nobody);
  a ``users`` list that names others without ``default`` leaves it out;
- a ``default`` entry with other keys (``{name: default, groups: [x]}``) overrides the
  image's values; an entry with the default user's own name is merged over it too;
- it comes first in ``users``, marked ``MARK: True`` (cloud-init's normalized form), so the
  sshkeys stage knows who receives the top-level ``ssh_authorized_keys`` (metadata public
  keys included): the default user, and root (``default_user_name`` reads the mark);
- top-level ``password`` (cloud-init: the default user's password, clear text) sets its
  password and unlocks password login.

Without ``default_user`` in the settings there is no default user: ``default`` is ignored
with a warning and top-level keys go to root only (with ``disable_root_opts``), as in cloud-init.
"""

from __future__ import annotations

from ros_init.core.logger import logger
from ros_init.core.model import Config

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from typing import Any

log = logger("ros_init.accounts")

DEFAULT = "default"
MARK = "default"  # key of the resolved default user's entry (set after validation, never by a config)


def image_default_user(settings: dict[str, Any]) -> dict[str, Any] | None:
    """The settings' default user as a user object, or None when the image has none."""
    du = settings.get("default_user")
    if not isinstance(du, dict) or not isinstance(du.get("name"), str) or not du["name"].strip():
        return None
    return {k: v for k, v in du.items() if v is not None}


def _name(item: object) -> object:
    return item.get("name") if isinstance(item, dict) else item


def wanted(users: object) -> bool:
    """cloud-init's rule: is the default user created for this ``users`` value? (pure)

    Only when ``users`` is absent or lists ``default``. An empty ``users`` (``[]``, ``{}``,
    ``""``) creates nobody, the default user included: cloud-init merges user-data over its
    base config (``users: [default]``) with the user-data's value kept whole, so ``users: []``
    is how a cloud-init user says "no default user"."""
    if users is None:
        return True
    if isinstance(users, list):
        return DEFAULT in [_name(u) for u in users]
    if isinstance(users, str):
        return DEFAULT in [n.strip() for n in users.split(",") if n.strip()]
    if isinstance(users, dict):
        return bool(users.get(DEFAULT))
    return False


def resolve(config: Config, settings: dict[str, Any], *, warn: bool = False) -> Config:
    """``config`` with the image's default user written into ``users`` (a new dict; ``warn``:
    log what is not applied, for the one stage that owns accounts)."""
    base = image_default_user(settings)
    if base is None:
        if warn and config.get("password") is not None:
            log.warning("password: ignored: the image settings define no default_user (use users[].passwd or"
                        " chpasswd.users)")
        return config
    users = config.get("users")
    items = users if isinstance(users, list) else ([] if users is None else None)
    if items is None:  # not normalized (a raw string or mapping): normalize it first
        from ros_init.config.normalize import normalize_users

        items = normalize_users(users)
        if not isinstance(items, list):
            return config
    out = dict(config)
    others = [u for u in items if _name(u) != DEFAULT]
    if not wanted(users):  # the value as written: absent and empty differ
        out["users"] = others
        if warn and "password" in config:
            log.warning("password: not applied: `users` leaves out the default user %s", base["name"])
        return out
    entry = dict(base)
    entry[MARK] = True
    for u in items:
        if isinstance(u, dict) and _name(u) == DEFAULT:
            entry.update({k: v for k, v in u.items() if k != "name"})
    same = [u for u in others if isinstance(u, dict) and _name(u) == entry["name"]]
    for u in same:
        entry.update({k: v for k, v in u.items() if k != MARK})
    password = config.get("password")
    if isinstance(password, str) and password and "passwd" not in entry and "plain_text_passwd" not in entry:
        entry["plain_text_passwd"] = password  # cloud-init's `password:` is clear text for the default user
        if not any("lock_passwd" in u for u in same):
            entry["lock_passwd"] = False
    out["users"] = [entry] + [u for u in others if not (isinstance(u, dict) and _name(u) == entry["name"])]
    out.pop("password", None)
    return out


def default_user_name(config: Config) -> str | None:
    """The name of the default user ``resolve`` put in ``users`` (pure), or None: the image has
    none, or ``users`` leaves it out (cloud-init's ``extract_default``)."""
    users = config.get("users")
    for item in users if isinstance(users, list) else ():
        if isinstance(item, dict) and item.get(MARK) is True and isinstance(item.get("name"), str):
            return item["name"]
    return None
