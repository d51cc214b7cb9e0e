"""The pure rules of cloud-init's user-data formats, shared by the decoder
(``ros_init.sources.userdata``, which fetches and renders) and ``ros-init validate``
(which checks without fetching anything).

Archive parts, RFC 6902 patches, ``#include`` URLs, boothook interpreters and the
MIME types of parts: each check returns the reason a thing is refused, never raises for
bad input.
"""

from __future__ import annotations

from ros_init.core.findings import Location

# MIME type of a part (MIME multipart, #cloud-config-archive) -> the kind its header names.
PART_TYPES = {
    "text/cloud-config": "cloud-config", "text/cloud-config-jsonp": "cloud-config-jsonp",
    "text/cloud-config-archive": "cloud-config-archive", "text/x-shellscript": "script",
    "text/x-shellscript-per-instance": "script", "text/x-shellscript-per-once": "script",
    "text/x-shellscript-per-boot": "cloud-boothook", "text/cloud-boothook": "cloud-boothook",
    "text/x-include-url": "include", "text/x-include-once-url": "include-once", "text/jinja2": "jinja",
    "text/part-handler": "part-handler",
}
UNTYPED = (None, "", "text/plain", "application/octet-stream", "application/gzip", "application/x-gzip")
# The header a typed part's content gets when it lacks one (the type says what it is).
PREFIX = {"cloud-config": b"#cloud-config\n", "cloud-config-jsonp": b"#cloud-config-jsonp\n",
          "cloud-config-archive": b"#cloud-config-archive\n", "include": b"#include\n",
          "include-once": b"#include-once\n", "jinja": b"## template: jinja\n", "cloud-boothook": b"#cloud-boothook\n"}
REFUSED = {
    "part-handler": "#part-handler is refused: it runs Python code inside the configurator; use a #! script part",
}
SHELLS = ("sh", "bash", "dash", "ash", "ksh", "zsh")


MIME_WINDOW = 4096  # cloud-init looks for `MIME-Version:` in the first 4096 bytes


def mime_text(data: bytes) -> bytes:
    """The bytes a MIME parser is given: without a UTF-8 BOM and leading blank lines (both
    readers, ``ros-init validate`` and the decoder, parse exactly these)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return data.lstrip(b" \t\r\n")


def _header_names(data: bytes) -> set[str] | None:
    """The lower-cased field names of the header block that starts ``data`` (up to its first
    blank line, within MIME_WINDOW), or None when the first line is not a header field."""
    names: set[str] = set()
    for n, line in enumerate(mime_text(data)[:MIME_WINDOW].split(b"\n")):
        line = line.rstrip(b"\r")
        if not line:
            break
        if line[:1] in (b" ", b"\t") and n:  # a folded continuation of the field before
            continue
        name, colon, _ = line.partition(b":")
        if not colon or not name or any(c <= 32 or c > 126 for c in name):
            return None if n == 0 else names  # the header block ends at the first line that is no field
        names.add(name.decode("ascii").lower())
    return names or None


def is_mime(data: bytes) -> bool:
    """Is this user-data a MIME message? cloud-init's rule (``convert_string``): a
    ``MIME-Version:`` field, in any case, within the first 4096 bytes; header order and the
    fields' case do not matter. ros-init reads it in the header block only (so a cloud-config
    or a script quoting a mail header is not MIME) after leading blank lines, which cloud-init's
    parser would take for an empty header block. The one test for ``validate`` and the decoder."""
    names = _header_names(data)
    return names is not None and "mime-version" in names


def mime_refusal(data: bytes) -> str | None:
    """Why user-data that starts with MIME headers but no ``MIME-Version`` is refused, or None:
    cloud-init does not read it as MIME (it would ignore the whole user-data)."""
    names = _header_names(data)
    if names is None or "mime-version" in names or "content-type" not in names:
        return None
    return ("MIME user-data without a `MIME-Version: 1.0` header: cloud-init does not read it as MIME and"
            " ignores it whole; add the header")


class FormatError(ValueError):
    """A malformed part; ``location`` points into the user-data when known."""

    def __init__(self, message: str, location: Location | None = None) -> None:
        super().__init__(message)
        self.location = location


class ArchivePart:
    """One part of a ``#cloud-config-archive``; ``path`` is where its content is in the archive
    (``[3].content``). A plain class: this module is on the boot path, and cheap to import."""

    __slots__ = ("content", "type", "filename", "launch_index", "path")

    def __init__(self, content: bytes, type: str | None, filename: str | None, launch_index: int | None,
                 path: str) -> None:
        self.content, self.type, self.filename, self.launch_index, self.path = content, type, filename, launch_index, path


def part_kind(ctype: str | None, content: bytes) -> str | None:
    """What a part is: by its MIME type, or (untyped) by its header; None when unknown."""
    from ros_init.config.compat import header_kind

    if ctype in UNTYPED:
        return header_kind(content)
    return PART_TYPES.get(ctype or "")


def unknown_part_reason(ctype: str | None) -> str:
    """Why a part that no handler takes is skipped (cloud-init skips it too)."""
    if ctype in UNTYPED:
        return "no known header (#cloud-config, #!, #include ...) and no MIME type"
    return (f"part type {ctype} has no handler (text/cloud-config, text/x-shellscript, text/cloud-config-jsonp,"
            " text/cloud-boothook, text/x-include-url, text/jinja2 ...)")


def archive_parts(doc: object, source: str) -> list[ArchivePart]:
    """The parts of a parsed ``#cloud-config-archive`` (a ``ParsedDocument``): each a string,
    or a mapping with ``content`` and optional ``type``, ``filename``, ``launch-index``."""
    items = doc.data  # type: ignore[attr-defined]
    if items is None:
        return []
    if not isinstance(items, list):
        raise FormatError("#cloud-config-archive must be a list of parts", doc.location(""))  # type: ignore[attr-defined]
    out = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            out.append(ArchivePart(item.encode(), None, None, None, f"[{i}]"))
            continue
        at = doc.location(f"[{i}]")  # type: ignore[attr-defined]
        if not isinstance(item, dict) or not isinstance(item.get("content"), str):
            raise FormatError(f"archive part {i + 1} needs a string `content`", at)
        ctype, filename, index = item.get("type"), item.get("filename"), item.get("launch-index")
        if ctype is not None and not isinstance(ctype, str):
            raise FormatError(f"archive part {i + 1}: `type` must be a MIME type string", at)
        if isinstance(index, str) and index.strip().isdigit():
            index = int(index)  # cloud-init converts it too
        if index is not None and (not isinstance(index, int) or isinstance(index, bool)):
            raise FormatError(f"archive part {i + 1}: `launch-index` must be an integer", at)
        out.append(ArchivePart(item["content"].encode(), ctype, str(filename) if filename is not None else None,
                               index, f"[{i}].content"))
    return out


def check_patch(ops: object) -> str | None:
    """Why ``ops`` is not an RFC 6902 patch, or None (``jsonpatch`` parses each operation)."""
    if not isinstance(ops, list):
        return "expected a list of operations like [{op: add, path: /runcmd/-, value: ls}]"
    import jsonpatch

    for i, op in enumerate(ops):
        if not isinstance(op, dict) or not isinstance(op.get("op"), str) or not isinstance(op.get("path"), str):
            return f"operation {i}: expected a mapping with `op` and `path`"
        try:
            jsonpatch.JsonPatch([op])  # the constructor checks each operation's shape
        except (jsonpatch.InvalidJsonPatch, jsonpatch.JsonPointerException, TypeError, KeyError) as exc:
            return f"operation {i}: {exc}"
    return None


def check_url(url: str) -> str | None:
    """Why ``url`` may not be included, or None when it may."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return "not a URL"
    if parts.scheme.lower() not in ("http", "https"):
        scheme = f"{parts.scheme}:" if parts.scheme else "a line without a scheme"
        return (f"{scheme} refused: only http:// and https:// URLs are included (a file: URL would read the"
                " node's own files)")
    if not host:
        return "the URL has no host"
    return None


def boothook_command(body: bytes) -> list[str]:
    """The bootcmd entry a boothook becomes: ``[shell, -c, script]``; FormatError for a
    boothook that is not a shell script."""
    text = body.decode("utf-8", errors="replace").lstrip("\r\n")
    if not text.startswith("#!"):
        return ["/bin/sh", "-c", text]
    shebang = text.split("\n", 1)[0][2:].strip().split()
    prog = shebang[0] if shebang else "/bin/sh"
    if prog.endswith("/env") and len(shebang) > 1:
        prog = shebang[1]
    name = prog.rsplit("/", 1)[-1]
    if name not in SHELLS:
        raise FormatError(f"a #cloud-boothook for `{name}` is refused: boothooks run as shell bootcmd entries at"
                          " every boot; use a #! script part (once per instance) or bootcmd")
    return [prog if prog.startswith("/") else f"/bin/{name}", "-c", text]
