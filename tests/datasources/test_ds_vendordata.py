"""Bad vendor-data is logged and ignored by every datasource, as cloud-init does: a NoCloud
ISO and a ConfigDrive FAT image on loop devices, a NoCloud seed over HTTP and a metadata
service (DigitalOcean's) on 127.0.0.1. The warning names the document and the reason, never
its content; the source's user-data and meta-data are still used, and the run applies them."""

from __future__ import annotations

import json
import logging
import subprocess
import time
from pathlib import Path

import pytest
from facilities import need_tools
from ros_init.datasources import http
from test_ds_cdrom import _vfat
from test_ds_clouds import BY, host_for, mod

from ros_init.cli.demo import make_os_skeleton
from ros_init.config.merge import merge_documents
from ros_init.core.model import Layer
from ros_init.core.root import Root
from ros_init.engine.collect import collect
from ros_init.engine.inputs import Inputs
from ros_init.engine.run import execute
from ros_init.sources.host import Host

SECRET = "s3cr3t-vendor-token"
BAD_VENDOR = {  # what is wrong -> the words the warning must hold
    "yaml": (f"#cloud-config\nbootcmd: [echo\n  token: {SECRET}\n", ["vendor-data", ":3"]),
    "format": (f"{SECRET} is no user-data format\n", ["vendor-data", "not a supported format"]),
    "part-handler": (f"#part-handler\nprint('{SECRET}')\n", ["vendor-data", "#part-handler is refused"]),
}
USER = "#cloud-config\nwrite_files:\n- path: /etc/from-user-data\n  content: user\n"
META = "instance-id: iid-vendor\nlocal-hostname: meta-host\n"


def _ignored(caplog, words: list[str]) -> str:
    lines = [r.getMessage() for r in caplog.records if "vendor-data ignored" in r.getMessage()]
    assert len(lines) == 1, [r.getMessage() for r in caplog.records]
    for w in words:
        assert w in lines[0], lines[0]
    assert SECRET not in caplog.text
    return lines[0]


def _iso(tmp_path: Path, label: str, files: dict[str, str]) -> Path:
    need_tools("xorriso")
    src = tmp_path / "iso"
    for name, text in files.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text(text)
    out = tmp_path / f"{label}.iso"
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-V", label, "-J", "-r", "-o", str(out), str(src)],
                   check=True, capture_output=True)
    return out


@pytest.mark.parametrize("bad", sorted(BAD_VENDOR))
def test_nocloud_iso_with_bad_vendor_data_runs_its_user_data(tmp_path, loop, caplog, bad):
    vendor, words = BAD_VENDOR[bad]
    dev = loop(_iso(tmp_path, "cidata", {"meta-data": META, "user-data": USER, "vendor-data": vendor}))
    root = make_os_skeleton(tmp_path / "root")
    settings = {"datasources": ["cdrom"], "deadline": 20, "state_dir": "/var/lib/ros-init",
                "cdrom": {"labels": ["cidata"], "seed_dirs": []}}
    with caplog.at_level(logging.WARNING):
        collected = collect(Root(root), settings, cmdline_text="", sys_root="/", devices=[dev])
    line = _ignored(caplog, [f"nocloud volume {dev} (cidata) vendor-data", *words])
    assert "user-data and meta-data are used" in line
    assert collected.instance_id == "iid-vendor"
    assert not [d for d in collected.documents if d.layer == Layer.VENDOR]
    assert merge_documents(collected.documents)["hostname"] == "meta-host"
    inputs = Inputs(documents=collected.documents, scripts=[], instance_id=collected.instance_id)
    out = execute(Root(root), settings, inputs, "boot", run_commands=False)
    assert out.code == 0
    assert (root / "etc/from-user-data").read_text() == "user"
    assert (root / "etc/hostname").read_text().strip() == "meta-host"
    assert SECRET not in "".join(p.read_text(errors="replace") for p in (root / "run").rglob("*.json"))


@pytest.mark.parametrize("vendor_json,words", [
    ('{"cloud-init": "#cloud-config\\nbootcmd: [', ["vendor_data.json", "not valid JSON"]),
    (json.dumps({"cloud-init": BAD_VENDOR["format"][0]}), ["vendor_data.json", "not a supported format"]),
], ids=["not-json", "bad-cloud-init-part"])
def test_configdrive_with_bad_vendor_data_keeps_its_user_data(tmp_path, loop, caplog, vendor_json, words):
    from ros_init.datasources import cdrom

    meta = json.dumps({"uuid": "cd-vendor-1", "hostname": "cd-host"})
    dev = loop(_vfat(tmp_path, "config-2", {"openstack/latest/meta_data.json": meta,
                                            "openstack/latest/user_data": USER,
                                            "openstack/latest/vendor_data.json": vendor_json}))
    (tmp_path / "root").mkdir()
    host = Host(root=Root(tmp_path / "root"), settings={"cdrom": {"labels": ["config-2"], "seed_dirs": []}},
                devices=[dev])
    with caplog.at_level(logging.WARNING):
        docs = cdrom.fetch(host, time.monotonic() + 20)
    _ignored(caplog, [f"configdrive volume {dev} (config-2) vendor_data.json", *words])
    assert docs.instance_id == "cd-vendor-1"
    assert {d.layer: d.data for d in docs.configs} == {
        Layer.METADATA: {"hostname": "cd-host"},
        Layer.USER: {"write_files": [{"path": "/etc/from-user-data", "content": "user"}]}}


def test_nocloud_seed_over_http_with_bad_vendor_data(tmp_path, caplog, config_server):
    config_server.state.files.update({"/seed/meta-data": META.encode(), "/seed/user-data": USER.encode(),
                                      "/seed/vendor-data": BAD_VENDOR["yaml"][0].encode()})
    host = Host(root=Root(tmp_path), settings={"http": {"timeout": 1}},
                cmdline_text=f"ds=nocloud;s={config_server.url}/seed/")
    with caplog.at_level(logging.WARNING):
        docs = http.fetch(host, time.monotonic() + 5)
    _ignored(caplog, ["/seed/ vendor-data", ":3"])
    assert docs.instance_id == "iid-vendor"
    assert [d.layer for d in docs.configs] == [Layer.METADATA, Layer.USER]


def test_a_metadata_service_with_bad_vendor_data_says_the_same(tmp_path, caplog, platform_server):
    p = BY["digitalocean"]
    st = p.state()
    st.routes["GET /metadata/v1.json"]["vendor_data"] = BAD_VENDOR["format"][0]
    srv = platform_server(st)
    with caplog.at_level(logging.WARNING):
        docs = mod(p.name).fetch(host_for(tmp_path, p, srv.url), time.monotonic() + 10)
    line = _ignored(caplog, ["digitalocean vendor-data", "not a supported format"])
    assert line.endswith("(vendor-data ignored, as cloud-init ignores it; user-data and meta-data are used)")
    assert [d.layer for d in docs.configs] == [Layer.METADATA, Layer.USER]


@pytest.mark.parametrize("vendor", [
    f"#cloud-config\nwrite_files:\n- path: relative/vendor-file\n  content: {SECRET}\nruncmd: 5\n",  # the schema
    "#cloud-config\nwrite_files:\n- path: /etc/vendor-file\n  content: x\n"
    "disable_root_opts: no-pty restrict\n",  # the sshkeys stage's parse (an option with a bare space)
])
def test_vendor_data_that_does_not_validate_is_ignored_and_the_user_data_runs(tmp_path, caplog, vendor):
    """Vendor-data that parses but breaks the schema (a relative path, a key of the wrong type)
    is left out with located warnings, as cloud-init uses what it can of vendor-data and logs
    the rest; the user's own config still runs. The vendor's values are never echoed."""
    root = make_os_skeleton(tmp_path / "root")
    seed = root / "var/lib/cloud/seed/nocloud"  # a seed folder of the target root
    seed.mkdir(parents=True)
    (seed / "meta-data").write_text(META)
    (seed / "user-data").write_text(USER)
    (seed / "vendor-data").write_text(vendor)
    settings = {"datasources": ["cdrom"], "deadline": 20, "state_dir": "/var/lib/ros-init",
                "cdrom": {"labels": ["cidata"], "seed_dirs": ["/var/lib/cloud/seed/nocloud"]}}
    collected = collect(Root(root), settings, cmdline_text="", sys_root="/", devices=[])
    assert [d for d in collected.documents if d.layer == Layer.VENDOR]  # it decodes: the schema decides
    inputs = Inputs(documents=collected.documents, scripts=[], instance_id=collected.instance_id)
    out = execute(Root(root), settings, inputs, "boot", run_commands=False)
    assert out.code == 0
    assert (root / "etc/from-user-data").read_text() == "user"
    assert not list(root.rglob("vendor-file"))
    status = json.loads(next((root / "run").rglob("status*.json")).read_text())
    text = json.dumps(status)
    assert "vendor-data" in text and "ignored" in text and SECRET not in text


def test_a_broken_vendor_data_envelope_is_ignored_on_openstack_and_vmware(tmp_path, caplog, platform_server):
    """Vendor-data that comes in an envelope (OpenStack's vendor_data.json, a guestinfo
    encoding) whose envelope is broken is ignored like any unusable vendor-data: the source
    keeps its instance, meta-data and user-data."""
    from test_ds_vmware import META as VM_META
    from test_ds_vmware import UD as VM_UD
    from test_ds_vmware import host_for as vm_host
    from test_ds_vmware import make_tool

    p = BY["openstack"]
    st = p.state()
    st.routes["GET /openstack/latest/vendor_data.json"] = f'{{"cloud-init": "{SECRET}'  # cut short
    srv = platform_server(st)
    with caplog.at_level(logging.WARNING):
        docs = mod("openstack").fetch(host_for(tmp_path, p, srv.url), time.monotonic() + 10)
    _ignored(caplog, ["openstack/latest/vendor_data.json", "not valid JSON"])
    assert docs.instance_id == p.iid and Layer.USER in [d.layer for d in docs.configs]
    caplog.clear()
    exe, _ = make_tool(tmp_path, "vmware-rpctool", {"metadata": VM_META, "userdata": VM_UD,
                                                    "vendordata": SECRET, "vendordata.encoding": "rot13"})
    with caplog.at_level(logging.WARNING):
        docs = mod("vmware").fetch(vm_host(tmp_path, exe), time.monotonic() + 10)
    _ignored(caplog, ["guestinfo.vendordata", "is not plain, base64 or gzip+base64"])
    assert docs.instance_id == "cloud-vm"
    assert [d.layer for d in docs.configs] == [Layer.METADATA, Layer.USER]
