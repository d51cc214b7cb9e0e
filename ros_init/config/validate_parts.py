"""``ros-init validate`` for the user-data formats beyond one ``#cloud-config``.

Archives are checked part by part (a cloud-config part's findings point inside the archive
file), jsonp patches as RFC 6902 operations, ``#include`` lines as URLs ros-init would
fetch (nothing is fetched), Jinja templates by rendering them with every variable left as
a placeholder (syntax errors located; the rendered cloud-config checked line by line),
boothooks by their interpreter. Nothing here touches the network or the node.
"""

from __future__ import annotations

from ros_init.config.parts import (
    PREFIX,
    REFUSED,
    FormatError,
    archive_parts,
    boothook_command,
    check_patch,
    unknown_part_reason,
)
from ros_init.core.findings import Finding, Location

_HANDLED = ("cloud-config-archive", "cloud-config-jsonp", "include", "include-once", "jinja", "cloud-boothook",
            *REFUSED)


def validate_userdata(raw: bytes, source: str, depth: int = 0) -> list[Finding] | None:
    """Findings for a user-data format other than plain ``#cloud-config``; None for those
    (and for anything else) so that the caller's own rules apply."""
    from ros_init.config.compat import header_kind
    from ros_init.config.parts import is_mime, mime_refusal

    kind = header_kind(raw.lstrip(b"\xef\xbb\xbf"))
    if kind is None and is_mime(raw):
        return _mime(raw, source, depth)
    if kind is None and mime_refusal(raw):
        return [Finding("error", "format", "", mime_refusal(raw) or "", Location(source, 1, 1))]
    if kind not in _HANDLED:
        return None
    if depth > 4:
        return [Finding("error", "too-deep", "", "user-data nested more than 4 levels deep", Location(source, 1, 1))]
    if kind in REFUSED:
        return [Finding("error", "format", "", REFUSED[kind], Location(source, 1, 1))]
    if kind == "cloud-config-archive":
        return _archive(raw, source, depth)
    if kind == "cloud-config-jsonp":
        return _jsonp(raw, source)
    if kind in ("include", "include-once"):
        return _include(raw, source)
    if kind == "jinja":
        return _jinja(raw, source, depth)
    return _boothook(raw, source)


def _errors_of(parsed: object) -> list[Finding]:
    return [f for f in parsed.findings if f.severity == "error"]  # type: ignore[attr-defined]


def _archive(raw: bytes, source: str, depth: int) -> list[Finding]:
    from ros_init.config.parts import part_kind
    from ros_init.config.yamlsource import load_document

    parsed = load_document(raw, source)
    if _errors_of(parsed):
        return list(parsed.findings)
    findings = list(parsed.findings)
    try:
        parts = archive_parts(parsed, source)
    except FormatError as exc:
        return findings + [Finding("error", "format", "", str(exc), exc.location or Location(source, 1, 1))]
    lines = raw.decode("utf-8", errors="replace").split("\n")
    for i, part in enumerate(parts, 1):
        at = parsed.location(part.path) or Location(source, 1, 1)
        kind = part_kind(part.type, part.content)
        if kind is None:
            findings.append(Finding("warning", "format", part.path, f"archive part {i}: {unknown_part_reason(part.type)}:"
                                    " ignored at boot (as cloud-init ignores it)", at))
            continue
        if kind == "script":
            continue
        content = part.content
        if kind in PREFIX and header_kind_of(content) != kind:
            content = PREFIX[kind] + content
            shift = -1  # the header we added is not in the file
        else:
            shift = 0
        sub = validate_userdata(content, source, depth + 1)
        if sub is None:
            from ros_init.config.validate import validate_bytes

            sub = validate_bytes(content, source)
        findings += [_inside(f, at, lines, shift, i) for f in sub]
    return findings


def header_kind_of(content: bytes) -> str | None:
    from ros_init.config.compat import header_kind

    return header_kind(content)


def _inside(f: Finding, at: Location, lines: list[str], shift: int, part: int) -> Finding:
    """A finding of a part's content, moved to where that content is in the archive file: for a
    block scalar (``content: |``) line by line, otherwise at the start of the value."""
    loc = f.location
    if loc is None:
        return f
    text = lines[at.line - 1][at.column - 1:] if at.line - 1 < len(lines) else ""
    line_in_part = loc.line + shift
    if text[:1] in ("|", ">") and line_in_part >= 1:
        row = at.line + line_in_part
        first = next((x for x in lines[at.line:] if x.strip()), "")  # the block's indentation
        indent = len(first) - len(first.lstrip(" "))
        new = Location(at.file, row, indent + loc.column)
    else:
        new = at
    message = f.message if text[:1] in ("|", ">") else f"{f.message} (part {part}, line {max(1, line_in_part)})"
    return Finding(f.severity, f.code, f.path, message, new)


def _jsonp(raw: bytes, source: str) -> list[Finding]:
    from ros_init.config.yamlsource import load_document

    body = raw.lstrip().split(b"\n", 1)
    parsed = load_document(b"\n" + body[1] if len(body) > 1 else b"", source)  # keep line numbers
    if _errors_of(parsed):
        return list(parsed.findings)
    why = check_patch(parsed.data)
    if why:
        return [Finding("error", "format", "", f"#cloud-config-jsonp: {why}", parsed.location("") or Location(source, 1, 1))]
    return list(parsed.findings)


def _include(raw: bytes, source: str) -> list[Finding]:
    from ros_init.config.parts import check_url

    findings = []
    for n, line in enumerate(raw.decode("utf-8", errors="replace").split("\n")[1:], 2):
        url = line.strip()
        if not url or url.startswith("#"):
            continue
        why = check_url(url)
        if why:
            col = len(line) - len(line.lstrip()) + 1
            findings.append(Finding("error", "include", "", why, Location(source, n, col)))
    return findings


def _boothook(raw: bytes, source: str) -> list[Finding]:
    body = raw.lstrip().split(b"\n", 1)
    try:
        boothook_command(body[1] if len(body) > 1 else b"")
    except FormatError as exc:
        return [Finding("error", "format", "", str(exc), Location(source, 2, 1))]
    return []


def _jinja(raw: bytes, source: str, depth: int) -> list[Finding]:
    """Rendered with every variable a placeholder (their values exist only at boot), then
    checked; findings about those placeholders are dropped, the rest is located on the
    template's lines."""
    from ros_init.config.template import TemplateError, render, split_header

    split = split_header(raw.lstrip(b" \t\r\n"))
    if split is None:
        return [Finding("error", "format", "", "the first line must be `## template: jinja`", Location(source, 1, 1))]
    body, header_lines = split
    try:
        rendered = render(body, {}, header_lines=header_lines, placeholders=True)
    except TemplateError as exc:
        return [Finding("error", "template", "", str(exc), Location(source, exc.line or 1, 1))]
    sub = validate_userdata(rendered, source, depth + 1)
    if sub is None:
        from ros_init.config.validate import validate_bytes

        sub = validate_bytes(rendered, source)
    import difflib

    from ros_init.config.template import PLACEHOLDER, V1_NAMES, unknown_v1_names

    out_v1 = []
    for line, col, name in unknown_v1_names(body.decode("utf-8", errors="replace")):
        close = difflib.get_close_matches(name.replace("-", "_"), V1_NAMES, n=1, cutoff=0.7)
        hint = f"; did you mean `v1.{close[0]}`?" if close else f" (known: {', '.join(V1_NAMES)})"
        out_v1.append(Finding("warning", "template", "", f"`v1.{name}` is not instance data ros-init gives: the"
                              f" template would stop at boot with an undefined variable{hint}",
                              Location(source, line + header_lines, col)))
    from ros_init.config.yamlsource import load_document

    data = load_document(rendered, source).data
    templated = [p for p, v in _scalars(data, "") if isinstance(v, str) and PLACEHOLDER in v]
    out = []
    for f in sub:
        if f.code == "template" or any(f.path == p or f.path.startswith((p + ".", p + "[")) for p in templated):
            continue  # about a value only the instance data will give
        loc = f.location
        out.append(Finding(f.severity, f.code, f.path, f.message,
                           Location(loc.file, loc.line + header_lines, loc.column) if loc else None))
    return out_v1 + out


def _scalars(value: object, path: str):
    """(path, value) of every scalar below ``value``."""
    from ros_init.config.yamlsource import join_path

    if isinstance(value, dict):
        for k, v in value.items():
            yield from _scalars(v, join_path(path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _scalars(v, join_path(path, i))
    else:
        yield path, value


def _mime(raw: bytes, source: str, depth: int) -> list[Finding]:
    """MIME multipart user-data: each part checked like an archive part, located at the line
    where its content starts in the file (base64 parts: at that line only)."""
    from email import message_from_bytes

    from ros_init.config.parts import mime_text, part_kind

    msg = message_from_bytes(mime_text(raw))  # what the decoder parses
    leaves = [p for p in (msg.walk() if msg.is_multipart() else [msg]) if not p.is_multipart()]
    findings: list[Finding] = []
    text = raw.decode("utf-8", errors="replace")
    cursor = 0  # parts appear in the file in order: each is searched after the one before
    for i, part in enumerate(leaves, 1):
        payload = part.get_payload(decode=True) or b""
        raw_body = part.get_payload()
        offset = -1
        if isinstance(raw_body, str) and raw_body.strip():
            for sep in ("\n\n", "\r\n\r\n"):  # a body starts after its headers' blank line
                found = text.find(sep + raw_body, cursor)
                if found >= 0:
                    offset = found + len(sep)
                    break
        if offset >= 0:
            cursor = offset + len(raw_body)
        start = text.count("\n", 0, offset) + 1 if offset >= 0 else 1
        at = Location(source, start, 1)
        kind = part_kind(part.get_content_type(), payload)
        if kind is None:
            findings.append(Finding("warning", "format", "", f"MIME part {i} ({part.get_content_type()}):"
                                    f" {unknown_part_reason(part.get_content_type())}: ignored at boot (as cloud-init"
                                    " ignores it)", at))
            continue
        if kind == "script" or payload[:2] == b"\x1f\x8b":
            continue
        shift = 0
        if kind in PREFIX and header_kind_of(payload) != kind:
            payload, shift = PREFIX[kind] + payload, -1
        sub = validate_userdata(payload, source, depth + 1)
        if sub is None:
            from ros_init.config.validate import validate_bytes

            sub = validate_bytes(payload, source)
        verbatim = part.get("Content-Transfer-Encoding", "").lower() not in ("base64", "quoted-printable")
        for f in sub:
            loc = f.location
            if loc is not None and verbatim and offset >= 0:
                loc = Location(source, start + loc.line + shift - 1, loc.column)
            elif loc is not None:
                loc = at
            findings.append(Finding(f.severity, f.code, f.path, f.message if verbatim else f"{f.message} (MIME part {i})",
                                    loc))
    return findings
