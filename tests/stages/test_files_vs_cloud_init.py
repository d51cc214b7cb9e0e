"""Differential test: the files stage writes the same tree as Debian's cloud-init.

cloud-init's own ``write_files`` (cc_write_files, Debian's package unpacked by
benchmarks/peers.py, run by Debian's /usr/bin/python3) writes the items under a prefix
folder; the files stage writes them into a scratch root. Paths, folder and file modes,
owners and contents must match. One known difference: Debian's cloud-init 22.4 drops the
setuid/setgid/sticky bits of ``permissions`` (cloud-init issue #6225, fixed upstream later by
PR #6467); ros-init keeps them, as fixed cloud-init does.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import subprocess
from pathlib import Path

import pytest
from ros_init.stages import files

from ros_init.core.model import StageContext
from ros_init.core.root import Root

ITEMS = [
    {"path": "/etc/motd", "content": "Welcome\n"},
    {"path": "/etc/empty"},
    {"path": "/etc/sysctl.d/90-k8s.conf", "permissions": "0644", "content": "net.ipv4.ip_forward = 1\n"},
    {"path": "/etc/ssl/private/key.pem", "permissions": "0600", "owner": "root:root", "encoding": "b64",
     "content": base64.b64encode(b"-----BEGIN KEY-----\nnot-a-key\n-----END KEY-----\n").decode()},
    {"path": "/opt/app/deep/er/conf.json", "permissions": 0o640, "encoding": "gz+b64",
     "content": base64.b64encode(gzip.compress(b'{"a": 1}\n')).decode()},
    {"path": "/usr/local/bin/hello", "permissions": "0755", "content": "#!/bin/sh\necho hello\n"},
    {"path": "/etc/octal-prefix", "permissions": "0o600", "content": "x\n"},
    {"path": "/etc/hosts.allow", "append": True, "content": "sshd: 10.0.0.0/8\n"},
    {"path": "/etc/new-by-append", "append": True, "content": "first line\n"},
    {"path": "/etc/setuid-helper", "permissions": "04755", "content": "binary\n"},
    {"path": "/etc/./dots//in/path", "content": "normalized\n"},
]
SEED = {"etc/hosts.allow": "# /etc/hosts.allow\n"}

RUNNER = """
import json, sys
from cloudinit.config.cc_write_files import write_files
prefix, items = sys.argv[1], json.loads(sys.argv[2])
for item in items:
    item["path"] = prefix + item["path"]
write_files("write_files", items, "root:root")
"""


def _tree(base: Path) -> dict[str, tuple[str, int, int, bytes | None]]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(base):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            out[str(p.relative_to(base))] = (oct(st.st_mode), st.st_uid, st.st_gid,
                                             p.read_bytes() if p.is_file() else None)
    return out


def _seed(base: Path) -> None:
    base.mkdir()
    for rel, text in SEED.items():
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        (base / rel).write_text(text)
        os.chmod(base / rel, 0o644)


def test_files_stage_matches_debian_cloud_init(tmp_path: Path, request):
    if os.geteuid() != 0:
        pytest.skip("needs root (cloud-init chowns to root:root)")
    env = request.getfixturevalue("debian_cloud_init")  # after the root check: no download for nothing

    ci_root, ours = tmp_path / "cloud-init", tmp_path / "ros-init"
    _seed(ci_root)
    _seed(ours)
    proc = subprocess.run(["/usr/bin/python3", "-c", RUNNER, str(ci_root), json.dumps(ITEMS)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr

    root, ctx = Root(ours), StageContext(phase="boot")
    for change in files.plan(files.parse({"write_files": ITEMS}), root, ctx):
        files.apply(change, root, ctx)

    mine, theirs = _tree(ours), _tree(ci_root)
    assert mine.pop("etc/setuid-helper")[0] == oct(0o104755)
    assert theirs.pop("etc/setuid-helper")[0] == oct(0o100755)  # the old cloud-init bug
    assert mine == theirs
    assert files.plan(files.parse({"write_files": ITEMS}), root, ctx) == []  # and ours is converged
