"""Issue 10, "one config model": each bug of the issue, as a user meets it, through
``ros-init validate`` and ``ros-init run`` (documents merged, stages planned and applied)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from engine.roots import add_busybox, tree_snapshot
from facilities import need_root

from ros_init.cli import main
from ros_init.cli.demo import make_os_skeleton

HASH_A = "$6$saltsalt$" + "A" * 86
HASH_B = "$6$saltsalt$" + "B" * 86


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_os_skeleton(tmp_path / "root")


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def validate(capsys, *files: Path) -> tuple[int, str]:
    code, out, err = cli(capsys, "validate", *map(str, files))
    return code, out + err


def run(capsys, root: Path, *configs: Path, phase: str = "boot") -> tuple[int, str, str]:
    argv = ["run", "--phase", phase, "--root", str(root)]
    for c in configs:
        argv += ["--config", str(c)]
    return cli(capsys, *argv)


def unchanged(before: dict, root: Path) -> bool:
    keep = {p: v for p, v in before.items() if "ros-init" not in p}
    return {p: v for p, v in tree_snapshot(root).items() if "ros-init" not in p} == keep


def passwd_names(root: Path) -> set[str]:
    return {line.split(":")[0] for line in (root / "etc/passwd").read_text().splitlines()}


def shadow_field(root: Path, user: str) -> str:
    return next(line.split(":")[1] for line in (root / "etc/shadow").read_text().splitlines()
                if line.startswith(f"{user}:"))


# -- write_files ------------------------------------------------------------------------------
def test_a_plain_item_then_an_append_item_of_the_same_path_keep_both_across_documents(capsys, root, tmp_path):
    base = write(tmp_path, "10.yaml", "#cloud-config\nwrite_files:\n- path: /etc/motd\n  content: |\n    first\n")
    more = write(tmp_path, "20.yaml", "#cloud-config\nwrite_files:\n- path: /etc/motd\n  append: true\n"
                 "  content: |\n    second\n")
    assert validate(capsys, base, more)[0] == 0
    code, out, err = run(capsys, root, base, more)
    assert code == 0, err
    assert (root / "etc/motd").read_text() == "first\nsecond\n"
    assert run(capsys, root, base, more)[1].count("0 changed") == 1  # converged: appends once


def test_the_same_path_twice_in_one_document_is_written_in_turn(capsys, root, tmp_path):
    config = write(tmp_path, "c.yaml", "#cloud-config\nwrite_files:\n"
                   "- {path: /etc/x, content: one, permissions: '0600'}\n"
                   "- {path: /etc/x, content: two, permissions: '0640'}\n"
                   "- {path: /etc/x, content: '+three', append: true}\n")
    assert validate(capsys, config)[0] == 0
    assert run(capsys, root, config)[0] == 0
    assert (root / "etc/x").read_text() == "two+three"
    assert stat.S_IMODE((root / "etc/x").stat().st_mode) == 0o644  # the last item sets the mode (cloud-init)


def test_unquoted_permissions_0644_is_mode_0644_with_a_warning(capsys, root, tmp_path):
    config = write(tmp_path, "c.yaml", "#cloud-config\nwrite_files:\n- path: /etc/a\n  permissions: 0644\n"
                   "  content: a\n- path: /etc/b\n  permissions: 0600\n  content: b\n")
    code, text = validate(capsys, config)
    assert code == 0 and "warning" in text and "octal" in text
    code, out, err = run(capsys, root, config)
    assert code == 0, err
    assert "nothing was changed" not in err and "0420" not in err
    assert stat.S_IMODE((root / "etc/a").stat().st_mode) == 0o644
    assert stat.S_IMODE((root / "etc/b").stat().st_mode) == 0o600


def test_a_decimal_permissions_is_refused_by_both(capsys, root, tmp_path):
    config = write(tmp_path, "c.yaml", "#cloud-config\nwrite_files:\n- {path: /etc/a, permissions: 644, content: a}\n")
    before = tree_snapshot(root)
    assert validate(capsys, config)[0] == 1
    code, _, err = run(capsys, root, config)
    assert code == 1 and "nothing was changed" in err
    assert unchanged(before, root)


# -- users ------------------------------------------------------------------------------------
def test_users_dict_form_with_a_false_value_does_not_create_the_user(capsys, root, tmp_path):
    config = write(tmp_path, "c.yaml", "#cloud-config\nusers:\n  bob: \"no\"\n  carl: false\n  dora: {}\n")
    assert validate(capsys, config)[0] == 0
    assert run(capsys, root, config)[0] == 0
    names = passwd_names(root)
    assert "dora" in names and "bob" not in names and "carl" not in names


def test_hashed_passwd_rotates_the_password_of_an_existing_user(capsys, root, tmp_path):
    first = write(tmp_path, "1.yaml", f"#cloud-config\nusers:\n- name: alice\n  passwd: '{HASH_A}'\n")
    assert run(capsys, root, first)[0] == 0
    assert shadow_field(root, "alice") == "!" + HASH_A
    rotate = write(tmp_path, "2.yaml", f"#cloud-config\nusers:\n- name: alice\n  hashed_passwd: '{HASH_B}'\n")
    assert validate(capsys, rotate)[0] == 0
    code, out, err = run(capsys, root, rotate)
    assert code == 0, err
    assert shadow_field(root, "alice") == "!" + HASH_B


def test_hashed_passwd_wins_over_plain_text_passwd_even_across_documents(capsys, root, tmp_path):
    a = write(tmp_path, "1.yaml", f"#cloud-config\nusers:\n- name: alice\n  hashed_passwd: '{HASH_A}'\n"
              "  lock_passwd: false\n")
    b = write(tmp_path, "2.yaml", "#cloud-config\nusers:\n- name: alice\n  plain_text_passwd: not-this-one\n")
    assert run(capsys, root, a, b)[0] == 0
    assert shadow_field(root, "alice") == HASH_A


# -- validate accepted, run refused: now both refuse, and run changes nothing -------------------
@pytest.mark.parametrize("text", [
    "users:\n- name: alice\n  gecos: 'Alice: admin'\n",
    "users:\n- name: \"alice\\n\"\n",
    "users:\n- name: alice\n  homedir: /home/../etc\n",
    "users:\n- name: alice\n  sudo: \"ALL=(ALL) ALL\\nmallory ALL=(ALL) ALL\"\n",
    "users:\n- name: alice\n  groups: [\"wheel\\n\"]\n",
    "users:\n- name: alice\n  groups: \"wh eel\"\n",
    "users: " + "a" * 40 + "\n",
    "hostname: \"node\\n\"\n",
    "network:\n  version: 2\n  ethernets:\n    \"eth0\\n\": {dhcp4: true}\n",
    "runcmd: [[ls, \"\\0\"]]\n",
])
def test_what_run_refuses_validate_reports_and_run_changes_nothing(capsys, root, tmp_path, text):
    config = write(tmp_path, "c.yaml", "#cloud-config\n" + text)
    code, report = validate(capsys, config)
    assert code == 1, report
    assert f"{config}:" in report and "error" in report
    before = tree_snapshot(root)
    code, _, err = run(capsys, root, config)
    assert code == 1 and "nothing was changed" in err
    assert unchanged(before, root)
    assert not (root / "etc/hostname").read_text().endswith("\n\n")


def test_content_cloud_init_accepts_but_cannot_decode_warns_and_fails_one_file(capsys, root, tmp_path):
    """cloud-init's own docs show truncated base64 (`...`): its schema accepts it, its write
    fails at boot. validate warns (located); run writes the other files and fails that one."""
    config = write(tmp_path, "c.yaml", "#cloud-config\nwrite_files:\n- {path: /etc/x, encoding: b64, "
                   "content: 'aGVsbG8...'}\n- {path: /etc/y, content: fine}\n")
    code, report = validate(capsys, config)
    assert code == 0 and f"{config}:3:42: warning: write_files[0].content: content is not valid base64" in report
    code, out, err = run(capsys, root, config)
    assert code == 1 and "write_files[0]: content is not valid base64" in err
    assert (root / "etc/y").read_text() == "fine" and not (root / "etc/x").exists()


def test_a_stage_finding_is_located_in_the_file(capsys, tmp_path):
    config = write(tmp_path, "c.yaml", "#cloud-config\nusers:\n  - name: alice\n    gecos: \"a:b\"\n")
    code, report = validate(capsys, config)
    assert code == 1 and f"{config}:4:12: error: users[0].gecos: contains ':'" in report


def test_validate_lists_every_refusal_of_every_stage_located_and_run_refuses_them_all(capsys, root, tmp_path):
    """One validate run lists them all: each stage's parse goes on after a refused item."""
    config = write(tmp_path, "c.yaml", "#cloud-config\n"
                   "users:\n"
                   "  - name: alice\n"
                   "    gecos: \"a:b\"\n"
                   "    homedir: /home/../etc\n"
                   "    plain_text_passwd: s3cret-value\n"
                   "  - name: bob\n"
                   "    shell: \"/bin/a:b\"\n"
                   "runcmd:\n"
                   "  - [ls, \"a\\0b\"]\n"
                   "  - echo fine\n"
                   "  - [ls, \"c\\0d\"]\n")
    code, report = validate(capsys, config)
    assert code == 1
    for where in ("4:12: error: users[0].gecos: contains ':'", "5:14: error: users[0].homedir: must not hold '..'",
                  "8:12: error: users[1].shell: contains ':'", "10:5: error: runcmd[0]: holds a NUL byte",
                  "12:5: error: runcmd[2]: holds a NUL byte"):
        assert f"{config}:{where}" in report, report
    assert "invalid (5 errors" in report and "s3cret" not in report
    before = tree_snapshot(root)
    code, _, err = run(capsys, root, config)
    assert code == 1 and "nothing was changed" in err
    assert all(f"{config}:{line}" in err for line in ("4:12", "5:14", "8:12", "10:5", "12:5")), err
    assert unchanged(before, root) and "s3cret" not in err


# -- merge rules ------------------------------------------------------------------------------
def test_appended_runcmd_keeps_duplicates_and_bootcmd_appends(capsys, root, tmp_path):
    a = write(tmp_path, "1.yaml", "#cloud-config\nruncmd: [echo hi]\nbootcmd: [echo early]\n")
    b = write(tmp_path, "2.yaml", "#cloud-config\nruncmd: [echo hi]\nbootcmd: [echo later]\n")
    code, out, err = cli(capsys, "plan", "--phase", "boot", "--root", str(root), "--config", str(a), "--config", str(b))
    assert code == 0, err
    assert out.count("run runcmd[") == 2  # the same command in two documents runs twice
    assert "bootcmd: run bootcmd[0]" in out and "bootcmd: run bootcmd[1]" in out


def test_rancherd_tls_sans_merge_as_the_schema_documents(capsys, root, tmp_path):
    import yaml

    a = write(tmp_path, "1.yaml", "#cloud-config\nrancherd: {role: cluster-init, token: t0ken, tlsSans: [a.example], labels: [x=1]}\n")
    b = write(tmp_path, "2.yaml", "#cloud-config\nrancherd: {tlsSans: [b.example, a.example]}\n")
    assert run(capsys, root, a, b)[0] == 0
    written = yaml.safe_load((root / "etc/rancher/rancherd/config.yaml").read_text())
    assert written["tlsSans"] == ["a.example", "b.example"] and written["labels"] == ["x=1"]
    from ros_init.config.schema import load_schema

    desc = load_schema()["$defs"]["rancherd"]["properties"]["tlsSans"]
    assert desc["x-merge"] == "union" and "union" in desc["description"]


def test_cmdline_with_config_is_refused_with_a_message(capsys, root, tmp_path):
    config = write(tmp_path, "c.yaml", "#cloud-config\nhostname: n1\n")
    cmdline = write(tmp_path, "cmdline", "ros.hostname=n2\n")
    code, _, err = cli(capsys, "run", "--phase", "boot", "--root", str(root), "--config", str(config),
                       "--cmdline", str(cmdline))
    assert code == 2 and "--cmdline" in err and "--config" in err
    assert not (root / "etc/hostname").exists() or "n1" not in (root / "etc/hostname").read_text()


def test_bootcmd_runs_before_users_and_files(capsys, root, tmp_path):
    need_root()
    add_busybox(root)
    config = write(tmp_path, "c.yaml", "#cloud-config\n"
                   "bootcmd: ['if test -e /etc/x; then echo after > /order; else echo before > /order; fi',"
                   " 'grep -c ^zed: /etc/passwd > /users-then || true']\n"
                   "write_files: [{path: /etc/x, content: x}]\nusers: [zed]\n")
    code, out, err = run(capsys, root, config)
    assert code == 0, err
    assert (root / "order").read_text() == "before\n"
    assert (root / "users-then").read_text() == "0\n"
    status = json.loads((root / "run/ros-init/status.json").read_text())
    names = [s["name"] for s in status["phases"]["boot"]["stages"]]
    assert names.index("bootcmd") < names.index("users") < names.index("files")


def test_a_config_error_in_another_phase_stops_this_phase_too(capsys, root, tmp_path):
    config = write(tmp_path, "c.yaml", "#cloud-config\nhostname: n1\nusers:\n- name: alice\n  gecos: 'a:b'\n")
    before = tree_snapshot(root)
    code, _, err = run(capsys, root, config, phase="initramfs")
    assert code == 1 and "users[0].gecos" in err
    assert unchanged(before, root)
    assert os.path.exists(root / "etc")
