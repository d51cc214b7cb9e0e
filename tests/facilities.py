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


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def unpacked_tool(name: str, debs: list[str], exe: str) -> list[str] | None:
    """A command prefix running ``exe`` from Debian packages unpacked (never installed).

    For real peers a test must check its output against (nmcli's keyfile reader) that
    cannot be installed on the test machine without side effects (network-manager pulls
    in udev and a systemd upgrade). Cached in .cache/debs/<name>; None when unavailable.
    """
    import glob
    import subprocess

    root = os.path.join(REPO, ".cache", "debs", name)
    stamp = os.path.join(root, ".complete")
    if not os.path.exists(stamp):
        if shutil.which("apt-get") is None or shutil.which("dpkg") is None:
            return None
        dl = os.path.join(REPO, ".cache", "debs", "downloads")
        os.makedirs(dl, exist_ok=True)
        try:
            subprocess.run(["apt-get", "download", *debs], cwd=dl, capture_output=True, timeout=300, check=True)
            os.makedirs(root, exist_ok=True)
            for d in debs:
                for deb in glob.glob(os.path.join(dl, f"{d}_*.deb")):
                    subprocess.run(["dpkg", "-x", deb, root], check=True, timeout=120)
        except (subprocess.SubprocessError, OSError):
            return None
        open(stamp, "w").close()
    path = os.path.join(root, exe.lstrip("/"))
    if not os.path.exists(path):
        return None
    libs = ":".join(glob.glob(os.path.join(root, "usr/lib/*-linux-gnu")) + glob.glob(os.path.join(root, "lib/*-linux-gnu")))
    return ["env", f"LD_LIBRARY_PATH={libs}", path]
