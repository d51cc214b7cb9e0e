"""Oracle Cloud Infrastructure: the instance metadata service v2 (``/opc/v2/instance/``).

Detected from DMI (chassis asset tag ``OracleCloud.com``) or ``oracle.url``. Every request
carries ``Authorization: Bearer Oracle`` (IMDSv2 refuses requests without it); where the
service answers 404 for ``/opc/v2/`` (older images' v1-only service), ``/opc/v1/instance/``
is read without the header. ``id`` (an OCID) is the instance id; ``hostname``,
``metadata.ssh_authorized_keys`` (lines) and ``metadata.user_data`` (base64). No network
config: the primary VNIC is configured by DHCP (secondary VNICs are not configured).
"""

from __future__ import annotations

from ros_init.core.model import Documents
from ros_init.sources import platform_id
from ros_init.sources.host import Host

NAME = "oracle"
DETECT_HINT = platform_id.detect_hint(NAME)
DEFAULT_URL = "http://169.254.169.254"


def detect(host: Host) -> bool:
    return platform_id.detect(host, NAME)


def fetch(host: Host, deadline: float) -> Documents | None:
    from ros_init.sources import metaservice as ms

    try:
        with ms.Service(host, NAME, DEFAULT_URL, deadline) as svc:
            body = svc.get("opc/v2/instance/", headers={"Authorization": "Bearer Oracle"})
            if body is None:
                host.logger.info("oracle: no /opc/v2/ (HTTP 404): reading /opc/v1/")
                body = svc.get("opc/v1/instance/")
    except ms.Absent:
        return None
    if body is None:
        return None
    inst = ms.parse_object(body, "oracle", "opc/instance/")
    iid = ms.check_instance_id(inst.get("id"), NAME)
    md = inst.get("metadata") or {}
    user_data = ms.b64_user_data(md.get("user_data"), NAME)
    return ms.found(NAME, svc.base, iid, host=host, deadline=deadline,
                    hostname=inst.get("hostname") or inst.get("displayName"),
                    keys=ms.keys_of(md.get("ssh_authorized_keys")), user_data=user_data,
                    raw={"instance.json": ms.raw_json({k: v for k, v in inst.items() if k != "metadata"})})
