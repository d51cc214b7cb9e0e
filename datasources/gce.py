"""Google Compute Engine: the metadata server (``computeMetadata/v1``).

Every request sends ``Metadata-Flavor: Google`` and every answer must carry it back: an
answer without it comes from something else (a captive proxy, another cloud) and is an
error, never data. Two requests fetch everything: ``instance/?recursive=true`` and
``project/attributes/?recursive=true``.

Found: instance id, hostname, the ``user-data`` attribute (``user-data-encoding:
base64`` honoured), and the ``ssh-keys`` lines (``user:key``) labelled ``cloudinit`` or with the
image's default user, as cloud-init takes them (``sshKeys`` and ``ssh-keys``; project keys too
unless ``block-project-ssh-keys`` is true or the instance has the legacy ``sshKeys``; google-ssh
keys past their ``expireOn`` dropped).
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime

from ros_init.core.model import Documents
from ros_init.sources import platform_id
from ros_init.sources.host import DatasourceError, Host

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from typing import Any

NAME = "gce"
DETECT_HINT = platform_id.detect_hint(NAME)
DEFAULT_URL = "http://169.254.169.254/computeMetadata/v1"


def detect(host: Host) -> bool:
    return platform_id.detect(host, NAME)


def parse_ssh_keys(text: str, now: datetime, users: frozenset[str] | set[str] = frozenset({"cloudinit"})) -> list[str]:
    """Pure: the key lines of the ``user:key`` lines whose user is one of ``users``; expired
    ``google-ssh`` keys are dropped.

    cloud-init's rule (``DataSourceGCE``): only the keys labelled ``cloudinit`` or with the
    image's default user are the instance's public keys (they go to the default user and to
    root). A key labelled for another account is that account's (Google's guest agent makes
    it): handing it to the default user would let its owner in as someone else. Lines that
    are not ASCII are skipped, as cloud-init skips them."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or ":" not in line or not line.isascii():
            continue
        user, _, key = line.partition(":")
        key = key.strip()
        if user not in users or not key or key.startswith("#"):
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

    try:
        with ms.Service(host, NAME, DEFAULT_URL, deadline, headers={"Metadata-Flavor": "Google"}) as svc:
            inst = get_json(svc, "instance/?recursive=true&alt=json")
            if not isinstance(inst, dict) or inst.get("id") is None:
                raise DatasourceError("gce: instance metadata has no id")
            attrs = inst.get("attributes") or {}
            project = {}
            # cloud-init's rule: project keys count unless the instance blocks them or has the
            # legacy instance `sshKeys` (which replaced the project's keys on GCE).
            if not _truthy(attrs.get("block-project-ssh-keys", "false")) and not attrs.get("sshKeys"):
                project = get_json(svc, "project/attributes/?recursive=true&alt=json") or {}
    except ms.Absent:
        return None
    from ros_init.accounts.defaultuser import image_default_user

    now = datetime.now(UTC)
    default_user = image_default_user(host.settings)
    users = {"cloudinit"} | ({default_user["name"]} if default_user else set())
    keys = []
    for where in (attrs, project if isinstance(project, dict) else {}):
        for name in ("sshKeys", "ssh-keys"):  # both spellings, as cloud-init reads them
            keys += parse_ssh_keys(str(where.get(name) or ""), now, users)
    keys = list(dict.fromkeys(keys))
    user_data = attrs.get("user-data")
    data = None
    if user_data:
        data = str(user_data).encode()
        if str(attrs.get("user-data-encoding", "")).strip().lower() == "base64":
            try:
                data = base64.b64decode(data, validate=True)
            except (binascii.Error, ValueError):
                raise DatasourceError("gce: user-data is marked base64 but does not decode") from None
    zone = str(inst.get("zone") or "").rsplit("/", 1)[-1] or None
    meta = {k: v for k, v in inst.items() if k != "attributes"}
    return ms.found(NAME, svc.base, str(inst["id"]), host=host, deadline=deadline,
                    hostname=str(inst["hostname"]) if inst.get("hostname") else None, keys=keys, user_data=data,
                    raw={"instance.json": json.dumps(meta, indent=1).encode()},
                    instance={"availability_zone": zone, "region": zone.rsplit("-", 1)[0] if zone else None,
                              "meta": meta})
