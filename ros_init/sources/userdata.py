"""User-data bytes -> config documents and scripts.

Accepted: ``#cloud-config`` YAML, gzip (detected by its magic, any depth of one), MIME
multipart (``text/cloud-config`` parts merged in order, ``text/x-shellscript`` and ``#!``
parts kept as scripts, ``multipart/*`` nested), and ``#!`` scripts. Empty user-data is
nothing. Anything else (``#include``, ``#cloud-boothook``, Jinja templates, binary) is a
clear error naming the source: ros-init never guesses what a document meant.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass, field

from ros_init.core.model import ConfigDocument, Layer, Script

LOG = logging.getLogger("ros_init.sources.userdata")
MAX_DECOMPRESSED = 16 * 1024 * 1024
MAX_PARTS = 100


class UserDataError(Exception):
    """User-data that ros-init cannot use; the message names the source and the reason."""


@dataclass
class Decoded:
    configs: list[ConfigDocument] = field(default_factory=list)
    scripts: list[Script] = field(default_factory=list)


_UNSUPPORTED = {
    b"#include": "#include (a list of URLs to fetch) is not supported: use ros.config_url or the http source",
    b"#cloud-boothook": "#cloud-boothook is not supported: use bootcmd",
    b"#part-handler": "#part-handler is not supported",
    b"#cloud-config-archive": "#cloud-config-archive is not supported: use MIME multipart",
    b"## template:": "Jinja templates (## template: jinja) are not supported",
    b"#cloud-config-jsonp": "#cloud-config-jsonp is not supported",
}


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
           _depth: int = 0) -> Decoded:
    """Decode one user-data payload. ``yaml_without_header`` accepts plain YAML (drop-in files).

    Raises UserDataError for anything that is not a supported format.
    """
    out = Decoded()
    if data[:2] == b"\x1f\x8b":
        if _depth > 2:
            raise UserDataError(f"{source}: gzip nested too deep")
        return decode(_gunzip(data, source), source, layer, yaml_without_header=yaml_without_header,
                      _depth=_depth + 1)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    head = data.lstrip(b" \t\r\n")
    if not head:
        return out
    first_line = head.split(b"\n", 1)[0].rstrip(b"\r").strip()
    if first_line.startswith(b"#cloud-config") and not first_line.startswith(b"#cloud-config-"):
        out.configs.append(_config_doc(head, source, layer))
        return out
    if first_line.startswith(b"#!"):
        out.scripts.append(Script(source=source, name=_script_name(source), content=head))
        return out
    for prefix, why in _UNSUPPORTED.items():
        if first_line.startswith(prefix):
            raise UserDataError(f"{source}: {why}")
    if _looks_mime(head):
        if _depth > 3:
            raise UserDataError(f"{source}: MIME multipart nested too deep")
        return _decode_mime(head, source, layer, _depth)
    if yaml_without_header:
        out.configs.append(_config_doc(head, source, layer))
        return out
    raise UserDataError(
        f"{source}: user-data is not a supported format (first line {_show(first_line)}): "
        "expected '#cloud-config', '#!' script, gzip or MIME multipart")


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


def _looks_mime(head: bytes) -> bool:
    top = head[:4096].lower()
    return top.startswith(b"content-type:") or top.startswith(b"mime-version:") or (
        b"\ncontent-type: multipart/" in top and top.split(b"\n", 1)[0].find(b":") > 0)


def _decode_mime(data: bytes, source: str, layer: Layer, depth: int) -> Decoded:
    from email import message_from_bytes
    from email.message import Message

    msg: Message = message_from_bytes(data)
    out = Decoded()
    parts = list(msg.walk()) if msg.is_multipart() else [msg]
    leaves = [p for p in parts if not p.is_multipart()]
    if len(leaves) > MAX_PARTS:
        raise UserDataError(f"{source}: MIME user-data has more than {MAX_PARTS} parts")
    for i, part in enumerate(leaves, 1):
        ctype = part.get_content_type()
        name = part.get_filename() or f"part-{i:03d}"
        where = f"{source} part {i} ({name})"
        payload = part.get_payload(decode=True) or b""
        if payload[:2] == b"\x1f\x8b" or ctype in ("application/gzip", "application/x-gzip"):
            payload = _gunzip(payload, where)
        if ctype == "text/cloud-config":
            body = payload if payload.lstrip().startswith(b"#cloud-config") else b"#cloud-config\n" + payload
            out.configs.append(_config_doc(body, where, layer))
        elif ctype == "text/x-shellscript" or payload.lstrip().startswith(b"#!"):
            out.scripts.append(Script(source=where, name=_script_name(name), content=payload))
        elif ctype in ("text/plain", "application/octet-stream", "application/gzip", "application/x-gzip"):
            sub = decode(payload, where, layer, _depth=depth + 1)
            out.configs += sub.configs
            out.scripts += sub.scripts
        elif ctype == "text/x-include-url":
            raise UserDataError(f"{where}: text/x-include-url is not supported: use ros.config_url")
        else:
            raise UserDataError(f"{where}: MIME part type {ctype} is not supported "
                                "(text/cloud-config, text/x-shellscript)")
    return out
