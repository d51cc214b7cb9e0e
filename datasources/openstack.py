"""OpenStack: the Nova metadata service over HTTP (``/openstack/latest/...``).

Detected from DMI (``OpenStack Nova``/``OpenStack Compute`` product name, or one of the
chassis asset tags of OpenStack clouds: ``OpenTelekomCloud``, ``SAP CCloud VM``,
``HUAWEICLOUD`` ...; see ``ros_init.sources.platform_id``) or ``openstack.url``. No headers,
no token. A ConfigDrive volume (the ``cdrom`` source, listed earlier) is preferred when both
exist: the probing engine skips this source once a platform source listed before it is found.

Reads ``meta_data.json`` (required: ``uuid`` is the instance id; ``hostname``,
``public_keys``), ``user_data`` (404: none), ``vendor_data.json`` and ``vendor_data2.json``
(JSON: a string, or a mapping's ``cloud-init`` key) and ``network_data.json``
(``ros_init.network.convert.configdrive_to_v2``). A 404 on ``meta_data.json`` means the
service at the address is not OpenStack's: absent.
"""

from __future__ import annotations

from ros_init.core.model import Documents
from ros_init.sources import platform_id
from ros_init.sources.host import DatasourceError, Host

NAME = "openstack"
DETECT_HINT = platform_id.detect_hint(NAME)
DEFAULT_URL = "http://169.254.169.254"
_V = "openstack/latest"


def detect(host: Host) -> bool:
    return platform_id.detect(host, NAME)


def fetch(host: Host, deadline: float) -> Documents | None:
    from ros_init.network.convert import NetconvError, configdrive_to_v2
    from ros_init.sources import metaservice as ms

    try:
        with ms.Service(host, NAME, DEFAULT_URL, deadline) as svc:
            meta_raw = svc.get(f"{_V}/meta_data.json")
            if meta_raw is None:
                host.logger.info("openstack: %s has no %s/meta_data.json: not an OpenStack metadata service",
                                 svc.base, _V)
                return None
            meta = ms.parse_json(meta_raw, f"openstack {_V}/meta_data.json")
            if not isinstance(meta, dict):
                raise DatasourceError("openstack: meta_data.json is not an object")
            iid = ms.check_instance_id(meta.get("uuid"), NAME)
            user_data = svc.get(f"{_V}/user_data", max_size=ms.DATA_MAX)
            vendor = [ms.vendor_envelope(lambda n=n: ms.vendor_text(svc.get_json(f"{_V}/{n}")),
                                         f"openstack {_V}/{n}", host.logger)
                      for n in ("vendor_data.json", "vendor_data2.json")]
            net_raw = svc.get(f"{_V}/network_data.json")
    except ms.Absent:
        return None
    network = None
    if net_raw is not None:
        try:
            network = configdrive_to_v2(ms.parse_json(net_raw, "openstack network_data.json"))
        except NetconvError as exc:
            raise DatasourceError(f"openstack: {exc}") from None
    raw = {"meta_data.json": meta_raw, **({"network_data.json": net_raw} if net_raw else {})}
    return ms.found(NAME, svc.base, iid, host=host, deadline=deadline,
                    hostname=meta.get("hostname") or meta.get("name"),
                    keys=ms.keys_of(meta.get("public_keys")), network=network, user_data=user_data,
                    vendor_data=[v for v in vendor if v], raw=raw)
