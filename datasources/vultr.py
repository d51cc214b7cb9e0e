"""Vultr: the instance metadata service, one document (``/v1.json``).

Detected from DMI (``sys_vendor`` Vultr), a ``vultr`` word on the kernel command line or the
file ``/etc/vultr`` (bare metal, as cloud-init checks), or ``vultr.url``. Vultr documents the
service as plain HTTP without authentication; requests still carry ``Metadata-Token:
cloudinit``, as cloud-init's do (what Vultr changes on seeing it is not documented).
``instance-v2-id`` (else ``instanceid``) is the instance id; ``hostname``, ``public-keys``,
``user-data`` (empty string or list: none), ``vendor-data``; ``interfaces[]`` become network
config: DHCP on the public NIC (v4, and v6 when it has an address), static addresses on
private NICs, all matched by MAC. Where ``v1.json`` has no ``user-data`` key at all (Vultr's
page does not list it; cloud-init's code reads it), ``/latest/user-data`` is read instead,
the path Vultr documents for user-data (decoded text; 404: none).
"""

from __future__ import annotations

from ros_init.core.model import Documents
from ros_init.sources import platform_id
from ros_init.sources.host import Host

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from typing import Any

NAME = "vultr"
DETECT_HINT = platform_id.detect_hint(NAME, "no 'vultr' on the command line", "no /etc/vultr")
DEFAULT_URL = "http://169.254.169.254"


def detect(host: Host) -> bool:
    return platform_id.detect(host, NAME, cmdline_word=True, markers=("/etc/vultr",))


def network_v1(meta: dict[str, Any]) -> dict[str, Any] | None:
    """Pure: Vultr ``interfaces`` -> cloud-init network config v1."""
    config = []
    for i, nic in enumerate(meta.get("interfaces") or []):
        subnets: list[dict[str, Any]] = []
        v4, v6 = nic.get("ipv4") or {}, nic.get("ipv6") or {}
        if nic.get("network-type") == "public":
            subnets.append({"type": "dhcp"})
            if v6.get("address"):
                subnets.append({"type": "dhcp6"})
            for extra in v4.get("additional") or []:
                subnets.append({"type": "static", "address": extra["address"], "netmask": extra["netmask"]})
        elif v4.get("address"):
            subnets.append({"type": "static", "address": v4["address"], "netmask": v4.get("netmask")})
        config.append({"type": "physical", "name": f"eth{i}", "mac_address": nic["mac"], "subnets": subnets})
    return {"version": 1, "config": config} if config else None


def fetch(host: Host, deadline: float) -> Documents | None:
    from ros_init.sources import metaservice as ms

    try:
        with ms.Service(host, NAME, DEFAULT_URL, deadline, headers={"Metadata-Token": "cloudinit"}) as svc:
            body = svc.get("v1.json", max_size=ms.DATA_MAX)
            if body is None:
                return None
            meta = ms.parse_object(body, "vultr", "v1.json")
            latest = svc.get("latest/user-data", max_size=ms.DATA_MAX) if "user-data" not in meta else None
    except ms.Absent:
        return None
    iid = ms.check_instance_id(meta.get("instance-v2-id") or meta.get("instanceid"), NAME)
    network = ms.network_from(NAME, network_v1, meta)
    ud = meta.get("user-data") if latest is None else latest.decode("utf-8", "replace")
    return ms.found(NAME, svc.base, iid, host=host, deadline=deadline,
                    hostname=meta.get("hostname") or None,
                    keys=ms.keys_of(meta.get("public-keys")), network=network,
                    user_data=ud.encode() if isinstance(ud, str) and ud.strip() else None,
                    vendor_data=ms.vendor_text(meta.get("vendor-data")),
                    raw={"v1.json": ms.raw_json({k: v for k, v in meta.items()
                                                 if k not in ("user-data", "startup-script")})})
