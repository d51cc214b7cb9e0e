"""Platforms through ``ros-init run`` as a user boots them: the image settings point a platform
source at its fake service on 127.0.0.1, the run applies what the metadata says to a scratch
OS root (users, keys, hostname), and Azure's ready report follows the run's outcome."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from platform_servers import PlatformState
from test_ds_azure import IMDS, KEY_IMDS, KEY_OVF, imds_state, ovf_env, wire_state
from test_ds_clouds import KEY, do_state

from ros_init.cli import main
from ros_init.cli.demo import make_os_skeleton
from ros_init.core.root import Root


@pytest.fixture
def scratch_root(tmp_path: Path) -> Path:
    return make_os_skeleton(tmp_path / "root")


def settings(root: Path, **sources) -> None:
    s = {"datasources": ["cmdline", *sources], "deadline": 10, **sources}
    p = root / "etc/ros-init/ros-init.yaml"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(yaml.safe_dump(s))


def boot(root: Path) -> int:
    rc = main(["run", "--phase", "initramfs", "--root", str(root)])
    return max(rc, main(["run", "--phase", "boot", "--root", str(root)]))


def test_digitalocean_droplet_boot_writes_hostname_and_root_keys(platform_server, scratch_root, capsys):
    srv = platform_server(do_state())
    settings(scratch_root, digitalocean={"url": srv.url, "timeout": 1})
    assert boot(scratch_root) == 0, capsys.readouterr().err
    assert (scratch_root / "etc/hostname").read_text().strip() == "utl-96268"
    assert KEY in (scratch_root / "root/.ssh/authorized_keys").read_text()


def test_azure_boot_creates_the_admin_user_with_keys_then_reports_ready(platform_server, scratch_root, capsys):

    imds, wire = platform_server(imds_state()), platform_server(wire_state("5"))
    seed = scratch_root / "var/lib/cloud/seed/azure"
    seed.mkdir(parents=True)
    (seed / "ovf-env.xml").write_text(ovf_env())
    settings(scratch_root, azure={"url": imds.url, "wireserver": wire.url, "timeout": 1, "devices": ["/dev/ros-init-test-none"]})
    assert boot(scratch_root) == 0, capsys.readouterr().err
    passwd = (scratch_root / "etc/passwd").read_text()
    assert "\ntest-user:" in passwd
    keys = (scratch_root / "home/test-user/.ssh/authorized_keys").read_text()
    assert KEY_OVF in keys and KEY_IMDS in keys
    assert (scratch_root / "etc/hostname").read_text().strip() == "test-host"
    # the engine told the wireserver once, after the boot phase (not after the initramfs phase)
    [body] = [b for p, b in wire.state.bodies if "comp=health" in p]
    assert b"<State>Ready</State>" in body and b"<GoalStateIncarnation>5</GoalStateIncarnation>" in body
    assert main(["run", "--phase", "boot", "--root", str(scratch_root)]) == 0  # the network unit's rerun
    assert len([b for p, b in wire.state.bodies if "comp=health" in p]) == 1  # once per boot
    assert json.dumps(IMDS["compute"]["userData"]) not in capsys.readouterr().err


def test_a_broken_platform_user_data_fails_the_run_with_the_source_named(platform_server, scratch_root, capsys):
    st = do_state()
    st.routes["GET /metadata/v1.json"]["user_data"] = "#cloud-config\nusers: [{name: 1bad}]\n"
    srv = platform_server(st)
    settings(scratch_root, digitalocean={"url": srv.url, "timeout": 1})
    assert boot(scratch_root) != 0
    err = capsys.readouterr().err
    assert "digitalocean user-data" in err


def test_a_hanging_platform_ends_within_the_deadline_and_the_status_says_so(platform_server, scratch_root, capsys):
    import time

    st = PlatformState(fault="hang")
    srv = platform_server(st)
    settings(scratch_root, hetzner={"url": srv.url + "/hetzner/v1", "timeout": 0.5})
    y = yaml.safe_load((scratch_root / "etc/ros-init/ros-init.yaml").read_text())
    y["deadline"] = 1.5
    (scratch_root / "etc/ros-init/ros-init.yaml").write_text(yaml.safe_dump(y))
    t0 = time.monotonic()
    main(["run", "--phase", "boot", "--root", str(scratch_root)])
    assert time.monotonic() - t0 < 8
    capsys.readouterr()
    main(["status", "--root", str(scratch_root)])
    out = capsys.readouterr().out
    assert "hetzner" in out and "timeout" in out


def test_settings_accept_every_platform_mapping_and_refuse_unknown_keys(tmp_path):
    from ros_init.config.settings import SettingsError, load_settings

    p = tmp_path / "settings.yaml"
    names = ["openstack", "digitalocean", "hetzner", "vultr", "oracle", "akamai", "exoscale", "upcloud",
             "scaleway", "alibaba", "equinix"]
    doc = {n: {"url": "http://127.0.0.1:9", "timeout": 1, "retries": 2} for n in names}
    doc["vmware"] = {"tool": "/usr/bin/vmware-rpctool", "timeout": 2, "force": True}
    doc["azure"] = {"url": "http://127.0.0.1:9", "wireserver": "http://127.0.0.1:8", "report_ready": False,
                    "seed_dirs": ["/seed"], "devices": ["/dev/sr1"]}
    p.write_text(yaml.safe_dump(doc))
    s = load_settings(Root(tmp_path), str(p))
    assert s["azure"]["report_ready"] is False and s["hetzner"]["retries"] == 2
    assert "azure" in s["datasources"] and s["datasources"].index("cdrom") < s["datasources"].index("openstack")
    p.write_text("hetzner: {token: abc}\n")
    with pytest.raises(SettingsError, match="token"):
        load_settings(Root(tmp_path), str(p))


def test_a_platform_host_name_that_is_not_valid_as_it_is_still_boots(platform_server, scratch_root, capsys):
    from test_ds_clouds import vultr_state

    srv = platform_server(vultr_state())  # hostname CLOUDINIT_1, as Vultr's own fixture has it
    settings(scratch_root, vultr={"url": srv.url, "timeout": 1})
    assert boot(scratch_root) == 0, capsys.readouterr().err
    assert (scratch_root / "etc/hostname").read_text().strip() == "CLOUDINIT-1"


def test_ros_init_fetch_shows_the_openstack_metadata_and_where_it_came_from(platform_server, tmp_path, capsys):
    from test_ds_openstack import routes

    srv = platform_server(PlatformState(routes=routes()))
    root = tmp_path / "root"
    root.mkdir()
    s = tmp_path / "settings.yaml"
    s.write_text(yaml.safe_dump({"datasources": ["cmdline", "openstack"], "deadline": 10,
                                 "openstack": {"url": srv.url, "timeout": 1}}))
    cmdline = tmp_path / "cmdline"
    cmdline.write_text("quiet\n")
    rc = main(["fetch", "--root", str(root), "--settings", str(s), "--cmdline", str(cmdline)])
    out = capsys.readouterr().out
    assert rc == 0
    doc = yaml.safe_load(out)
    assert doc["hostname"] == "sm-foo-test" and doc["runcmd"] == ["echo user"]
    assert "# hostname: from openstack metadata" in out and re.search(r"openstack +found", out)


def test_azure_boot_with_a_broken_config_reports_not_ready_with_the_reason(platform_server, scratch_root, capsys):
    imds, wire = platform_server(imds_state()), platform_server(wire_state("6"))
    seed = scratch_root / "var/lib/cloud/seed/azure"
    seed.mkdir(parents=True)
    (seed / "ovf-env.xml").write_text(ovf_env(b"#cloud-config\nusers:\n  - name: bob\n    uid: not-a-number\n"))
    settings(scratch_root, azure={"url": imds.url, "wireserver": wire.url, "timeout": 1, "devices": ["/dev/ros-init-test-none"]})
    assert boot(scratch_root) == 1
    [body] = [b for p, b in wire.state.bodies if "comp=health" in p]
    assert b"<State>NotReady</State>" in body and b"uid" in body
