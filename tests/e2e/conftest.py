"""Fixtures of the e2e suite: the guest image (built once per run, root cached) and SSH keys.

Run alone with ``./dev test -m e2e``. Needs root (debootstrap, chroot, mkfs -d) and the tools in
``guest.TOOLS``; skips with the reason when either is really absent.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import guest  # noqa: E402

SETTINGS = Path(__file__).parent / "settings.yaml"
DRACUT_SETTINGS = Path(__file__).parent / "settings-dracut.yaml"


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.slow)


def _need_facilities() -> None:
    if os.geteuid() != 0:
        pytest.skip("e2e: needs root (debootstrap, chroot, mkfs.ext4 -d)")
    missing = [t for t in guest.TOOLS if shutil.which(t) is None]
    if missing:
        pytest.skip(f"e2e: needs {', '.join(missing)} (installed by ./dev test as root from .ci/apt-packages.txt)")


@pytest.fixture(scope="session")
def e2e_work(tmp_path_factory) -> Path:
    _need_facilities()
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="session")
def image(e2e_work: Path) -> guest.Image:
    """The guest with ros-init installed the documented way (packaging/install-into-root.sh).

    ROS_INIT_E2E_IMAGE=DIR (developers only) reuses an image assembled earlier in DIR by
    ``guest.assemble("ros-init", DIR)``, to iterate on a scenario without rebuilding.
    """
    reuse = os.environ.get("ROS_INIT_E2E_IMAGE")
    if reuse:
        return guest.Image.load("ros-init", Path(reuse))
    return guest.assemble("ros-init", e2e_work / "image", settings=SETTINGS)


@pytest.fixture(scope="session")
def dracut_image(e2e_work: Path) -> guest.Image:
    """The guest with Debian's dracut instead of initramfs-tools, ros-init installed by the README
    (image settings: fail_closed). ROS_INIT_E2E_IMAGE=DIR reuses ``assemble("ros-init-dracut", DIR)``."""
    reuse = os.environ.get("ROS_INIT_E2E_IMAGE")
    if reuse:
        return guest.Image.load("ros-init-dracut", Path(reuse))
    return guest.assemble("ros-init-dracut", e2e_work / "image", settings=DRACUT_SETTINGS)


@pytest.fixture(scope="session")
def key(e2e_work: Path) -> Path:
    """The key the scenarios seed through ros-init (never installed in the image)."""
    return guest.ssh_keypair(e2e_work / "scenario_key")


@pytest.fixture(scope="session")
def pubkey(key: Path) -> str:
    return key.with_suffix(".pub").read_text().strip()
