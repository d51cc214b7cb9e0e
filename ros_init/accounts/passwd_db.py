"""The account databases (passwd, shadow, group, gshadow) as text tables: pure, lossless.

``Table.parse(kind, text).render() == text`` for ANY text: every line is kept verbatim
until it is replaced, so comments, blank lines, NIS ``+``/``-`` lines, malformed lines and
a missing final newline all survive, in their order. A line is an *entry* when it has
the kind's number of ``:``-separated fields and does not start with ``#``; only entries
are looked up or replaced (the first entry of a name wins, as ``getpwnam`` does).

The functions here decide, they never touch files: the users stage reads the four files
through ``Root``, transforms the tables and writes the ones whose text changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from ros_init.accounts.logindefs import IdRange

FIELDS = {"passwd": 7, "shadow": 9, "group": 4, "gshadow": 4}
PATHS = {"passwd": "/etc/passwd", "shadow": "/etc/shadow", "group": "/etc/group", "gshadow": "/etc/gshadow"}
SECRET_KINDS = frozenset({"shadow", "gshadow"})

_FORBIDDEN = (":", "\n", "\r", "\0")


class DatabaseError(ValueError):
    """An entry that cannot be written (a field holding ``:`` or a line break, an id clash)."""


def check_field(value: str, what: str) -> None:
    """Refuse a value that would break the line structure. The message never echoes it."""
    for ch in _FORBIDDEN:
        if ch in value:
            shown = {"\n": "a line break", "\r": "a carriage return", "\0": "a NUL byte"}.get(ch, repr(ch))
            raise DatabaseError(f"{what} contains {shown}, which the account files cannot hold")


@dataclass(frozen=True)
class Table:
    """One database file: its lines (without line ends) and whether the text ended with one."""

    kind: str
    lines: tuple[str, ...] = ()
    final_newline: bool = True

    @classmethod
    def parse(cls, kind: str, text: str) -> Table:
        if kind not in FIELDS:
            raise ValueError(f"unknown account database {kind!r}")
        if text == "":
            return cls(kind, (), True)
        final = text.endswith("\n")
        body = text[:-1] if final else text
        return cls(kind, tuple(body.split("\n")), final)

    def render(self) -> str:
        if not self.lines:
            return ""
        return "\n".join(self.lines) + ("\n" if self.final_newline else "")

    def _fields(self, line: str) -> tuple[str, ...] | None:
        if line.startswith("#"):
            return None
        parts = tuple(line.split(":"))
        return parts if len(parts) == FIELDS[self.kind] and parts[0] else None

    def entries(self) -> Iterator[tuple[str, ...]]:
        for line in self.lines:
            fields = self._fields(line)
            if fields is not None:
                yield fields

    def get(self, name: str) -> tuple[str, ...] | None:
        for fields in self.entries():
            if fields[0] == name:
                return fields
        return None

    def names(self) -> set[str]:
        return {f[0] for f in self.entries()}

    def put(self, fields: Iterable[str]) -> Table:
        """Replace the first entry of that name in place, or append a new entry at the end."""
        new = tuple(fields)
        if len(new) != FIELDS[self.kind]:
            raise ValueError(f"{self.kind} entry needs {FIELDS[self.kind]} fields, got {len(new)}")
        for i, value in enumerate(new):
            check_field(value, f"{self.kind} entry {new[0]!r} field {i + 1}" if i != 0 else f"{self.kind} name")
        line = ":".join(new)
        lines = list(self.lines)
        for i, old in enumerate(lines):
            fields = self._fields(old)
            if fields is not None and fields[0] == new[0]:
                if old == line:
                    return self
                lines[i] = line
                return replace(self, lines=tuple(lines))
        return Table(self.kind, (*lines, line), True)


@dataclass(frozen=True)
class Database:
    """The four tables of a root. ``gshadow`` is None when the root has no /etc/gshadow
    (then none is created, as shadow-utils does)."""

    passwd: Table
    shadow: Table
    group: Table
    gshadow: Table | None

    @classmethod
    def parse(cls, texts: dict[str, str | None]) -> Database:
        gs = texts.get("gshadow")
        return cls(
            passwd=Table.parse("passwd", texts.get("passwd") or ""),
            shadow=Table.parse("shadow", texts.get("shadow") or ""),
            group=Table.parse("group", texts.get("group") or ""),
            gshadow=None if gs is None else Table.parse("gshadow", gs),
        )

    def table(self, kind: str) -> Table | None:
        return getattr(self, kind)

    # -- ids ---------------------------------------------------------------------------
    def used_uids(self) -> set[int]:
        return {int(f[2]) for f in self.passwd.entries() if f[2].isdigit()}

    def used_gids(self) -> set[int]:
        return {int(f[2]) for f in self.group.entries() if f[2].isdigit()}

    def gid_of(self, group: str) -> int | None:
        entry = self.group.get(group)
        return int(entry[2]) if entry is not None and entry[2].isdigit() else None

    # -- changes -----------------------------------------------------------------------
    def add_group(self, name: str, gid: int) -> Database:
        """Create a group (and its gshadow entry when the root has gshadow)."""
        if self.group.get(name) is not None:
            return self
        if gid in self.used_gids():
            raise DatabaseError(f"group {name}: gid {gid} is already used by another group")
        out = replace(self, group=self.group.put((name, "x", str(gid), "")))
        if out.gshadow is not None and out.gshadow.get(name) is None:
            out = replace(out, gshadow=out.gshadow.put((name, "!", "", "")))
        return out

    def add_member(self, group: str, user: str) -> Database:
        """Add ``user`` to the members of an existing ``group`` (group and gshadow)."""
        entry = self.group.get(group)
        if entry is None:
            raise DatabaseError(f"group {group} does not exist")
        members = [m for m in entry[3].split(",") if m]
        out = self
        if user not in members:
            out = replace(out, group=out.group.put((*entry[:3], ",".join([*members, user]))))
        if out.gshadow is not None:
            gentry = out.gshadow.get(group)
            if gentry is None:
                gentry = (group, "!", "", "")
            gmembers = [m for m in gentry[3].split(",") if m]
            if user not in gmembers:
                out = replace(out, gshadow=out.gshadow.put((*gentry[:3], ",".join([*gmembers, user]))))
        return out

    def put_user(self, passwd_entry: tuple[str, ...], shadow_entry: tuple[str, ...]) -> Database:
        """Add or replace a user's passwd and shadow entries (in place when they exist)."""
        return replace(self, passwd=self.passwd.put(passwd_entry), shadow=self.shadow.put(shadow_entry))


def allocate_id(used: set[int], ids: IdRange, *, system: bool) -> int:
    """The id ``useradd``/``groupadd`` would pick: system ids from the top of their range
    downwards; other ids one above the highest used in the range, else the lowest free.
    """
    if system:
        for candidate in range(ids.high, ids.low - 1, -1):
            if candidate not in used:
                return candidate
    else:
        in_range = [u for u in used if u in ids]
        nxt = max(in_range) + 1 if in_range else ids.low
        if nxt in ids and nxt not in used:
            return nxt
        for candidate in range(ids.low, ids.high + 1):
            if candidate not in used:
                return candidate
    raise DatabaseError(f"no free id left in {ids.low}-{ids.high}")


def lock(field: str) -> str:
    """The shadow password field with login by password locked (``passwd -l``)."""
    return field if field.startswith("!") else "!" + field


def unlock(field: str) -> str:
    """The field unlocked (``passwd -u``); a field with no password behind the ``!`` stays
    locked: unlocking it would allow a login with an empty password."""
    bare = field.lstrip("!")
    return field if bare in ("", "*") else bare
