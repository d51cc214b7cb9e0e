"""Akamai Connected Cloud (Linode): the Metadata service, behind a session token.

Detected from DMI (``sys_vendor`` Linode or Akamai) or ``akamai.url``. ``PUT /v1/token`` with
``Metadata-Token-Expiry-Seconds`` gives a token (plain text); every later request carries it in
``Metadata-Token`` (the token is never logged nor put in an error). A refused token (401/403)
is an error. The service answers text/plain unless asked for JSON, so ``/v1/instance`` (``id``
is the instance id, ``label`` the host name) and ``/v1/ssh-keys`` (``{"users": {name:
[keys]}}``) are read with ``Accept: application/json``, and ``/v1/user-data`` (base64, which the
service requires at upload; possibly gzip; 404/204: none) with ``Accept: text/plain``, the only
format that endpoint serves. No network config: Linode configures its NICs by DHCP.
(Akamai's Metadata service API guide; see docs/datasources.md, "Protocol sources".)
"""

from __future__ import annotations

from ros_init.core.model import Documents
from ros_init.sources import platform_id
from ros_init.sources.host import DatasourceError, Host

NAME = "akamai"
DETECT_HINT = platform_id.detect_hint(NAME)
DEFAULT_URL = "http://169.254.169.254"
TOKEN_TTL = "300"


def detect(host: Host) -> bool:
    return platform_id.detect(host, NAME)


def fetch(host: Host, deadline: float) -> Documents | None:
    from ros_init.sources import metaservice as ms
    from ros_init.sources.httpfetch import safe_url

    try:
        with ms.Service(host, NAME, DEFAULT_URL, deadline) as svc:
            resp = svc.request("PUT", "v1/token", headers={"Metadata-Token-Expiry-Seconds": TOKEN_TTL,
                                                           "Accept": "text/plain"})
            if resp.status == 404:
                host.logger.info("akamai: %s has no /v1/token: not Akamai's metadata service", safe_url(svc.base))
                return None
            token = resp.body.decode("ascii", "replace").strip() if resp.status == 200 else ""
            if not token:
                raise DatasourceError(f"akamai: the metadata service refused a token (HTTP {resp.status})")
            svc.headers["Metadata-Token"] = token
            inst = svc.get_json("v1/instance", headers={"Accept": "application/json"})
            if not isinstance(inst, dict):
                raise DatasourceError("akamai: v1/instance is not an object")
            keys = svc.get_json("v1/ssh-keys", headers={"Accept": "application/json"}) or {}
            user_data = svc.get("v1/user-data", headers={"Accept": "text/plain"}, max_size=ms.DATA_MAX, empty=(204, 404))
    except ms.Absent:
        return None
    iid = ms.check_instance_id(inst.get("id"), NAME)
    users = keys.get("users") if isinstance(keys, dict) else None
    return ms.found(NAME, svc.base, iid, host=host, deadline=deadline,
                    hostname=inst.get("label"), keys=ms.keys_of(users or {}),
                    user_data=ms.b64_user_data(user_data.decode("ascii", "replace") if user_data else None, NAME),
                    raw={"instance.json": ms.raw_json(inst)})
