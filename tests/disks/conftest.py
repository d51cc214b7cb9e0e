"""Fixtures for the disks stage tests: a loop-device rig that always cleans up."""

from __future__ import annotations

import pytest

from tests.conftest import need_root, need_tools
from tests.disks.rig import TOOLS, LoopRig


@pytest.fixture
def rig():
    need_root()
    need_tools(*TOOLS)
    r = LoopRig()
    try:
        yield r
    finally:
        r.close()
