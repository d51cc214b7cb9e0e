"""What every cloud metadata service source shares: one session under the deadline, and the
``Documents`` its answers make.

``Service`` wraps ``httpfetch.request`` with the source's settings (``<name>: {url,
timeout, retries, ca}``), fixed headers (``Metadata: true``, a bearer, a token), the rules
that a refused connection means "no service here" (absent, at once) and that with no network
route yet the source steps aside for the network phase, and the reading of statuses:
200 is data, 404 (and 204 where a platform says so) is "not set", anything else is an error
naming the source and the path, never a header value (they carry tokens).

``found`` turns the usual fields (instance id, hostname, keys, network, user-data,
vendor-data) into the metadata, vendor and user layers, as every platform source does.
"""

from __future__ import annotations

import json
import re

from ros_init.core.model import ConfigDocument, Documents, Layer
from ros_init.sources.host import DatasourceError, Host

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from ros_init.sources.httpfetch import Response

INSTANCE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/+=-]{0,255}$")
META_MAX = 1024 * 1024
DATA_MAX = 16 * 1024 * 1024


class Absent(Exception):
    """Nothing listens where the service should be: the source is absent."""


class Service:
    """A session with one metadata service (``with Service(...) as svc:``)."""

    def __init__(self, host: Host, name: str, default_url: str, deadline: float, *,
                 headers: dict[str, str] | None = None, default_timeout: float = 2.0) -> None:
        cfg = host.source_settings(name)
        self.name = name
        self.host = host
        self.deadline = deadline
        self.base = str(cfg.get("url") or default_url).rstrip("/")
        self.timeout = float(cfg.get("timeout") or default_timeout)
        self.retries = cfg.get("retries")
        self.headers = dict(headers or {})
        self.ca = host.root.resolve(str(cfg["ca"])) if cfg.get("ca") else None
        self.session: Any = None

    def __enter__(self) -> Service:
        from ros_init.sources.httpfetch import connection_refused, safe_url
        from ros_init.sources.netroute import steps_aside

        if steps_aside(self.host, self.name, [self.base], "the metadata service"):
            raise Absent(self.base)  # early in boot: retrying until the deadline would hold the boot
        if connection_refused(self.base, min(1.0, self.host.remaining(self.deadline)), self.host.logger):
            self.host.logger.info("%s: no metadata service at %s (connection refused)", self.name, safe_url(self.base))
            raise Absent(self.base)
        import requests

        self.session = requests.Session()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.session is not None:
            self.session.close()

    def url(self, path: str) -> str:
        return f"{self.base}/{path.lstrip('/')}" if path else self.base

    def request(self, method: str, path: str, *, headers: dict[str, str] | None = None,
                max_size: int = META_MAX, url: str | None = None, what: str | None = None) -> Response:
        """One request (the session's headers, timeout, retries, CA, within the deadline); a
        refused connection raises ``Absent``. ``what`` names it in the log and in errors."""
        from ros_init.sources.httpfetch import FetchError, request

        try:
            return request(url or self.url(path), self.deadline, what=what or f"{self.name} {path or '/'}",
                           method=method,
                           headers={**self.headers, **(headers or {})}, timeout=self.timeout,
                           retries=self.retries, retry_refused=False, session=self.session, max_size=max_size,
                           ca=self.ca,
                           logger=self.host.logger, clock=self.host.clock)
        except FetchError as exc:
            if exc.kind == "refused":
                raise Absent(self.base) from None
            raise

    def get(self, path: str, *, headers: dict[str, str] | None = None, max_size: int = META_MAX,
            empty: tuple[int, ...] = (404,)) -> bytes | None:
        """The body at ``path``; None for a status in ``empty`` (not set)."""
        resp = self.request("GET", path, headers=headers, max_size=max_size)
        if resp.status == 200:
            return resp.body
        if resp.status in empty:
            return None
        raise DatasourceError(f"{self.name}: {path or '/'} answered HTTP {resp.status}"
                              + (" (refused: not authorised)" if resp.status in (401, 403) else ""))

    def get_json(self, path: str, *, headers: dict[str, str] | None = None) -> Any:
        body = self.get(path, headers=headers)
        return None if body is None else parse_json(body, f"{self.name}: {path}")

    def text(self, path: str, **kw: Any) -> str | None:
        body = self.get(path, **kw)
        return None if body is None else body.decode("utf-8", "replace").strip()


def fetch_object(host: Host, name: str, default_url: str, deadline: float, path: str, *,
                 headers: dict[str, str] | None = None) -> tuple[dict[str, Any], str] | None:
    """(the JSON object at ``path``, the service's base URL) for the platforms whose metadata
    is one document (DigitalOcean, UpCloud, Vultr); None when the service is absent or the
    document is not there (404)."""
    try:
        with Service(host, name, default_url, deadline, headers=headers) as svc:
            body = svc.get(path, max_size=DATA_MAX)
    except Absent:
        return None
    return None if body is None else (parse_object(body, name, path), svc.base)


def parse_json(body: bytes, where: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise DatasourceError(f"{where} is not valid JSON (a proxy's page?)") from None


def parse_object(body: bytes, name: str, what: str) -> dict[str, Any]:
    """A metadata document that must be a JSON object (most platforms' one-document metadata)."""
    value = parse_json(body, f"{name} {what}")
    if not isinstance(value, dict):
        raise DatasourceError(f"{name}: {what} is not an object")
    return value


def check_instance_id(value: Any, name: str) -> str:
    """The instance id as text; a missing one or one that looks like a web page is an error
    (taking a proxy's page as the id would make this node a new instance)."""
    iid = "" if value is None else str(value).strip()
    if not iid:
        raise DatasourceError(f"{name}: the metadata has no instance id")
    if not INSTANCE_ID.match(iid):
        raise DatasourceError(f"{name}: the instance id is not an id (a proxy's page?)")
    return iid


def keys_of(value: Any) -> list[str]:
    """Public keys given as a string (lines), a list, or a mapping of name -> key(s)."""
    out: list[str] = []
    if isinstance(value, str):
        out += [k.strip() for k in value.splitlines() if k.strip() and not k.strip().startswith("#")]
    elif isinstance(value, list):
        for v in value:
            out += keys_of(v.get("key") or v.get("keyData") or v.get("data") if isinstance(v, dict) else v)
    elif isinstance(value, dict):
        for v in value.values():
            out += keys_of(v)
    return list(dict.fromkeys(out))


def vendor_text(value: Any) -> bytes | None:
    """Vendor-data as cloud-init reads it from JSON: a string as is, a mapping's ``cloud-init`` key."""
    if isinstance(value, dict):
        value = value.get("cloud-init")
    if isinstance(value, list):
        value = "\n".join(str(v) for v in value) if value else None
    if isinstance(value, str) and value.strip():
        return value.encode()
    return None


def vendor_envelope(read: Callable[[], Any], source: str, logger: Any = None) -> Any:
    """What ``read()`` gives, or None when the envelope vendor-data comes in (a JSON file, a
    guestinfo encoding) is broken: logged and left out as unusable vendor-data is
    (``userdata.vendor_ignored``), so the source's user-data and meta-data still count. A
    service that is not there (``Absent``) is not the vendor-data's fault: it passes."""
    try:
        return read()
    except DatasourceError as exc:
        from ros_init.sources.userdata import vendor_ignored

        vendor_ignored(source, str(exc), logger)
        return None


_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def host_name(value: Any) -> tuple[str, str | None] | None:
    """Pure: a platform's host name -> (short name, FQDN or None), made valid (RFC 1123) the
    way platforms' names need it (``CLOUDINIT_1`` -> ``CLOUDINIT-1``, ``My VM`` -> ``My-VM``);
    None when nothing usable is left. An invalid name would make the whole config invalid."""
    if value is None or isinstance(value, bool | dict | list):
        return None
    text = str(value).strip().rstrip(".")
    labels = []
    for label in text.split("."):
        label = re.sub(r"[^A-Za-z0-9-]+", "-", label).strip("-")[:63].strip("-")
        if not label or not _LABEL.match(label):
            break
        labels.append(label)
    if not labels:
        return None
    while len(".".join(labels)) > 253:
        labels.pop()
    return labels[0], (".".join(labels) if len(labels) > 1 else None)


def found(name: str, where: str, instance_id: str, *, host: Host, deadline: float, hostname: str | None = None,
          keys: list[str] | None = None, network: dict[str, Any] | None = None,
          user_data: bytes | None = None, vendor_data: bytes | list[bytes] | None = None,
          raw: dict[str, bytes] | None = None, extra: dict[str, Any] | None = None,
          instance: dict[str, Any] | None = None) -> Documents:
    """The Documents of a platform source: metadata layer (hostname, fqdn, keys, network and
    ``extra``), vendor-data in the vendor layer, user-data in the user layer, decoded as every
    other source decodes them: ``#include`` fetched through the one HTTP client under the
    source's ``deadline``, Jinja with cloud-init's instance data (``instance``: more of it, such
    as ``cloud_name``, ``region``, ``availability_zone``, ``meta``)."""
    from ros_init.sources.instancedata import instance_data
    from ros_init.sources.userdata import decode, decode_vendor, source_context

    logger = host.logger  # the source's logger, as every other line of the source uses
    docs = Documents(source=f"{name} {where}", instance_id=instance_id)
    md: dict[str, Any] = {}
    name_fqdn = host_name(hostname)
    if name_fqdn is not None:
        md["hostname"], fqdn = name_fqdn
        if fqdn:
            md["fqdn"] = fqdn
    elif hostname not in (None, ""):
        logger.warning("%s: the metadata's host name is not usable as one: ignored", name)
    if keys:
        md["ssh_authorized_keys"] = list(dict.fromkeys(keys))
    if network:
        md["network"] = network
    md.update(extra or {})
    if md:
        docs.configs.append(ConfigDocument(f"{name} metadata", Layer.METADATA, md))
    docs.raw.update(raw or {})
    ctx = source_context(host, deadline, instance_data(**{
        "cloud_name": name, "platform": name, "instance_id": instance_id, "local_hostname": md.get("hostname"),
        "public_ssh_keys": md.get("ssh_authorized_keys"), **(instance or {})}))
    vendor = vendor_data if isinstance(vendor_data, list) else [vendor_data]
    parts = [(v, "vendor-data" + (str(i + 1) if i else ""), Layer.VENDOR) for i, v in enumerate(vendor)]
    for data, what, layer in (*parts, (user_data, "user-data", Layer.USER)):
        if data and data.strip():
            docs.raw[what] = data
            if layer == Layer.VENDOR:
                dec = decode_vendor(data, f"{name} {what}", ctx, logger)
            else:
                dec = decode(data, f"{name} {what}", layer, context=ctx)
            docs.configs += dec.configs
            docs.scripts += dec.scripts
    return docs


def b64_user_data(value: Any, name: str, what: str = "user-data") -> bytes | None:
    """A base64 field (Oracle, Azure, Akamai): decoded, gunzipped by ``decode`` later."""
    import base64
    import binascii

    if value in (None, "", []):
        return None
    try:
        return base64.b64decode(str(value).strip(), validate=True)
    except (binascii.Error, ValueError):
        raise DatasourceError(f"{name}: {what} is not valid base64") from None


def raw_json(value: Any) -> bytes:
    return json.dumps(value, indent=1, sort_keys=True, default=str).encode()


def network_from(name: str, to_v1: Any, meta: Any) -> dict[str, Any] | None:
    """A platform's pure ``meta -> network config v1`` translation, then v1 -> v2; input of
    the wrong shape anywhere is a DatasourceError naming the source, never a traceback."""
    from ros_init.network.convert import NetconvError, v1_to_v2

    try:
        v1 = to_v1(meta)
        return v1_to_v2(v1) if v1 else None
    except NetconvError as exc:
        raise DatasourceError(f"{name}: network: {exc}") from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise DatasourceError(f"{name}: network: malformed ({type(exc).__name__}: {exc})") from None
