"""`ros-init validate` as a user runs it: exit codes, formats, hostile files, no traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "ros_init", "examples")


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "ros_init", "validate", *args], input=stdin,
                          capture_output=True, timeout=60)
    assert b"Traceback" not in proc.stderr + proc.stdout
    return proc


def write(tmp_path, name: str, data: bytes | str) -> str:
    p = tmp_path / name
    p.write_bytes(data.encode() if isinstance(data, str) else data)
    return str(p)


def test_examples_are_valid():
    for name in sorted(os.listdir(EXAMPLES)):
        proc = run(os.path.join(EXAMPLES, name))
        assert proc.returncode == 0, proc.stdout.decode()


def test_errors_exit_1_sorted_and_located(tmp_path):
    f = write(tmp_path, "bad.yaml", "#cloud-config\nusers:\n  - name: a\n    shel: /bin/sh\nhostname: 12\n")
    proc = run(f)
    assert proc.returncode == 1
    lines = proc.stdout.decode().splitlines()
    assert lines[0].startswith(f"{f}:4:5: error: users[0].shel: unknown key `shel`; did you mean `shell`?")
    assert lines[1].startswith(f"{f}:5:11: error: hostname: expected a string")


def test_warnings_pass_unless_strict(tmp_path):
    f = write(tmp_path, "warn.yaml", "#cloud-config\npackages: [vim]\n")
    assert run(f).returncode == 0
    assert run("--strict", f).returncode == 1


def test_json_format(tmp_path):
    f = write(tmp_path, "bad.yaml", "#cloud-config\nssh_pwauth: [1]\n")
    out = json.loads(run("--format", "json", f).stdout)
    assert out["valid"] is False and out["errors"] == 1
    [finding] = out["files"][0]["findings"]
    assert finding["line"] == 2 and finding["path"] == "ssh_pwauth" and finding["severity"] == "error"


def test_stdin():
    proc = run("-", stdin=b"#cloud-config\nhostname: node-1\n")
    assert proc.returncode == 0 and b"<stdin>: valid" in proc.stderr


def test_unreadable_missing_and_folder_exit_2(tmp_path):
    assert run(str(tmp_path / "missing.yaml")).returncode == 2
    assert run(str(tmp_path)).returncode == 2
    assert run().returncode == 2  # usage: no file


@pytest.mark.parametrize("data,code", [
    (b"", "empty"),
    (b"#cloud-config\n", "empty"),
    (b"\x00\x01\x02binary", "binary"),
    (b"#cloud-config\nhostname: caf\xe9\n", "encoding"),
    (b"#cloud-config\n- a\n- b\n", "type"),
    (b"#cloud-config\nusers: [\n", "yaml-syntax"),
    (b"#cloud-config\na: &a [1]\nb: *c\n", "yaml-syntax"),
    (b"[" * 50_000, "too-deep"),
])
def test_bad_input_is_a_finding_never_a_traceback(tmp_path, data, code):
    out = json.loads(run("--format", "json", write(tmp_path, "x.yaml", data)).stdout)
    assert code in [f["code"] for f in out["files"][0]["findings"]]


def test_fifty_megabyte_file_is_refused_quickly(tmp_path):
    p = tmp_path / "big.yaml"
    with open(p, "wb") as fh:
        fh.write(b"#cloud-config\nwrite_files:\n")
        fh.truncate(50 * 1024 * 1024)
    proc = run("--format", "json", str(p))
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["files"][0]["findings"][0]["code"] == "too-large"


def test_secret_values_never_printed(tmp_path):
    f = write(tmp_path, "s.yaml", "#cloud-config\nusers:\n  - name: a\n    passwd: CANARY-pass-123\n"
              "    plain_text_passwd: [CANARY-plain]\nrancherd:\n  role: agent\n  token: 99999\n")
    proc = run(f)
    assert proc.returncode == 1
    assert b"CANARY" not in proc.stdout + proc.stderr and b"99999" not in proc.stdout + proc.stderr


def test_settings_files(tmp_path):
    f = write(tmp_path, "settings.yaml", "datasources: [cdrom, ec2]\nec2: {url: 'http://127.0.0.1:1', timeout: 2}\n")
    assert run("--settings-file", f).returncode == 0
    f = write(tmp_path, "bad.yaml", "datasources: [cdrom, ec3]\n")
    proc = run("--settings-file", f)
    assert proc.returncode == 1 and b"did you mean `ec2`" in proc.stdout


# -- users in cloud-init's mapping form: findings name the key, as the file writes it -----------
USERS_MAP = ("#cloud-config\nusers:\n  ghost: false\n  bob:\n    gecos: 'a:b'\n    homedir: /home/b\n"
             "  carol:\n    shell: /bin/sh\n    groups: [wheel]\n    gecos: 'c:d'\n")


def test_mapping_form_users_are_named_by_their_key_in_validate_and_run(tmp_path):
    f = write(tmp_path, "users.yaml", USERS_MAP)
    proc = run(f)
    assert proc.returncode == 1
    out = proc.stdout.decode()
    assert f"{f}:5:12: error: users.bob.gecos: contains ':'" in out, out  # bob is users[0] once ghost is dropped
    assert f"{f}:10:12: error: users.carol.gecos: contains ':'" in out, out
    assert "users[" not in out, out
    root = tmp_path / "root"
    root.mkdir()
    ran = subprocess.run([sys.executable, "-m", "ros_init", "run", "--phase", "boot", "--root", str(root),
                          "--config", f], capture_output=True, timeout=120, text=True)
    assert ran.returncode == 1 and "nothing was changed" in ran.stdout + ran.stderr
    for line in (x for x in out.splitlines() if ": error: " in x):
        assert line in ran.stdout + ran.stderr  # run says the same, at the same place
    assert "users[" not in ran.stdout + ran.stderr


@pytest.mark.parametrize("text,where", [
    ("users:\n- [ok, -bad]\n", ":3:8: error: users[0][1]:"),  # a list of names: the item itself
    ("users:\n- ok\n- name: bo\n  gecos: 'x:y'\n", ":5:10: error: users[1].gecos:"),
])
def test_list_forms_keep_their_own_paths(tmp_path, text, where):
    f = write(tmp_path, "u.yaml", "#cloud-config\n" + text)
    out = run(f).stdout.decode()
    assert f"{f}{where}" in out, out


def test_merged_users_are_located_in_the_document_that_wrote_them_with_the_default_user_first():
    from ros_init.config.yamlsource import load_document
    from ros_init.core.model import ConfigDocument, Layer
    from ros_init.engine.inputs import build_config

    docs = []
    for name, text, layer in (("vendor", "#cloud-config\nusers:\n- name: alice\n- name: bob\n- default\n", Layer.VENDOR),
                              ("user", "#cloud-config\nusers:\n  bob:\n    gecos: 'a:b'\n", Layer.USER)):
        p = load_document(text.encode(), name)
        docs.append(ConfigDocument(name, layer, p.data, dict(p.positions), dict(p.key_positions)))
    config, findings, _ = build_config(docs, settings={"default_user": {"name": "rancher"}})
    assert [u["name"] for u in config["users"]] == ["rancher", "alice", "bob"]  # every index moved by one
    errors = [f.render() for f in findings if f.severity == "error"]
    assert errors == ["user:4:12: error: users.bob.gecos: contains ':', which the account files cannot hold"], errors
