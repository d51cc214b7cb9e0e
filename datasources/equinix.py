"""Equinix Metal (formerly Packet): the metadata service over HTTPS.

**No offline detection exists**: Equinix Metal servers are bare metal with ordinary firmware
strings, and no anchor (cloud-init, Ignition, yip) has a DMI rule for them. This source is
probed only when the settings give ``equinix.url`` (even the default one) or the kernel
command line says ``ros.datasource=equinix`` (an iPXE script can add it).

Reads ``/metadata`` (JSON: ``id`` is the instance id, ``hostname``, ``ssh_keys``) and
``/userdata`` (404: none; a ``#!ipxe`` script is the boot script, not user-data: ignored),
with ``Accept: */*`` (the service refuses some clients' default Accept). The bonded network
of ``network`` is not translated: configure it with ``network:`` in user-data.
"""

from __future__ import annotations

from ros_init.core.model import Documents
from ros_init.sources.host import DatasourceError, Host

NAME = "equinix"
DETECT_HINT = "no offline detection: set equinix.url in the settings or ros.datasource=equinix"
DEFAULT_URL = "https://metadata.platformequinix.com"


def detect(host: Host) -> bool:
    from ros_init.sources import platform_id

    return platform_id.forced(host, NAME)


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
    if user_data and user_data.lstrip().lower().startswith(b"#!ipxe"):
        host.logger.info("equinix: the user-data is an iPXE script (the boot script): not used")
        user_data = None
    return ms.found(NAME, svc.base, iid, hostname=meta.get("hostname"), keys=ms.keys_of(meta.get("ssh_keys")),
                    user_data=user_data,
                    raw={"metadata.json": ms.raw_json({k: v for k, v in meta.items() if k != "phone_home_url"})})
