"""The files stage: ``write_files`` into the target root.

Each item is decoded (``encoding``), given its mode (``permissions``, default 0644: a missing
or misspelled key never yields 0000) and owner (``owner``, default ``root:root``, names
looked up in the TARGET root's passwd/group), and written atomically through ``Root``
(parent folders created 0755). ``append: true`` adds the content unless the file already
contains it, so a second run appends nothing. Items run in the phase they ask for
(``phase: initramfs``; default boot).

When ros-init does not run as root (``ros-init demo`` as a user), ownership is left as is and
the summary says so. Summaries name the path, mode, owner and size, never the content.
"""

from __future__ import annotations

import os
import stat
from typing import Any, NamedTuple

from ros_init.accounts.lookup import OwnerError, resolve_owner
from ros_init.config.yamlsource import BinaryText
from ros_init.core.model import Change, Config, StageContext
from ros_init.core.root import Root, RootError

NAME = "files"
# No REQUIRES: an item whose owner the users stage failed to create fails alone, with its cause.

DEFAULT_MODE = 0o644
DEFAULT_OWNER = "root:root"
MAX_DECOMPRESSED = 64 << 20  # gz content of one write_files item, decompressed


class FileSpecError(ValueError):
    """A write_files item that cannot be used (its message never holds the content)."""


class FilePlan(NamedTuple):
    """What to write at one path: the pieces of its items, in order, and the last item's
    mode and owner. ``base_is_current``: the first piece is an append, so the file's current
    content comes first."""

    path: str
    pieces: tuple[bytes, ...]
    base_is_current: bool
    mode: int
    owner: str
    uid: int  # -1: leave as is
    gid: int
    error: str | None = None  # the item is broken: apply fails with this


def assemble(base: bytes, pieces: tuple[bytes, ...]) -> bytes:
    """Content after appending each piece, skipping a piece the content already holds (so
    appending is idempotent)."""
    out = base
    for piece in pieces:
        if piece and piece not in out:
            out += piece
    return out


def decode_content(content: Any, encoding: str | None) -> bytes:
    """Bytes to write for ``content`` given in ``encoding`` (cloud-init's spellings)."""
    import base64
    import binascii

    enc = (encoding or "text/plain").strip().lower()
    raw: bytes
    if content is None:
        raw = b""
    elif isinstance(content, bytes):
        raw = content
    elif isinstance(content, BinaryText):  # `content: !!binary |` (cloud-init's form): bytes
        raw = content.as_bytes()
    else:
        raw = str(content).encode("utf-8", errors="surrogateescape")
    parts = enc.split("+")
    if enc in ("text/plain", ""):
        return raw
    if parts[-1] in ("b64", "base64"):
        try:
            raw = base64.b64decode(b"".join(raw.split()), validate=True)
        except (binascii.Error, ValueError):
            raise FileSpecError("content is not valid base64") from None
        parts = parts[:-1]
    if parts and parts[0] in ("gz", "gzip"):
        raw = gunzip_bounded(raw, MAX_DECOMPRESSED)
        parts = parts[1:]
    if parts:
        raise FileSpecError(f"unknown encoding {encoding!r}")
    return raw


def gunzip_bounded(data: bytes, limit: int) -> bytes:
    """gzip content (one or more members), refused when it expands beyond ``limit`` bytes:
    a few MiB of config must not make ros-init allocate gigabytes (a gzip bomb)."""
    import zlib

    out: list[bytes] = []
    size = 0
    rest = data
    try:
        while True:
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            chunk = d.decompress(rest, limit - size + 1)
            size += len(chunk)
            if size > limit or d.unconsumed_tail:
                raise FileSpecError(f"gzip content expands beyond the {limit >> 20} MiB limit for one file")
            out.append(chunk)
            if not d.eof:
                raise FileSpecError("content is not valid gzip data (truncated)")
            rest = d.unused_data
            if not rest:
                return b"".join(out)
    except zlib.error:
        raise FileSpecError("content is not valid gzip data") from None


def parse_mode(value: Any) -> int:
    """``permissions`` -> mode bits: "0644", "644", "0o644", or an int (YAML octal 0644)."""
    if value is None:
        return DEFAULT_MODE
    if isinstance(value, bool):
        raise FileSpecError(f"permissions {value!r} is not an octal mode")
    if isinstance(value, int):
        mode = value
    else:
        text = str(value).strip().lower()
        text = text[2:] if text.startswith("0o") else text
        if not text or any(c not in "01234567" for c in text):
            raise FileSpecError(f"permissions {value!r} is not an octal mode like \"0644\"")
        mode = int(text, 8)
    if not 0 <= mode <= 0o7777:
        raise FileSpecError(f"permissions {value!r} is out of range (at most 07777)")
    return mode


def normalize(path: str) -> str:
    """One spelling per file (``//`` and ``.`` removed; ``..`` kept, for Root to refuse)."""
    if not path.startswith("/"):
        return path
    return "/" + "/".join(p for p in path.split("/") if p not in ("", "."))


def items_for_phase(config: Config, phase: str) -> dict[str, list[tuple[int, dict[str, Any]]]]:
    """The write_files items of ``phase`` grouped by path, in order of first mention. A
    non-append item discards the items before it for its path (it replaces the file)."""
    groups: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for i, it in enumerate(config.get("write_files") or []):
        if not isinstance(it, dict) or (it.get("phase") or "boot") != phase:
            continue
        path = normalize(str(it.get("path") or ""))
        if not it.get("append"):
            groups[path] = []
        groups.setdefault(path, []).append((i, it))
    return groups


def _broken(path: str, label: str, why: str) -> Change:
    return Change(NAME, "write-file", path or label, f"write {path or '(no path)'} ({label}: cannot be written)",
                  payload=FilePlan(path, (), False, 0, "", -1, -1, error=f"{label}: {why}"))


def _plan_path(path: str, group: list[tuple[int, dict[str, Any]]], root: Root, ctx: StageContext) -> Change | None:
    labels = ", ".join(f"write_files[{i}]" for i, _ in group)
    pieces = []
    try:
        if not path.startswith("/"):
            raise FileSpecError("path must be absolute")
        for _, item in group:
            pieces.append(decode_content(item.get("content"), item.get("encoding")))
            parse_mode(item.get("permissions"))
        last = group[-1][1]  # applied in turn, the last item sets mode and owner
        mode = parse_mode(last.get("permissions"))
        owner = str(last.get("owner") if last.get("owner") is not None else DEFAULT_OWNER)
        st = root.lstat(path)
    except (FileSpecError, RootError) as exc:
        return _broken(path, labels, str(exc))
    except OSError as exc:  # ENAMETOOLONG, EACCES ...: this item fails, the others are written
        return _broken(path, labels, exc.strerror or str(exc))
    if st is not None and stat.S_ISDIR(st.st_mode):
        return _broken(path, labels, "a folder is in the way")
    uid = gid = -1
    owner_note = ""
    error = None
    if os.geteuid() == 0:
        try:
            o = resolve_owner(root, owner)
            uid, gid = o.uid, o.gid
        except OwnerError as exc:
            if ctx.dry_run:
                owner_note = f", owner {owner} not in the target root yet"
            else:
                error = f"{labels} {path}: {exc}"
    else:
        owner_note = ", owner not set: not running as root"

    base_is_current = bool(group[0][1].get("append"))
    is_file = st is not None and stat.S_ISREG(st.st_mode)
    current = (root.read_bytes(path) or b"") if is_file else None
    if base_is_current:
        desired = assemble(current or b"", tuple(pieces))
    else:
        desired = assemble(pieces[0], tuple(pieces[1:]))
    reasons = []
    if st is None:
        reasons.append("create")
    elif not is_file:
        reasons.append("replace symlink" if stat.S_ISLNK(st.st_mode) else "replace special file")
    else:
        if desired != current:
            reasons.append("append" if base_is_current else "update content")
        if stat.S_IMODE(st.st_mode) != mode:
            reasons.append(f"mode {stat.S_IMODE(st.st_mode):04o} -> {mode:04o}")
        if uid != -1 and (st.st_uid, st.st_gid) != (uid, gid):
            reasons.append(f"owner {st.st_uid}:{st.st_gid} -> {uid}:{gid}")
    if not reasons and error is None:
        return None
    verb = "append to" if base_is_current else "write"
    summary = (f"{verb} {path} ({', '.join(reasons) or 'check'}: {mode:04o} {owner}, "
               f"{sum(len(p) for p in pieces)} bytes{owner_note})")
    return Change(NAME, "append-file" if base_is_current else "write-file", path, summary,
                  payload=FilePlan(path, tuple(pieces), base_is_current, mode, owner, uid, gid, error=error))


def plan(config: Config, root: Root, ctx: StageContext) -> list[Change]:
    """One change per path of this phase whose file differs from what its items make."""
    changes = []
    for path, group in items_for_phase(config, ctx.phase).items():
        change = _plan_path(path, group, root, ctx)
        if change is not None:
            changes.append(change)
    return changes


def apply(change: Change, root: Root, ctx: StageContext) -> None:
    p: FilePlan = change.payload
    if p.error:
        raise FileSpecError(p.error)
    uid, gid = p.uid, p.gid
    if os.geteuid() == 0 and uid == -1:  # the owner was unknown at plan time: try again now
        o = resolve_owner(root, p.owner)
        uid, gid = o.uid, o.gid
    if p.base_is_current:  # re-read: the file is what it is now, not what it was at plan time
        st = root.lstat(p.path)
        base = (root.read_bytes(p.path) or b"") if st is not None and stat.S_ISREG(st.st_mode) else b""
        data = assemble(base, p.pieces)
    else:
        data = assemble(p.pieces[0], p.pieces[1:])
    root.write_file(p.path, data, mode=p.mode, uid=uid, gid=gid, dir_mode=0o755)
