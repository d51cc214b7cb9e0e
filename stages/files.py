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

import base64
import binascii
import gzip
import os
import stat
import zlib
from dataclasses import dataclass
from typing import Any

from ros_init.accounts import OwnerError, resolve_owner
from ros_init.model import Change, Config, StageContext
from ros_init.root import Root, RootError

NAME = "files"
PHASE = "boot"
PHASES = ("initramfs", "boot")
ORDER = 60
REQUIRES = ("users",)  # owners are the users stage's accounts

DEFAULT_MODE = 0o644
DEFAULT_OWNER = "root:root"


class FileSpecError(ValueError):
    """A write_files item that cannot be used (its message never holds the content)."""


@dataclass(frozen=True)
class FilePlan:
    path: str
    data: bytes
    mode: int
    owner: str
    uid: int  # -1: leave as is
    gid: int
    append: bool
    error: str | None = None  # the item is broken: apply fails with this


def decode_content(content: Any, encoding: str | None) -> bytes:
    """Bytes to write for ``content`` given in ``encoding`` (cloud-init's spellings)."""
    enc = (encoding or "text/plain").strip().lower()
    raw: bytes
    if content is None:
        raw = b""
    elif isinstance(content, bytes):
        raw = content
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
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error):
            raise FileSpecError("content is not valid gzip data") from None
        parts = parts[1:]
    if parts:
        raise FileSpecError(f"unknown encoding {encoding!r}")
    return raw


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


def items_for_phase(config: Config, phase: str) -> list[tuple[int, dict[str, Any]]]:
    """(index, item) of the write_files items of ``phase``; a later item for the same path
    replaces an earlier one, except appends, which all apply in order."""
    items = [(i, it) for i, it in enumerate(config.get("write_files") or []) if isinstance(it, dict)]
    mine = [(i, it) for i, it in items if (it.get("phase") or "boot") == phase]
    out: list[tuple[int, dict[str, Any]]] = []
    for i, it in mine:
        if not it.get("append"):
            out = [(j, o) for j, o in out if o.get("path") != it.get("path")]
        out.append((i, it))
    return out


def _plan_item(index: int, item: dict[str, Any], root: Root, ctx: StageContext,
               pending: dict[str, bytes]) -> Change | None:
    path = str(item.get("path") or "")
    label = f"write_files[{index}]"
    try:
        if not path.startswith("/"):
            raise FileSpecError("path must be absolute")
        data = decode_content(item.get("content"), item.get("encoding"))
        mode = parse_mode(item.get("permissions"))
        owner = str(item.get("owner") if item.get("owner") is not None else DEFAULT_OWNER)
        append = bool(item.get("append"))
        st = root.lstat(path)
    except (FileSpecError, RootError) as exc:
        return Change(NAME, "write-file", path or label, f"{label} {path or '(no path)'}: invalid: {exc}",
                      payload=FilePlan(path, b"", 0, "", -1, -1, False, error=f"{label}: {exc}"))
    as_root = os.geteuid() == 0
    uid = gid = -1
    owner_note = ""
    error = None
    if as_root:
        try:
            o = resolve_owner(root, owner)
            uid, gid = o.uid, o.gid
        except OwnerError as exc:
            if ctx.dry_run:
                owner_note = f", owner {owner} not in the target root yet"
            else:
                error = f"{label} {path}: {exc}"
    else:
        owner_note = ", owner not set: not running as root"

    if st is not None and stat.S_ISDIR(st.st_mode):
        return Change(NAME, "write-file", path, f"{label} {path}: invalid: a folder is in the way",
                      payload=FilePlan(path, b"", mode, owner, uid, gid, append, error=f"{path} is a folder"))
    is_file = st is not None and stat.S_ISREG(st.st_mode)
    current = pending.get(path)
    if current is None and is_file:
        current = root.read_bytes(path) or b""
    if append:
        base = current or b""
        new = base if (data and data in base) or not data else base + data
    else:
        new = data
    pending[path] = new

    reasons = []
    if st is None:
        reasons.append("create")
    elif not is_file:
        reasons.append("replace symlink" if stat.S_ISLNK(st.st_mode) else "replace special file")
    else:
        if new != current:
            reasons.append("append" if append else "update content")
        if stat.S_IMODE(st.st_mode) != mode:
            reasons.append(f"mode {stat.S_IMODE(st.st_mode):04o} -> {mode:04o}")
        if uid != -1 and (st.st_uid, st.st_gid) != (uid, gid):
            reasons.append(f"owner {st.st_uid}:{st.st_gid} -> {uid}:{gid}")
    if not reasons and error is None:
        return None
    action = "append-file" if append else "write-file"
    summary = f"{'append to' if append else 'write'} {path} ({', '.join(reasons) or 'check'}: {mode:04o} {owner}, {len(data)} bytes{owner_note})"
    return Change(NAME, action, path, summary,
                  payload=FilePlan(path, data, mode, owner, uid, gid, append, error=error))


def plan(config: Config, root: Root, ctx: StageContext) -> list[Change]:
    """One change per write_files item of this phase whose file differs from the target."""
    pending: dict[str, bytes] = {}
    changes = []
    for index, item in items_for_phase(config, ctx.phase):
        change = _plan_item(index, item, root, ctx, pending)
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
    data = p.data
    if p.append:
        st = root.lstat(p.path)
        base = root.read_bytes(p.path) or b"" if st is not None and stat.S_ISREG(st.st_mode) else b""
        data = base if (p.data and p.data in base) or not p.data else base + p.data
    root.write_file(p.path, data, mode=p.mode, uid=uid, gid=gid, dir_mode=0o755)
