"""Skip helpers for tests that need a facility of the machine (root, tools).

Imported as ``from facilities import need_root`` (tests/ is on pytest's pythonpath). Not in
conftest.py: several conftest modules exist and a bare ``import conftest`` picks any of them.
"""

from __future__ import annotations

import os
import shutil

import pytest


def need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (loop devices, mounts, chown)")


def need_tools(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (installed by ./dev test as root)")
