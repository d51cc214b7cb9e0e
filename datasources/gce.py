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
from typing import Any

from ros_init.core.model import ConfigDocument, Documents, Layer
from ros_init.sources.host import DatasourceError, Host

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


class MetadataClient:
    def __init__(self, host: Host, deadline: float) -> None:
        import requests

        cfg = host.source_settings("gce")
        self.base = str(cfg.get("url") or DEFAULT_URL).rstrip("/")
        self.timeout = float(cfg.get("timeout") or 2.0)
        self.retries = cfg.get("retries")
        self.host = host
        self.deadline = deadline
        self.session = requests.Session()

    def get_json(self, path: str) -> Any:
        from ros_init.sources.httpfetch import request

        resp = request(f"{self.base}/{path}", self.deadline, what=f"GCE {path.split('?')[0]}",
                       headers={"Metadata-Flavor": "Google"}, timeout=self.timeout, retries=self.retries,
                       retry_refused=False, session=self.session, max_size=16 * 1024 * 1024,
                       logger=self.host.logger, clock=self.host.clock)
        if resp.header("metadata-flavor") != "Google":
            raise DatasourceError(f"gce: {self.base} answered without 'Metadata-Flavor: Google': "
                                  "not a GCE metadata server")
        if resp.status == 404:
            return None
        if resp.status != 200:
            raise DatasourceError(f"gce: {path.split('?')[0]} answered HTTP {resp.status}")
        try:
            return json.loads(resp.body)
        except ValueError:
            raise DatasourceError(f"gce: {path.split('?')[0]} is not valid JSON") from None


def fetch(host: Host, deadline: float) -> Documents | None:
    from ros_init.sources.httpfetch import FetchError, connection_refused
    from ros_init.sources.userdata import decode

    base = str(host.source_settings(NAME).get("url") or DEFAULT_URL)
    if connection_refused(base, min(1.0, host.remaining(deadline)), host.logger):
        host.logger.info("gce: no metadata server at %s (connection refused)", base)
        return None
    client = MetadataClient(host, deadline)
    try:
        try:
            inst = client.get_json("instance/?recursive=true&alt=json")
        except FetchError as exc:
            if exc.kind == "refused":
                host.logger.info("gce: no metadata server at %s (%s)", client.base, exc.kind)
                return None
            raise
        if not isinstance(inst, dict) or inst.get("id") is None:
            raise DatasourceError("gce: instance metadata has no id")
        attrs = inst.get("attributes") or {}
        project = {}
        if not _truthy(attrs.get("block-project-ssh-keys", "false")):
            project = client.get_json("project/attributes/?recursive=true&alt=json") or {}
    finally:
        client.session.close()
    docs = Documents(source=f"gce {client.base}", instance_id=str(inst["id"]))
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
        ud = decode(data, "gce user-data", Layer.USER)
        docs.configs += ud.configs
        docs.scripts += ud.scripts
    return docs
