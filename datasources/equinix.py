"""Equinix Metal (formerly Packet): the metadata service over HTTPS.

**No offline detection exists**: Equinix Metal servers are bare metal with ordinary firmware
strings, and no anchor (cloud-init, Ignition, yip) has a DMI rule for them. This source is
probed only when the settings give ``equinix.url`` (even the default one) or the kernel
command line says ``ros.datasource=equinix`` (an iPXE script can add it).

Reads ``/metadata`` (JSON: ``id`` is the instance id, ``hostname``, ``ssh_keys``) and
``/userdata`` (404: none; a ``#!ipxe`` script is the boot script, not user-data: ignored),
with ``Accept: */*`` (Ignition's packet provider says the service answers 406 Not Acceptable
to its default Accept; Equinix's docs do not say). ``network`` becomes
the bond Equinix Metal expects (as linuxkit builds it): every NIC of ``interfaces`` (by MAC,
renamed to its ``name``) in ``bond0`` with the ``bonding.mode``, the ``addresses`` on the
bond, a default route through the public gateways and ``10.0.0.0/8`` through the private one.
"""

from __future__ import annotations

from ros_init.core.model import Documents
from ros_init.sources.host import DatasourceError, Host

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from typing import Any

NAME = "equinix"
DETECT_HINT = "no offline detection: set equinix.url in the settings or ros.datasource=equinix"
DEFAULT_URL = "https://metadata.platformequinix.com"


def detect(host: Host) -> bool:
    from ros_init.sources import platform_id

    return platform_id.forced(host, NAME)


MODES = ("balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad", "balance-tlb", "balance-alb")


def network_of(net: Any) -> dict[str, Any] | None:
    """Pure: the metadata's ``network`` -> v2 (``bond0`` over every NIC); None without NICs."""
    import ipaddress

    if not isinstance(net, dict) or not net.get("interfaces"):
        return None
    ethernets: dict[str, Any] = {}
    for nic in net["interfaces"]:
        ethernets[str(nic["name"])] = {"match": {"macaddress": str(nic["mac"]).lower()}, "set-name": str(nic["name"])}
    mode = int((net.get("bonding") or {}).get("mode", 4))
    bond: dict[str, Any] = {"interfaces": list(ethernets), "parameters": {"mode": MODES[mode]}}
    addresses, routes = [], []
    for a in net.get("addresses") or []:
        iface = ipaddress.ip_interface(f"{a['address']}/{a['cidr']}")
        addresses.append(str(iface))
        if not a.get("gateway"):
            continue
        if a.get("public", True):
            routes.append({"to": "0.0.0.0/0" if iface.version == 4 else "::/0", "via": str(a["gateway"])})
        elif iface.version == 4:
            routes.append({"to": "10.0.0.0/8", "via": str(a["gateway"])})
    if addresses:
        bond["addresses"] = addresses
    if routes:
        bond["routes"] = routes
    return {"version": 2, "ethernets": ethernets, "bonds": {"bond0": bond}}


def fetch(host: Host, deadline: float) -> Documents | None:
    from ros_init.sources import metaservice as ms

    try:
        with ms.Service(host, NAME, DEFAULT_URL, deadline, headers={"Accept": "*/*"}, default_timeout=5.0) as svc:
            meta = svc.get_json("metadata")
            if meta is None:
                return None
            user_data = svc.get("userdata", max_size=ms.DATA_MAX)
    except ms.Absent:
        return None
    if not isinstance(meta, dict):
        raise DatasourceError("equinix: metadata is not an object")
    iid = ms.check_instance_id(meta.get("id"), NAME)
    try:
        network = network_of(meta.get("network"))
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise DatasourceError(f"equinix: network: malformed ({type(exc).__name__}: {exc})") from None
    if user_data and user_data.lstrip().lower().startswith(b"#!ipxe"):
        host.logger.info("equinix: the user-data is an iPXE script (the boot script): not used")
        user_data = None
    return ms.found(NAME, svc.base, iid, host=host, deadline=deadline,
                    hostname=meta.get("hostname"), keys=ms.keys_of(meta.get("ssh_keys")),
                    network=network, user_data=user_data,
                    raw={"metadata.json": ms.raw_json({k: v for k, v in meta.items() if k != "phone_home_url"})})
