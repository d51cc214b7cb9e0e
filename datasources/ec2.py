"""Amazon EC2 (and EC2-compatible clouds): the instance metadata service, IMDSv2 only.

Every request carries a session token obtained by ``PUT /latest/api/token`` with the
TTL header; a 401 gets a new token once, a 403 stops (IMDS refuses us: no point
retrying), a 503 is retried after its ``Retry-After``. A refused connection means no
IMDS here (absent). IMDSv1 (no token) is used only when the image settings say
``ec2: {imdsv1_fallback: true}`` and the token PUT is answered 404/405.

Found: instance-id, hostname, public keys, user-data (404: none) and the NICs by MAC,
turned into network config by ``ros_init.network.convert.ec2_macs_to_v2``.
"""

from __future__ import annotations

import re

from ros_init.core.model import Documents
from ros_init.sources import platform_id
from ros_init.sources.host import DatasourceError, Host

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from typing import Any

NAME = "ec2"
DETECT_HINT = platform_id.detect_hint(NAME)
DEFAULT_URL = "http://169.254.169.254"
TOKEN_TTL = "21600"
_INSTANCE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\Z")  # i-0abc..., EC2-compatible clouds' ids
_MAC_FIELDS = ("device-number", "local-ipv4s", "subnet-ipv4-cidr-block", "ipv6s", "subnet-ipv6-cidr-blocks")


def detect(host: Host) -> bool:
    return platform_id.detect(host, NAME)


class ImdsClient:
    """The IMDSv2 token over the shared metadata-service session (``metaservice.Service``:
    base URL, timeout, retries, CA, deadline): one token, refreshed on 401."""

    def __init__(self, svc: Any, host: Host) -> None:
        self.svc = svc
        self.base = svc.base
        self.v1_fallback = bool(host.source_settings(NAME).get("imdsv1_fallback", False))
        self.host = host
        self.token: str | None = None
        self.v1 = False

    def _request(self, method: str, path: str, headers: dict[str, str], what: str) -> Any:
        from ros_init.sources import metaservice as ms

        return self.svc.request(method, path, headers=headers, what=what,
                                max_size=ms.META_MAX if path != "latest/user-data" else ms.DATA_MAX)

    def fetch_token(self) -> None:
        resp = self._request("PUT", "latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": TOKEN_TTL},
                             "the EC2 IMDSv2 token")
        if resp.status == 200 and resp.body.strip():
            self.token = resp.body.decode("ascii", "replace").strip()
            return
        if resp.status in (404, 405) and self.v1_fallback:
            self.host.logger.warning("ec2: IMDS gives no token (HTTP %d): using IMDSv1 as the settings allow",
                                     resp.status)
            self.v1 = True
            return
        if resp.status == 403:
            raise DatasourceError("ec2: IMDS refused a session token (HTTP 403): IMDS is disabled or blocked")
        raise DatasourceError(f"ec2: IMDS token request answered HTTP {resp.status}")

    def get(self, path: str) -> bytes | None:
        """The body at ``path`` (below the endpoint), None for 404."""
        for refreshed in (False, True):
            headers = {} if self.v1 else {"X-aws-ec2-metadata-token": self.token or ""}
            resp = self._request("GET", path, headers, f"EC2 {path}")
            if resp.status == 200:
                return resp.body
            if resp.status == 404:
                return None
            if resp.status == 401 and not self.v1 and not refreshed:
                self.host.logger.info("ec2: token rejected (401), getting a new one")
                self.fetch_token()
                continue
            if resp.status == 403:
                raise DatasourceError(f"ec2: IMDS refused {path} (HTTP 403)")
            raise DatasourceError(f"ec2: {path} answered HTTP {resp.status}")
        raise DatasourceError(f"ec2: {path}: a fresh token was rejected too (HTTP 401)")

    def text(self, path: str) -> str | None:
        body = self.get(path)
        return None if body is None else body.decode("utf-8", "replace").strip()


def fetch(host: Host, deadline: float) -> Documents | None:
    from ros_init.sources import metaservice as ms

    try:
        with ms.Service(host, NAME, DEFAULT_URL, deadline) as svc:
            client = ImdsClient(svc, host)
            client.fetch_token()
            return _read(host, deadline, client)
    except ms.Absent:
        return None


def _read(host: Host, deadline: float, client: ImdsClient) -> Documents:
    """Everything the IMDS says of this instance, with a token already held."""
    from ros_init.network.convert import NetconvError, ec2_macs_to_v2
    from ros_init.sources.metaservice import found, raw_json
    from ros_init.sources.userdata import is_template

    iid = client.text("latest/meta-data/instance-id")
    if not iid:
        raise DatasourceError("ec2: IMDS answers but has no meta-data/instance-id")
    if not _INSTANCE_ID.match(iid):
        # a proxy or captive portal answering with a page: taking it as the id would make
        # this node a new instance and run its first-boot commands again
        raise DatasourceError("ec2: meta-data/instance-id is not an instance id (a proxy's page?)")
    hostname = client.text("latest/meta-data/local-hostname") or client.text("latest/meta-data/hostname")
    keys = []
    for line in (client.text("latest/meta-data/public-keys/") or "").splitlines():
        idx = line.split("=", 1)[0].strip().rstrip("/")
        if idx.isdigit():
            key = client.text(f"latest/meta-data/public-keys/{idx}/openssh-key")
            if key:
                keys += [k.strip() for k in key.splitlines() if k.strip()]
    macs: dict[str, dict[str, str]] = {}
    for line in (client.text("latest/meta-data/network/interfaces/macs/") or "").splitlines():
        mac = line.strip().rstrip("/")
        if not mac:
            continue
        info = {}
        for f in _MAC_FIELDS:
            value = client.text(f"latest/meta-data/network/interfaces/macs/{mac}/{f}")
            if value is not None:
                info[f] = value
        macs[mac] = info
    try:
        network = ec2_macs_to_v2(macs) if macs else None
    except NetconvError as exc:
        raise DatasourceError(f"ec2: {exc}") from None
    user_data = client.get("latest/user-data")
    instance: dict[str, Any] = {"cloud_name": "aws", "platform": "ec2",
                                "meta": {"instance-id": iid, "local-hostname": hostname}}
    if user_data and is_template(user_data):  # placement is asked for only when a template may use it
        az = client.text("latest/meta-data/placement/availability-zone")
        region = client.text("latest/meta-data/placement/region") or (az[:-1] if az else None)
        instance.update(availability_zone=az, region=region)
        instance["meta"].update({"availability-zone": az, "region": region})
    return found(NAME, client.base, iid, host=host, deadline=deadline,
                 hostname=hostname.split()[0] if hostname else None, keys=keys, network=network,
                 user_data=user_data, instance=instance,
                 raw={"meta-data.json": raw_json({"instance-id": iid, "hostname": hostname, "macs": macs})})
