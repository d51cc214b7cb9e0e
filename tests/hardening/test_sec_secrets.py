"""Security, secrets by construction: the schema decides secrecy on every branch, every record
is scrubbed and private, fetch hides misspelled secret keys, the scrubber is no oracle.

Before: ``chpasswd: {users: [{name: root, password: MyPass}]}`` (no ``type: text``) showed
"(found `MyPass`)" in validate, run, status and both status.json files (0644 in 0755
folders): the ``then`` branch of chpasswdUser had no ``x-secret``, and the config-failure
record was written without the scrubber.
"""

from __future__ import annotations

import json
import os
import re
import stat
import uuid
from pathlib import Path

import yaml
from fence import no_traceback

from ros_init.cli import main
from ros_init.cli.demo import make_os_skeleton
from ros_init.config.redact import REDACTED, Scrubber, looks_secret
from ros_init.config.schema import load_schema

SECRET_NAME = re.compile(r"pass|token|key|content|secret|credential", re.I)
# Named like a secret, holding none (each with its reason).
NOT_SECRET = {
    "ssh_authorized_keys": "public keys", "ssh-authorized-keys": "public keys",
    "lock_passwd": "a flag", "lock-passwd": "a flag", "ssh_pwauth": "a flag",
    "chpasswd": "an object whose secret members are marked", "allow_public_ssh_keys": "ignored flag",
    "authkey_hash": "an algorithm name", "keyboard": "a layout", "ssh_deletekeys": "a flag",
    "ssh_genkeytypes": "key types", "ssh_key_console_blacklist": "key types", "ssh_publish_hostkeys": "a flag",
    "ssh_quiet_keygen": "a flag",
}


def _properties(node: object, path: str = "#"):
    """(path, name, subschema) of every property declared anywhere in the schema."""
    if isinstance(node, dict):
        for name, sub in (node.get("properties") or {}).items():
            yield f"{path}/properties/{name}", name, sub
        for key, value in node.items():
            yield from _properties(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _properties(value, f"{path}/{i}")


def test_every_secret_named_property_is_secret_in_every_subschema() -> None:
    schema = load_schema()
    found = [(p, n) for p, n, _ in _properties(schema) if SECRET_NAME.search(n) or looks_secret(n)]
    assert len(found) > 10
    missing = [p for p, n, sub in _properties(schema)
               if (SECRET_NAME.search(n) or looks_secret(n)) and n not in NOT_SECRET
               and not (isinstance(sub, dict) and sub.get("x-secret") is True)]
    assert missing == []


def _private_tree(base: Path) -> list[str]:
    bad = []
    for dirpath, _dirs, files in os.walk(base):
        if stat.S_IMODE(os.lstat(dirpath).st_mode) != 0o700:
            bad.append(f"{dirpath} {oct(stat.S_IMODE(os.lstat(dirpath).st_mode))}")
        for f in files:
            mode = stat.S_IMODE(os.lstat(os.path.join(dirpath, f)).st_mode)
            if mode != 0o600:
                bad.append(f"{dirpath}/{f} {oct(mode)}")
    return bad


def test_a_clear_chpasswd_password_without_type_text_is_never_shown_and_status_is_private(
        tmp_path: Path, capsys) -> None:
    secret = f"MyPass{uuid.uuid4().hex[:6]}"
    root = make_os_skeleton(tmp_path / "root")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"#cloud-config\nchpasswd:\n  users:\n    - name: root\n      password: {secret}\n")
    outputs = []
    for argv in (["validate", str(cfg)], ["validate", "--format", "json", str(cfg)],
                 ["run", "--phase", "boot", "--root", str(root), "--config", str(cfg)],
                 ["status", "--root", str(root)], ["status", "--root", str(root), "--format", "json"]):
        code = main(argv)
        out, err = capsys.readouterr()
        no_traceback(0, out, err)
        # not a crypt hash: a warning (cloud-init's schema accepts it; the account would be
        # unusable for password login), so the exit status is not the point here: the secret is
        assert code in (0, 1)
        outputs.append(out + err)
    assert "crypt" in outputs[0]  # the finding is there, its value is not
    for text in outputs:
        assert secret not in text
    for status in (root / "run/ros-init/status.json", root / "var/lib/ros-init/status.json"):
        assert secret not in status.read_text()
    assert _private_tree(root / "run/ros-init") == []
    assert _private_tree(root / "var/lib/ros-init") == []


def test_a_loose_state_folder_is_tightened(tmp_path: Path, capsys) -> None:
    root = make_os_skeleton(tmp_path / "root")
    (root / "run/ros-init").mkdir(parents=True, mode=0o755)
    (root / "var/lib/ros-init").mkdir(parents=True, mode=0o755)
    (root / "run/ros-init").chmod(0o755)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("hostname: node-a\nwrite_files:\n  - path: /etc/x\n    content: hi\n")
    assert main(["run", "--phase", "boot", "--root", str(root), "--config", str(cfg)]) == 0
    capsys.readouterr()
    assert _private_tree(root / "run/ros-init") == []
    assert _private_tree(root / "var/lib/ros-init") == []


def test_fetch_hides_misspelled_secret_keys_and_secrets_inside_commands(tmp_path: Path, capsys) -> None:
    tag = uuid.uuid4().hex[:10]
    token = f"K10-cluster-token-{tag}"
    values = {"tokn": f"tokn-{tag}", "contnet": f"contnet-{tag}", "pasword": f"pasword-{tag}"}
    root = make_os_skeleton(tmp_path / "root")
    (root / "etc/ros-init/ros-init.yaml").write_text("datasources: [file]\n")
    (root / "oem").mkdir()
    config = {"rancherd": {"role": "cluster-init", "token": token}, **values,
              "runcmd": [f"curl -H 'Authorization: Bearer {token}' https://example.invalid/"]}
    (root / "oem/50.yaml").write_text("#cloud-config\n" + yaml.safe_dump(config))
    for fmt in ("yaml", "json"):
        main(["fetch", "--root", str(root), "--format", fmt])
        out, err = capsys.readouterr()
        text = out + err
        assert REDACTED in text and "curl" in text
        leaked = [v for v in (token, *values.values()) if v in text]
        assert leaked == [], text


def test_the_scrubber_is_no_oracle_and_hides_short_lines_and_pieces() -> None:
    config = {
        "users": [{"name": "alice", "plain_text_passwd": "alice", "lock_passwd": False}],
        "rancherd": {"token": "K10a1b2c3d4e5f6a7b8c9d0::server:0123456789abcdef"},
        "write_files": [{"path": "/etc/app/creds", "permissions": "0600", "content": "pw=ab12\nuser: svc\n"},
                        {"path": "/etc/modules-load.d/k8s.conf", "content": "br_netfilter\n"}],
    }
    scrub = Scrubber.for_config(config)
    # a password equal to a public value (the user name) does not turn every "alice" into <redacted>
    assert scrub("users: created user alice") == "users: created user alice"
    # a short line of a private file's content is hidden, as a whole token only
    assert scrub("cat: pw=ab12 found") == f"cat: {REDACTED} found"
    assert scrub("xpw=ab12y") == "xpw=ab12y"
    # a world-readable file's content is not secret: its words stay readable
    assert scrub("modprobe br_netfilter") == "modprobe br_netfilter"
    # a piece of a long secret (a cut token) is hidden
    assert "0123456789abcdef" not in (scrub("token tail: ...server:0123456789abcdef") or "")
    assert "K10a1b2c3d4e5" not in (scrub("token head: K10a1b2c3d4e5f6 (cut)") or "")


def test_the_config_failure_record_goes_through_the_scrubber(tmp_path: Path) -> None:
    from ros_init.core.findings import Finding
    from ros_init.core.root import Root
    from ros_init.engine.run import config_failure_record

    secret = f"leaky-{uuid.uuid4().hex}"
    finding = Finding(severity="error", code="type", path="x", message=f"bad value {secret}")
    rec = config_failure_record("boot", Root(tmp_path), None, [finding], Scrubber([secret]))
    assert secret not in json.dumps(rec.as_dict())
