"""Security, accounts: names sudoers reads specially, users joining groups by name, empty
passwords. Each through ``validate`` and ``run`` on a scratch root with real account files.

Before: a user ``ALL`` got ``ALL ALL=(ALL) NOPASSWD:ALL`` (a rule for every user); ``Defaults``
made a file ``visudo -c`` rejects; ``ADMINS`` a rule read as an alias; ``users: [disk, shadow]``
got gid 6 (raw disks) and 42 (reads /etc/shadow); ``plain_text_passwd: ""`` with
``lock_passwd: false`` set an empty password without a word.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ros_init.cli import main
from ros_init.cli.demo import make_os_skeleton


def _run(tmp_path: Path, capsys, config: dict) -> tuple[int, str, Path]:
    root = tmp_path / "root"
    if not root.exists():
        make_os_skeleton(root)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("#cloud-config\n" + yaml.safe_dump(config))
    code = main(["run", "--phase", "boot", "--root", str(root), "--config", str(cfg)])
    out, err = capsys.readouterr()
    return code, out + err, root


def _validate(tmp_path: Path, capsys, config: dict) -> tuple[int, str]:
    cfg = tmp_path / "v.yaml"
    cfg.write_text("#cloud-config\n" + yaml.safe_dump(config))
    code = main(["validate", str(cfg)])
    out, err = capsys.readouterr()
    return code, out + err


@pytest.mark.parametrize("name", ["ALL", "Defaults", "ADMINS", "WHEEL_2"])
def test_names_sudoers_reads_specially_are_refused(tmp_path: Path, capsys, name: str) -> None:
    config = {"users": [{"name": name, "sudo": "ALL=(ALL) NOPASSWD:ALL"}]}
    code, text = _validate(tmp_path, capsys, config)
    assert code == 1 and "sudoers reads this name" in text
    for form in (config, {"users": name}, {"users": [[name]]}):  # forms the schema cannot see into
        code, text, root = _run(tmp_path, capsys, form)
        assert code == 1 and "sudoers" in text
        assert not list((root / "etc/sudoers.d").glob("*")) if (root / "etc/sudoers.d").exists() else True
        assert f"\n{name}:" not in (root / "etc/passwd").read_text()


@pytest.mark.parametrize("group", ["disk", "shadow"])
def test_a_new_user_never_joins_an_existing_group_by_name(tmp_path: Path, capsys, group: str) -> None:
    code, text, root = _run(tmp_path, capsys, {"users": [{"name": group}]})
    assert code == 1
    assert f"a group named {group} already exists" in text and "primary_group" in text
    assert f"\n{group}:" not in (root / "etc/passwd").read_text()
    # named as the primary group: the config means it
    code, text, root = _run(tmp_path, capsys, {"users": [{"name": group, "primary_group": group}]})
    assert code == 0, text
    line = next(x for x in (root / "etc/passwd").read_text().splitlines() if x.startswith(f"{group}:"))
    gid = next(x for x in (root / "etc/group").read_text().splitlines() if x.startswith(f"{group}:")).split(":")[2]
    assert line.split(":")[3] == gid


def test_a_group_made_by_the_config_for_the_user_is_still_its_own(tmp_path: Path, capsys) -> None:
    code, text, root = _run(tmp_path, capsys, {"groups": ["alice"], "users": [{"name": "alice"}]})
    assert code == 0, text
    assert any(x.startswith("alice:x:") for x in (root / "etc/passwd").read_text().splitlines())


def test_an_empty_clear_text_password_needs_a_locked_login(tmp_path: Path, capsys) -> None:
    open_login = {"users": [{"name": "eve", "plain_text_passwd": "", "lock_passwd": False}]}
    code, text = _validate(tmp_path, capsys, open_login)
    assert code == 1 and "login without a password" in text
    code, text, root = _run(tmp_path, capsys, open_login)
    assert code == 1 and "login without a password" in text
    assert "\neve:" not in (root / "etc/passwd").read_text()
    locked = {"users": [{"name": "eve", "plain_text_passwd": ""}]}
    code, text = _validate(tmp_path, capsys, locked)
    assert code == 0 and "warning" in text and "plain_text_passwd is empty" in text
    code, text, root = _run(tmp_path, capsys, locked)
    assert code == 0 and "plain_text_passwd is empty" in text
    field = next(x for x in (root / "etc/shadow").read_text().splitlines() if x.startswith("eve:")).split(":")[1]
    assert field.startswith("!")
