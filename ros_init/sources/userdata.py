"""User-data bytes -> config documents and scripts, in every format cloud-init reads.

Accepted: ``#cloud-config`` YAML (cloud-init's header rule: a case-insensitive prefix after
leading whitespace), gzip (detected by its magic), MIME multipart and
``#cloud-config-archive`` (parts dispatched by type, ``multipart/*`` nested; a part's
``Merge-Type`` header is its merge directive), ``#cloud-config-jsonp`` (RFC 6902 patches,
applied to the merged config by ``ros_init.config.merge``), ``#include`` /
``#include-once`` (URLs fetched through the one HTTP client: ``ros_init.sources.include``),
``## template: jinja`` (rendered with cloud-init's instance data: ``ros_init.config.template``),
``#cloud-boothook`` (a shell script run early at every boot: turned into a ``bootcmd`` entry),
and ``#!`` scripts (run once per instance by the commands stage). Parts of one payload that
carry ``merge_how`` / ``merge_type`` are folded cloud-init's way (``ros_init.config.mergehow``).
Refused, with the reason: ``#part-handler`` (Python code run inside the configurator),
boothooks that are not shell scripts, unknown MIME types, and anything else: ros-init never
guesses what a document meant.
"""

from __future__ import annotations

import zlib

from ros_init.config.parts import (
    PREFIX,
    REFUSED,
    UNTYPED,
    FormatError,
    archive_parts,
    boothook_command,
    check_patch,
    is_mime,
    mime_refusal,
    unknown_part_reason,
)
from ros_init.core.logger import logger
from ros_init.core.model import ConfigDocument, Layer, Script
from ros_init.core.record import field, record

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

LOG = logger("ros_init.sources.userdata")
MAX_DECOMPRESSED = 16 * 1024 * 1024
MAX_PARTS = 100
MAX_DEPTH = 4  # MIME in archive in include in gzip ...: deeper is refused


class UserDataError(Exception):
    """User-data that ros-init cannot use; the message names the source and the reason."""


@record
class Decoded:
    configs: list[ConfigDocument] = field(default_factory=list)
    scripts: list[Script] = field(default_factory=list)


@record
class Context:
    """What decoding may use besides the bytes: instance data for Jinja templates, and the
    HTTP fetch for ``#include`` (None: includes are refused, e.g. in ``validate``)."""

    instance_data: dict[str, Any] | None = None
    fetch: Callable[[str, str], bytes] | None = None
    parts: int = 0  # parts decoded so far, across includes (MAX_PARTS)


def _gunzip(data: bytes, source: str) -> bytes:
    try:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out = d.decompress(data, MAX_DECOMPRESSED + 1)
    except zlib.error as exc:
        raise UserDataError(f"{source}: user-data is gzip but does not decompress: {exc}") from None
    if len(out) > MAX_DECOMPRESSED or d.unconsumed_tail:
        raise UserDataError(f"{source}: gzip user-data expands beyond {MAX_DECOMPRESSED} bytes")
    return out


def _config_doc(text: bytes, source: str, layer: Layer) -> ConfigDocument:
    """Parse a cloud-config YAML document through the shared loader."""
    from ros_init.config.yamlsource import load_document

    parsed = load_document(text, source)
    errors = [f for f in parsed.findings if f.severity == "error"]
    if errors:
        raise UserDataError("; ".join(f.render() for f in errors))
    for f in parsed.findings:  # warnings (YAML 1.1 traps ...) are worth a line; findings hold no secrets
        LOG.warning("%s", f.render())
    data = parsed.data
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UserDataError(f"{source}: a cloud-config must be a mapping, found {type(data).__name__}")
    return ConfigDocument(source=source, layer=layer, data=data, positions=dict(parsed.positions),
                          key_positions=dict(parsed.key_positions), plain_scalars=dict(parsed.plain_scalars))


def parse_mapping(data: bytes, source: str) -> dict:
    """A metadata document (YAML or JSON) that must be a mapping; empty means ``{}``."""
    doc = _config_doc(data, source, Layer.METADATA)
    return doc.data



def decode(data: bytes, source: str, layer: Layer = Layer.USER, *, yaml_without_header: bool = False,
           context: Context | None = None, _depth: int = 0) -> Decoded:
    """Decode one user-data payload. ``yaml_without_header`` accepts plain YAML (drop-in files).

    Raises UserDataError for anything that is not a supported format.
    """
    ctx = context or Context()
    out = _decode(data, source, layer, yaml_without_header, ctx, _depth)
    if _depth == 0:
        out.configs = fold_directives(out.configs, source)
    return out


def _decode(data: bytes, source: str, layer: Layer, yaml_without_header: bool, ctx: Context, depth: int) -> Decoded:
    from ros_init.config.compat import header_kind

    out = Decoded()
    if depth > MAX_DEPTH:
        raise UserDataError(f"{source}: user-data nested more than {MAX_DEPTH} levels deep (gzip, MIME, archive, include)")
    if data[:2] == b"\x1f\x8b":
        return _decode(_gunzip(data, source), source, layer, yaml_without_header, ctx, depth + 1)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    head = data.lstrip(b" \t\r\n")
    if not head:
        return out
    first_line = head.split(b"\n", 1)[0].rstrip(b"\r").strip()
    kind = header_kind(head)
    if kind == "cloud-config":
        out.configs.append(_config_doc(head, source, layer))
    elif kind == "script":
        out.scripts.append(Script(source=source, name=_script_name(source), content=head))
    elif kind == "cloud-config-archive":
        _archive(head, source, layer, ctx, depth, out)
    elif kind == "cloud-config-jsonp":
        out.configs.append(_jsonp(head, source, layer))
    elif kind in ("include", "include-once"):
        _include(head, source, layer, ctx, depth, out, once=kind == "include-once")
    elif kind == "jinja":
        _add(out, _decode(_render(data, source, ctx), source, layer, yaml_without_header, ctx, depth + 1))
    elif kind == "cloud-boothook":
        body = head.split(b"\n", 1)[1] if b"\n" in head else b""
        try:
            out.configs.append(ConfigDocument(source=source, layer=layer, data={"bootcmd": [boothook_command(body)]}))
        except FormatError as exc:
            raise UserDataError(f"{source}: {exc}") from None
    elif kind in REFUSED:
        raise UserDataError(f"{source}: {REFUSED[kind]}")
    elif is_mime(head):
        _decode_mime(head, source, layer, ctx, depth, out)
    elif mime_refusal(head):
        raise UserDataError(f"{source}: {mime_refusal(head)}")
    elif yaml_without_header:
        out.configs.append(_config_doc(head, source, layer))
    else:
        raise UserDataError(
            f"{source}: user-data is not a supported format (first line {_show(first_line)}): expected '#cloud-config',"
            " '#!' script, '#cloud-config-archive', '#cloud-config-jsonp', '#include', '## template: jinja',"
            " '#cloud-boothook', gzip or MIME multipart")
    return out


def decode_vendor(data: bytes, source: str, context: Context | None = None, logger: Any = None) -> Decoded:
    """Vendor-data, decoded as ``decode`` does; when it cannot be used it is logged (its source
    and the reason, never its content) and left out, as cloud-init logs and ignores it: it is
    the platform's, not the user's to fix, and the source's user-data and meta-data still count.
    The one rule for every datasource (seed volumes, seed URLs, metadata services)."""
    try:
        return decode(data, source, Layer.VENDOR, context=context)
    except UserDataError as exc:
        vendor_ignored(source, str(exc), logger)
        return Decoded()


def vendor_ignored(source: str, why: str, logger: Any = None) -> None:
    """The one warning for unusable vendor-data (``why`` holds no content: UserDataError and
    the JSON errors name places, not values)."""
    at = "" if why.startswith(source) else f"{source}: "
    (logger or LOG).warning("%s%s (vendor-data ignored, as cloud-init ignores it; user-data and meta-data are used)",
                            at, why)


def _add(out: Decoded, sub: Decoded) -> None:
    out.configs += sub.configs
    out.scripts += sub.scripts


def _count(ctx: Context, source: str) -> None:
    ctx.parts += 1
    if ctx.parts > MAX_PARTS:
        raise UserDataError(f"{source}: user-data has more than {MAX_PARTS} parts")


# -- the formats ---------------------------------------------------------------------------
def _jsonp(head: bytes, source: str, layer: Layer) -> ConfigDocument:
    """``#cloud-config-jsonp``: a JSON (or YAML) list of RFC 6902 operations, checked now,
    applied to the merged config later (``ros_init.config.merge``)."""
    from ros_init.config.yamlsource import load_document

    parsed = load_document(head, source)
    errors = [f for f in parsed.findings if f.severity == "error"]
    if errors:
        raise UserDataError("; ".join(f.render() for f in errors))
    why = check_patch(parsed.data)
    if why:
        raise UserDataError(f"{source}: #cloud-config-jsonp: {why}")
    return ConfigDocument(source=source, layer=layer, data={}, positions=dict(parsed.positions),
                          patches=list(parsed.data))  # type: ignore[arg-type]


def _include(head: bytes, source: str, layer: Layer, ctx: Context, depth: int, out: Decoded, *, once: bool) -> None:
    """``#include``: one URL per line (comments and blank lines skipped); each body is user-data."""
    from ros_init.config.parts import check_url
    from ros_init.sources.httpfetch import safe_url
    from ros_init.sources.include import IncludeError

    lines = head.decode("utf-8", errors="replace").split("\n")[1:]
    for n, raw_line in enumerate(lines, 2):
        url = raw_line.strip()
        if not url or url.startswith("#"):
            continue
        where = f"{source} line {n}"
        why = check_url(url)
        if why:
            raise UserDataError(f"{where}: {why}")
        if ctx.fetch is None:
            raise UserDataError(f"{where}: #include is not fetched here (it is in every datasource's user-data;"
                                " not in the kernel command line's ros.config or the image defaults)")
        _count(ctx, source)
        try:
            body = ctx.fetch(url, f"#include {where}")
        except IncludeError as exc:
            if once:  # fetched each boot here (ros-init keeps no copy): a URL that expired is no failure
                LOG.warning("%s (#include-once: skipped)", exc)
                continue
            raise UserDataError(str(exc)) from None
        _add(out, _decode(body, f"{source} include {safe_url(url)}", layer, False, ctx, depth + 1))


def _render(data: bytes, source: str, ctx: Context) -> bytes:
    from ros_init.config.template import TemplateError, render, split_header

    split = split_header(data.lstrip(b" \t\r\n"))
    if split is None:
        raise UserDataError(f"{source}: the first line must be exactly `## template: jinja`")
    body, header_lines = split
    try:
        return render(body, ctx.instance_data or {"v1": {}, "ds": {"meta_data": {}}}, header_lines=header_lines)
    except TemplateError as exc:
        at = f":{exc.line}" if exc.line else ""
        raise UserDataError(f"{source}{at}: {exc}") from None


def _part(payload: bytes, ctype: str | None, name: str, where: str, layer: Layer, ctx: Context, depth: int,
          out: Decoded, merge_type: str | None = None) -> None:
    """One MIME or archive part, dispatched by its type (or, untyped, by its content)."""
    from ros_init.config.compat import header_kind
    from ros_init.config.parts import part_kind

    _count(ctx, where)
    if payload[:2] == b"\x1f\x8b" or ctype in ("application/gzip", "application/x-gzip"):
        payload = _gunzip(payload, where)
    kind = part_kind(ctype, payload)
    if kind is None and not (ctype in UNTYPED and is_mime(payload)):
        # cloud-init has no handler for it either and goes on without it: so does ros-init, saying so
        LOG.warning("%s: %s: part ignored, as cloud-init ignores it", where, unknown_part_reason(ctype))
        return
    if kind == "script":
        out.scripts.append(Script(source=where, name=_script_name(name), content=payload))
        return
    if kind in PREFIX and header_kind(payload) != kind:
        payload = PREFIX[kind] + payload  # the type says what the content is; it may lack the header
    sub = _decode(payload, where, layer, False, ctx, depth + 1)
    if merge_type and kind == "cloud-config":
        for doc in sub.configs:
            if isinstance(doc.data, dict) and "merge_how" not in doc.data and "merge_type" not in doc.data:
                doc.data = {**doc.data, "merge_how": merge_type}
    _add(out, sub)


def _archive(head: bytes, source: str, layer: Layer, ctx: Context, depth: int, out: Decoded) -> None:
    """``#cloud-config-archive``: a YAML list of parts (``ros_init.config.parts.archive_parts``)."""
    from ros_init.config.yamlsource import load_document

    parsed = load_document(head, source)
    errors = [f for f in parsed.findings if f.severity == "error"]
    if errors:
        raise UserDataError("; ".join(f.render() for f in errors))
    try:
        parts = archive_parts(parsed, source)
    except FormatError as exc:
        raise UserDataError(f"{exc.location or source}: {exc}") from None
    for i, part in enumerate(parts, 1):
        where = f"{source} part {i}" + (f" ({part.filename})" if part.filename else "")
        _part(part.content, part.type, part.filename or f"part-{i:03d}", where, layer, ctx, depth, out)


# -- merge directives --------------------------------------------------------------------------
def fold_directives(configs: list[ConfigDocument], source: str) -> list[ConfigDocument]:
    """Parts of one payload with ``merge_how``/``merge_type``: folded cloud-init's way into one
    document (jsonp parts patch the fold in place); without any directive, unchanged."""
    from ros_init.config import mergehow

    if not any(isinstance(d.data, dict) and mergehow.directive(d.data) is not None for d in configs):
        return configs
    acc: dict = {}
    positions: dict = {}
    key_positions: dict = {}
    try:
        for doc in configs:
            if doc.patches is not None:
                from ros_init.config.merge import apply_jsonp

                acc = apply_jsonp(acc, doc.patches, doc.source)
                continue
            how = mergehow.directive(doc.data)
            acc = mergehow.fold([(acc, None), (doc.data, how)]) if acc else mergehow.fold([(doc.data, how)])
            positions.update(doc.positions)
            key_positions.update(doc.key_positions)
    except mergehow.MergeHowError as exc:
        raise UserDataError(f"{source}: merge_how: {exc}") from None
    layer = configs[0].layer
    return [ConfigDocument(source=source, layer=layer, data=acc, positions=positions, key_positions=key_positions)]


# -- helpers -----------------------------------------------------------------------------------
def _show(line: bytes) -> str:
    """The first line, quoted only when it looks like a header (``#clod-config``): any other
    line may be config content, and content may be a secret."""
    text = line[:30].decode("utf-8", errors="replace")
    if text.startswith("#") and text.isprintable():
        return repr(text)
    return "<binary>" if not text.isprintable() else "<not shown: not a header>"


def _script_name(source: str) -> str:
    tail = source.rsplit("/", 1)[-1].rsplit(" ", 1)[-1]
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in tail) or "script"


def _decode_mime(data: bytes, source: str, layer: Layer, ctx: Context, depth: int, out: Decoded) -> None:
    from email import message_from_bytes
    from email.message import Message

    msg: Message = message_from_bytes(data)
    parts = list(msg.walk()) if msg.is_multipart() else [msg]
    leaves = [p for p in parts if not p.is_multipart()]
    if len(leaves) > MAX_PARTS:
        raise UserDataError(f"{source}: MIME user-data has more than {MAX_PARTS} parts")
    for i, part in enumerate(leaves, 1):
        name = part.get_filename() or f"part-{i:03d}"
        where = f"{source} part {i} ({name})"
        payload = part.get_payload(decode=True) or b""
        merge_type = part.get("Merge-Type") or part.get("X-Merge-Type")
        _part(payload, part.get_content_type(), name, where, layer, ctx, depth, out, merge_type)


def source_context(host: Any, deadline: float, instance_data: dict[str, Any] | None = None) -> Context:
    """The Context a datasource gives ``decode``: its instance data, and ``#include`` fetched
    through the one HTTP client under the datasource's own deadline."""
    from ros_init.sources.include import http_fetcher

    return Context(instance_data=instance_data, fetch=http_fetcher(host, deadline))


def is_template(data: bytes) -> bool:
    """Cheap: does this user-data need instance data (a ``## template: jinja`` header)?"""
    from ros_init.config.template import split_header

    return split_header(data.lstrip(b" \t\r\n")) is not None
