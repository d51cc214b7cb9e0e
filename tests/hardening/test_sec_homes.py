"""Security, files in users' homes: a user's symlink never redirects root's writes, and a
user's huge authorized_keys is left alone, through ``ros-init run``.

Before: with ``~/.kube -> /etc/sudoers.d`` made by alice, ``write_files:
/home/alice/.kube/config`` became ``/etc/sudoers.d/config`` owned by alice; a 256 MiB sparse
authorized_keys was read whole (~1 GiB of memory) and written back as a real 257 MB file.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from facilities import need_root

from ros_init.cli import main
from ros_init.cli.demo import make_os_skeleton
from ros_init.core.root import Root, RootError

ALICE = 1000


def _root_with_alice(tmp_path: Path, capsys) -> Path:
    need_root()
    root = make_os_skeleton(tmp_path / "root")
    cfg = tmp_path / "users.yaml"
    cfg.write_text("users:\n  - name: alice\n    uid: 1000\n")
    assert main(["run", "--phase", "boot", "--root", str(root), "--config", str(cfg)]) == 0
    capsys.readouterr()
    home = root / "home/alice"
    assert home.stat().st_uid == ALICE
    return root


def _run(tmp_path: Path, capsys, root: Path, config: dict) -> tuple[int, str]:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(config))
    code = main(["run", "--phase", "boot", "--root", str(root), "--config", str(cfg)])
    out, err = capsys.readouterr()
    return code, out + err


@pytest.mark.parametrize("target", ["/etc/sudoers.d", "../../etc/sudoers.d"])
def test_a_users_symlink_does_not_redirect_write_files(tmp_path: Path, capsys, target: str) -> None:
    root = _root_with_alice(tmp_path, capsys)
    (root / "etc/sudoers.d").mkdir(exist_ok=True)
    link = root / "home/alice/.kube"
    os.symlink(target, link)
    os.lchown(link, ALICE, ALICE)
    code, text = _run(tmp_path, capsys, root, {"write_files": [
        {"path": "/home/alice/.kube/config", "owner": "alice:alice", "content": "alice ALL=(ALL) NOPASSWD:ALL\n"}]})
    assert code == 1
    assert "symlink owned by uid 1000" in text
    assert list((root / "etc/sudoers.d").iterdir()) == []
    assert os.readlink(link) == target  # the user's link is left as it is


def test_root_owned_symlinks_are_still_followed(tmp_path: Path, capsys) -> None:
    root = _root_with_alice(tmp_path, capsys)
    (root / "srv/data").mkdir(parents=True)
    os.symlink("/srv/data", root / "data")
    code, text = _run(tmp_path, capsys, root, {"write_files": [{"path": "/data/x.conf", "content": "x\n"}]})
    assert code == 0, text
    assert (root / "srv/data/x.conf").read_text() == "x\n"


def test_a_folder_swapped_for_a_symlink_after_the_walk_is_refused(tmp_path: Path) -> None:
    """The walk checks each component; a user racing it swaps one afterwards: the opened
    folder is checked to be the walked one (O_NOFOLLOW covers only the last component)."""
    need_root()
    from ros_init.core import root as root_mod

    base = make_os_skeleton(tmp_path / "root")
    root = Root(base)
    (base / "home/alice/d/e").mkdir(parents=True)
    (base / "etc/e").mkdir()
    res = root._walk(["home", "alice", "d", "e", "f"], follow_last=False)
    os.rename(base / "home/alice/d", base / "home/alice/d.old")
    os.symlink(str(base / "etc"), base / "home/alice/d")  # what a racing user would do
    os.lchown(base / "home/alice/d", ALICE, ALICE)
    with pytest.raises(RootError, match="changed while being opened"):
        root_mod._open_dir(res.parent)
    with pytest.raises(RootError, match="symlink owned by uid 1000"):
        root.write_file("/home/alice/d/e/f", b"x")
    assert not (base / "etc/e/f").exists()


def test_a_huge_authorized_keys_is_a_failed_step_and_left_alone(tmp_path: Path, capsys) -> None:
    root = _root_with_alice(tmp_path, capsys)
    ssh = root / "home/alice/.ssh"
    ssh.mkdir(mode=0o700)
    os.chown(ssh, ALICE, ALICE)
    keys = ssh / "authorized_keys"
    with open(keys, "wb") as fh:
        fh.truncate(256 * 1024 * 1024)  # sparse: no disk used
    os.chown(keys, ALICE, ALICE)
    keys.chmod(0o600)
    before = keys.stat()
    cfg = tmp_path / "k.yaml"
    cfg.write_text("users:\n  - name: alice\n    uid: 1000\n    ssh_authorized_keys:\n"
                   "      - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl a@b\n")
    script = ("import sys; from ros_init.cli import main; "
              f"code = main(['run', '--phase', 'boot', '--root', {str(root)!r}, '--config', {str(cfg)!r}]); "
              "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]; "
              "print('maxrss_kb', hwm); sys.exit(code)")  # VmHWM: ru_maxrss keeps the forking parent's
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "over the 4 MiB limit for an authorized_keys file" in proc.stdout + proc.stderr
    rss_kb = int(proc.stdout.split("maxrss_kb")[1].split()[0])
    assert rss_kb < 200 * 1024  # the file was not read
    after = keys.stat()
    assert (after.st_size, after.st_blocks, after.st_mtime_ns, after.st_ino) == (
        before.st_size, before.st_blocks, before.st_mtime_ns, before.st_ino)
