"""Fixtures of the hardening tests; the harness is fence.py (a module of its own: several
test folders import a module named ``conftest``, and the first one imported wins)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fence import Fenced

from ros_init.cli.demo import make_os_skeleton


@pytest.fixture
def fenced(tmp_path: Path) -> Fenced:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "sentinel").write_text("must not change\n")
    root = make_os_skeleton(tmp_path / "root")
    return Fenced(tmp_path, root, outside)


@pytest.fixture
def fast_tmp(tmp_path: Path) -> Iterator[Path]:
    """A scratch folder on tmpfs when there is one: Root fsyncs every write, and a hundred
    trials of fsyncs on a real disk cost a minute of CI for nothing the test looks at."""
    shm = "/dev/shm"
    if not (os.path.isdir(shm) and os.access(shm, os.W_OK)):
        yield tmp_path
        return
    path = Path(tempfile.mkdtemp(prefix="ros-init-hardening-", dir=shm))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
