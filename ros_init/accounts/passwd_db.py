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

from ros_init.core.record import field, record, replace

TYPE_CHECKING = False  # userconfig checks fields with this module while validate parses: keep it light
if TYPE_CHECKING:
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


class _Index:
    """Lookups of one table's text: the first entry of each name, the first of each id
    (field 3), and the numeric ids sorted (the highest of a range in O(log n))."""

    def __init__(self, kind: str, lines: Iterable[str]) -> None:
        self.kind = kind
        self.names: dict[str, int] = {}
        self.ids: dict[str, str] = {}  # id text -> name of its first entry
        self.sorted_ids: list[int] = []
        for i, line in enumerate(lines):
            self.add(i, line)

    def add(self, i: int, line: str) -> None:
        fields = _entry(self.kind, line)
        if fields is not None:
            self.names.setdefault(fields[0], i)
            if len(fields) > 2:
                self.add_id(fields[2], fields[0])

    def add_id(self, ident: str, name: str) -> None:
        if ident not in self.ids:
            self.ids[ident] = name
            if ident.isdigit():
                import bisect  # here, not at the top: parsing a config (validate) needs check_field only

                bisect.insort(self.sorted_ids, int(ident))


class _Edit:
    """The one mutable copy of a table that ``Database.editable`` hands out: each ``put``
    changes it in place (no copy of every line per change: linear for 10,000 users) and
    returns a new handle; a superseded handle refuses to be read."""

    def __init__(self, kind: str, lines: list[str]) -> None:
        self.lines = lines
        self.index = _Index(kind, lines)
        self.head: object = None


def _entry(kind: str, line: str) -> tuple[str, ...] | None:
    if line.startswith("#"):
        return None
    parts = tuple(line.split(":"))
    return parts if len(parts) == FIELDS[kind] and parts[0] else None


@record(frozen=True)
class Table:
    """One database file: its lines (without line ends) and whether the text ended with one.

    Immutable, but for the editing copy of ``Database.editable`` (see ``_Edit``). Lookups go
    through an index built once per table (``get`` is O(1)).
    """

    kind: str
    lines: tuple[str, ...] = ()
    final_newline: bool = True
    _edit: _Edit | None = field(default=None, repr=False, compare=False)
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def parse(cls, kind: str, text: str) -> Table:
        if kind not in FIELDS:
            raise ValueError(f"unknown account database {kind!r}")
        if text == "":
            return cls(kind, (), True)
        final = text.endswith("\n")
        body = text[:-1] if final else text
        return cls(kind, tuple(body.split("\n")), final)

    def _lines(self) -> list[str] | tuple[str, ...]:
        if self._edit is None:
            return self.lines
        if self._edit.head is not self:
            raise RuntimeError(f"{self.kind}: a superseded version of an edited table was read")
        return self._edit.lines

    def _index(self) -> _Index:
        if self._edit is not None:
            self._lines()
            return self._edit.index
        index = self._cache.get("index")
        if index is None:
            index = self._cache["index"] = _Index(self.kind, self.lines)
        return index

    def render(self) -> str:
        lines = self._lines()
        if not lines:
            return ""
        return "\n".join(lines) + ("\n" if self.final_newline else "")

    def _fields(self, line: str) -> tuple[str, ...] | None:
        return _entry(self.kind, line)

    def entries(self) -> Iterator[tuple[str, ...]]:
        for line in self._lines():
            fields = self._fields(line)
            if fields is not None:
                yield fields

    def get(self, name: str) -> tuple[str, ...] | None:
        i = self._index().names.get(name)
        return None if i is None else self._fields(self._lines()[i])

    def name_with_id(self, ident: str) -> str | None:
        """The name of the first entry whose third field (uid, gid) is ``ident``."""
        return self._index().ids.get(ident)

    def names(self) -> set[str]:
        return set(self._index().names)

    def put(self, fields: Iterable[str]) -> Table:
        """Replace the first entry of that name in place, or append a new entry at the end."""
        new = tuple(fields)
        if len(new) != FIELDS[self.kind]:
            raise ValueError(f"{self.kind} entry needs {FIELDS[self.kind]} fields, got {len(new)}")
        for i, value in enumerate(new):
            check_field(value, f"{self.kind} entry {new[0]!r} field {i + 1}" if i != 0 else f"{self.kind} name")
        line = ":".join(new)
        index = self._index()
        at = index.names.get(new[0])
        lines = self._lines()
        if at is not None and lines[at] == line:
            return self
        if self._edit is not None:
            edit = self._edit
            if at is None:
                edit.lines.append(line)
                index.add(len(edit.lines) - 1, line)
            else:
                old = _entry(self.kind, edit.lines[at])
                edit.lines[at] = line
                if old is not None and len(old) > 2 and old[2] != new[2]:
                    edit.index = _Index(self.kind, edit.lines)  # an id changed: rare, rebuilt
                elif len(new) > 2:
                    index.add_id(new[2], new[0])
            handle = Table(self.kind, (), True if at is None else self.final_newline, edit)
            edit.head = handle
            return handle
        if at is not None:
            out = list(lines)
            out[at] = line
            return replace(self, lines=tuple(out), _cache={})
        return Table(self.kind, (*lines, line), True)

    def editable(self) -> Table:
        """A copy that ``put`` changes in place (see ``_Edit``)."""
        edit = _Edit(self.kind, list(self._lines()))
        handle = Table(self.kind, (), self.final_newline, edit)
        edit.head = handle
        return handle

    def frozen(self) -> Table:
        """An ordinary immutable table with this content."""
        if self._edit is None:
            return self
        return Table(self.kind, tuple(self._lines()), self.final_newline)


@record(frozen=True)
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

    def editable(self) -> Database:
        """A copy whose tables change in place: for deciding many changes in a row (the
        users stage); ``frozen`` turns it back into an ordinary immutable database."""
        return Database(self.passwd.editable(), self.shadow.editable(), self.group.editable(),
                        None if self.gshadow is None else self.gshadow.editable())

    def frozen(self) -> Database:
        return Database(self.passwd.frozen(), self.shadow.frozen(), self.group.frozen(),
                        None if self.gshadow is None else self.gshadow.frozen())

    # -- ids ---------------------------------------------------------------------------
    def used_uids(self) -> UsedIds:
        return UsedIds(self.passwd._index())

    def used_gids(self) -> UsedIds:
        return UsedIds(self.group._index())

    def user_with_uid(self, uid: int | str) -> str | None:
        return self.passwd.name_with_id(str(uid))

    def group_with_gid(self, gid: int | str) -> str | None:
        return self.group.name_with_id(str(gid))

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
        out = self
        field = _with_member(entry[3], user)
        if field is not None:
            out = replace(out, group=out.group.put((*entry[:3], field)))
        if out.gshadow is not None:
            gentry = out.gshadow.get(group)
            if gentry is None:
                gentry = (group, "!", "", "")
            gfield = _with_member(gentry[3], user, "gshadow")
            if gfield is not None:
                out = replace(out, gshadow=out.gshadow.put((*gentry[:3], gfield)))
        return out

    def put_user(self, passwd_entry: tuple[str, ...], shadow_entry: tuple[str, ...]) -> Database:
        """Add or replace a user's passwd and shadow entries (in place when they exist)."""
        return replace(self, passwd=self.passwd.put(passwd_entry), shadow=self.shadow.put(shadow_entry))


def _members(text: str) -> list[str]:
    """The member list of a group field."""
    members = text.split(",") if text else []
    return [m for m in members if m] if "" in members else members


# field text -> (members, the same as a set): a memo of the last member fields made, so that
# adding the 10,000th member of a group does not split the 9,999 others again
_MEMBERS: dict[tuple[str, str], tuple[list[str], set[str]]] = {}


def _with_member(text: str, user: str, kind: str = "group") -> str | None:
    """The member field ``text`` with ``user`` added at the end; None when already a member."""
    hit = _MEMBERS.pop((kind, text), None)
    if hit is None:
        members = _members(text)
        hit = (members, set(members))
    members, present = hit
    if user in present:
        _MEMBERS[(kind, text)] = hit
        return None
    clean = not (text.startswith(",") or text.endswith(",") or ",," in text)  # no empty items
    new = (f"{text},{user}" if members else user) if clean else ",".join([*members, user])
    members.append(user)
    present.add(user)
    if len(_MEMBERS) > 64:
        _MEMBERS.clear()
    _MEMBERS[(kind, new)] = hit
    return new


class UsedIds:
    """The ids in use in a table, as a set (``in``, iteration) with the highest one of a
    range found in O(log n): a view of the table's index, kept sorted as ids come."""

    def __init__(self, index: _Index) -> None:
        self._ids = index.ids
        self._sorted = index.sorted_ids

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int) and str(value) in self._ids

    def __iter__(self) -> Iterator[int]:
        return iter(self._sorted)

    def __len__(self) -> int:
        return len(self._sorted)

    def highest_in(self, ids: IdRange) -> int | None:
        import bisect

        i = bisect.bisect_right(self._sorted, ids.high)
        return self._sorted[i - 1] if i and self._sorted[i - 1] >= ids.low else None


def allocate_id(used: set[int] | UsedIds, ids: IdRange, *, system: bool) -> int:
    """The id ``useradd``/``groupadd`` would pick: system ids from the top of their range
    downwards; other ids one above the highest used in the range, else the lowest free.
    """
    if system:
        for candidate in range(ids.high, ids.low - 1, -1):
            if candidate not in used:
                return candidate
    else:
        if isinstance(used, UsedIds):
            top = used.highest_in(ids)
        else:
            top = max((u for u in used if u in ids), default=None)
        nxt = top + 1 if top is not None else ids.low
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
