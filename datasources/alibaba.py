"""Alibaba Cloud ECS: the instance metadata service at 100.100.100.200.

Detected from DMI (``product_name`` Alibaba Cloud ECS) or ``alibaba.url``. A session token is
asked first (``PUT /latest/api/token`` with ``X-aliyun-ecs-metadata-token-ttl-seconds``, 1 to
21600, ECS's "security hardening mode") and
sent in ``X-aliyun-ecs-metadata-token``; where the instance does not enforce tokens and the
PUT is answered 403/404/405, requests go without one (ECS's default "tokens optional"). Reads
``/2016-01-01/meta-data/all`` (one JSON document: ``instance-id``, ``hostname``,
``public-keys``, ``network.interfaces.macs``), ``user-data`` and ``vendor-data`` (404: none).
The NICs of ``macs`` get DHCP, matched by MAC.
"""

from __future__ import annotations

from ros_init.core.model import Documents
from ros_init.sources import platform_id
from ros_init.sources.host import DatasourceError, Host

NAME = "alibaba"
DETECT_HINT = platform_id.detect_hint(NAME)
DEFAULT_URL = "http://100.100.100.200"
API = "2016-01-01"
TOKEN_TTL = "21600"


def detect(host: Host) -> bool:
    return platform_id.detect(host, NAME)


def fetch(host: Host, deadline: float) -> Documents | None:
    from ros_init.network.convert import NetconvError, ec2_macs_to_v2
    from ros_init.sources import metaservice as ms

    try:
        with ms.Service(host, NAME, DEFAULT_URL, deadline) as svc:
            resp = svc.request("PUT", "latest/api/token",
                               headers={"X-aliyun-ecs-metadata-token-ttl-seconds": TOKEN_TTL})
            if resp.status == 200 and resp.body.strip():
                svc.headers["X-aliyun-ecs-metadata-token"] = resp.body.decode("ascii", "replace").strip()
            elif resp.status in (403, 404, 405):
                host.logger.info("alibaba: no session token (HTTP %d): going on without one", resp.status)
            else:
                raise DatasourceError(f"alibaba: the token request answered HTTP {resp.status}")
            body = svc.get(f"{API}/meta-data/all")
            if body is None:
                return None
            user_data = svc.get(f"{API}/user-data", max_size=ms.DATA_MAX)
            vendor_data = svc.get(f"{API}/vendor-data", max_size=ms.DATA_MAX)
    except ms.Absent:
        return None
    meta = ms.parse_json(body, f"alibaba {API}/meta-data/all")
    if not isinstance(meta, dict):
        raise DatasourceError("alibaba: meta-data/all is not an object")
    iid = ms.check_instance_id(meta.get("instance-id"), NAME)
    macs = ((meta.get("network") or {}).get("interfaces") or {}).get("macs") or {}
    try:
        network = ec2_macs_to_v2({m: {"device-number": str(i)} for i, m in enumerate(macs)}) if macs else None
    except NetconvError as exc:
        raise DatasourceError(f"alibaba: {exc}") from None
    keys = meta.get("public-keys") or {}
    if isinstance(keys, dict):
        keys = [v.get("openssh-key") if isinstance(v, dict) else v for v in keys.values()]
    return ms.found(NAME, svc.base, iid, host=host, deadline=deadline,
                    hostname=meta.get("hostname"), keys=ms.keys_of(keys), network=network,
                    user_data=user_data, vendor_data=vendor_data, raw={"meta-data.json": body})
