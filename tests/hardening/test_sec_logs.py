"""Security, logs: a value from a config can never forge a log line or drive a terminal.

Before: a newline in a ``write_files`` path forged a whole journal line with ros-init's own
prefix, and ESC sequences reached the terminal through ``ros-init status``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml
from hypothesis import given
from hypothesis import strategies as st

from ros_init.cli.demo import make_os_skeleton
from ros_init.core.printable import printable

FORGED = "ros-init[boot] users: created user mallory (uid 0, gid 0)"
ESC = "\x1b[2J\x1b]0;owned\x07"


def _cli(*argv: str, journal: bool = False) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if journal:
        env["JOURNAL_STREAM"] = "8:1234"
    else:
        env.pop("JOURNAL_STREAM", None)
    return subprocess.run([sys.executable, "-m", "ros_init", *argv], capture_output=True, text=True, timeout=60,
                          env=env)


def test_a_path_with_a_newline_or_esc_cannot_forge_a_line(tmp_path: Path) -> None:
    root = make_os_skeleton(tmp_path / "root")
    cfg = tmp_path / "c.yaml"
    # A line break in a path is refused as a config error (validate == run), naming no value:
    refused = tmp_path / "refused.yaml"
    refused.write_text(yaml.safe_dump({"write_files": [{"path": f"/etc/app/a\n{FORGED}", "content": "x\n"}]}))
    proc = _cli("run", "--phase", "boot", "--root", str(root), "--config", str(refused))
    assert proc.returncode == 1 and "write_files[0].path: must be an absolute path without '..' or line breaks" in proc.stderr
    assert FORGED not in proc.stdout + proc.stderr
    cfg.write_text(yaml.safe_dump({"write_files": [
        {"path": f"/etc/app/a{ESC}\\n{FORGED}", "content": "x\n"},
        {"path": f"/etc/app/b{ESC}", "content": "y\n"},
        {"path": "/etc/app/c\rros-init[boot] hidden", "content": "z\n"},
    ]}))
    outputs = []
    for journal in (False, True):
        proc = _cli("run", "--phase", "boot", "--root", str(root), "--config", str(cfg), journal=journal)
        outputs.append(proc.stdout + proc.stderr)
        prefix = "<" if journal else "ros-init"
        for line in proc.stderr.splitlines():
            assert line.startswith(prefix), line
            assert not line.endswith(FORGED)
        status = _cli("status", "--root", str(root))
        outputs.append(status.stdout + status.stderr)
    for fmt in ("text", "json"):
        proc = _cli("status", "--root", str(root), "--format", fmt)
        outputs.append(proc.stdout + proc.stderr)
        if fmt == "json":
            assert json.loads(proc.stdout)["result"] == "ok"  # JSON encodes the values itself
    proc = _cli("plan", "--phase", "boot", "--root", str(root), "--config", str(cfg))
    outputs.append(proc.stdout + proc.stderr)
    for text in outputs:
        assert "\x1b" not in text and "\x07" not in text and "\r" not in text
        assert not any(line.strip() == FORGED or line.startswith(FORGED) for line in text.splitlines())
    assert "\\x1b[2J" in outputs[0] and "\\x1b[2J" in outputs[1]  # run and ros-init status, escaped


def test_an_unknown_key_with_control_characters_in_validate(tmp_path: Path) -> None:
    cfg = tmp_path / "v.yaml"
    cfg.write_text(json.dumps({f"hostname\n{FORGED}\x1b[31m": "x"}))
    proc = _cli("validate", str(cfg))
    assert proc.returncode == 1
    assert "\x1b" not in proc.stdout + proc.stderr
    assert all(line.startswith(str(cfg)) or line.startswith("ros-init") or line.startswith(" ")
               for line in (proc.stdout + proc.stderr).splitlines()), proc.stdout


@given(st.text())
def test_printable_is_one_line_without_controls_and_keeps_plain_text(text: str) -> None:
    shown = printable(text)
    assert "\n" not in shown and "\r" not in shown and "\x1b" not in shown
    assert all(not (0 <= ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f) for c in shown)
    if text.isprintable() and "\u2028" not in text:
        assert shown == text


def test_a_metadata_url_with_credentials_is_logged_without_them(tmp_path: Path) -> None:
    """The datasources' lines reach the boot log: a metadata service URL from the image settings
    that carries user info (a proxy's credentials) is named without it, whatever the source."""
    import socket

    with socket.socket() as s:  # a port that refuses: the service is absent, and says so
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = make_os_skeleton(tmp_path / "root")
    url = f"http://admin:s3cr3tpw@127.0.0.1:{port}"
    settings = {"datasources": ["ec2", "gce", "openstack"],
                **{name: {"url": url, "timeout": 1} for name in ("ec2", "gce", "openstack")}}
    (root / "etc/ros-init").mkdir(parents=True, exist_ok=True)
    (root / "etc/ros-init/ros-init.yaml").write_text(yaml.safe_dump(settings))
    out = _cli("run", "--phase", "boot", "--root", str(root))
    text = out.stdout + out.stderr
    assert f"127.0.0.1:{port}" in text  # the lines are there, naming where
    assert "s3cr3tpw" not in text and "admin:" not in text
    assert "s3cr3tpw" not in "".join(p.read_text(errors="replace") for p in (root / "run").rglob("*") if p.is_file())
