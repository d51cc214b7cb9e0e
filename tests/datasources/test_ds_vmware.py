"""VMware guestinfo through a stand-in ``vmware-rpctool``/``vmtoolsd`` on PATH (no hypervisor exists
here: the stand-in answers ``info-get``/``info-set`` from files, with the real tools' stderr
``No value found`` and exit status for an unset key)."""

from __future__ import annotations

import base64
import gzip
import time
from pathlib import Path

import pytest
from ros_init.datasources import vmware

from ros_init.core.model import Layer
from ros_init.core.root import Root
from ros_init.sources.host import DatasourceError, Host

META = """instance-id: cloud-vm
local-hostname: cloud-vm
public-keys-data: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIvm ops@vc
redact: [userdata]
network:
  version: 2
  ethernets:
    nics: {match: {name: ens*}, dhcp4: yes}
"""
UD = "#cloud-config\nruncmd: [echo from-guestinfo]\n"

STUB = r"""#!/bin/sh
# stand-in for open-vm-tools: guestinfo.<key> is the file <dir>/<key>
dir=__DIR__
echo "$0 $*" >> "$dir/../calls"
if [ "$1" = "--cmd" ]; then shift; fi
set -- $1
case "$1" in
  info-get)
    key=${2#guestinfo.}
    if [ -f "$dir/$key" ]; then cat "$dir/$key"; exit 0; fi
    echo "No value found" >&2; exit 1 ;;
  info-set)
    key=${2#guestinfo.}; shift 2
    printf '%s' "$*" > "$dir/$key"; exit 0 ;;
esac
echo "Unknown command" >&2; exit 1
"""


def make_tool(tmp_path: Path, name: str, values: dict[str, str]) -> tuple[str, Path]:
    d = tmp_path / "guestinfo"
    d.mkdir(exist_ok=True)
    for k, v in values.items():
        (d / k).write_text(v)
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    exe = bindir / name
    exe.write_text(STUB.replace("__DIR__", str(d)))
    exe.chmod(0o755)
    return str(exe), d


def host_for(tmp_path, exe=None, vmware_dmi=True, **cfg) -> Host:
    dmi = tmp_path / "sys/class/dmi/id"
    dmi.mkdir(parents=True, exist_ok=True)
    if vmware_dmi:
        (dmi / "product_name").write_text("VMware7,1\n")
        (dmi / "product_uuid").write_text("4231E1B5-1B5C-2D5A-6B3F-111111111111\n")
    settings = {"vmware": {**({"tool": exe} if exe else {}), **cfg}}
    return Host(root=Root(tmp_path), settings=settings, sys_root=str(tmp_path))


@pytest.mark.parametrize("tool", ["vmware-rpctool", "vmtoolsd"])
def test_plain_metadata_and_userdata(tmp_path, tool):
    exe, _ = make_tool(tmp_path, tool, {"metadata": META, "userdata": UD})
    host = host_for(tmp_path, exe)
    assert vmware.detect(host)
    docs = vmware.fetch(host, time.monotonic() + 10)
    assert docs.instance_id == "cloud-vm"
    meta = [d for d in docs.configs if d.layer == Layer.METADATA][0].data
    assert meta["hostname"] == "cloud-vm"
    assert meta["ssh_authorized_keys"] == ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIvm ops@vc"]
    assert meta["network"]["ethernets"]["nics"]["dhcp4"] is True
    assert [d.data for d in docs.configs if d.layer == Layer.USER] == [{"runcmd": ["echo from-guestinfo"]}]
    calls = (tmp_path / "calls").read_text()
    assert ("--cmd info-get guestinfo.metadata" in calls) == (tool == "vmtoolsd")


@pytest.mark.parametrize("encoding,encode", [
    ("base64", lambda b: base64.b64encode(b)), ("b64", lambda b: base64.b64encode(b)),
    ("gzip+base64", lambda b: base64.b64encode(gzip.compress(b))),
    ("gz+b64", lambda b: base64.b64encode(gzip.compress(b)))])
def test_every_encoding(tmp_path, encoding, encode):
    exe, _ = make_tool(tmp_path, "vmware-rpctool", {
        "metadata": encode(META.encode()).decode(), "metadata.encoding": encoding,
        "userdata": encode(UD.encode()).decode(), "userdata.encoding": encoding,
        "vendordata": encode(b"#cloud-config\nntp: {enabled: true}\n").decode(), "vendordata.encoding": encoding})
    docs = vmware.fetch(host_for(tmp_path, exe), time.monotonic() + 10)
    assert docs.instance_id == "cloud-vm"
    assert [d.data for d in docs.configs if d.layer == Layer.VENDOR] == [{"ntp": {"enabled": True}}]
    assert [d.data for d in docs.configs if d.layer == Layer.USER] == [{"runcmd": ["echo from-guestinfo"]}]


def test_no_key_set_is_absent_so_esxi_does_not_shadow_other_sources(tmp_path):
    exe, _ = make_tool(tmp_path, "vmware-rpctool", {"metadata": "---"})
    assert vmware.fetch(host_for(tmp_path, exe), time.monotonic() + 10) is None


def test_instance_id_defaults_to_the_dmi_uuid(tmp_path):
    exe, _ = make_tool(tmp_path, "vmware-rpctool", {"userdata": UD})
    docs = vmware.fetch(host_for(tmp_path, exe), time.monotonic() + 10)
    assert docs.instance_id == "4231e1b5-1b5c-2d5a-6b3f-111111111111"


def test_bad_encoding_and_bad_base64_are_errors_without_the_value(tmp_path):
    exe, _ = make_tool(tmp_path, "vmware-rpctool", {"userdata": "secret-pass", "userdata.encoding": "rot13"})
    with pytest.raises(DatasourceError, match="rot13") as err:
        vmware.fetch(host_for(tmp_path, exe), time.monotonic() + 10)
    assert "secret-pass" not in str(err.value)
    exe, _ = make_tool(tmp_path, "vmware-rpctool", {"userdata": "H4sI!!notgzip", "userdata.encoding": "gz+b64"})
    with pytest.raises(DatasourceError, match="does not decode"):
        vmware.fetch(host_for(tmp_path, exe), time.monotonic() + 10)


def test_detect_needs_vmware_dmi_and_a_tool(tmp_path, monkeypatch):
    exe, _ = make_tool(tmp_path, "vmware-rpctool", {})
    assert not vmware.detect(host_for(tmp_path, exe, vmware_dmi=False))
    assert vmware.detect(host_for(tmp_path, exe, vmware_dmi=False, force=True))
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert vmware.detect(host_for(tmp_path))  # found on PATH
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    assert not vmware.detect(host_for(tmp_path))


def test_a_hanging_tool_ends_at_the_deadline(tmp_path):
    exe = tmp_path / "vmware-rpctool"
    exe.write_text("#!/bin/sh\nexec sleep 30\n")
    exe.chmod(0o755)
    t0 = time.monotonic()
    with pytest.raises(DatasourceError, match="did not answer"):
        vmware.fetch(host_for(tmp_path, str(exe)), time.monotonic() + 0.5)
    assert time.monotonic() - t0 < 1.5


def test_after_run_redacts_the_listed_keys_only_after_success(tmp_path):
    exe, d = make_tool(tmp_path, "vmware-rpctool", {"metadata": META, "userdata": base64.b64encode(UD.encode()).decode(),
                                                    "userdata.encoding": "base64"})
    host = host_for(tmp_path, exe)
    assert vmware.after_run(host, ok=False, reason="users stage failed") == []
    assert (d / "userdata.encoding").read_text() == "base64"
    assert vmware.after_run(host, ok=True) == ["userdata"]
    assert (d / "userdata").read_text() == "---"
    assert vmware.fetch(host, time.monotonic() + 10).instance_id == "cloud-vm"  # metadata still there
    assert [c.layer for c in vmware.fetch(host, time.monotonic() + 10).configs] == [Layer.METADATA]

