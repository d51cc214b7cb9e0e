"""Google Compute Engine: the metadata server (``computeMetadata/v1``).

Every request sends ``Metadata-Flavor: Google`` and every answer must carry it back: an
answer without it comes from something else (a captive proxy, another cloud) and is an
error, never data. Two requests fetch everything: ``instance/?recursive=true`` and
``project/attributes/?recursive=true``.

Found: instance id, hostname, the ``user-data`` attribute (``user-data-encoding:
base64`` honoured), and ``ssh-keys`` lines (``user:key``; project keys too unless
``block-project-ssh-keys`` is true; google-ssh keys past their ``expireOn`` dropped).
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime

from ros_init.core.model import ConfigDocument, Documents, Layer
from ros_init.sources.host import DatasourceError, Host

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from typing import Any

NAME = "gce"
DETECT_HINT = "DMI does not say Google Compute Engine and no gce.url in the settings"
DEFAULT_URL = "http://169.254.169.254/computeMetadata/v1"


def detect(host: Host) -> bool:
    from ros_init.sources import platform_id

    return platform_id.detect(host, NAME)


def parse_ssh_keys(text: str, now: datetime) -> list[str]:
    """Pure: ``user:key`` lines -> key lines; expired ``google-ssh`` keys are dropped."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or ":" not in line:
            continue
        _user, _, key = line.partition(":")
        key = key.strip()
        if not key or key.startswith("#"):
            continue
        if " google-ssh " in key:
            _, _, meta = key.partition(" google-ssh ")
            try:
                expire = json.loads(meta).get("expireOn")
                when = datetime.strptime(expire, "%Y-%m-%dT%H:%M:%S%z") if expire else None
            except (ValueError, AttributeError, TypeError):
                when = None  # unparsable expiry: keep the key, as the guest agent does
            if when is not None and when <= now:
                continue
        out.append(key)
    return list(dict.fromkeys(out))


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("true", "1", "yes")


def get_json(svc: Any, path: str) -> Any:
    """The JSON at ``path`` of the metadata server (None for 404); an answer without
    ``Metadata-Flavor: Google`` is an error, whatever its status."""
    from ros_init.sources import metaservice as ms

    what = path.split("?")[0]
    resp = svc.request("GET", path, what=f"GCE {what}", max_size=ms.DATA_MAX)
    if resp.header("metadata-flavor") != "Google":
        raise DatasourceError(f"gce: {svc.base} answered without 'Metadata-Flavor: Google': "
                              "not a GCE metadata server")
    if resp.status == 404:
        return None
    if resp.status != 200:
        raise DatasourceError(f"gce: {what} answered HTTP {resp.status}")
    return ms.parse_json(resp.body, f"gce: {what}")


def fetch(host: Host, deadline: float) -> Documents | None:
    from ros_init.sources import metaservice as ms
    from ros_init.sources.instancedata import instance_data
    from ros_init.sources.userdata import decode, source_context

    try:
        with ms.Service(host, NAME, DEFAULT_URL, deadline, headers={"Metadata-Flavor": "Google"}) as svc:
            inst = get_json(svc, "instance/?recursive=true&alt=json")
            if not isinstance(inst, dict) or inst.get("id") is None:
                raise DatasourceError("gce: instance metadata has no id")
            attrs = inst.get("attributes") or {}
            project = {}
            if not _truthy(attrs.get("block-project-ssh-keys", "false")):
                project = get_json(svc, "project/attributes/?recursive=true&alt=json") or {}
    except ms.Absent:
        return None
    docs = Documents(source=f"gce {svc.base}", instance_id=str(inst["id"]))
    now = datetime.now(UTC)
    keys = parse_ssh_keys(str(attrs.get("ssh-keys") or attrs.get("sshKeys") or ""), now)
    if isinstance(project, dict):
        keys += parse_ssh_keys(str(project.get("ssh-keys") or project.get("sshKeys") or ""), now)
    md: dict[str, Any] = {}
    if inst.get("hostname"):
        md["hostname"] = str(inst["hostname"]).split(".")[0]
        md["fqdn"] = str(inst["hostname"])
    if keys:
        md["ssh_authorized_keys"] = list(dict.fromkeys(keys))
    if md:
        docs.configs.append(ConfigDocument("gce metadata", Layer.METADATA, md))
    docs.raw["instance.json"] = json.dumps({k: v for k, v in inst.items() if k != "attributes"}, indent=1).encode()
    user_data = attrs.get("user-data")
    if user_data:
        data = str(user_data).encode()
        if str(attrs.get("user-data-encoding", "")).strip().lower() == "base64":
            try:
                data = base64.b64decode(data, validate=True)
            except (binascii.Error, ValueError):
                raise DatasourceError("gce: user-data is marked base64 but does not decode") from None
        docs.raw["user-data"] = data
        zone = str(inst.get("zone") or "").rsplit("/", 1)[-1] or None
        ctx = source_context(host, deadline, instance_data(
            cloud_name="gce", platform="gce", instance_id=str(inst["id"]), local_hostname=inst.get("hostname"),
            availability_zone=zone, region=zone.rsplit("-", 1)[0] if zone else None,
            public_ssh_keys=md.get("ssh_authorized_keys"),
            meta={k: v for k, v in inst.items() if k != "attributes"}))
        ud = decode(data, "gce user-data", Layer.USER, context=ctx)
        docs.configs += ud.configs
        docs.scripts += ud.scripts
    return docs
