"""Secret canaries: every secret of a config is a unique string; after validate, fetch, run,
status and a failing run, none of them appears in any output line, in the status, in the
state directory, in /run/ros-init's status, or in any world-readable file of the root.

Where a secret must land (the hash in /etc/shadow, the token in rancherd's config, a 0600
file's content), the file is checked to be readable by root only.
"""

from __future__ import annotations

import base64
import os
import stat
import uuid
from pathlib import Path

import pytest
import yaml
from facilities import need_root
from fence import no_traceback

from ros_init.cli import main
from ros_init.cli.demo import make_os_skeleton

SETTINGS = "datasources: [cmdline, file]\ndeadline: 5\n"


def canaries() -> dict[str, str]:
    tag = uuid.uuid4().hex[:12]
    return {k: f"CANARY-{k}-{tag}-zq" for k in (
        "plain", "chpasswd", "token", "values", "extra", "registry", "file", "b64", "hash", "script", "badhash")}


def secret_config(c: dict[str, str]) -> dict:
    return {
        "hostname": "canary-node",
        "users": [
            {"name": "alice", "lock_passwd": False, "plain_text_passwd": c["plain"]},
            {"name": "bob", "passwd": f"$6$saltsalt${c['hash']}" + "A" * 40},
        ],
        "chpasswd": {"expire": False, "users": [{"name": "alice", "password": c["chpasswd"], "type": "text"}]},
        "write_files": [
            {"path": "/etc/app/secret.conf", "permissions": "0600", "content": f"api_key = {c['file']}\n"},
            {"path": "/etc/app/cert.pem", "permissions": "0600", "encoding": "b64",
             "content": base64.b64encode(f"-----BEGIN KEY-----\n{c['b64']}\n".encode()).decode()},
        ],
        "rancherd": {"role": "cluster-init", "token": c["token"],
                     "rancherValues": {"bootstrapPassword": c["values"]},
                     "extraConfig": {"agent-token": c["extra"]},
                     "registries": {"configs": {"reg.example": {"auth": {"password": c["registry"]}}}}},
    }


def failing_config(c: dict[str, str], how: str) -> dict:
    cfg = secret_config(c)
    if how == "file":
        cfg["write_files"].append({"path": "/etc/app/owned", "owner": "nosuchuser", "content": f"x {c['file']}\n"})
    else:  # a command that prints a secret file's content and fails
        cfg["write_files"].append({"path": "/etc/app/script-secret", "permissions": "0600",
                                   "content": f"{c['script']}\n"})
        cfg["runcmd"] = ["cat /etc/app/secret.conf /etc/app/script-secret; exit 3"]
    return cfg


def rejected_config(c: dict[str, str]) -> dict:
    cfg = secret_config(c)
    cfg["users"][1]["passwd"] = c["badhash"]  # not a crypt hash: the error must not echo it
    cfg["rancherd"]["token"] = [c["token"]]  # wrong type
    cfg["chpasswd"]["users"][0]["password"] = {"v": c["chpasswd"]}
    return cfg


def _hits(text: str, c: dict[str, str]) -> list[str]:
    out = [k for k, v in c.items() if v in text]
    # the b64 canary is also secret in its encoded form
    return out


def _world_readable_files(root: Path) -> list[Path]:
    out = []
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = Path(dirpath) / f
            st = p.lstat()
            if stat.S_ISREG(st.st_mode) and st.st_mode & stat.S_IROTH:
                out.append(p)
    return out


def _scan(root: Path, outputs: list[str], c: dict[str, str], where: str) -> None:
    for i, text in enumerate(outputs):
        assert _hits(text, c) == [], f"{where}: output {i} leaks {_hits(text, c)}:\n{text[-3000:]}"
    for folder in ("var/lib/ros-init", "run/ros-init"):
        for dirpath, _, files in os.walk(root / folder):
            for f in files:
                p = Path(dirpath) / f
                if p.is_relative_to(root / "run/ros-init/fetch") or p.is_relative_to(root / "run/ros-init/handover"):
                    # fetch's private copies and the probe handed to the next phase (tmpfs, root only)
                    assert stat.S_IMODE(p.stat().st_mode) == 0o600
                    assert stat.S_IMODE(p.parent.stat().st_mode) == 0o700
                    continue
                data = p.read_text(errors="replace")
                assert _hits(data, c) == [], f"{where}: {p} leaks {_hits(data, c)}"
    for p in _world_readable_files(root):
        data = p.read_bytes().decode("utf-8", errors="replace")
        assert _hits(data, c) == [], f"{where}: world-readable {p} leaks {_hits(data, c)}"


def _cli(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    no_traceback(code if code != 2 else 0, out, err)
    return code, out + err


def _root(base: Path, config: dict) -> Path:
    root = make_os_skeleton(base / "root")
    (root / "etc/ros-init/ros-init.yaml").write_text(SETTINGS)
    (root / "oem").mkdir()
    cfg = root / "oem/50-canary.yaml"
    cfg.write_text("#cloud-config\n" + yaml.safe_dump(config))
    cfg.chmod(0o600)  # the input itself is the only place the secrets may be, as given
    return root


def test_no_secret_leaks_from_validate_fetch_run_and_status(tmp_path: Path, capsys) -> None:
    c = canaries()
    root = _root(tmp_path, secret_config(c))
    cfg = root / "oem/50-canary.yaml"
    outputs = []
    for fmt in ("text", "json"):
        code, text = _cli(capsys, "validate", "--format", fmt, str(cfg))
        assert code == 0, text
        outputs.append(text)
    code, text = _cli(capsys, "fetch", "--root", str(root))
    assert code == 0 and "<redacted>" in text, text
    outputs.append(text)
    code, text = _cli(capsys, "fetch", "--root", str(root), "--format", "json")
    outputs.append(text)
    for phase in ("initramfs", "boot"):
        code, text = _cli(capsys, "run", "--phase", phase, "--root", str(root))
        assert code == 0, text
        outputs.append(text)
    code, text = _cli(capsys, "run", "--phase", "boot", "--root", str(root), "--format", "json")
    outputs.append(text)
    for fmt in ("text", "json"):
        code, text = _cli(capsys, "status", "--root", str(root), "--format", fmt)
        assert code == 0, text
        outputs.append(text)
    _scan(root, outputs, c, "successful run")
    # the secrets did land, in files only root can read
    shadow = (root / "etc/shadow").read_text()
    assert c["hash"] in shadow and stat.S_IMODE((root / "etc/shadow").stat().st_mode) & 0o004 == 0
    rancherd = root / "etc/rancher/rancherd/config.yaml"
    assert c["token"] in rancherd.read_text() and stat.S_IMODE(rancherd.stat().st_mode) == 0o600
    assert c["file"] in (root / "etc/app/secret.conf").read_text()


@pytest.mark.parametrize("how", ["file", "command"])
def test_no_secret_leaks_from_a_failing_run(tmp_path: Path, capsys, how: str) -> None:
    c = canaries()
    root = _root(tmp_path, failing_config(c, how))
    if how == "command":
        from engine.roots import add_busybox

        need_root()
        add_busybox(root)
    outputs = []
    for phase in ("initramfs", "boot"):
        code, text = _cli(capsys, "run", "--phase", phase, "--root", str(root))
        outputs.append(text)
    assert code == 1
    assert ("nosuchuser" if how == "file" else "runcmd[0] |") in outputs[-1], outputs[-1]
    for fmt in ("text", "json"):
        code, text = _cli(capsys, "status", "--root", str(root), "--format", fmt)
        assert code == 1
        outputs.append(text)
    _scan(root, outputs, c, f"failing {how}")


def test_no_secret_leaks_from_a_rejected_config(tmp_path: Path, capsys) -> None:
    c = canaries()
    root = _root(tmp_path, rejected_config(c))
    cfg = root / "oem/50-canary.yaml"
    outputs = []
    for fmt in ("text", "json"):
        code, text = _cli(capsys, "validate", "--format", fmt, str(cfg))
        assert code == 1
        outputs.append(text)
    code, text = _cli(capsys, "fetch", "--root", str(root))
    outputs.append(text)
    for phase in ("initramfs", "boot"):
        code, text = _cli(capsys, "run", "--phase", phase, "--root", str(root))
        assert code == 1
        outputs.append(text)
    code, text = _cli(capsys, "status", "--root", str(root), "--format", "json")
    outputs.append(text)
    _scan(root, outputs, c, "rejected config")


@pytest.mark.parametrize("journal", [False, True])
def test_log_lines_in_journal_format_hold_no_secret(tmp_path: Path, capsys, monkeypatch, journal: bool) -> None:
    if journal:
        monkeypatch.setenv("JOURNAL_STREAM", "8:1234")
    c = canaries()
    root = _root(tmp_path, secret_config(c))
    code, text = _cli(capsys, "run", "--phase", "boot", "--root", str(root), "--config", str(root / "oem/50-canary.yaml"))
    assert code == 0 and ("<6>" in text) == journal
    _scan(root, [text], c, "journal")
