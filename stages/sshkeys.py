"""SSH: ``ssh_authorized_keys`` (global and per user), ``disable_root``, ``disable_root_opts``
and ``ssh_pwauth``.

Top-level keys (the datasource's public keys among them) mean what they mean to cloud-init
(``cc_ssh``): they go to the default user and to root, root's lines with ``disable_root_opts``
in front unless ``disable_root`` is false; ``receivers`` holds that rule.

Keys go to ``~/.ssh/authorized_keys`` inside a block between marker comments; lines
outside the block (keys added by hand) are never touched, so they survive every boot.
One file, not ``authorized_keys.d``: sshd reads only ``.ssh/authorized_keys`` (and
``authorized_keys2``) by default, and a second file would need an sshd_config change that
the image may not carry. ``github:<user>`` and ``gitlab:<user>`` entries are fetched from
``<base>/<user>.keys`` during ``plan`` (bounded by the ``ssh_keys.timeout`` setting and a
size limit, and the phase's deadline), through the one HTTP client (``httpfetch.request``,
or ``ctx.http`` where a caller hands one in), because only then can a second plan see that nothing changed. A failed fetch
keeps the keys fetched last time for that reference and is logged as a warning: the plan
then holds no change for it, so a plan after a failed fetch is empty when nothing else
changed.

``ssh_pwauth`` writes ``/etc/ssh/sshd_config.d/50-ros-init.conf``; without it, that file
is removed (ros-init then leaves sshd's own setting alone).
"""

from __future__ import annotations

import os
import re
import stat
import time

from ros_init.accounts.userconfig import user_items
from ros_init.core.findings import Refusals, SpecError
from ros_init.core.logger import logger
from ros_init.core.record import NamedTuple, field, record

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from typing import Any

    from ros_init.core.model import Change, Config, StageContext
    from ros_init.core.root import Root

NAME = "sshkeys"

BEGIN = "# BEGIN ros-init managed keys"
END = "# END ros-init managed keys"
FROM = "# from "
PWAUTH_DROPIN = "/etc/ssh/sshd_config.d/50-ros-init.conf"
SSHD_CONFIGS = ("/etc/ssh/sshd_config", "/usr/etc/ssh/sshd_config")
MAX_KEYS_BYTES = 64 * 1024

_REF_RE = re.compile(r"^(github|gitlab):([A-Za-z0-9][A-Za-z0-9._-]{0,254})\Z")
_KEY_TYPE = r"(ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9@.-]+)(@openssh\.com)?"  # sshd's key types, one rule
_KEY_RE = re.compile(rf"^{_KEY_TYPE} [A-Za-z0-9+/]+={{0,3}}( [^\x00-\x1f]*)?\Z")

MAX_AUTHORIZED_KEYS = 4 * 1024 * 1024  # thousands of keys; a user's huge or sparse file is left alone
log = logger(__name__)


class KeysConfigError(SpecError):
    """An ssh_authorized_keys or ssh_pwauth value that cannot be used; names its path."""


class KeyFetchError(Exception):
    """A github:/gitlab: reference that could not be fetched; the message is secret-free."""


# -- which keys go where (pure) ------------------------------------------------------------
def _key_list(value: Any, path: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise KeysConfigError(f"{path}: expected a list of keys")
    refusals = Refusals()
    out = [key.strip() for _, key in refusals.accepted(value, path, _key_problem, KeysConfigError) if key.strip()]
    refusals.check()
    return out


def _key_problem(key: Any) -> str | None:
    """Pure: why one ssh_authorized_keys entry cannot be used, or None."""
    if not isinstance(key, str):
        return "expected a string"
    key = key.strip()
    if any(ch in key for ch in "\n\r\0"):
        return "a key must be one line"
    if key.startswith("#") or key in (BEGIN, END):
        return "a key cannot be a comment"
    if ":" in key.split(" ", 1)[0] and key.split(":", 1)[0] in ("github", "gitlab") and not _REF_RE.match(key):
        return "not a valid github:/gitlab: user name"
    return None


# cloud-init's ssh_util.DISABLE_USER_OPTS (the schema's default of disable_root_opts): a root
# login with one of these keys prints which user to log in as and exits 142.
DISABLE_ROOT_OPTS = ('no-port-forwarding,no-agent-forwarding,no-X11-forwarding,command="echo \'Please login as '
                     'the user \\"$USER\\" rather than the user \\"$DISABLE_USER\\".\';echo;sleep 10;exit 142"')
_KEYTYPE_RE = re.compile(rf"^{_KEY_TYPE}\Z")


def receivers(default_user: str | None, disable_root: bool, disable_root_opts: str) -> dict[str, str | None]:
    """Pure: who gets the top-level keys (metadata public keys included), and the sshd options
    put in front of each of their lines (None: the lines as written).

    cloud-init's rule (``cc_ssh.apply_credentials``): the default user gets them as written,
    and root gets them too, behind ``disable_root_opts`` when ``disable_root`` is true
    (``$USER`` -> the default user or ``NONE``, ``$DISABLE_USER`` -> ``root``). So without a
    default user (``users`` names others without ``default``, or the image has none) no
    account can log in with them unless ``disable_root`` is false: the users of ``users``
    never get them. An empty prefix leaves the lines as written (cloud-init would drop a
    key's own options then; keeping a ``from=`` is never wider).
    """
    out: dict[str, str | None] = {}
    if default_user:
        out[default_user] = None
    prefix = None
    if disable_root:
        prefix = disable_root_opts.replace("$USER", default_user or "NONE").replace("$DISABLE_USER", "root")
    out["root"] = prefix or None  # after the default user: a default user named root gets the prefix
    return out


def split_options(line: str) -> tuple[str, str]:
    """Pure: (options, key) of an authorized_keys line, sshd's reading: a first field that is
    not a key type is the options, which hold spaces only inside double quotes."""
    first = line.split(None, 1)[0] if line.strip() else ""
    if not first or _KEYTYPE_RE.match(first):
        return "", line
    quoted, i = False, 0
    while i < len(line) and (quoted or line[i] not in " \t"):
        if line[i] == "\\" and quoted and line[i + 1:i + 2] == '"':
            i += 1
        elif line[i] == '"':
            quoted = not quoted
        i += 1
    return line[:i], line[i:].lstrip()


def with_options(line: str, options: str | None) -> str:
    """Pure: ``line`` with ``options`` in front instead of its own (None: ``line`` unchanged).
    Idempotent: the line it returns gives itself back."""
    if options is None:
        return line
    key = split_options(line)[1]
    return f"{options} {key}" if options else key


def _key_identity(entry: str) -> str:
    """What makes two entries the same key: the reference, or the key's base64 (as cloud-init)."""
    if _REF_RE.match(entry):
        return entry
    fields = split_options(entry)[1].split()
    return fields[1] if len(fields) > 1 else entry


def _options_problem(value: Any) -> str | None:
    """Pure: why a disable_root_opts value cannot be put in front of a key line, or None."""
    if not isinstance(value, str):
        return "expected a string"
    if any(ch in value for ch in "\n\r\0"):
        return "must be one line"
    if value.startswith("#"):
        return "would turn root's key lines into comments"
    options, rest = split_options(value + " ssh-ed25519")
    if value and (options != value or rest != "ssh-ed25519"):
        return "sshd key options hold spaces only inside double quotes (and every quote is closed)"
    return None


def _root_rule(config: Config) -> tuple[bool, str]:
    """(disable_root, disable_root_opts) of the config, defaults applied, checked."""
    refusals = Refusals()
    disable_root = config.get("disable_root", True)
    if disable_root is None:
        disable_root = True
    if not isinstance(disable_root, bool):
        refusals.add(KeysConfigError("disable_root: expected true or false"))
    opts = config.get("disable_root_opts", DISABLE_ROOT_OPTS)
    if opts is None:
        opts = DISABLE_ROOT_OPTS
    problem = _options_problem(opts)
    if problem:
        refusals.add(KeysConfigError(f"disable_root_opts: {problem}"))
    refusals.check()
    return disable_root, opts


def keys_by_user(config: Config) -> dict[str, list[tuple[str, str | None]]]:
    """User name -> (key entry, options) pairs, in config order; every user named in
    ``users`` is there, with no keys too (so a removed key goes), and so is every receiver of
    the top-level keys (``receivers``: the default user and root).

    A user's own keys (``users[].ssh_authorized_keys``) come as written; a top-level key the
    user also has replaces it (as cloud-init's ``cc_ssh`` runs after the users are made).
    """
    from ros_init.accounts.defaultuser import default_user_name

    out: dict[str, dict[str, tuple[str, str | None]]] = {}
    refusals = Refusals()
    for path, item in user_items(config, warn=False):
        name = item.get("name")
        if not isinstance(name, str):
            continue
        own = out.setdefault(name, {})
        for key in refusals.attempt(_key_list, item.get("ssh_authorized_keys"), f"{path}.ssh_authorized_keys",
                                    default=[]):
            own.setdefault(_key_identity(key), (key, None))
    top = refusals.attempt(_key_list, config.get("ssh_authorized_keys"), "ssh_authorized_keys", default=[])
    rule = refusals.attempt(_root_rule, config, default=(True, DISABLE_ROOT_OPTS))
    refusals.check()
    # The receivers are always checked, even with no keys: keys removed from the config
    # must leave their files too.
    for user, options in receivers(default_user_name(config), *rule).items():
        entries = out.setdefault(user, {})
        for key in top:
            entries[_key_identity(key)] = (key, options)
    return {user: list(entries.values()) for user, entries in out.items()}


def _top_level_warning(config: Config, disabled: bool) -> tuple[str, str] | None:
    """(path, message) when ``users`` itself leaves the default user out and top-level keys
    are given: no user of ``users`` gets them (cloud-init's rule; ros-init gave them to the
    first user before). Known from the config alone, so ``validate`` says it too."""
    from ros_init.accounts.defaultuser import default_user_name, wanted

    if not config.get("ssh_authorized_keys") or default_user_name(config) or "users" not in config \
            or wanted(config.get("users")):
        return None  # the default user gets them (or the image has none: _locked_out, at boot)
    return ("ssh_authorized_keys", "`users` leaves out `default`, so no user of it gets these keys "
            "(cloud-init's rule): they go to root only" + (", behind disable_root_opts (a root login with them "
            "is refused)" if disabled else "") + "; give them to a user with users[].ssh_authorized_keys, or "
            "list `default` in users")


def _locked_out(config: Config, disabled: bool) -> bool:
    """Top-level keys that nobody can log in with: no default user (the image settings define
    none, or ``users`` leaves it out) and root's lines behind ``disable_root_opts``. Only the
    boot knows the image settings, so the boot says it (``plan``); ``validate`` cannot."""
    from ros_init.accounts.defaultuser import default_user_name

    return bool(config.get("ssh_authorized_keys")) and not default_user_name(config) \
        and disabled


class SshSpec(NamedTuple):
    """(key entry, options) pairs per user (entries: lines or github:/gitlab: references;
    options: put in front of each line, None: as written), ``ssh_pwauth`` (None: leave sshd's
    own setting alone), and what ``validate`` should warn about."""

    keys: tuple[tuple[str, tuple[tuple[str, str | None], ...]], ...]
    pwauth: bool | None
    warnings: tuple[tuple[str, str], ...] = ()
    locked_out: bool = False  # top-level keys that log nobody in (_locked_out): said at boot


def parse(config: Config) -> SshSpec:
    """Pure: who gets which keys, and the password-login setting, every entry checked."""
    value = config.get("ssh_pwauth")
    if isinstance(value, str):
        # cloud-init's strings (deprecated in the schema): yes/true, no/false; anything
        # else ("unchanged") leaves sshd alone, like an absent key.
        value = {"yes": True, "true": True, "no": False, "false": False}.get(value.strip().lower())
    refusals = Refusals()
    if value is not None and not isinstance(value, bool):
        refusals.add(KeysConfigError("ssh_pwauth: expected true or false"))
    keys = refusals.attempt(keys_by_user, config, default={})
    refusals.check()
    disabled = _root_rule(config)[0]  # checked above: keys_by_user applied the same rule
    warning = _top_level_warning(config, disabled)
    return SshSpec(tuple((user, tuple(entries)) for user, entries in keys.items()), value,
                   (warning,) if warning else (), _locked_out(config, disabled))


# -- the authorized_keys file (pure) ---------------------------------------------------------
@record(frozen=True)
class KeysFile:
    """authorized_keys split into the lines we do not own and our managed block."""

    foreign: tuple[str, ...]
    managed: tuple[str, ...]
    at: int | None  # index in ``foreign`` where the block sits; None: no block

    @classmethod
    def parse(cls, text: str) -> KeysFile:
        """Every complete BEGIN..END block is ours; orphan markers are dropped (the lines
        around them are kept as foreign lines: a hand-edited marker never costs a key)."""
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        foreign: list[str] = []
        managed: list[str] = []
        at: int | None = None
        i = 0
        while i < len(lines):
            line = lines[i]
            if line.strip() == BEGIN:
                end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == END), None)
                if end is not None:
                    if at is None:
                        at = len(foreign)
                    managed.extend(lines[i + 1:end])
                    i = end + 1
                    continue
                i += 1  # orphan BEGIN
                continue
            if line.strip() != END:
                foreign.append(line)
            i += 1
        return cls(tuple(foreign), tuple(managed), at)

    def render(self, managed: list[str]) -> str:
        lines = list(self.foreign)
        if managed:
            at = len(lines) if self.at is None else self.at
            lines[at:at] = [BEGIN, *managed, END]
        return "".join(f"{line}\n" for line in lines)

    def sections(self) -> dict[str, list[str]]:
        """Managed lines by source ("" for keys written literally in the config)."""
        out: dict[str, list[str]] = {"": []}
        current = ""
        for line in self.managed:
            if line.startswith(FROM):
                current = line[len(FROM):].strip()
                out.setdefault(current, [])
            elif line.strip():
                out.setdefault(current, []).append(line)
        return out


def managed_block(literal: list[str], fetched: dict[str, list[str]]) -> list[str]:
    lines = list(literal)
    for ref, keys in fetched.items():
        lines.append(FROM + ref)
        lines.extend(keys)
    return lines


def _option_lines(lines: list[str], options: str | None) -> list[str]:
    return [with_options(line, options) for line in lines]


# -- fetching github:/gitlab: keys ----------------------------------------------------------
def fetch_keys(http: Any, base: str, user: str, deadline: float, timeout: float,
               limit: int = MAX_KEYS_BYTES) -> tuple[list[str], int]:
    """GET ``<base>/<user>.keys`` through ``http`` (``ros_init.sources.httpfetch.request``):
    (valid public key lines, number of lines dropped).

    Bounded: ``timeout`` seconds at most, never past ``deadline`` (the phase's), the answer
    cut at ``limit`` bytes.
    """
    from urllib.parse import quote

    url = f"{base.rstrip('/')}/{quote(user, safe='')}.keys"
    until = min(deadline, time.monotonic() + timeout)
    try:
        resp = http(url, until, what=f"ssh keys of {user}", timeout=timeout, max_size=limit, retry_refused=False)
    except Exception as exc:  # httpfetch.FetchError, without importing the client here
        kind = getattr(exc, "kind", "")
        if kind == "timeout":
            raise KeyFetchError(f"no answer within {timeout:g}s") from None
        if kind == "too-large":
            raise KeyFetchError(f"answer larger than {limit // 1024} KiB") from None
        raise KeyFetchError(f"request failed ({kind or type(exc).__name__})") from None
    if resp.status == 404:
        raise KeyFetchError("no such user (HTTP 404)")
    if resp.status != 200:
        raise KeyFetchError(f"HTTP {resp.status}")
    keys: list[str] = []
    dropped = 0
    for raw in resp.body.decode("utf-8", "replace").splitlines():
        line = raw.strip()
        if not line:
            continue
        if _KEY_RE.match(line):
            keys.append(line)
        else:
            dropped += 1
    return keys, dropped


def _settings(ctx: StageContext) -> dict[str, Any]:
    from ros_init.config.settings import defaults

    return {**defaults()["ssh_keys"], **(ctx.settings.get("ssh_keys") or {})}


# -- plan and apply -----------------------------------------------------------------------
@record(frozen=True)
class KeysWrite:
    user: str
    ssh_dir: str
    path: str
    data: bytes = field(repr=False)
    uid: int
    gid: int
    expected: str | None


def _can_chown() -> bool:
    return os.geteuid() == 0


def _skip(target: str, message: str) -> Change:
    from ros_init.core.changes import Skipped
    from ros_init.core.model import Change

    return Change(NAME, "skip", target, message, payload=Skipped(target, message))


def _http(ctx: StageContext) -> Any:
    if ctx.http is not None:
        return ctx.http
    from ros_init.sources.httpfetch import request

    return request


def plan(spec: SshSpec, root: Root, ctx: StageContext) -> list[Change]:
    """authorized_keys of each user with keys in the config, and the sshd drop-in."""
    from ros_init.accounts.passwd_db import Table
    from ros_init.core.changes import Refused, digest
    from ros_init.core.model import Change

    if spec.locked_out and not spec.warnings:
        log.warning("ssh_authorized_keys: there is no default user (the image settings define no default_user),"
                    " so these keys go to root only, behind disable_root_opts: nobody can log in with them"
                    " (cloud-init's rule); give them to a user with users[].ssh_authorized_keys, or set"
                    " disable_root: false")
    changes: list[Change] = []
    wanted = dict(spec.keys)
    passwd = Table.parse("passwd", root.read_text("/etc/passwd") or "") if wanted else None
    settings = _settings(ctx)
    cache: dict[str, tuple[list[str], int] | str] = {}
    chown = _can_chown()
    for user, entries in wanted.items():
        assert passwd is not None
        entry = passwd.get(user)
        if entry is None and not entries:
            continue
        if entry is None or not entry[2].isdigit() or not entry[3].isdigit():
            changes.append(_skip(f"user {user}", f"authorized_keys of {user}: no such user in the target's "
                                 "/etc/passwd (the users stage creates users listed in users)"))
            continue
        uid, gid, home = int(entry[2]), int(entry[3]), entry[5] or "/"
        ssh_dir = f"{home.rstrip('/')}/.ssh"
        path = f"{ssh_dir}/authorized_keys"
        st_dir = root.lstat(ssh_dir)
        st_file = root.lstat(path) if st_dir is not None else None
        if st_dir is not None and not stat.S_ISDIR(st_dir.st_mode):
            changes.append(_skip(path, f"{ssh_dir} of {user} is not a folder (a symlink?): keys not written"))
            continue
        if st_file is not None and not stat.S_ISREG(st_file.st_mode):
            changes.append(_skip(path, f"{path} of {user} is not a regular file (a symlink?): keys not written"))
            continue
        if st_file is not None and st_file.st_size > MAX_AUTHORIZED_KEYS:
            changes.append(Change(NAME, "refuse", path, f"{path}: keys of {user} not written", payload=Refused(
                path, f"{path} is {st_file.st_size / (1024 * 1024):.0f} MiB, over the "
                f"{MAX_AUTHORIZED_KEYS // (1024 * 1024)} MiB limit for an authorized_keys file: left alone")))
            continue
        current = root.read_bytes(path, limit=MAX_AUTHORIZED_KEYS + 1) if st_file is not None else None
        if current is not None and len(current) > MAX_AUTHORIZED_KEYS:  # grew since the lstat
            changes.append(Change(NAME, "refuse", path, f"{path}: keys of {user} not written", payload=Refused(
                path, f"{path} grew over the {MAX_AUTHORIZED_KEYS // (1024 * 1024)} MiB limit: left alone")))
            continue
        existing = KeysFile.parse((current or b"").decode("utf-8", "surrogateescape"))
        old_sections = existing.sections()
        literal = [with_options(e, opts) for e, opts in entries if not _REF_RE.match(e)]
        fetched: dict[str, list[str]] = {}
        for ref, opts in ((e, o) for e, o in entries if _REF_RE.match(e)):
            if ref not in cache:
                site, name = ref.split(":", 1)
                try:
                    cache[ref] = fetch_keys(_http(ctx), str(settings[f"{site}_url"]), name,
                                            ctx.deadline or time.monotonic() + float(settings["timeout"]),
                                            float(settings["timeout"]))
                except KeyFetchError as exc:
                    cache[ref] = str(exc)
            result = cache[ref]
            if isinstance(result, str):
                # Fetched lines never carry options of their own: the ones in front are ours.
                kept = [split_options(line)[1] for line in old_sections.get(ref, [])]
                fetched[ref] = _option_lines(kept, opts)
                log.warning("%s: keys not fetched for %s: %s; %d key(s) fetched earlier kept",
                            ref, user, result, len(kept))
            else:
                keys, dropped = result
                fetched[ref] = _option_lines(keys, opts)
                if dropped:
                    log.warning("%s: %d line(s) that are not public keys ignored", ref, dropped)
        block = managed_block(literal, fetched)
        if not block and existing.at is None:
            continue  # nothing of ours in the file, nothing to add: the file is the user's
        text = existing.render(block)
        data = text.encode("utf-8", "surrogateescape")
        ok = current == data and st_dir is not None and st_file is not None
        if ok:
            assert st_dir is not None and st_file is not None
            ok = (stat.S_IMODE(st_dir.st_mode) == 0o700 and stat.S_IMODE(st_file.st_mode) == 0o600
                  and (not chown or (st_dir.st_uid, st_dir.st_gid, st_file.st_uid, st_file.st_gid)
                       == (uid, gid, uid, gid)))
        if ok:
            continue
        n_keys = sum(1 for line in block if line and not line.startswith("#"))
        note = "" if chown else " (owner not set: not running as root)"
        if any(opts for _, opts in entries):
            note += ", the top-level ones behind disable_root_opts"
        changes.append(Change(NAME, "write-file", path,
                              f"{path}: {n_keys} managed key(s) for {user}, "
                              f"{sum(1 for x in existing.foreign if x.strip() and not x.startswith('#'))} other key(s) kept{note}",
                              payload=KeysWrite(user, ssh_dir, path, data, uid if chown else -1,
                                                gid if chown else -1, digest(current))))
    changes.extend(_plan_pwauth(spec.pwauth, root))
    return changes


def pwauth_text(enabled: bool) -> str:
    return ("# Written by ros-init from ssh_pwauth; changes are overwritten.\n"
            f"PasswordAuthentication {'yes' if enabled else 'no'}\n")


def _plan_pwauth(value: bool | None, root: Root) -> list[Change]:
    from ros_init.core.changes import WriteFile, plan_remove, plan_write

    if value is None:
        change = plan_remove(NAME, root, PWAUTH_DROPIN, f"{PWAUTH_DROPIN}: remove (no ssh_pwauth in the config)")
        return [change] if change else []
    data = pwauth_text(value).encode()
    owner = 0 if _can_chown() else -1
    note = ""
    main = next((p for p in SSHD_CONFIGS if root.exists(p)), None)
    if main is not None and not re.search(r"(?im)^\s*include\s+\S*sshd_config\.d", root.read_text(main) or ""):
        note = f" (warning: {main} does not include sshd_config.d)"
    change = plan_write(NAME, root, WriteFile(PWAUTH_DROPIN, data, 0o644, owner, owner),
                        f"{PWAUTH_DROPIN}: PasswordAuthentication {'yes' if value else 'no'}{note}")
    return [change] if change else []


def apply(change: Change, root: Root, ctx: StageContext) -> None:
    """Perform one planned change through Root."""
    from ros_init.core.changes import Refused, RemoveFile, Skipped, WriteFile, apply_payload, ensure_unchanged
    from ros_init.core.model import SkipStep

    payload = change.payload
    if isinstance(payload, WriteFile | RemoveFile | Skipped | Refused):
        apply_payload(root, payload)
        return
    if not isinstance(payload, KeysWrite):
        raise ValueError(f"sshkeys: unknown change {change.action} {change.target}")
    ensure_unchanged(payload.path, root.read_bytes(payload.path), payload.data, payload.expected)
    st = root.lstat(payload.ssh_dir)
    if st is not None and not stat.S_ISDIR(st.st_mode):
        raise SkipStep(f"{payload.ssh_dir} is not a folder: keys of {payload.user} not written")
    if st is None:
        home = os.path.dirname(payload.ssh_dir)
        if root.lstat(home) is None:
            root.makedirs(os.path.dirname(home) or "/")
            root.makedirs(home, mode=0o700, uid=payload.uid, gid=payload.gid)
        root.makedirs(payload.ssh_dir, mode=0o700, uid=payload.uid, gid=payload.gid)
    else:
        root.chmod(payload.ssh_dir, 0o700)
        if payload.uid != -1:
            root.chown(payload.ssh_dir, payload.uid, payload.gid)
    root.write_file(payload.path, payload.data, 0o600, payload.uid, payload.gid, dir_mode=0o700)
