"""Account defaults of the target root: ``/etc/login.defs`` and ``/etc/default/useradd``.

ros-init edits the account databases itself (the image may have no ``useradd``), so it
reads the same settings ``useradd`` would: UID/GID ranges, password ageing, the home
folder mode, the default shell. Values come from the TARGET root, never from the host;
a missing file or key means the shadow-utils built-in default.
"""

from __future__ import annotations

from ros_init.core.record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ros_init.core.root import Root

LOGIN_DEFS = "/etc/login.defs"
USERADD_DEFAULTS = "/etc/default/useradd"


@record(frozen=True)
class IdRange:
    low: int
    high: int

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int) and self.low <= value <= self.high


@record(frozen=True)
class AccountDefaults:
    """What ``useradd``/``groupadd`` of the target would use."""

    uids: IdRange = IdRange(1000, 60000)
    sys_uids: IdRange = IdRange(101, 999)
    gids: IdRange = IdRange(1000, 60000)
    sys_gids: IdRange = IdRange(101, 999)
    pass_min_days: int = 0
    pass_max_days: int = 99999
    pass_warn_age: int = 7
    home_mode: int = 0o755
    sha_crypt_rounds: int = 5000
    home_base: str = "/home"
    shell: str = "/bin/sh"
    users_group: str = "100"  # GROUP of /etc/default/useradd: a name or a number


def parse_login_defs(text: str) -> dict[str, str]:
    """``KEY VALUE`` lines; ``#`` comments and blank lines skipped; the last value wins."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 1)
        if len(parts) == 2:
            out[parts[0]] = parts[1].strip().strip('"')
    return out


def parse_useradd_defaults(text: str) -> dict[str, str]:
    """``KEY=VALUE`` lines of ``/etc/default/useradd`` (shell-style, no expansion)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        out[key.strip()] = value.strip().strip('"').strip("'")
    return out


def _int(values: dict[str, str], key: str, default: int, base: int = 10) -> int:
    raw = values.get(key)
    if raw is None:
        return default
    try:
        return int(raw, 8 if base == 8 or (raw.startswith("0") and len(raw) > 1) else 10)
    except ValueError:
        return default


def _range(values: dict[str, str], low_key: str, high_key: str, low: int, high: int) -> IdRange:
    lo, hi = _int(values, low_key, low), _int(values, high_key, high)
    return IdRange(lo, hi) if 0 <= lo <= hi else IdRange(low, high)


def account_defaults(login_defs: str = "", useradd: str = "") -> AccountDefaults:
    """Pure: the defaults from the two files' texts (empty text: built-in defaults)."""
    defs = parse_login_defs(login_defs)
    uids = _range(defs, "UID_MIN", "UID_MAX", 1000, 60000)
    gids = _range(defs, "GID_MIN", "GID_MAX", 1000, 60000)
    sys_uids = _range(defs, "SYS_UID_MIN", "SYS_UID_MAX", 101, uids.low - 1)
    sys_gids = _range(defs, "SYS_GID_MIN", "SYS_GID_MAX", 101, gids.low - 1)
    umask = _int(defs, "UMASK", 0o022, base=8) & 0o777
    home_mode = _int(defs, "HOME_MODE", 0o777 & ~umask, base=8) & 0o7777
    # shadow-utils picks the rounds between MIN and MAX; we take the larger bound, and
    # glibc's default (5000) when neither is set, so a hash is never weaker than what the
    # image's own passwd/chpasswd would write.
    rounds = max(_int(defs, "SHA_CRYPT_MIN_ROUNDS", 5000), _int(defs, "SHA_CRYPT_MAX_ROUNDS", 5000))
    rounds = min(max(rounds, 1000), 999_999_999)
    ua = parse_useradd_defaults(useradd)
    home_base = ua.get("HOME", "/home")
    if not home_base.startswith("/"):
        home_base = "/home"
    return AccountDefaults(
        uids=uids,
        sys_uids=sys_uids,
        gids=gids,
        sys_gids=sys_gids,
        pass_min_days=_int(defs, "PASS_MIN_DAYS", 0),
        pass_max_days=_int(defs, "PASS_MAX_DAYS", 99999),
        pass_warn_age=_int(defs, "PASS_WARN_AGE", 7),
        home_mode=home_mode,
        sha_crypt_rounds=rounds,
        home_base=home_base.rstrip("/") or "/home",
        shell=ua.get("SHELL") or "/bin/sh",
        users_group=ua.get("GROUP") or "100",
    )


def load_account_defaults(root: Root) -> AccountDefaults:
    """The target root's account defaults."""
    return account_defaults(root.read_text(LOGIN_DEFS) or "", root.read_text(USERADD_DEFAULTS) or "")
