"""cloud-init forms through `ros-init run` into a scratch root, as a user would apply them."""

from __future__ import annotations

import base64
import gzip
from pathlib import Path

import pytest

from ros_init.cli import main
from ros_init.cli.demo import make_os_skeleton


@pytest.fixture
def scratch_root(tmp_path: Path) -> Path:
    return make_os_skeleton(tmp_path / "root")


def run(capsys, root: Path, config: Path, phase: str = "boot") -> tuple[int, str, str]:
    code = main(["run", "--phase", phase, "--root", str(root), "--config", str(config)])
    out, err = capsys.readouterr()
    return code, out, err


def test_binary_content_is_written_as_bytes(capsys, scratch_root: Path, tmp_path: Path):
    blob = bytes(range(256))
    gz = gzip.compress(b"#!/bin/sh\necho hello\n")
    cfg = tmp_path / "user-data"
    cfg.write_text(
        "#Cloud-Config (1)\nwrite_files:\n"
        f"- path: /usr/local/bin/blob\n  content: !!binary |\n    {base64.b64encode(blob).decode()}\n"
        f"- path: /usr/local/bin/hello\n  encoding: gzip\n  permissions: '0755'\n  content: !!binary |\n"
        f"    {base64.b64encode(gz).decode()}\n")
    code, out, err = run(capsys, scratch_root, cfg)
    assert code == 0, out + err
    assert (scratch_root / "usr/local/bin/blob").read_bytes() == blob
    assert (scratch_root / "usr/local/bin/hello").read_bytes() == b"#!/bin/sh\necho hello\n"
    code, out, err = run(capsys, scratch_root, cfg)
    assert code == 0 and "0 changed" in out + err  # converged: the bytes compare equal
