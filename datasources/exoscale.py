"""Exoscale: the EC2-style metadata tree under ``/1.0/``.

Detected from DMI (``product_name`` starting with Exoscale) or ``exoscale.url``. No headers.
Reads ``1.0/meta-data/instance-id`` (required), ``local-hostname``, ``public-keys`` and
``1.0/user-data`` (404: none). Exoscale's password server (port 8080, ``DomU_Request``) is
not read: ros-init sets no password from the platform. No network config (DHCP).
"""

from __future__ import annotations

from ros_init.core.model import Documents
from ros_init.sources import platform_id
from ros_init.sources.host import Host

NAME = "exoscale"
DETECT_HINT = platform_id.detect_hint(NAME)
DEFAULT_URL = "http://169.254.169.254"


def detect(host: Host) -> bool:
    return platform_id.detect(host, NAME)


def fetch(host: Host, deadline: float) -> Documents | None:
    from ros_init.sources import metaservice as ms

    try:
        with ms.Service(host, NAME, DEFAULT_URL, deadline) as svc:
            iid = svc.text("1.0/meta-data/instance-id")
            if iid is None:
                return None
            iid = ms.check_instance_id(iid, NAME)
            hostname = svc.text("1.0/meta-data/local-hostname")
            keys = svc.text("1.0/meta-data/public-keys")
            user_data = svc.get("1.0/user-data", max_size=ms.DATA_MAX)
    except ms.Absent:
        return None
    return ms.found(NAME, svc.base, iid, host=host, deadline=deadline,
                    hostname=hostname, keys=ms.keys_of(keys or ""), user_data=user_data,
                    raw={"meta-data.json": ms.raw_json({"instance-id": iid, "local-hostname": hostname})})
