"""UpCloud: the server metadata service, one document (``/metadata/v1.json``).

Detected from DMI (``sys_vendor`` UpCloud) or ``upcloud.url``. No headers. ``instance_id``
(else the DMI ``product_uuid``) is the instance id; ``hostname``, ``public_keys``,
``user_data``, ``vendor_data``; ``network.interfaces[]`` become network config (DHCP where
an address says ``dhcp``, else static with its gateway and DNS), matched by MAC. UpCloud's
metadata service must be enabled on the server (it is off by default for custom images).
"""

from __future__ import annotations

import ipaddress

from ros_init.core.model import Documents
from ros_init.sources import platform_id
from ros_init.sources.host import Host

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from typing import Any

NAME = "upcloud"
DETECT_HINT = platform_id.detect_hint(NAME)
DEFAULT_URL = "http://169.254.169.254"


def detect(host: Host) -> bool:
    return platform_id.detect(host, NAME)


def network_v1(meta: dict[str, Any]) -> dict[str, Any] | None:
    """Pure: UpCloud ``network.interfaces`` -> cloud-init network config v1."""
    config = []
    for nic in (meta.get("network") or {}).get("interfaces") or []:
        subnets: list[dict[str, Any]] = []
        for ip in nic.get("ip_addresses") or []:
            v6 = str(ip.get("family", "")).lower() == "ipv6"
            if ip.get("dhcp"):
                sn: dict[str, Any] = {"type": "dhcp6" if v6 else "dhcp"}
            else:
                plen = ipaddress.ip_network(ip["network"], strict=False).prefixlen
                sn = {"type": "static", "address": f"{ip['address']}/{plen}"}
                if ip.get("gateway"):
                    sn["gateway"] = ip["gateway"]
            if ip.get("dns"):
                sn["dns_nameservers"] = list(ip["dns"])
            subnets.append(sn)
        config.append({"type": "physical", "name": f"eth{int(nic.get('index', len(config) + 1)) - 1}",
                       "mac_address": nic["mac"], "subnets": subnets})
    return {"version": 1, "config": config} if config else None


def fetch(host: Host, deadline: float) -> Documents | None:
    from ros_init.sources import metaservice as ms

    got = ms.fetch_object(host, NAME, DEFAULT_URL, deadline, "metadata/v1.json")
    if got is None:
        return None
    meta, base = got
    iid = ms.check_instance_id(meta.get("instance_id")
                               or (platform_id.dmi(host, "product_uuid") if platform_id.is_platform(host, NAME) else None), NAME)
    network = ms.network_from(NAME, network_v1, meta)
    ud = meta.get("user_data")
    return ms.found(NAME, base, iid, host=host, deadline=deadline,
                    hostname=meta.get("hostname"), keys=ms.keys_of(meta.get("public_keys")),
                    network=network, user_data=ud.encode() if isinstance(ud, str) and ud.strip() else None,
                    vendor_data=ms.vendor_text(meta.get("vendor_data")),
                    raw={"v1.json": ms.raw_json({k: v for k, v in meta.items() if k != "user_data"})})
