"""Microsoft Azure: the provisioning media (``ovf-env.xml``), IMDS, and the ready report.

Detected from DMI (chassis asset tag ``7783-7084-3265-9085-8269-3286-77``), an
``ovf-env.xml`` in ``azure.seed_dirs``, or ``azure.url``.

- ``ovf-env.xml``: from a seed folder, else from the provisioning CD (``azure.devices``,
  default ``/dev/sr0``; mounted read-only as the ``cdrom`` source does): ``HostName``,
  ``UserName``, SSH ``PublicKey/Value`` lines, ``CustomData`` (base64: the user-data),
  ``DisableSshPasswordAuthentication``. ``UserPassword`` is never read into the config.
- IMDS: ``GET /metadata/instance?api-version=2021-08-01&extended=true`` with
  ``Metadata: true`` (HTTP 400: the older ``2019-06-01``): ``compute.osProfile``
  (``computerName``, ``adminUsername``), ``compute.publicKeys[].keyData``, ``compute.userData``
  (base64; used only where the OVF has no CustomData), ``network.interface[]`` (DHCP on each
  NIC by MAC, secondary private addresses static).
- The instance id is the DMI ``product_uuid`` (lower-cased) where DMI says Azure, else ``compute.vmId``.
- The admin user (``UserName``/``adminUsername``) is created with the keys and sudo rights,
  as Azure's own agent does.

**Report ready** (``after_run``): Azure marks a VM failed after ~20-40 minutes unless the
guest reports to the wireserver (``azure.wireserver``, 168.63.129.16): ``GET
/machine/?comp=goalstate`` (incarnation, container id, role instance id), then ``POST
/machine?comp=health`` with ``Ready``, or ``NotReady`` + ``ProvisioningFailed`` and the
reason (no secret, at most 512 characters) when the configuration failed. Once per boot
(a marker in ``/run/ros-init``: after a Ready report, no other); ``azure.report_ready:
false`` leaves it to an agent. Without a network route yet (the boot phase runs before the
network manager) the report is left to the network phase, which this source then asks for.
"""

from __future__ import annotations

import os

from ros_init.core.model import Documents
from ros_init.core.record import field, record
from ros_init.sources import platform_id
from ros_init.sources.host import DatasourceError, Host

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from typing import Any

NAME = "azure"
DETECT_HINT = platform_id.detect_hint(NAME, "no ovf-env.xml seed")
DEFAULT_URL = "http://169.254.169.254"
WIRESERVER = "http://168.63.129.16"
API = "2021-08-01"
API_FALLBACK = "2019-06-01"
WIRE_HEADERS = {"x-ms-agent-name": "WALinuxAgent", "x-ms-version": "2012-11-30"}
MARKER = "/run/ros-init/azure-reported"
MAX_OVF = 1024 * 1024
SUDO = "ALL=(ALL) NOPASSWD:ALL"


def _cfg(host: Host) -> dict[str, Any]:
    return host.source_settings(NAME)


def _seed_dirs(host: Host) -> list[str]:
    return list(_cfg(host).get("seed_dirs") or ["/var/lib/cloud/seed/azure"])


def detect(host: Host) -> bool:
    if platform_id.detect(host, NAME):
        return True
    return any(host.root.exists(f"{d}/ovf-env.xml") for d in _seed_dirs(host))


# -- ovf-env.xml ------------------------------------------------------------------------------
@record
class Ovf:
    hostname: str | None = None
    username: str | None = None
    keys: list[str] = field(default_factory=list)
    custom_data: bytes | None = None
    disable_password_auth: bool | None = None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_ovf(xml: bytes) -> Ovf:
    """Pure: the fields of the LinuxProvisioningConfigurationSet (namespaces ignored)."""
    import base64
    import binascii
    import xml.etree.ElementTree as ET  # noqa: N817 - as the standard library's documentation writes it

    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise DatasourceError(f"azure: ovf-env.xml is not valid XML: {exc}") from None
    sets = [e for e in root.iter() if _local(e.tag) == "LinuxProvisioningConfigurationSet"]
    if not sets:
        raise DatasourceError("azure: ovf-env.xml has no LinuxProvisioningConfigurationSet")
    out = Ovf()
    for e in sets[0].iter():
        tag, text = _local(e.tag), (e.text or "").strip()
        if tag == "HostName" and text:
            out.hostname = text
        elif tag == "UserName" and text:
            out.username = text
        elif tag == "CustomData" and text:
            try:
                out.custom_data = base64.b64decode(text, validate=False)
            except (binascii.Error, ValueError):
                raise DatasourceError("azure: ovf-env.xml CustomData is not valid base64") from None
        elif tag == "DisableSshPasswordAuthentication" and text:
            out.disable_password_auth = text.lower() == "true"
        elif tag == "PublicKey":
            value = next((c.text for c in e if _local(c.tag) == "Value" and c.text), None)
            if value and value.strip():
                out.keys.append(value.strip())
    if not out.hostname:
        raise DatasourceError("azure: ovf-env.xml has no HostName")
    return out


def _read_ovf(host: Host, deadline: float) -> tuple[bytes | None, str]:
    """(ovf-env.xml, where) from a seed folder or the provisioning media; (None, "") if none."""
    from ros_init.core.root import Root, RootError

    for d in _seed_dirs(host):
        try:
            data = host.root.read_bytes(f"{d}/ovf-env.xml", limit=MAX_OVF)
        except (OSError, RootError) as exc:
            raise DatasourceError(f"azure: {d}/ovf-env.xml: {exc}") from None
        if data is not None:
            return data, f"seed folder {d}"
    from ros_init.datasources.cdrom import open_volume

    from ros_init.system.blockdev import Volume, read_label

    for dev in _cfg(host).get("devices") or host.devices or [host.sys_path("/dev/sr0")]:
        try:
            label, fstype = read_label(dev)
        except OSError:
            continue
        if not fstype and not os.path.exists(dev):
            continue
        try:
            with open_volume(Volume(dev, label or "", fstype), host, deadline) as path:
                try:
                    data = Root(path).read_bytes("ovf-env.xml", limit=MAX_OVF)
                except (OSError, RootError) as exc:
                    raise DatasourceError(f"azure: {dev} ovf-env.xml: {exc}") from None
        except DatasourceError as exc:
            if fstype and fstype != "udf":
                raise
            # no known filesystem (an empty drive), or UDF this kernel cannot mount: IMDS may still answer
            host.logger.warning("azure: %s is not readable provisioning media: %s", dev, exc)
            continue
        if data is not None:
            return data, f"provisioning media {dev}"
    return None, ""


# -- IMDS -------------------------------------------------------------------------------------
def imds_network(interfaces: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Pure: IMDS ``network.interface[]`` -> v2 (DHCP on every NIC, the first one primary)."""
    from ros_init.network.convert import ec2_macs_to_v2

    macs: dict[str, dict[str, Any]] = {}
    for i, nic in enumerate(interfaces or []):
        raw = str(nic.get("macAddress") or "").replace("-", "").replace(":", "").lower()
        if len(raw) != 12:
            continue
        mac = ":".join(raw[j:j + 2] for j in range(0, 12, 2))
        v4 = nic.get("ipv4") or {}
        ips = [a.get("privateIpAddress") for a in v4.get("ipAddress") or [] if a.get("privateIpAddress")]
        subnets = [f"{s['address']}/{s['prefix']}" for s in v4.get("subnet") or [] if s.get("address")]
        macs[mac] = {"device-number": str(i), "local-ipv4s": ips, "subnet-ipv4-cidr-block": subnets[:1],
                     "ipv6s": [a.get("privateIpAddress") for a in (nic.get("ipv6") or {}).get("ipAddress") or []]}
    return ec2_macs_to_v2(macs) if macs else None


def network_of(interfaces: Any) -> dict[str, Any] | None:
    """``imds_network`` with input of the wrong shape as a DatasourceError naming Azure."""
    from ros_init.network.convert import NetconvError

    try:
        return imds_network(interfaces)
    except NetconvError as exc:
        raise DatasourceError(f"azure: network: {exc}") from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise DatasourceError(f"azure: network: malformed ({type(exc).__name__}: {exc})") from None


def _imds(host: Host, deadline: float) -> dict[str, Any] | None:
    from ros_init.sources import metaservice as ms

    try:
        with ms.Service(host, NAME, DEFAULT_URL, deadline, headers={"Metadata": "true"}) as svc:
            for api in (API, API_FALLBACK):
                resp = svc.request("GET", f"metadata/instance?api-version={api}&extended=true")
                if resp.status == 400 and api == API:
                    host.logger.info("azure: IMDS refuses api-version %s (HTTP 400): trying %s", API, API_FALLBACK)
                    continue
                if resp.status == 404:
                    return None
                if resp.status != 200:
                    raise DatasourceError(f"azure: IMDS metadata/instance answered HTTP {resp.status}")
                data = ms.parse_json(resp.body, "azure IMDS metadata/instance")
                if not isinstance(data, dict):
                    raise DatasourceError("azure: IMDS metadata/instance is not an object")
                return data
    except ms.Absent:
        return None
    return None


def fetch(host: Host, deadline: float) -> Documents | None:
    from ros_init.sources import metaservice as ms

    ovf_xml, where = _read_ovf(host, deadline)
    ovf = parse_ovf(ovf_xml) if ovf_xml else None
    imds = _imds(host, deadline)
    if ovf is None and imds is None:
        return None
    compute = (imds or {}).get("compute") or {}
    profile = compute.get("osProfile") or {}
    uuid = platform_id.dmi(host, "product_uuid") if platform_id.is_platform(host, NAME) else None
    iid = ms.check_instance_id(uuid.lower() if uuid else compute.get("vmId"), NAME)
    keys = [k for k in ms.keys_of(compute.get("publicKeys")) if k.startswith(("ssh-", "ecdsa-", "sk-"))]
    if ovf is not None:
        keys += ovf.keys
    user_data = ovf.custom_data if ovf is not None and ovf.custom_data else None
    if user_data is None and compute.get("userData"):
        user_data = ms.b64_user_data(compute["userData"], NAME, "IMDS userData")
    network = network_of(((imds or {}).get("network") or {}).get("interface") or [])
    username = (ovf.username if ovf else None) or profile.get("adminUsername")
    keys = list(dict.fromkeys(keys))
    extra: dict[str, Any] = {}
    if username:
        extra["users"] = [{"name": username, "sudo": SUDO, "shell": "/bin/bash",
                           **({"ssh_authorized_keys": keys} if keys else {})}]
    no_pw = ovf.disable_password_auth if ovf and ovf.disable_password_auth is not None else \
        str(profile.get("disablePasswordAuthentication", "")).lower() == "true" or None
    if no_pw:
        extra["ssh_pwauth"] = False
    raw = {}
    if imds is not None:
        raw["imds.json"] = ms.raw_json({**imds, "compute": {k: v for k, v in compute.items() if k != "userData"}})
    return ms.found(NAME, where or "IMDS", iid, host=host, deadline=deadline,
                    hostname=(ovf.hostname if ovf else None) or profile.get("computerName") or compute.get("name"),
                    keys=keys, network=network, user_data=user_data, raw=raw, extra=extra)


# -- report ready -----------------------------------------------------------------------------
@record(frozen=True)
class GoalState:
    incarnation: str
    container_id: str
    instance_id: str


def parse_goal_state(xml: bytes) -> GoalState:
    """Pure: the three values the health report must echo."""
    import xml.etree.ElementTree as ET  # noqa: N817

    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise DatasourceError(f"azure: the goal state is not valid XML: {exc}") from None

    def find(path: str) -> str:
        value = root.findtext(path)
        if not value or not value.strip():
            raise DatasourceError(f"azure: the goal state has no {path}")
        return value.strip()

    return GoalState(find("Incarnation"), find("Container/ContainerId"),
                     find("Container/RoleInstanceList/RoleInstance/InstanceId"))


def _xml_chars(text: str) -> str:
    """Pure: ``text`` without the characters XML 1.0 cannot carry (controls, surrogates)."""
    return "".join(c if c in "\t\n\r" or ("\x20" <= c <= "\ud7ff") or ("\ue000" <= c <= "\ufffd")
                   or c >= "\U00010000" else "?" for c in text)


def health_report(goal: GoalState, ok: bool, reason: str = "") -> bytes:
    """Pure: the ``Health`` document: Ready, or NotReady/ProvisioningFailed with the reason.
    (``xml.sax.saxutils`` is imported here: it pulls in ``urllib.request``, and the report is
    the only XML this source writes.)"""
    from xml.sax.saxutils import escape

    details = ""
    if not ok:
        text = " ".join(_xml_chars(reason or "provisioning failed").split())[:512]
        details = ("<Details><SubStatus>ProvisioningFailed</SubStatus>"
                   f"<Description>{escape(text)}</Description></Details>")
    return ('<?xml version="1.0" encoding="utf-8"?>\n'
            '<Health xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
            f"<GoalStateIncarnation>{escape(goal.incarnation)}</GoalStateIncarnation>"
            f"<Container><ContainerId>{escape(goal.container_id)}</ContainerId>"
            f"<RoleInstanceList><Role><InstanceId>{escape(goal.instance_id)}</InstanceId>"
            f"<Health><State>{'Ready' if ok else 'NotReady'}</State>{details}</Health>"
            "</Role></RoleInstanceList></Container></Health>").encode()


def _wireserver(host: Host) -> str:
    return str(_cfg(host).get("wireserver") or WIRESERVER).rstrip("/")


def report_ready(host: Host, ok: bool, reason: str, deadline: float) -> GoalState:
    """Tell the wireserver the provisioning result (goal state, then the health POST)."""
    from ros_init.sources.httpfetch import request

    base = _wireserver(host)
    timeout = float(_cfg(host).get("timeout") or 5.0)
    common = {"what": "the Azure wireserver", "timeout": timeout, "retry_refused": True,
              "logger": host.logger, "clock": host.clock, "max_size": 1024 * 1024}
    resp = request(f"{base}/machine/?comp=goalstate", deadline, headers=WIRE_HEADERS, **common)
    if resp.status != 200:
        raise DatasourceError(f"azure: the wireserver's goal state answered HTTP {resp.status}")
    goal = parse_goal_state(resp.body)
    resp = request(f"{base}/machine?comp=health", deadline, method="POST", data=health_report(goal, ok, reason),
                   headers={**WIRE_HEADERS, "Content-Type": "text/xml; charset=utf-8"}, **common)
    if resp.status not in (200, 201, 202):
        raise DatasourceError(f"azure: the wireserver refused the health report (HTTP {resp.status})")
    host.logger.info("azure: reported %s to the wireserver (incarnation %s)", "ready" if ok else "failure",
                     goal.incarnation)
    return goal


def after_run(host: Host, ok: bool, reason: str = "", deadline: float | None = None) -> bool:
    """The engine's hook after a run: report once per boot; True when a report was sent."""
    from ros_init.core.root import RootError

    if _cfg(host).get("report_ready") is False:
        return False
    if (host.root.read_bytes(MARKER) or b"").strip() == b"ready":
        return False  # a failure report may be followed by a ready one, never the reverse
    from ros_init.sources.netroute import steps_aside

    # The boot phase runs before the network manager: retrying an unreachable wireserver
    # held the boot 60 s (seen in the e2e boot) for a report the network phase sends anyway.
    if steps_aside(host, NAME, [_wireserver(host)], "the report to the wireserver"):
        return False
    report_ready(host, ok, reason, deadline if deadline is not None else host.clock() + 60)
    try:
        host.root.makedirs("/run/ros-init")
        host.root.write_file(MARKER, b"ready\n" if ok else b"failed\n", mode=0o644)
    except (OSError, RootError) as exc:
        host.logger.warning("azure: cannot record the report: %s", exc)
    return True
