"""Azure: ovf-env.xml (seed folder and an ISO on a loop device), IMDS with ``Metadata: true`` and the
wireserver's goal state + health report, each a real server on 127.0.0.1 shaped as Azure documents."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import time

import pytest
from platform_servers import PlatformState, Req
from ros_init.datasources import azure

from ros_init.core.model import Layer
from ros_init.core.root import Root
from ros_init.sources.host import DatasourceError, Host

KEY_OVF = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABovf test-user@ovf"
KEY_IMDS = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIimds azureuser@imds"
UD = b"#cloud-config\nruncmd: [echo from-custom-data]\n"


def ovf_env(custom: bytes | None = UD, hostname: str = "test-host", user: str = "test-user", key: str = KEY_OVF) -> str:
    """The ovf-env.xml Azure puts on the provisioning media (also booted in tests/e2e/test_platforms.py)."""
    cd = f"<ns1:CustomData>{base64.b64encode(custom).decode()}</ns1:CustomData>" if custom else ""
    return f"""<ns0:Environment xmlns="http://schemas.dmtf.org/ovf/environment/1"
 xmlns:ns0="http://schemas.dmtf.org/ovf/environment/1" xmlns:ns1="http://schemas.microsoft.com/windowsazure"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <ns1:ProvisioningSection><ns1:Version>1.0</ns1:Version>
  <ns1:LinuxProvisioningConfigurationSet>
   <ns1:ConfigurationSetType>LinuxProvisioningConfiguration</ns1:ConfigurationSetType>
   <ns1:HostName>{hostname}</ns1:HostName><ns1:UserName>{user}</ns1:UserName>
   <ns1:UserPassword>Secret-Passw0rd</ns1:UserPassword>
   {cd}
   <ns1:DisableSshPasswordAuthentication>true</ns1:DisableSshPasswordAuthentication>
   <ns1:SSH><ns1:PublicKeys><ns1:PublicKey><ns1:Fingerprint>ABCD</ns1:Fingerprint>
     <ns1:Path>/home/{user}/.ssh/authorized_keys</ns1:Path>
     <ns1:Value>{key}</ns1:Value></ns1:PublicKey></ns1:PublicKeys></ns1:SSH>
  </ns1:LinuxProvisioningConfigurationSet></ns1:ProvisioningSection>
 <ns1:PlatformSettingsSection><ns1:Version>1.0</ns1:Version><ns1:PlatformSettings>
   <ns1:ProvisionGuestAgent>false</ns1:ProvisionGuestAgent>
   <ns1:PreprovisionedVMType xsi:nil="true" /></ns1:PlatformSettings></ns1:PlatformSettingsSection>
</ns0:Environment>"""


IMDS = {"compute": {"location": "eastus2", "name": "my-hostname", "vmId": "ff702a6b-cb6a-4fcd-ad68-b4ce38227642",
                    "vmSize": "Standard_DS1_v2", "publicKeys": [{"keyData": KEY_IMDS, "path": "p"}],
                    "osProfile": {"adminUsername": "azureuser", "computerName": "my-hostname",
                                  "disablePasswordAuthentication": "true"},
                    "userData": base64.b64encode(b"#cloud-config\nruncmd: [echo from-imds]\n").decode()},
        "network": {"interface": [{"macAddress": "000D3A047598", "ipv6": {"ipAddress": []},
                                   "ipv4": {"subnet": [{"prefix": "24", "address": "10.0.0.0"}],
                                            "ipAddress": [{"privateIpAddress": "10.0.0.4",
                                                           "publicIpAddress": "104.46.124.81"},
                                                          {"privateIpAddress": "10.0.0.5"}]}}]},
        "extended": {"compute": {"hasCustomData": False, "ppsType": "None"}}}

GOAL = """<?xml version="1.0" encoding="utf-8"?>
<GoalState xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="goalstate10.xsd">
  <Version>2012-11-30</Version><Incarnation>{inc}</Incarnation>
  <Machine><ExpectedState>Started</ExpectedState></Machine>
  <Container><ContainerId>c6d5d0e6-3d24-4a1a-b4c8-c2bd8d0cb2aa</ContainerId>
    <RoleInstanceList><RoleInstance><InstanceId>896ffb48d4a7.vm1</InstanceId><State>Started</State>
      <Configuration><Certificates>http://168.63.129.16/certs</Certificates></Configuration>
    </RoleInstance></RoleInstanceList></Container>
</GoalState>"""


def imds_state(**over) -> PlatformState:
    def instance(req: Req):
        if "api-version=" not in req.path:
            return (400, {"error": "Bad request. api-version was not specified"}, {})
        return (200, {**IMDS, **over}, {})
    return PlatformState(routes={"GET /metadata/instance": instance}, require={"Metadata": "true"},
                         deny_status=400)


def wire_state(inc: str = "3") -> PlatformState:
    return PlatformState(routes={"GET /machine/": GOAL.format(inc=inc), "POST /machine": (200, "", {})},
                         require={"x-ms-version": "2012-11-30", "x-ms-agent-name": "WALinuxAgent"}, deny_status=400)


def host_for(tmp_path, imds_url=None, wire_url=None, ovf: str | None = None, **cfg) -> Host:
    if ovf is not None:
        d = tmp_path / "var/lib/cloud/seed/azure"
        d.mkdir(parents=True, exist_ok=True)
        (d / "ovf-env.xml").write_text(ovf)
    dmi = tmp_path / "sys/class/dmi/id"
    dmi.mkdir(parents=True, exist_ok=True)
    (dmi / "chassis_asset_tag").write_text("7783-7084-3265-9085-8269-3286-77\n")
    (dmi / "product_uuid").write_text("4E8E3A6F-1D7C-4B2B-9A3A-3B0E4D7C2F11\n")
    settings = {"azure": {"url": imds_url or "http://127.0.0.1:9", "timeout": 0.5, "devices": ["/nonexistent"],
                          **({"wireserver": wire_url} if wire_url else {}), **cfg}}
    return Host(root=Root(tmp_path), settings=settings, sys_root=str(tmp_path))


def test_ovf_and_imds_together(platform_server, tmp_path):
    imds = platform_server(imds_state())
    docs = azure.fetch(host_for(tmp_path, imds.url, ovf=ovf_env()), time.monotonic() + 10)
    assert docs.instance_id == "4e8e3a6f-1d7c-4b2b-9a3a-3b0e4d7c2f11"
    meta = [d for d in docs.configs if d.layer == Layer.METADATA][0].data
    assert meta["hostname"] == "test-host" and meta["ssh_pwauth"] is False
    assert meta["ssh_authorized_keys"] == [KEY_IMDS, KEY_OVF]
    assert meta["users"] == [{"name": "test-user", "sudo": azure.SUDO, "shell": "/bin/bash",
                              "ssh_authorized_keys": [KEY_IMDS, KEY_OVF]}]
    eth0 = meta["network"]["ethernets"]["eth0"]
    assert eth0["match"] == {"macaddress": "00:0d:3a:04:75:98"} and eth0["addresses"] == ["10.0.0.5/24"]
    # CustomData wins over IMDS userData
    assert [d.data for d in docs.configs if d.layer == Layer.USER] == [{"runcmd": ["echo from-custom-data"]}]
    assert all(h.get("metadata") == "true" for _, _, h in imds.state.requests)
    assert "Secret-Passw0rd" not in repr(docs) + b"".join(docs.raw.values()).decode()


def test_imds_only_uses_os_profile_and_user_data(platform_server, tmp_path):
    imds = platform_server(imds_state())
    docs = azure.fetch(host_for(tmp_path, imds.url), time.monotonic() + 10)
    meta = docs.configs[0].data
    assert meta["hostname"] == "my-hostname" and meta["users"][0]["name"] == "azureuser"
    assert [d.data for d in docs.configs if d.layer == Layer.USER] == [{"runcmd": ["echo from-imds"]}]


def test_ovf_only_when_imds_is_not_there(tmp_path):
    docs = azure.fetch(host_for(tmp_path, ovf=ovf_env()), time.monotonic() + 10)
    assert docs.configs[0].data["hostname"] == "test-host"


def test_imds_falls_back_to_the_older_api_version(platform_server, tmp_path):
    st = imds_state()
    inner = st.routes["GET /metadata/instance"]
    st.routes["GET /metadata/instance"] = lambda req: (400, {"error": "unsupported"}, {}) \
        if azure.API in req.path else inner(req)
    imds = platform_server(st)
    docs = azure.fetch(host_for(tmp_path, imds.url), time.monotonic() + 10)
    assert docs.configs[0].data["hostname"] == "my-hostname"
    assert [p for _, p, _ in imds.state.requests][-1].endswith(f"api-version={azure.API_FALLBACK}&extended=true")


def test_broken_ovf_is_an_error(tmp_path):
    with pytest.raises(DatasourceError, match="not valid XML"):
        azure.fetch(host_for(tmp_path, ovf="<Environment"), time.monotonic() + 10)
    with pytest.raises(DatasourceError, match="no HostName"):
        azure.fetch(host_for(tmp_path, ovf=ovf_env(hostname="")), time.monotonic() + 10)


def test_detect_by_asset_tag_or_seed(tmp_path):
    h = Host(root=Root(tmp_path), settings={}, sys_root=str(tmp_path))
    assert not azure.detect(h)
    assert azure.detect(host_for(tmp_path))


def _health(wire) -> list[bytes]:
    return [b for p, b in wire.state.bodies if p.startswith("/machine?comp=health")]


def test_exactly_one_ready_report_with_the_goal_state_values(platform_server, tmp_path):
    wire = platform_server(wire_state("7"))
    host = host_for(tmp_path, wire_url=wire.url)
    assert azure.after_run(host, ok=True) is True
    assert azure.after_run(host, ok=True) is False  # once per boot
    [body] = _health(wire)
    assert b"<State>Ready</State>" in body and b"<GoalStateIncarnation>7</GoalStateIncarnation>" in body
    assert b"<ContainerId>c6d5d0e6-3d24-4a1a-b4c8-c2bd8d0cb2aa</ContainerId>" in body
    assert b"<InstanceId>896ffb48d4a7.vm1</InstanceId>" in body
    post = [h for m, p, h in wire.state.requests if m == "POST"][0]
    assert post["content-type"].startswith("text/xml") and post["x-ms-version"] == "2012-11-30"
    assert wire.state.requests[0][1] == "/machine/?comp=goalstate"


def test_a_failed_run_reports_not_ready_with_the_reason(platform_server, tmp_path):
    wire = platform_server(wire_state())
    host = host_for(tmp_path, wire_url=wire.url)
    azure.after_run(host, ok=False, reason="users stage: invalid <config> & more " + "x" * 600)
    [body] = _health(wire)
    assert b"<State>NotReady</State>" in body and b"<SubStatus>ProvisioningFailed</SubStatus>" in body
    desc = re.search(rb"<Description>(.*)</Description>", body).group(1)
    assert desc.startswith(b"users stage: invalid &lt;config&gt; &amp; more") and len(desc) < 540
    # a later good run in the same boot still reports ready, once
    azure.after_run(host, ok=True)
    azure.after_run(host, ok=True)
    assert [b"<State>Ready</State>" in b for b in _health(wire)] == [False, True]


def test_without_a_network_route_the_report_is_left_to_the_network_phase(tmp_path, monkeypatch):
    """The boot phase runs before the network manager: it must not hold the boot retrying an
    unreachable wireserver (60 s in the e2e boot) but leave the report to the network phase."""
    route = tmp_path / "proc/net/route"
    route.parent.mkdir(parents=True)
    route.write_text("Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n"
                     "lo\t0000007F\t00000000\t0001\t0\t0\t0\t000000FF\n")
    (tmp_path / "proc/net/ipv6_route").write_text("")
    # the default wireserver address, which this test must never reach
    monkeypatch.setattr(azure, "report_ready", lambda *a: pytest.fail("the wireserver was contacted"))
    host = host_for(tmp_path)
    t0 = time.monotonic()
    assert azure.after_run(host, ok=True) is False
    assert time.monotonic() - t0 < 0.5
    assert (tmp_path / "run/ros-init/need-network").read_text() == "azure\n"
    assert not (tmp_path / azure.MARKER.lstrip("/")).exists()  # the network phase still reports


def test_report_ready_can_be_turned_off(platform_server, tmp_path):
    wire = platform_server(wire_state())
    assert azure.after_run(host_for(tmp_path, wire_url=wire.url, report_ready=False), ok=True) is False
    assert not wire.state.requests


def test_a_hanging_wireserver_ends_at_the_deadline(platform_server, tmp_path):
    st = wire_state()
    st.fault = "hang"
    wire = platform_server(st)
    t0 = time.monotonic()
    with pytest.raises(Exception, match="timeout|deadline"):
        azure.report_ready(host_for(tmp_path, wire_url=wire.url), True, "", time.monotonic() + 1.0)
    assert time.monotonic() - t0 < 1.6


def test_health_report_is_well_formed_xml():
    import xml.etree.ElementTree as ET

    goal = azure.GoalState("1", "c", "i")
    for ok in (True, False):
        root = ET.fromstring(azure.health_report(goal, ok, "a < b & c"))
        assert root.findtext("Container/RoleInstanceList/Role/Health/State") == ("Ready" if ok else "NotReady")


@pytest.mark.skipif(shutil.which("xorriso") is None or shutil.which("losetup") is None,
                    reason="needs xorriso and losetup")
def test_ovf_env_on_a_provisioning_iso_on_a_loop_device(tmp_path):
    src = tmp_path / "iso"
    src.mkdir()
    (src / "ovf-env.xml").write_text(ovf_env())
    iso = tmp_path / "prov.iso"
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-V", "rd_rdfe_stable.test", "-o", str(iso), str(src)],
                   check=True, capture_output=True)
    try:
        dev = subprocess.run(["losetup", "--find", "--show", "--read-only", str(iso)], check=True,
                             capture_output=True, text=True).stdout.strip()
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"no loop device: {exc.stderr.strip()}")
    try:
        host = host_for(tmp_path)
        host.settings["azure"]["devices"] = [dev]
        docs = azure.fetch(host, time.monotonic() + 20)
        assert docs.configs[0].data["hostname"] == "test-host" and "provisioning media" in docs.source
    finally:
        subprocess.run(["losetup", "-d", dev], check=False)


@pytest.mark.parametrize("fault,expect", [("hang", "timeout"), ("slow", "timeout"), ("500", "500"),
                                          ("html", "not valid JSON"), ("huge", "too-large"), ("404", None)])
def test_imds_fault_matrix_within_the_deadline(platform_server, tmp_path, fault, expect):
    from ros_init.sources.httpfetch import FetchError

    st = imds_state()
    st.fault = fault
    imds = platform_server(st)
    t0 = time.monotonic()
    if expect is None:  # no IMDS and no OVF: absent
        assert azure.fetch(host_for(tmp_path, imds.url), time.monotonic() + 0.8) is None
        return
    with pytest.raises((FetchError, DatasourceError)) as err:
        azure.fetch(host_for(tmp_path, imds.url), time.monotonic() + 0.8)
    assert time.monotonic() - t0 < 1.4
    assert expect in str(err.value) + getattr(err.value, "kind", "")


def test_imds_refuses_requests_without_the_metadata_header(platform_server):
    import requests

    imds = platform_server(imds_state())
    assert requests.get(imds.url + "/metadata/instance?api-version=2021-08-01", timeout=2).status_code == 400


def test_the_registry_calls_the_platform_hook_and_never_raises(platform_server, tmp_path, caplog):
    from ros_init.datasources import after_run

    wire = platform_server(wire_state("9"))
    host = host_for(tmp_path, wire_url=wire.url)
    assert after_run("azure", host, True, "") is True
    assert after_run("ec2", host, True, "") is None and after_run(None, host, True) is None
    st = wire_state()
    st.fault = "500"
    broken = platform_server(st)
    other = host_for(tmp_path / "b", wire_url=broken.url)
    assert after_run("azure", other, False, "users stage failed", time.monotonic() + 0.5) is None
    assert "azure: after the run" in caplog.text


def test_unreadable_media_leaves_imds_to_answer(platform_server, tmp_path):
    junk = tmp_path / "junk.img"
    junk.write_bytes(b"\0" * 70000)  # no filesystem: not the provisioning media
    imds = platform_server(imds_state())
    host = host_for(tmp_path, imds.url)
    host.settings["azure"]["devices"] = [str(junk)]
    docs = azure.fetch(host, time.monotonic() + 10)
    assert docs.configs[0].data["hostname"] == "my-hostname"


@pytest.mark.skipif(shutil.which("mkudffs") is None, reason="needs mkudffs (udftools)")
def test_udf_media_the_kernel_cannot_read_leaves_imds_to_answer(platform_server, tmp_path):
    """A UDF volume with no ovf-env.xml readable (this kernel may have no udf module, or the
    volume holds no OVF): a warning, and IMDS gives the instance, as on Azure without OVF."""
    img = tmp_path / "udf.img"
    with open(img, "wb") as fh:
        fh.truncate(8 * 1024 * 1024)
    subprocess.run(["mkudffs", "--media-type=hd", "--label=rd_rdfe_stable.x", str(img)], check=True,
                   capture_output=True)
    imds = platform_server(imds_state())
    host = host_for(tmp_path, imds.url)
    host.settings["azure"]["devices"] = [str(img)]
    t0 = time.monotonic()
    docs = azure.fetch(host, time.monotonic() + 10)
    assert docs.configs[0].data["hostname"] == "my-hostname"
    assert time.monotonic() - t0 < 10
