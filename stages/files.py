"""The files stage: ``write_files`` into the target root.

Each item is decoded (``encoding``), given its mode (``permissions``, default 0644: a missing
or misspelled key never yields 0000) and owner (``owner``, default ``root:root``, names
looked up in the TARGET root's passwd/group), and written atomically through ``Root``
(parent folders created 0755). Items apply in document order, merged documents included,
with cloud-init's meaning: an item replaces the file, ``append: true`` adds its content to
what is there (unless the file already holds it, so a second run appends nothing), and the
same path given twice is written twice, in turn (the last item sets mode and owner). Items
run in the phase they ask for (``phase: initramfs``; default boot). ``parse`` decodes every
item, so a broken one is a config error in ``validate`` and ``run`` alike.

When ros-init does not run as root (``ros-init demo`` as a user), ownership is left as is and
the summary says so. Summaries name the path, mode, owner and size, never the content.
"""

from __future__ import annotations

import os
import stat

from ros_init.config.yamlsource import BinaryText
from ros_init.core.findings import Refusals, SpecError
from ros_init.core.record import NamedTuple

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from typing import Any

    from ros_init.core.model import Change, Config, StageContext
    from ros_init.core.root import Root

NAME = "files"
# No REQUIRES: an item whose owner the users stage failed to create fails alone, with its cause.

DEFAULT_MODE = 0o644
DEFAULT_OWNER = "root:root"
MAX_DECOMPRESSED = 64 << 20  # gz content of one write_files item, decompressed


class FileSpecError(SpecError):
    """A write_files item that cannot be used (its message never holds the content)."""


class FileItem(NamedTuple):
    """One ``write_files`` item, decoded. ``data`` may be a secret: never printed."""

    index: int  # position in the merged write_files list
    path: str
    data: bytes
    append: bool
    mode: int
    owner: str
    phase: str
    problem: str | None = None  # content cloud-init accepts but cannot decode either: this file fails


class FilesSpec(NamedTuple):
    items: tuple[FileItem, ...]
    # (config path, message): what validate warns about and run fails as one step, not as a
    # config error (cloud-init's schema accepts such content; its write fails at boot)
    warnings: tuple[tuple[str, str], ...] = ()


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


def _item(i: int, it: Any) -> FileItem:
    where = f"write_files[{i}]"
    if not isinstance(it, dict):
        raise FileSpecError("expected a mapping with a path", where)
    raw_path = it.get("path")
    if not isinstance(raw_path, str) or not raw_path.startswith("/"):
        raise FileSpecError("must be an absolute path", f"{where}.path")
    if "\0" in raw_path or "\n" in raw_path or ".." in raw_path.split("/"):
        raise FileSpecError("must be an absolute path without '..' or line breaks", f"{where}.path")
    path = normalize(raw_path)
    if path == "/":
        raise FileSpecError("names the root folder, not a file", f"{where}.path")
    problem = None
    try:
        data = decode_content(it.get("content"), it.get("encoding"))
    except FileSpecError as exc:
        data, problem = b"", exc.message
    refusals = Refusals()  # every refused key of the item, not the first one only
    try:
        mode = parse_mode(it.get("permissions"))
    except FileSpecError as exc:
        mode = 0
        refusals.add(FileSpecError(exc.message, f"{where}.permissions"))
    owner = it.get("owner")
    owner = DEFAULT_OWNER if owner is None else str(owner)
    phase = it.get("phase") or "boot"
    if phase not in ("boot", "initramfs"):
        refusals.add(FileSpecError("expected boot or initramfs", f"{where}.phase"))
    append = it.get("append", False)
    if not isinstance(append, bool):
        refusals.add(FileSpecError("expected true or false", f"{where}.append"))
    refusals.check()
    return FileItem(i, path, data, append, mode, owner, phase, problem)


def parse(config: Config) -> FilesSpec:
    """Pure: every write_files item decoded and checked, in document order."""
    raw = config.get("write_files")
    if raw is None:
        return FilesSpec(())
    if not isinstance(raw, list):
        raise FileSpecError("expected a list of files", "write_files")
    refusals = Refusals()
    items = tuple(item for item in (refusals.attempt(_item, i, it) for i, it in enumerate(raw)) if item is not None)
    refusals.check()
    warnings = tuple((f"write_files[{it.index}].content", f"{it.problem}: {it.path} would not be "
                      "written at boot (the other files are)") for it in items if it.problem)
    return FilesSpec(items, warnings)


def groups_for_phase(spec: FilesSpec, phase: str) -> dict[str, list[FileItem]]:
    """Pure: the items of ``phase`` that decide each path, in order of first mention.

    Applied in turn, an item that is not an append replaces the file, so the items before
    it for its path no longer matter (cloud-init writes them and then overwrites them)."""
    groups: dict[str, list[FileItem]] = {}
    for it in spec.items:
        if it.phase != phase:
            continue
        if not it.append:
            groups[it.path] = []
        groups.setdefault(it.path, []).append(it)
    return groups


def _refused(path: str, label: str, why: str) -> Change:
    from ros_init.core.changes import Refused
    from ros_init.core.model import Change

    return Change(NAME, "write-file", path, f"write {path} ({label}: cannot be written)",
                  payload=Refused(path, f"{label}: {why}"))


def _plan_path(path: str, group: list[FileItem], root: Root, ctx: StageContext) -> Change | None:
    from ros_init.accounts.lookup import OwnerError, resolve_owner
    from ros_init.core.changes import WriteFile, digest, file_reasons
    from ros_init.core.model import Change
    from ros_init.core.root import RootError

    labels = ", ".join(f"write_files[{it.index}]" for it in group)
    last = group[-1]  # applied in turn, the last item sets mode and owner
    broken = next((it.problem for it in group if it.problem), None)
    if broken:
        return _refused(path, labels, broken)
    try:
        st = root.lstat(path)
    except RootError as exc:
        return _refused(path, labels, str(exc))
    except OSError as exc:  # ENAMETOOLONG, EACCES ...: this item fails, the others are written
        return _refused(path, labels, exc.strerror or str(exc))
    if st is not None and stat.S_ISDIR(st.st_mode):
        return _refused(path, labels, "a folder is in the way")
    uid = gid = -1
    owner_note = ""
    if os.geteuid() == 0:
        try:
            o = resolve_owner(root, last.owner)
            uid, gid = o.uid, o.gid
        except OwnerError as exc:
            if not ctx.dry_run:
                return _refused(path, labels, f"{path}: {exc}")
            owner_note = f", owner {last.owner} not in the target root yet"
    else:
        owner_note = ", owner not set: not running as root"
    base_is_current = group[0].append
    is_file = st is not None and stat.S_ISREG(st.st_mode)
    current = (root.read_bytes(path) or b"") if is_file else None
    pieces = tuple(it.data for it in group)
    desired = assemble(current or b"", pieces) if base_is_current else assemble(pieces[0], pieces[1:])
    reasons = file_reasons(root, path, desired, last.mode, uid, gid)
    if not reasons:
        return None
    if base_is_current and "update content" in reasons:
        reasons[reasons.index("update content")] = "append"
    verb = "append to" if base_is_current else "write"
    summary = (f"{verb} {path} ({', '.join(reasons)}: {last.mode:04o} {last.owner}, "
               f"{sum(len(p) for p in pieces)} bytes{owner_note})")
    # An append is planned against the content read now: if the file changes before the
    # write, the step fails and the next run appends to what is there then.
    return Change(NAME, "append-file" if base_is_current else "write-file", path, summary,
                  payload=WriteFile(path, desired, last.mode, uid, gid, digest(current), check=base_is_current))


def plan(spec: FilesSpec, root: Root, ctx: StageContext) -> list[Change]:
    """One change per path of this phase whose file differs from what its items make."""
    changes = []
    for path, group in groups_for_phase(spec, ctx.phase).items():
        change = _plan_path(path, group, root, ctx)
        if change is not None:
            changes.append(change)
    return changes


def apply(change: Change, root: Root, ctx: StageContext) -> None:
    from ros_init.core.changes import apply_payload

    apply_payload(root, change.payload)
