"""Hetzner Cloud: the server metadata service (``/hetzner/v1/metadata``, ``/hetzner/v1/userdata``).

Detected from DMI (``sys_vendor`` Hetzner) or ``hetzner.url``. The metadata is YAML:
``instance-id`` (where DMI says Hetzner it must equal the DMI ``product_serial``, the server
id: an answer for another server is an error), ``hostname``, ``public-keys``, ``vendor_data``,
``network-config`` (cloud-init v1, translated), plus the NICs of ``metadata/private-networks``
with DHCP. User-data: HTTP 204 or 404 means none; since
Hetzner Cloud takes no binary user-data, a payload that is valid base64 is decoded first
(as cloud-init does).
"""

from __future__ import annotations

import base64
import binascii

from ros_init.core.model import Documents
from ros_init.sources import platform_id
from ros_init.sources.host import DatasourceError, Host

NAME = "hetzner"
DETECT_HINT = platform_id.detect_hint(NAME)
DEFAULT_URL = "http://169.254.169.254/hetzner/v1"


def detect(host: Host) -> bool:
    return platform_id.detect(host, NAME)


def maybe_b64(data: bytes) -> bytes:
    """Pure: ``data`` base64-decoded when it is strictly valid base64, else as it is."""
    text = data.strip()
    if not text or text[:1] == b"#" or text[:2] == b"\x1f\x8b":
        return data
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return data


def with_private_networks(network: dict | None, nets: object) -> dict | None:
    """Pure: every private network's NIC (by ``mac_address``) added with DHCPv4, as cloud-init
    does; NICs the network config already names are left as they are."""
    if not isinstance(nets, list) or not nets:
        return network
    out = dict(network or {"version": 2})
    eths = dict(out.get("ethernets") or {})
    known = {str((e.get("match") or {}).get("macaddress", "")).lower() for e in eths.values() if isinstance(e, dict)}
    for net in nets:
        mac = str(net.get("mac_address", "")).lower() if isinstance(net, dict) else ""
        if not mac or mac in known:
            continue
        eths[f"private{len(eths)}"] = {"match": {"macaddress": mac}, "dhcp4": True, "optional": True}
        known.add(mac)
    out["ethernets"] = eths
    return out


def fetch(host: Host, deadline: float) -> Documents | None:
    from ros_init.network.convert import NetconvError, to_v2
    from ros_init.sources import metaservice as ms
    from ros_init.sources.userdata import UserDataError, parse_mapping

    try:
        with ms.Service(host, NAME, DEFAULT_URL, deadline) as svc:
            body = svc.get("metadata")
            if body is None:
                return None
            try:
                meta = parse_mapping(body, "hetzner metadata")
            except UserDataError as exc:
                raise DatasourceError(f"hetzner: the metadata is not a YAML mapping (a proxy's page?): {exc}") from None
            iid = ms.check_instance_id(meta.get("instance-id"), NAME)
            # only where DMI says Hetzner: a forced url (tests, other machines) has another serial
            serial = platform_id.dmi(host, "product_serial") if platform_id.is_platform(host, NAME) else iid
            if serial is None:
                raise DatasourceError("hetzner: DMI says Hetzner but has no product_serial (the server id)")
            if serial != iid:
                raise DatasourceError(f"hetzner: the metadata is for server {iid}, this is server {serial}")
            user_data = svc.get("userdata", max_size=ms.DATA_MAX, empty=(204, 404))
            private = svc.get("metadata/private-networks")
    except ms.Absent:
        return None
    network = None
    if meta.get("network-config"):
        try:
            network = to_v2(meta["network-config"], "hetzner network-config")
        except NetconvError as exc:
            raise DatasourceError(f"hetzner: {exc}") from None
    if private:
        from ros_init.config.yamlsource import load_document

        parsed = load_document(private, "hetzner metadata/private-networks")
        if not parsed.ok or not isinstance(parsed.data, list | None):
            raise DatasourceError("hetzner: metadata/private-networks is not a YAML list")
        network = with_private_networks(network, parsed.data)
    vendor = meta.get("vendor_data")
    return ms.found(NAME, svc.base, iid, host=host, deadline=deadline,
                    hostname=meta.get("hostname") or meta.get("local-hostname"),
                    keys=ms.keys_of(meta.get("public-keys")), network=network,
                    user_data=maybe_b64(user_data) if user_data else None, vendor_data=ms.vendor_text(vendor),
                    raw={"metadata": body})
