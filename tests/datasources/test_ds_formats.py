"""cloud-init's user-data formats through `fetch` and `run`, as a node gets them: an archive
on a real NoCloud ISO on a loop device, an #include served over HTTP on 127.0.0.1, a Jinja
template rendered with the seed's metadata, jsonp patches and merge_how between parts."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from facilities import need_tools

from ros_init.cli import main
from ros_init.cli.demo import make_os_skeleton
from ros_init.config.merge import merge_documents
from ros_init.core.root import Root
from ros_init.engine.collect import collect
from ros_init.engine.inputs import Inputs
from ros_init.engine.run import execute

ARCHIVE = """#cloud-config-archive
- type: text/cloud-config
  content: |
    #cloud-config
    hostname: from-archive
    write_files:
      - path: /etc/archive-part-1
        content: one
- type: text/cloud-boothook
  content: |
    #!/bin/sh
    echo early
- content: |
    #!/bin/sh
    echo once
  filename: once.sh
- type: text/cloud-config
  content: |
    runcmd: [echo from-archive]
    write_files:
      - path: /etc/archive-part-2
        content: two
"""


def _tree(base: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        p = base / name.lstrip("/")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return base


def _node(tmp_path: Path, seed: dict[str, str] | None = None, cmdline: str = "") -> Path:
    """A target root with the OS skeleton, image settings probing only cdrom (a seed folder)."""
    root = make_os_skeleton(tmp_path / "root")
    settings = {"datasources": ["cdrom"], "deadline": 10, "cdrom": {"labels": ["ROS-TEST-NONE"], "seed_dirs": ["/seed"]}}
    files = {"/etc/ros-init/ros-init.yaml": yaml.safe_dump(settings), "/proc/cmdline": cmdline + "\n"}
    files.update({f"/seed/{k}": v for k, v in (seed or {}).items()})
    _tree(root, files)
    return root


def _cli(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out + err


def _fetch_json(capsys, root: Path) -> dict:
    code, out = _cli(capsys, "fetch", "--root", str(root), "--format", "json")
    assert code == 0, out
    return json.JSONDecoder().raw_decode(out, out.index("{"))[0]  # a warning may follow on stderr



def test_archive_on_a_nocloud_iso_is_fetched_and_run(tmp_path, loop):
    need_tools("xorriso")
    src = _tree(tmp_path / "iso", {"meta-data": "instance-id: iid-archive\nlocal-hostname: meta\n", "user-data": ARCHIVE})
    iso = tmp_path / "cidata.iso"
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-V", "cidata", "-J", "-r", "-o", str(iso), str(src)],
                   check=True, capture_output=True)
    dev = loop(iso)
    root = make_os_skeleton(tmp_path / "root")
    settings = {"datasources": ["cdrom"], "deadline": 20, "state_dir": "/var/lib/ros-init",
                "cdrom": {"labels": ["cidata"], "seed_dirs": []}}
    collected = collect(Root(root), settings, cmdline_text="", sys_root="/", devices=[dev])
    assert collected.instance_id == "iid-archive"
    merged = merge_documents(collected.documents)
    assert merged["hostname"] == "from-archive"
    assert merged["runcmd"] == ["echo from-archive"]
    assert merged["bootcmd"] == [["/bin/sh", "-c", "#!/bin/sh\necho early\n"]]  # the boothook: every boot
    assert [s.name for s in collected.scripts] == ["once.sh"]
    inputs = Inputs(documents=collected.documents, scripts=[], instance_id=collected.instance_id)
    out = execute(Root(root), settings, inputs, "boot", run_commands=False)
    assert (root / "etc/archive-part-1").read_text() == "one"
    assert (root / "etc/archive-part-2").read_text() == "two"
    assert (root / "etc/hostname").read_text().strip() == "from-archive"
    assert out.code == 0


def test_include_served_over_http_is_fetched_and_run(tmp_path, capsys, config_server):
    config_server.state.files["/part.yaml"] = b"#cloud-config\nwrite_files:\n- path: /etc/included\n  content: inc\n"
    user_data = (f"#include\n# a comment\n{config_server.url}/part.yaml\n"
                 f"{config_server.url}/nested.txt?token=s3cr3t-include-token\n")
    config_server.state.files["/nested.txt"] = b"#cloud-config\nhostname: included\n"
    root = _node(tmp_path, {"meta-data": "instance-id: iid-inc\n", "user-data": user_data})
    shown = _fetch_json(capsys, root)
    assert shown["config"]["hostname"] == "included"
    assert "s3cr3t-include-token" not in json.dumps(shown)
    code, out = _cli(capsys, "run", "--phase", "boot", "--root", str(root))
    assert code == 0, out
    assert (root / "etc/included").read_text() == "inc"
    assert "s3cr3t-include-token" not in out
    assert config_server.state.hits["/part.yaml"] >= 1


@pytest.mark.parametrize("line,why", [
    ("file:///etc/shadow", "file: refused"),
    ("ftp://127.0.0.1/x", "ftp: refused"),
    ("not-a-url", "without a scheme"),
])
def test_include_refuses_other_schemes_before_any_request(tmp_path, capsys, line, why):
    root = _node(tmp_path, {"meta-data": "instance-id: iid-x\n", "user-data": f"#include\n{line}\n"})
    code, out = _cli(capsys, "fetch", "--root", str(root))
    assert code == 1 and why in out and "line 2" in out
    assert "root:" not in out  # nothing was read


def test_failed_include_once_is_skipped_with_a_warning(tmp_path, capsys, caplog, config_server):
    config_server.state.files["/ok.yaml"] = b"#cloud-config\nhostname: once-ok\n"
    user_data = f"#include-once\n{config_server.url}/expired?t=s3cr3t-once\n{config_server.url}/ok.yaml\n"
    root = _node(tmp_path, {"meta-data": "instance-id: iid-x\n", "user-data": user_data})
    code, out = _cli(capsys, "fetch", "--root", str(root))
    assert code == 0, out
    # fetch writes the datasources' lines as a boot does: one journal line each, on stderr
    warnings = [line for line in out.splitlines() if line.startswith("ros-init[fetch] ") and "#include-once" in line]
    assert "once-ok" in out and any("#include-once: skipped" in w for w in warnings), out
    assert "s3cr3t-once" not in out + caplog.text


def test_failed_include_is_an_error_with_the_url_redacted(tmp_path, capsys, config_server):
    user_data = f"#include\n{config_server.url}/missing?sig=s3cr3t-sig\n"
    root = _node(tmp_path, {"meta-data": "instance-id: iid-x\n", "user-data": user_data})
    code, out = _cli(capsys, "fetch", "--root", str(root))
    assert code == 1 and "HTTP 404" in out and "/missing" in out
    assert "s3cr3t-sig" not in out


def test_jinja_template_is_rendered_with_the_seed_metadata(tmp_path, capsys):
    meta = "instance-id: iid-jinja-7\nlocal-hostname: node-7\nregion: eu-west\n"
    user_data = ("## template: jinja\n#cloud-config\nhostname: {{ v1.local_hostname }}-r\n"
                 "write_files:\n- path: /etc/whoami\n  content: \"{{ v1.instance_id }} {{ ds.meta_data.region }}"
                 " {{ v1.cloud_name }}\"\n")
    root = _node(tmp_path, {"meta-data": meta, "user-data": user_data})
    assert _fetch_json(capsys, root)["config"]["hostname"] == "node-7-r"
    code, out = _cli(capsys, "run", "--phase", "boot", "--root", str(root))
    assert code == 0, out
    assert (root / "etc/whoami").read_text() == "iid-jinja-7 eu-west nocloud"
    assert (root / "etc/hostname").read_text().strip() == "node-7-r"


def test_jinja_undefined_variable_is_located_and_nothing_runs(tmp_path, capsys):
    user_data = "## template: jinja\n#cloud-config\n\nhostname: {{ v1.regoin }}\n"
    root = _node(tmp_path, {"meta-data": "instance-id: iid-j\n", "user-data": user_data})
    code, out = _cli(capsys, "fetch", "--root", str(root))
    assert code == 1
    assert "user-data:4: undefined template variable in `{{ v1.regoin }}`" in out
    assert "v1.instance_id" in out  # what exists


def test_jinja_sandbox_refuses_python_internals(tmp_path, capsys):
    user_data = "## template: jinja\n#cloud-config\nhostname: {{ ''.__class__.__mro__[1].__subclasses__() }}\n"
    root = _node(tmp_path, {"meta-data": "instance-id: iid-j\n", "user-data": user_data})
    code, out = _cli(capsys, "fetch", "--root", str(root))
    assert code == 1 and ("sandbox" in out or "undefined" in out)
    assert "subprocess" not in out


def test_jsonp_patches_the_merged_config(tmp_path, capsys):
    mime_free_archive = """#cloud-config-archive
- type: text/cloud-config
  content: |
    runcmd: [one]
    hostname: before
- type: text/cloud-config-jsonp
  content: |
    [{"op": "add", "path": "/runcmd/-", "value": "two"},
     {"op": "replace", "path": "/hostname", "value": "patched"}]
"""
    root = _node(tmp_path, {"meta-data": "instance-id: iid-p\n", "user-data": mime_free_archive})
    config = _fetch_json(capsys, root)["config"]
    assert config["runcmd"] == ["one", "two"] and config["hostname"] == "patched"


def test_merge_how_between_parts_follows_cloud_init(tmp_path, capsys):
    archive = """#cloud-config-archive
- type: text/cloud-config
  content: |
    runcmd: [a]
    ntp: {servers: [s1]}
- type: text/cloud-config
  content: |
    merge_how: list(append)+dict(no_replace,recurse_list)+str()
    runcmd: [b]
    hostname: second
"""
    root = _node(tmp_path, {"meta-data": "instance-id: iid-m\n", "user-data": archive})
    config = _fetch_json(capsys, root)["config"]
    assert config["runcmd"] == ["a", "b"] and config["hostname"] == "second"
    assert "merge_how" not in config


def test_a_jsonp_patch_that_does_not_apply_is_skipped_with_or_without_merge_how(tmp_path, capsys, caplog):
    """One rule (cloud-init's): the whole patch is skipped with a warning, the rest applies,
    whether the parts are merged by ros-init's rules or folded by ``merge_how``."""
    for how in ("", "    merge_how: list(append)+dict(recurse_array)\n"):
        archive = f"""#cloud-config-archive
- type: text/cloud-config
  content: |
    hostname: kept
{how}- type: text/cloud-config-jsonp
  content: |
    [{{"op": "remove", "path": "/nothere"}}]
"""
        root = _node(tmp_path / f"n{len(how)}", {"meta-data": "instance-id: iid-j\n", "user-data": archive})
        code, out = _cli(capsys, "fetch", "--root", str(root), "--format", "json")
        assert code == 0, out
        config = json.JSONDecoder().raw_decode(out, out.index("{"))[0]["config"]
        assert config["hostname"] == "kept", how
        assert "#cloud-config-jsonp not applied" in out, how  # the journal line, on stderr


def test_unknown_archive_parts_are_skipped_like_cloud_init(tmp_path, caplog):
    from ros_init.sources.userdata import decode

    out = decode(b"#cloud-config-archive\n- just text\n- {type: foo/wark, content: x}\n"
                 b"- {type: text/cloud-config, content: 'hostname: a'}\n", "ud")
    assert [c.data for c in out.configs] == [{"hostname": "a"}]
    assert "foo/wark" in caplog.text


def test_include_deadline_is_the_datasource_deadline(tmp_path, config_server):
    from ros_init.sources.host import Host
    from ros_init.sources.userdata import UserDataError, decode, source_context

    host = Host(root=Root(tmp_path), settings={})
    start = time.monotonic()
    with pytest.raises(UserDataError, match="deadline|timeout|still answering"):
        decode(f"#include\n{config_server.url}/hang\n".encode(), "ud",
               context=source_context(host, time.monotonic() + 1.0))
    assert time.monotonic() - start < 1.5


def test_binary_content_goes_through_fetch_and_its_saved_copy(tmp_path, capsys):
    user_data = "#cloud-config\nwrite_files:\n- path: /etc/blob\n  content: !!binary |\n    AAECAwQ=\n"
    root = _node(tmp_path, {"meta-data": "instance-id: iid-b\n", "user-data": user_data})
    code, out = _cli(capsys, "fetch", "--root", str(root))
    assert code == 0, out
    saved = (root / "run/ros-init/fetch/merged.yaml").read_text()
    assert yaml.safe_load(saved)["write_files"][0]["content"] == b"\x00\x01\x02\x03\x04"
    code, out = _cli(capsys, "run", "--phase", "boot", "--root", str(root))
    assert code == 0, out
    assert (root / "etc/blob").read_bytes() == b"\x00\x01\x02\x03\x04"


def test_metadata_service_platforms_render_templates_with_v1(tmp_path):
    from ros_init.sources import metaservice as ms
    from ros_init.sources.host import Host

    host = Host(root=Root(tmp_path), settings={})
    docs = ms.found("hetzner", "http://127.0.0.1:1", "i-9", host=host, deadline=time.monotonic() + 5, hostname="node-9",
                    user_data=b"## template: jinja\n#cloud-config\nhostname: {{ v1.local_hostname }}-{{ v1.cloud_name }}\n")
    assert docs.configs[-1].data == {"hostname": "node-9-hetzner"}


# -- MIME: one detector for validate and the decoder (ros_init.config.parts.is_mime) -------------
_MIME_BODY = ("--B\nContent-Type: text/cloud-config\n\n#cloud-config\nhostname: {name}\n"
              "--B\nContent-Type: text/x-shellscript\n\n#!/bin/sh\necho once\n--B--\n")
MIME_VARIANTS = {
    # cloud-init's rule: a MIME-Version field anywhere in the header block, in any case and order
    "usual": "Content-Type: multipart/mixed; boundary=B\nMIME-Version: 1.0\n\n",
    "blank-lines-first": "\n\n\r\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n",
    "lower-case-no-space": "mime-version:1.0\ncontent-type:multipart/mixed; boundary=\"B\"\n\n",
    "other-field-first": "X-Generator: terraform\nSubject: node\nMIME-VERSION: 1.0\n"
                         "Content-Type: multipart/mixed;\n boundary=B\n\n",
}


@pytest.mark.parametrize("variant", sorted(MIME_VARIANTS))
def test_validate_and_run_read_the_same_bytes_as_mime(tmp_path, capsys, variant):
    user_data = MIME_VARIANTS[variant] + _MIME_BODY.format(name=f"mime-{variant}")
    path = tmp_path / "user-data"
    path.write_text(user_data)
    code, out = _cli(capsys, "validate", str(path))
    assert code == 0, out
    path.write_text(user_data.replace("hostname:", "hostnme:"))  # the part is checked, located in the file
    code, out = _cli(capsys, "validate", str(path))
    line = user_data.split("\n").index("hostname: " + f"mime-{variant}") + 1
    assert code == 1 and f"{path}:{line}:1: error: hostnme" in out, out
    root = _node(tmp_path, {"meta-data": "instance-id: iid-mime\n", "user-data": user_data})
    code, out = _cli(capsys, "run", "--phase", "boot", "--root", str(root))
    assert code == 0, out
    assert (root / "etc/hostname").read_text().strip() == f"mime-{variant}"


def test_mime_headers_without_mime_version_are_refused_by_validate_and_run_alike(tmp_path, capsys):
    user_data = "Content-Type: multipart/mixed; boundary=B\n\n" + _MIME_BODY.format(name="never")
    path = tmp_path / "user-data"
    path.write_text(user_data)
    code, out = _cli(capsys, "validate", str(path))
    assert code == 1 and f"{path}:1:1: error" in out and "without a `MIME-Version: 1.0` header" in out, out
    root = _node(tmp_path, {"meta-data": "instance-id: iid-mime\n", "user-data": user_data})
    code, out = _cli(capsys, "run", "--phase", "boot", "--root", str(root))  # the source fails, the run goes on
    assert "seed folder /seed user-data: MIME user-data without a `MIME-Version: 1.0` header" in out, out
    assert not (root / "etc/hostname").exists() or "never" not in (root / "etc/hostname").read_text()


def test_a_cloud_config_quoting_mime_headers_is_no_mime(tmp_path, capsys):
    user_data = "#cloud-config\nhostname: plain\nwrite_files:\n- path: /etc/mail.txt\n  content: |\n" \
                "    MIME-Version: 1.0\n    Content-Type: text/plain\n"
    path = tmp_path / "user-data"
    path.write_text(user_data)
    assert _cli(capsys, "validate", str(path))[0] == 0
    root = _node(tmp_path, {"meta-data": "instance-id: iid-mime\n", "user-data": user_data})
    code, out = _cli(capsys, "run", "--phase", "boot", "--root", str(root))
    assert code == 0, out
    assert (root / "etc/mail.txt").read_text().startswith("MIME-Version: 1.0\n")
