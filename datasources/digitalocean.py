"""DigitalOcean: the droplet metadata service, all of it in one document (``/metadata/v1.json``).

Detected from DMI (``sys_vendor`` DigitalOcean) or ``digitalocean.url``. No headers.
``droplet_id`` is the instance id; ``hostname``, ``public_keys``, ``user_data`` and
``vendor_data`` (raw strings, often MIME), and ``interfaces.{public,private}[]`` with
``dns.nameservers``, turned into network config (static addresses by MAC, the gateway on
the public NIC), as cloud-init's DigitalOcean source does. Droplets also carry a ConfigDrive:
listed earlier, the ``cdrom`` source wins over this one.
"""

from __future__ import annotations

from ros_init.core.model import Documents
from ros_init.sources import platform_id
from ros_init.sources.host import Host

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from typing import Any

NAME = "digitalocean"
DETECT_HINT = platform_id.detect_hint(NAME)
DEFAULT_URL = "http://169.254.169.254"


def detect(host: Host) -> bool:
    return platform_id.detect(host, NAME)


def network_v1(meta: dict[str, Any]) -> dict[str, Any] | None:
    """Pure: ``interfaces`` + ``dns`` -> cloud-init network config v1 (None without interfaces)."""
    ifaces = meta.get("interfaces") or {}
    config: list[dict[str, Any]] = []
    n = 0
    for kind in ("public", "private"):
        for nic in ifaces.get(kind) or []:
            subnets = []
            for fam in ("ipv4", "anchor_ipv4", "ipv6"):
                addr = nic.get(fam) or {}
                if not addr.get("ip_address"):
                    continue
                sn: dict[str, Any] = {"type": "static", "address": addr["ip_address"],
                                      "netmask": str(addr.get("netmask") or addr.get("cidr") or "")}
                if kind == "public" and fam != "anchor_ipv4" and addr.get("gateway"):
                    sn["gateway"] = addr["gateway"]
                subnets.append(sn)
            config.append({"type": "physical", "name": f"eth{n}", "mac_address": nic["mac"], "subnets": subnets})
            n += 1
    if not config:
        return None
    ns = (meta.get("dns") or {}).get("nameservers")
    if ns:
        config.append({"type": "nameserver", "address": list(ns)})
    return {"version": 1, "config": config}


def fetch(host: Host, deadline: float) -> Documents | None:
    from ros_init.sources import metaservice as ms

    got = ms.fetch_object(host, NAME, DEFAULT_URL, deadline, "metadata/v1.json")
    if got is None:
        return None
    meta, base = got
    iid = ms.check_instance_id(meta.get("droplet_id"), NAME)
    network = ms.network_from(NAME, network_v1, meta)
    return ms.found(NAME, base, iid, host=host, deadline=deadline,
                    hostname=meta.get("hostname"), keys=ms.keys_of(meta.get("public_keys")),
                    network=network, user_data=_text(meta.get("user_data")),
                    vendor_data=_text(meta.get("vendor_data")),
                    raw={"v1.json": ms.raw_json({k: v for k, v in meta.items() if k not in ("user_data", "auth_key")})})


def _text(value: Any) -> bytes | None:
    return value.encode() if isinstance(value, str) and value.strip() else None
