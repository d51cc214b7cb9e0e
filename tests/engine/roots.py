"""Helpers of the engine tests: scratch roots with real account files, the typical config.

Not a conftest.py: several test folders import ``conftest`` by name, and a second one here
would shadow tests/conftest.py for them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
TYPICAL = FIXTURES / "typical.yaml"
TOKEN = "s3cr3t-cluster-token-do-not-log"


def add_busybox(scratch_root: Path) -> Path:
    """A skeleton that commands can chroot into: busybox as /bin/sh (needs busybox-static)."""
    busybox = shutil.which("busybox")
    if busybox is None:
        pytest.skip("needs busybox (busybox-static, installed by ./dev test as root)")
    (scratch_root / "bin").mkdir(exist_ok=True)
    shutil.copy2(busybox, scratch_root / "bin" / "busybox")
    for name in ("sh", "cat", "echo", "touch", "test", "sleep", "ls", "id", "mount"):
        link = scratch_root / "bin" / name
        if not link.exists():
            os.symlink("busybox", link)
    return scratch_root


def tree_snapshot(base: Path) -> dict[str, tuple[int, int, int, bytes | str | None]]:
    """path -> (mode, uid, gid, content or link target) of every entry below ``base``."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(base):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            if p.is_symlink():
                body: bytes | str | None = os.readlink(p)
            elif p.is_file():
                body = p.read_bytes()
            else:
                body = None
            out[str(p.relative_to(base))] = (st.st_mode, st.st_uid, st.st_gid, body)
    return out
