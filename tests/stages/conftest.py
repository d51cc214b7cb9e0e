"""Fixtures of the stage tests: Debian's cloud-init, the oracle of the differential tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="session")
def debian_cloud_init() -> dict[str, str]:
    """The environment in which Debian's /usr/bin/python3 imports Debian's cloud-init package,
    unpacked (never installed) by benchmarks/peers.py; skips where either is missing."""
    if not os.path.exists("/usr/bin/python3"):
        pytest.skip("needs Debian's /usr/bin/python3 to run Debian's cloud-init")
    sys.path.insert(0, str(BENCH))
    try:
        from peers import CLOUD_INIT_DEBS, unpacked
    finally:
        sys.path.remove(str(BENCH))
    tree = unpacked(CLOUD_INIT_DEBS, "cloud-init")
    if tree is None:
        pytest.skip("Debian's cloud-init package cannot be downloaded here (apt-get download failed)")
    return {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
            "PYTHONPATH": os.path.join(tree, "usr/lib/python3/dist-packages")}
