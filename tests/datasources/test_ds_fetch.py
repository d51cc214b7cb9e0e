"""collect() and ros-init fetch: which source wins, instance identity, deadline, output."""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import stat
import time
from pathlib import Path

import pytest
import yaml
from ds_servers import closed_port

from ros_init.cli.fetch import cli_main
from ros_init.config.settings import load_settings
from ros_init.core.model import Layer
from ros_init.core.root import Root
from ros_init.engine.collect import collect, probe_names
from ros_init.state import instance

SEED = {"meta-data": "instance-id: iid-seed\nlocal-hostname: meta-name\n",
        "user-data": "#cloud-config\nhostname: seed-ud\nruncmd: [seed]\n"}


def _root(tmp_path: Path, files: dict[str, str] | None = None) -> Root:
    base = tmp_path / "root"
    for name, text in (files or {}).items():
        p = base / name.lstrip("/")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    base.mkdir(exist_ok=True)
    return Root(base)


def _settings(root: Root, **over) -> dict:
    s = load_settings(root)
    s["cdrom"] = {**s["cdrom"], "labels": ["ROS-TEST-NONE"], "seed_dirs": ["/seed"]}
    s.update(over)
    return s


def _collect(tmp_path, root, settings, cmdline=""):
    fake_sys = tmp_path / "sys-root"
    fake_sys.mkdir(exist_ok=True)
    return collect(root, settings, cmdline_text=cmdline, sys_root=str(fake_sys))


def _hostname_sources(c):
    return [(d.layer, d.source, d.data.get("hostname")) for d in c.documents if "hostname" in d.data]


def test_precedence_metadata_user_file_url_cmdline(tmp_path, config_server):
    from ros_init.config.merge import merge_documents

    files = {f"/seed/{k}": v for k, v in SEED.items()}
    files["/oem/20-b.yaml"] = "hostname: file-b\n"
    files["/oem/10-a.yaml"] = "hostname: file-a\nssh_pwauth: true\n"
    files["/etc/ros-init/defaults.yaml"] = "hostname: image\nmanage_etc_hosts: true\n"
    root = _root(tmp_path, files)
    config_server.state.files["/c.yaml"] = b"hostname: url\n"
    b64 = base64.b64encode(b"hostname: b64\n").decode()
    cmd = f"ros.config_url={config_server.url}/c.yaml ros.config={b64} ros.hostname=cmd"
    c = _collect(tmp_path, root, _settings(root), cmd)
    assert [s for _, s, _ in _hostname_sources(c)][:2] == ["/etc/ros-init/defaults.yaml",
                                                            "nocloud seed folder /seed meta-data"]
    assert [h for _, _, h in _hostname_sources(c)] == ["image", "meta-name", "seed-ud", "file-a", "file-b", "url",
                                                        "b64", "cmd"]
    merged = merge_documents(c.documents)
    assert merged["hostname"] == "cmd" and merged["ssh_pwauth"] is True and merged["runcmd"] == ["seed"]
    merged_without_cmd = merge_documents([d for d in c.documents if d.layer != Layer.CMDLINE])
    assert merged_without_cmd["hostname"] == "b64"
    assert c.instance_id == "iid-seed" and c.new_instance and c.instance_source == "cdrom"
    outcomes = {p.name: p.outcome for p in c.probes}
    assert {n: outcomes.pop(n) for n in ("cmdline", "file", "cdrom", "http")} == {
        "cmdline": "found", "file": "found", "cdrom": "found", "http": "found"}
    assert set(outcomes.values()) == {"skipped"}  # every platform source after the seed (ec2, gce ...)


def test_first_platform_source_in_list_order_wins(tmp_path, imds):
    root = _root(tmp_path, {f"/seed/{k}": v for k, v in SEED.items()})
    settings = _settings(root, datasources=["ec2", "cdrom"], ec2={"url": imds.url, "timeout": 1})
    c = _collect(tmp_path, root, settings)
    assert c.instance_id == "i-0123456789abcdef0" and c.instance_source == "ec2"
    cd = next(p for p in c.probes if p.name == "cdrom")
    assert cd.outcome == "found" and "not used: ec2 comes first" in cd.detail
    assert not any("seed" in d.source for d in c.documents)


def test_a_platform_source_after_a_found_one_is_skipped(tmp_path, imds):
    root = _root(tmp_path, {f"/seed/{k}": v for k, v in SEED.items()})
    c = _collect(tmp_path, root, _settings(root, ec2={"url": imds.url}))
    assert {p.name: p.outcome for p in c.probes}["ec2"] == "skipped"
    assert imds.state.requests == []


def test_instance_identity_across_boots(tmp_path, imds):
    root = _root(tmp_path)
    settings = _settings(root, datasources=["ec2", "cdrom"], ec2={"url": imds.url, "timeout": 0.5}, deadline=1.5)
    first = _collect(tmp_path, root, settings)
    assert first.new_instance
    instance.record(root, settings["state_dir"], first.instance_id, first.instance_source)
    assert stat.S_IMODE(os.stat(root.resolve("/var/lib/ros-init/instance.json")).st_mode) == 0o600
    assert not _collect(tmp_path, root, settings).new_instance
    # The metadata service hangs and a seed appears: an unreachable source never makes a new instance.
    imds.state.hang = True
    for k, v in SEED.items():
        (Path(root.path) / "seed").mkdir(exist_ok=True)
        (Path(root.path) / "seed" / k).write_text(v)
    t0 = time.monotonic()
    third = _collect(tmp_path, root, settings)
    assert time.monotonic() - t0 < 2.2
    assert {p.name: p.outcome for p in third.probes}["ec2"] == "timeout"
    assert third.instance_id == "i-0123456789abcdef0" and not third.new_instance
    # The service answers again with another id: that is a new instance.
    imds.state.hang = False
    imds.state.tree["latest/meta-data/instance-id"] = "i-0fffffffffffffff0"
    fourth = _collect(tmp_path, root, settings)
    assert fourth.new_instance and fourth.instance_id == "i-0fffffffffffffff0"


def test_the_whole_probe_never_outlives_the_deadline(tmp_path, imds, config_server):
    imds.state.hang = True  # hangs every GET, the GCE ones too
    root = _root(tmp_path)
    settings = _settings(root, deadline=1.0, ec2={"url": imds.url, "timeout": 5},
                         http={"url": config_server.url + "/slow", "timeout": 5},
                         gce={"url": imds.url, "timeout": 5})
    t0 = time.monotonic()
    c = _collect(tmp_path, root, settings)
    assert time.monotonic() - t0 < 1.6
    outcomes = {p.name: p.outcome for p in c.probes}
    assert outcomes["ec2"] == outcomes["gce"] == outcomes["http"] == "timeout"
    assert all(p.seconds < 1.5 for p in c.probes)


def test_nothing_present_is_fast(tmp_path):
    root = _root(tmp_path)
    closed = f"http://127.0.0.1:{closed_port()}"
    t0 = time.monotonic()
    c = _collect(tmp_path, root, _settings(root, ec2={"url": closed}, gce={"url": closed}))
    assert time.monotonic() - t0 < 1.0
    assert {p.outcome for p in c.probes} == {"absent"} and c.documents == []


def test_ros_datasource_pins_the_sources(tmp_path, imds):
    root = _root(tmp_path, {"/oem/a.yaml": "hostname: f\n"})
    c = _collect(tmp_path, root, _settings(root, ec2={"url": imds.url}), "ros.datasource=file")
    assert [p.name for p in c.probes] == ["cmdline", "file"]
    assert probe_names({"datasources": ["file"]}, ["nope", "ec2"])[0] == ["cmdline", "ec2"]
    assert probe_names({}, ["nope"])[1][0].outcome == "error"


def test_a_broken_source_is_an_error_and_the_others_still_count(tmp_path):
    root = _root(tmp_path, {"/oem/a.yaml": "hostname: f\n", "/seed/meta-data": "instance-id: x\n",
                            "/seed/user-data": "#include\nhttp://x\n"})
    c = _collect(tmp_path, root, _settings(root))
    cd = next(p for p in c.probes if p.name == "cdrom")
    assert cd.outcome == "error" and "#include" in cd.detail and "seed" in cd.detail
    assert [d.data for d in c.documents] == [{"hostname": "f"}]


def _args(root, settings_file=None, cmdline_file=None, fmt="yaml"):
    return argparse.Namespace(root=str(root), settings=settings_file, cmdline=cmdline_file, format=fmt)


def _write_settings(tmp_path, **extra):
    data = {"cdrom": {"labels": ["ROS-TEST-NONE"], "seed_dirs": ["/seed"]}, "ec2": {"url": "http://127.0.0.1:1"},
            "gce": {"url": "http://127.0.0.1:1"}, **extra}
    p = tmp_path / "settings.yaml"
    p.write_text(yaml.safe_dump(data))
    return str(p)


def test_cli_fetch_yaml_shows_sources_redacts_secrets_and_saves_0600(tmp_path, capsys):
    root = _root(tmp_path, {
        "/seed/meta-data": "instance-id: iid-cli\nlocal-hostname: meta\n",
        "/seed/user-data": "#cloud-config\nusers:\n  - name: alice\n    plain_text_passwd: hunter2\n",
        "/oem/10.yaml": "ssh_pwauth: false\n"})
    cmd = tmp_path / "cmdline"
    cmd.write_text("quiet ros.hostname=n1\n")
    rc = cli_main(_args(root.path, _write_settings(tmp_path), str(cmd)))
    out = capsys.readouterr().out
    assert rc == 0
    assert "hunter2" not in out and "<redacted>" in out
    assert "# hostname: from kernel command line ros.* (over nocloud seed folder /seed meta-data)" in out
    assert "# ssh_pwauth: from /oem/10.yaml" in out
    assert re.search(r"cdrom +found", out) and "instance: iid-cli (new instance" in out
    doc = yaml.safe_load(out)
    assert doc["hostname"] == "n1" and doc["users"][0]["name"] == "alice"
    saved = Path(root.path) / "run/ros-init/fetch"
    assert not (Path(root.path) / "var/lib/ros-init/fetch").exists()  # no secret in the persistent state
    files = [p for p in saved.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"merged.yaml", "user-data", "meta-data", "oem_10.yaml"}
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)
    assert "hunter2" in (saved / "merged.yaml").read_text()  # the saved copy is whole, and private


def test_cli_fetch_json_and_exit_1_on_a_broken_source(tmp_path, capsys):
    root = _root(tmp_path, {"/seed/meta-data": "instance-id: [\n"})
    rc = cli_main(_args(root.path, _write_settings(tmp_path), fmt="json"))
    out = json.loads(capsys.readouterr().out)
    assert rc == 1
    assert {p["name"]: p["outcome"] for p in out["probes"]}["cdrom"] == "error"
    assert out["config"] == {}


def test_cli_fetch_bad_settings_is_one_line(tmp_path, capsys):
    p = tmp_path / "s.yaml"
    p.write_text("datasources: [floppy]\n")
    assert cli_main(_args(_root(tmp_path).path, str(p))) == 2
    err = capsys.readouterr().err
    assert "floppy" in err and "Traceback" not in err


@pytest.mark.parametrize("names", [["file"], ["file", "cdrom"]])
def test_file_source_reads_folders_and_files_in_lexical_order(tmp_path, names):
    root = _root(tmp_path, {"/oem/b.yaml": "runcmd: [b]\n", "/oem/a.yml": "runcmd: [a]\n",
                            "/oem/notes.txt": "ignored", "/usr/local/cloud-config/z.yaml": "runcmd: [z]\n"})
    c = _collect(tmp_path, root, _settings(root, datasources=names))
    assert [d.source for d in c.documents] == ["/oem/a.yml", "/oem/b.yaml", "/usr/local/cloud-config/z.yaml"]


def test_choose_and_order_without_io():
    from ros_init.core.model import ConfigDocument, Documents
    from ros_init.engine.collect import ordered_documents
    from ros_init.sources.probe import Probed, ProbeOutcome, choose

    def probed(name, order, platform, iid=None, *docs):
        d = Documents(source=name, instance_id=iid, configs=[ConfigDocument(f"{name}:{i}", layer, {})
                                                             for i, layer in enumerate(docs)])
        return Probed(ProbeOutcome(name, "found", 0.0, name), d, order, platform)

    items = [probed("cmdline", 0, False, None, Layer.USER, Layer.CMDLINE),
             probed("file", 1, False, None, Layer.USER),
             probed("cdrom", 2, True, "iid-a", Layer.METADATA, Layer.USER),
             probed("ec2", 3, True, "i-b", Layer.METADATA),
             probed("http", 5, False, None, Layer.USER)]
    used, identity = choose(items)
    assert identity.outcome.name == "cdrom"
    assert [p.outcome.name for p in used] == ["cmdline", "file", "cdrom", "http"]
    assert "not used: cdrom comes first" in items[3].outcome.detail
    assert [d.source for d in ordered_documents(used)] == ["cdrom:0", "cdrom:1", "file:0", "http:0", "cmdline:0",
                                                          "cmdline:1"]
    # The same rule decides what is probed at all (probe_all, and a network phase that takes
    # the initramfs phase's record): platform sources after the first one found are not.
    from ros_init.sources.probe import first_platform_at, outranked

    names = [p.outcome.name for p in items]
    assert first_platform_at(items, names) == 2
    assert first_platform_at(items[:2], names) is None
    assert [outranked(p.platform, i, 2) for i, p in enumerate(items)] == [False, False, False, True, False]
    assert not outranked(True, 3, None)


def test_a_source_is_imported_only_when_it_is_probed(tmp_path):
    """A platform source passed over (a seed folder was found first) is never imported: its
    module may pull in libraries a seed-configured boot never needs. One that is probed and
    cannot be imported is an error outcome, as before."""
    from ros_init.datasources import BY_NAME, SourceEntry

    from ros_init.sources.host import Host
    from ros_init.sources.probe import probe_all

    root = _root(tmp_path, {f"/seed/{k}": v for k, v in SEED.items()})
    ghost = "ros_init.datasources.no_such_source"
    entries = [BY_NAME["cdrom"], SourceEntry("ghost-local", "local", True, 0, ghost),
               SourceEntry("ghost-net", "network", True, 0, ghost), SourceEntry("ghost-any", "network", False, 2, ghost)]
    fake_sys = tmp_path / "sys-root"
    fake_sys.mkdir()
    host = Host(root=root, settings=_settings(root), sys_root=str(fake_sys))
    got = {p.outcome.name: p.outcome for p in probe_all(host, entries, time.monotonic() + 10)}
    assert got["cdrom"].outcome == "found"
    assert (got["ghost-local"].outcome, got["ghost-local"].detail) == ("skipped", "cdrom, listed earlier, was found")
    assert got["ghost-net"].outcome == "skipped"
    assert got["ghost-any"].outcome == "error" and got["ghost-any"].detail.startswith("cannot load datasource: ")


def test_cold_ros_init_fetch_process_against_imds(tmp_path, imds):
    """The installed command, in a new interpreter, as a boot unit would run it."""
    import shutil
    import subprocess
    import sys

    exe = shutil.which("ros-init", path=os.path.dirname(sys.executable))
    if exe is None:
        pytest.skip("ros-init is not installed in this environment (pip install -e .)")
    root = _root(tmp_path)
    settings = _write_settings(tmp_path, ec2={"url": imds.url, "timeout": 1})
    cmd = tmp_path / "cmdline"
    cmd.write_text("ros.rancherd.role=server\n")
    t0 = time.monotonic()
    res = subprocess.run([exe, "fetch", "--root", root.path, "--settings", settings, "--cmdline", str(cmd),
                          "--format", "json"], capture_output=True, text=True, timeout=60)
    assert time.monotonic() - t0 < 30
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["instance_id"] == "i-0123456789abcdef0"
    assert out["config"]["rancherd"] == {"role": "server"} and out["origins"]["rancherd"] == "kernel command line ros.*"
    assert out["origins"]["hostname"] == "ec2 metadata"  # as every metadata service names it
    assert "waiting up to" in res.stderr and "EC2 IMDSv2 token" in res.stderr
    assert "Traceback" not in res.stderr and "tok-" not in res.stderr  # the token is never logged
