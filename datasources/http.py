"""A config at an HTTP(S) URL, or a NoCloud seed served over HTTP.

The URL comes from the kernel command line (``ros.config_url=``, cloud-init's
``cloud-config-url=``, RancherOS v2's ``rancheros.install.config_url=``) or else from
the settings (``http: {url: ...}``). The document may be plain YAML or any user-data
format. ``ds=nocloud;s=URL/`` fetches ``meta-data`` (required), ``user-data``,
``vendor-data`` and ``network-config`` below the seed URL.

Settings ``http``: ``timeout`` (per request), ``retries`` (default: until the deadline),
``ca`` (root-relative PEM file trusted instead of the system CAs), ``hash``
(``sha512-``/``sha256-`` pin of the config URL's content), ``max_size``. A refused
connection is retried: at boot the network or the server may come up late.
"""

from __future__ import annotations

from ros_init.core.model import ConfigDocument, Documents, Layer
from ros_init.sources.host import DatasourceError, Host
from ros_init.sources.userdata import parse_mapping

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from typing import Any

NAME = "http"
DETECT_HINT = "no ros.config_url / cloud-config-url / ds=nocloud;s= on the command line and no http.url"


def _url(host: Host) -> tuple[str | None, str]:
    c = host.cmdline
    if c.config_url:
        return c.config_url, f"kernel command line {c.config_url_param}"
    url = host.source_settings("http").get("url")
    return (str(url), "settings http.url") if url else (None, "")


def detect(host: Host) -> bool:
    return bool(_url(host)[0] or host.cmdline.nocloud_seed)


def _get(host: Host, url: str, deadline: float, what: str, pin: str | None) -> bytes | None:
    from ros_init.sources.httpfetch import DEFAULT_MAX_SIZE, request, safe_url

    cfg = host.source_settings("http")
    if not url.startswith(("http://", "https://")):
        raise DatasourceError(f"{what}: only http:// and https:// URLs are supported ({safe_url(url)})")
    ca = cfg.get("ca")
    ca_path = host.root.resolve(ca) if ca else None
    if ca_path and not host.root.exists(ca):
        raise DatasourceError(f"{what}: CA file {ca} does not exist in the target root")
    resp = request(url, deadline, what=what, timeout=float(cfg.get("timeout") or 10.0), retries=cfg.get("retries"),
                   max_size=int(cfg.get("max_size") or DEFAULT_MAX_SIZE), ca=ca_path, pin=pin,
                   logger=host.logger, clock=host.clock)
    if resp.status == 404:
        return None
    if resp.status != 200:
        raise DatasourceError(f"{what}: {safe_url(url)} answered HTTP {resp.status}")
    return resp.body


def fetch(host: Host, deadline: float) -> Documents | None:
    from ros_init.sources.httpfetch import safe_url
    from ros_init.sources.netroute import steps_aside
    from ros_init.sources.userdata import decode, source_context

    docs = Documents(source="http")
    url, origin = _url(host)
    targets = [u for u in (url, host.cmdline.nocloud_seed) if u]
    if targets and steps_aside(host, NAME, targets, safe_url(targets[0])):
        return None
    if host.cmdline.nocloud_seed:
        _nocloud_seed(host, host.cmdline.nocloud_seed, deadline, docs)
    if url:
        pin = host.source_settings("http").get("hash")
        body = _get(host, url, deadline, f"config URL ({origin})", pin)
        if body is None:
            raise DatasourceError(f"config URL ({origin}): {safe_url(url)} answered HTTP 404")
        docs.source = f"http {safe_url(url)}"
        docs.raw["config"] = body
        dec = decode(body, f"{safe_url(url)}", Layer.USER, yaml_without_header=True,
                     context=source_context(host, deadline))
        docs.configs += dec.configs
        docs.scripts += dec.scripts
    return docs


def _nocloud_seed(host: Host, seed: str, deadline: float, docs: Documents) -> None:
    from ros_init.network.convert import NetconvError, to_v2
    from ros_init.sources.httpfetch import safe_url
    from ros_init.sources.userdata import decode

    where = f"nocloud seed {safe_url(seed)}"
    docs.source = where
    raw: dict[str, bytes | None] = {}
    for name in ("meta-data", "user-data", "vendor-data", "network-config"):
        raw[name] = _get(host, seed + name, deadline, f"{where} {name}", None)
    if raw["meta-data"] is None:
        raise DatasourceError(f"{where}: meta-data not found (HTTP 404)")
    docs.raw.update({k: v for k, v in raw.items() if v is not None})
    meta = parse_mapping(raw["meta-data"], f"{where} meta-data")
    iid = meta.get("instance-id")
    docs.instance_id = str(iid) if iid is not None else None
    md: dict[str, Any] = {}
    if meta.get("local-hostname"):
        md["hostname"] = str(meta["local-hostname"])
    from ros_init.sources.metaservice import keys_of

    keys = keys_of(meta.get("public-keys"))
    if keys:
        md["ssh_authorized_keys"] = keys
    if raw["network-config"]:
        try:
            md["network"] = to_v2(parse_mapping(raw["network-config"], f"{where} network-config"), f"{where} network-config")
        except NetconvError as exc:
            raise DatasourceError(str(exc)) from None
    if md:
        docs.configs.append(ConfigDocument(f"{where} meta-data", Layer.METADATA, md))
    from ros_init.sources.instancedata import instance_data
    from ros_init.sources.userdata import decode_vendor, source_context

    ctx = source_context(host, deadline, instance_data(
        cloud_name="nocloud", platform="nocloud-net", meta=meta, instance_id=docs.instance_id,
        local_hostname=md.get("hostname"), public_ssh_keys=md.get("ssh_authorized_keys")))
    for name, layer in (("vendor-data", Layer.VENDOR), ("user-data", Layer.USER)):
        if raw[name]:
            dec = (decode_vendor(raw[name], f"{where} {name}", ctx, host.logger) if layer == Layer.VENDOR
                   else decode(raw[name], f"{where} {name}", layer, context=ctx))
            docs.configs += dec.configs
            docs.scripts += dec.scripts
