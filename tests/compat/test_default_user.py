"""The image's default user (settings default_user): cloud-init's rule, through `run`."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from ros_init.accounts.defaultuser import resolve, wanted
from ros_init.cli import main
from ros_init.cli.demo import make_os_skeleton

REPO = Path(__file__).resolve().parents[2]
RANCHER = {"name": "rancher", "groups": ["wheel"], "sudo": "ALL=(ALL) NOPASSWD:ALL", "shell": "/bin/bash",
           "lock_passwd": True}
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDefaultUserKeyForTestsOnly0000000000000 meta@key"
KEY2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAliceKeyForTestsOnly00000000000000000000 alice@key"


@pytest.mark.parametrize("users,created", [
    (None, True), ([], False), ("", False), ({}, False), (["default"], True), (["default", "alice"], True),
    ([{"name": "alice"}], False), ("alice, bob", False), ("default, bob", True), ({"alice": {}}, False),
    ({"default": True, "bob": {}}, True),
])
def test_cloud_init_rule(users, created):
    assert wanted(users) is created


names = st.lists(st.sampled_from(["default", "alice", "bob", "rancher"]), max_size=4, unique=True)  # merged: keyed


@given(names)
def test_resolve_follows_the_rule_and_keeps_the_others(listed):
    config = {"users": [{"name": n} for n in listed]}
    out = resolve(config, {"default_user": RANCHER})
    got = [u["name"] for u in out["users"]]
    others = [n for n in dict.fromkeys(listed) if n not in ("default", "rancher")]
    if "default" in listed:
        assert got[0] == "rancher" and got[1:] == others and out["users"][0]["sudo"] == RANCHER["sudo"]
    else:
        assert "default" not in got and [n for n in got if n != "rancher"] == others
    assert config == {"users": [{"name": n} for n in listed]}  # pure


def test_without_default_user_in_settings_nothing_changes():
    config = {"users": [{"name": "default"}, {"name": "a"}], "password": "x"}
    assert resolve(config, {}) is config


def _node(tmp_path: Path, settings: dict, seed: dict[str, str] | None = None) -> Path:
    root = make_os_skeleton(tmp_path / "root")
    full = {"datasources": ["cdrom"], "deadline": 10, "cdrom": {"labels": ["ROS-TEST-NONE"], "seed_dirs": ["/seed"]},
            **settings}
    (root / "etc/ros-init").mkdir(parents=True, exist_ok=True)
    (root / "etc/ros-init/ros-init.yaml").write_text(yaml.safe_dump(full))
    (root / "proc").mkdir(exist_ok=True)
    (root / "proc/cmdline").write_text("\n")
    for name, text in (seed or {}).items():
        (root / "seed").mkdir(exist_ok=True)
        (root / "seed" / name).write_text(text)
    return root


def _run(capsys, root: Path, *extra: str) -> tuple[int, str]:
    code = main(["run", "--phase", "boot", "--root", str(root), *extra])
    out, err = capsys.readouterr()
    return code, out + err


def _passwd(root: Path) -> dict[str, list[str]]:
    return {line.split(":")[0]: line.split(":") for line in (root / "etc/passwd").read_text().splitlines()}


def _shadow(root: Path) -> dict[str, list[str]]:
    return {line.split(":")[0]: line.split(":") for line in (root / "etc/shadow").read_text().splitlines()}


def prefix(user: str) -> str:
    """cloud-init's default disable_root_opts for the default user ``user``."""
    from ros_init.stages.sshkeys import DISABLE_ROOT_OPTS

    return DISABLE_ROOT_OPTS.replace("$USER", user).replace("$DISABLE_USER", "root")


def test_metadata_keys_and_password_go_to_the_default_user(tmp_path, capsys):
    """A NoCloud seed's public keys and a cloud-init `password:` apply to rancher."""
    seed = {"meta-data": f"instance-id: iid-du\nlocal-hostname: n1\npublic-keys:\n  - {KEY}\n",
            "user-data": "#cloud-config\npassword: s3cr3t-default-pw\nssh_pwauth: true\n"}
    root = _node(tmp_path, {"default_user": RANCHER}, seed)
    code, out = _run(capsys, root)
    assert code == 0, out
    assert _passwd(root)["rancher"][6] == "/bin/bash"
    assert (root / "home/rancher/.ssh/authorized_keys").read_text().count(KEY) == 1
    assert f'{prefix("rancher")} {KEY}\n' in (root / "root/.ssh/authorized_keys").read_text()
    assert _shadow(root)["rancher"][1].startswith("$6$")  # set, and not locked (`password` unlocks)
    assert "rancher" in (root / "etc/group").read_text().split("wheel:", 1)[1].split("\n", 1)[0]
    assert (root / "etc/sudoers.d/90-ros-init-rancher").read_text().strip().endswith("ALL=(ALL) NOPASSWD:ALL")
    assert "s3cr3t-default-pw" not in out
    code, out = _run(capsys, root)
    assert code == 0 and "0 changed" in out  # converged


def test_users_naming_others_leave_the_default_user_out(tmp_path, capsys):
    cfg = tmp_path / "ud.yaml"
    cfg.write_text(f"#cloud-config\nusers:\n- name: alice\n  ssh_authorized_keys: ['{KEY2}']\n"
                   f"ssh_authorized_keys: ['{KEY}']\n")
    root = _node(tmp_path, {"default_user": RANCHER})
    code, out = _run(capsys, root, "--config", str(cfg))
    assert code == 0, out
    assert "rancher" not in _passwd(root) and "alice" in _passwd(root)
    # cloud-init's rule: no default user, so the top-level key goes to root only, behind the
    # options that refuse the login; alice gets her own key and nothing else.
    alice = (root / "home/alice/.ssh/authorized_keys").read_text()
    assert KEY2 in alice and KEY not in alice
    assert f'{prefix("NONE")} {KEY}\n' in (root / "root/.ssh/authorized_keys").read_text()
    assert "no user of it gets these keys" in out  # said at boot, as validate says it
    code, out = _run(capsys, root, "--config", str(cfg))
    assert code == 0 and "0 changed" in out  # converged


def test_users_with_default_and_others_create_both(tmp_path, capsys):
    cfg = tmp_path / "ud.yaml"
    cfg.write_text("#cloud-config\nusers: [default, {name: alice}]\n"
                   f"ssh_authorized_keys: ['{KEY}']\n")
    root = _node(tmp_path, {"default_user": RANCHER})
    code, out = _run(capsys, root, "--config", str(cfg))
    assert code == 0, out
    assert {"rancher", "alice"} <= set(_passwd(root))
    assert KEY in (root / "home/rancher/.ssh/authorized_keys").read_text()
    assert not (root / "home/alice/.ssh/authorized_keys").exists()
    assert _shadow(root)["rancher"][1].startswith("!")  # lock_passwd: true


def test_without_default_user_default_is_ignored_as_before(tmp_path, capsys):
    cfg = tmp_path / "ud.yaml"
    cfg.write_text(f"#cloud-config\nusers: [default, {{name: alice}}]\nssh_authorized_keys: ['{KEY}']\n")
    root = _node(tmp_path, {})
    code, out = _run(capsys, root, "--config", str(cfg))
    assert code == 0, out
    assert "rancher" not in _passwd(root) and "default" not in _passwd(root)
    assert not (root / "home/alice/.ssh/authorized_keys").exists()  # not the first user's any more
    assert f'{prefix("NONE")} {KEY}\n' in (root / "root/.ssh/authorized_keys").read_text()
    assert "nobody can log in with them" in out  # the boot says so: the image has no default user


def test_keys_without_users_on_an_image_without_default_user_are_said_to_log_nobody_in(tmp_path, capsys):
    """cloud-init's rule without a default user: root only, behind disable_root_opts. The boot
    warns (it knows the image settings); validate cannot know them and does not guess."""
    cfg = tmp_path / "ud.yaml"
    cfg.write_text(f"#cloud-config\nssh_authorized_keys: ['{KEY}']\n")
    root = _node(tmp_path, {})
    code, out = _run(capsys, root, "--config", str(cfg))
    assert code == 0, out
    assert "there is no default user" in out and "nobody can log in with them" in out
    assert main(["validate", str(cfg)]) == 0
    assert "nobody can log in" not in "".join(capsys.readouterr())
    cfg.write_text(f"#cloud-config\nssh_authorized_keys: ['{KEY}']\ndisable_root: false\n")
    code, out = _run(capsys, root, "--config", str(cfg))
    assert code == 0 and "nobody can log in" not in out  # root logs in with them: said by the config


def test_without_users_the_default_user_and_root_get_the_keys(tmp_path, capsys):
    """users absent + default_user: rancher gets the key as written, root behind the options
    naming rancher; disable_root: false makes root's line usable; each run converges."""
    cfg = tmp_path / "ud.yaml"
    cfg.write_text(f"#cloud-config\nssh_authorized_keys: ['{KEY}']\n")
    root = _node(tmp_path, {"default_user": RANCHER})
    code, out = _run(capsys, root, "--config", str(cfg))
    assert code == 0, out
    assert (root / "home/rancher/.ssh/authorized_keys").read_text().count(f"\n{KEY}\n") == 1
    assert "without `default`" not in out and "nobody can log in" not in out  # rancher gets them: no warning
    root_keys = (root / "root/.ssh/authorized_keys").read_text()
    assert f'{prefix("rancher")} {KEY}\n' in root_keys and 'the user \\"rancher\\" rather than' in root_keys
    code, out = _run(capsys, root, "--config", str(cfg))
    assert code == 0 and "0 changed" in out
    cfg.write_text(f"#cloud-config\nssh_authorized_keys: ['{KEY}']\ndisable_root: false\n")
    code, out = _run(capsys, root, "--config", str(cfg))
    assert code == 0, out
    assert f"# BEGIN ros-init managed keys\n{KEY}\n# END" in (root / "root/.ssh/authorized_keys").read_text()
    assert (root / "home/rancher/.ssh/authorized_keys").read_text().count(f"\n{KEY}\n") == 1


def test_a_bad_disable_root_opts_is_a_located_error(tmp_path, capsys):
    cfg = tmp_path / "ud.yaml"
    cfg.write_text(f"#cloud-config\nssh_authorized_keys: ['{KEY}']\ndisable_root_opts: no-pty, no-X11-forwarding\n")
    code = main(["validate", str(cfg)])
    out = "".join(capsys.readouterr())
    assert code != 0 and f"{cfg}:3:" in out and "disable_root_opts" in out and "spaces" in out, out
    root = _node(tmp_path, {"default_user": RANCHER})
    code, out = _run(capsys, root, "--config", str(cfg))
    assert code != 0 and "disable_root_opts" in out
    assert not (root / "root/.ssh/authorized_keys").exists()


def test_the_bundled_rancheros_settings_define_rancher(tmp_path):
    from ros_init.config.settings import load_settings
    from ros_init.core.root import Root

    settings = load_settings(Root(tmp_path), str(REPO / "packaging/examples/ros-init.yaml"))
    assert settings["default_user"]["name"] == "rancher"
    for dockerfile in ("Dockerfile", "Dockerfile.debian"):  # both example images install them
        text = (REPO / "packaging/examples" / dockerfile).read_text()
        assert "--settings /tmp/ros-init-packaging/examples/ros-init.yaml" in text, dockerfile


@pytest.mark.parametrize("name", ["settings.yaml", "settings-dracut.yaml"])
def test_the_e2e_guests_have_the_example_default_user(name):
    """The e2e guests define the default user the way the README tells an image builder to:
    the example settings' block, unchanged (the EC2 boot logs in as it with the IMDS key)."""
    example = yaml.safe_load((REPO / "packaging/examples/ros-init.yaml").read_text())
    e2e = yaml.safe_load((REPO / "tests/e2e" / name).read_text())
    assert e2e["default_user"] == example["default_user"]


def test_an_empty_users_creates_nobody_not_even_the_default_user(tmp_path, capsys):
    """cloud-init keeps the user-data's `users: []` whole over its base `users: [default]`:
    that is how a cloud-init user says "no default user"; the keys go to root only."""
    cfg = tmp_path / "ud.yaml"
    cfg.write_text(f"#cloud-config\nusers: []\nssh_authorized_keys: ['{KEY}']\n")
    root = _node(tmp_path, {"default_user": RANCHER})
    code, out = _run(capsys, root, "--config", str(cfg))
    assert code == 0, out
    assert "rancher" not in _passwd(root)
    assert f'{prefix("NONE")} {KEY}\n' in (root / "root/.ssh/authorized_keys").read_text()
