"""Vultr: the instance metadata service, one document (``/v1.json``).

Detected from DMI (``sys_vendor`` Vultr), a ``vultr`` word on the kernel command line or the
file ``/etc/vultr`` (bare metal, as cloud-init checks), or ``vultr.url``. Requests carry
``Metadata-Token: cloudinit``, the header Vultr's service expects from cloud-init images.
``instance-v2-id`` (else ``instanceid``) is the instance id; ``hostname``, ``public-keys``,
``user-data`` (empty string or list: none), ``vendor-data``; ``interfaces[]`` become network
config: DHCP on the public NIC (v4, and v6 when it has an address), static addresses on
private NICs, all matched by MAC.
"""

from __future__ import annotations

from typing import Any

from ros_init.core.model import Documents
from ros_init.sources.host import Host

NAME = "vultr"
DETECT_HINT = "DMI sys_vendor is not Vultr, no 'vultr' on the command line, no /etc/vultr, no vultr.url"
DEFAULT_URL = "http://169.254.169.254"


def detect(host: Host) -> bool:
    from ros_init.sources import platform_id

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

    got = ms.fetch_object(host, NAME, DEFAULT_URL, deadline, "v1.json", headers={"Metadata-Token": "cloudinit"})
    if got is None:
        return None
    meta, base = got
    iid = ms.check_instance_id(meta.get("instance-v2-id") or meta.get("instanceid"), NAME)
    network = ms.network_from(NAME, network_v1, meta)
    ud = meta.get("user-data")
    return ms.found(NAME, base, iid, hostname=meta.get("hostname") or None,
                    keys=ms.keys_of(meta.get("public-keys")), network=network,
                    user_data=ud.encode() if isinstance(ud, str) and ud.strip() else None,
                    vendor_data=ms.vendor_text(meta.get("vendor-data")),
                    raw={"v1.json": ms.raw_json({k: v for k, v in meta.items()
                                                 if k not in ("user-data", "startup-script")})})
