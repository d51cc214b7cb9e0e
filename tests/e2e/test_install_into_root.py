"""packaging/install-into-root.sh on a bare image root: what lands where (no VM needed).

The boots prove that the result works; this checks the recipe's own promises quickly: one
self-contained ros-init under /usr/lib/ros-init, the launcher, the units enabled statically,
and the initramfs integration for whichever generator the root has.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import guest
import pytest

PACKAGING = guest.REPO / "packaging"


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> Path:
    try:
        return guest.wheels(None, tmp_path_factory.mktemp("wheels"))
    except (RuntimeError, OSError) as exc:  # no PyPI and no cached wheels: nothing to install from
        pytest.skip(f"cannot build the wheels: {str(exc).splitlines()[0]}")


def fake_root(tmp_path: Path, generators: tuple[str, ...]) -> Path:
    root = tmp_path / "root"
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/bin/python3").symlink_to("python3.11")
    if "initramfs-tools" in generators:
        (root / "usr/share/initramfs-tools").mkdir(parents=True)
    if "dracut" in generators:
        (root / "usr/lib/dracut/modules.d").mkdir(parents=True)
    return root


def install(root: Path, wheels: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(PACKAGING / "install-into-root.sh"), str(root), "--wheels", str(wheels), *extra],
                          capture_output=True, text=True, env={**os.environ, "PYTHON": sys.executable})


def test_installs_a_self_contained_ros_init_with_units_and_dracut(tmp_path, wheels):
    root = fake_root(tmp_path, ("dracut",))
    settings = tmp_path / "settings.yaml"
    settings.write_text("fail_closed: true\n")
    proc = install(root, wheels, "--settings", str(settings))
    assert proc.returncode == 0, proc.stderr
    lib = root / "usr/lib/ros-init"
    for pkg in ("ros_init", "yaml", "requests", "pyudev", "passlib"):
        assert (lib / pkg).is_dir(), pkg
    assert not (lib / "jsonschema").exists()  # a test dependency, never shipped in an image
    assert not (lib / "bin").exists()
    launcher = (root / "usr/bin/ros-init").read_text()
    assert launcher.startswith("#!/usr/bin/python3 -IS\n") and "/usr/lib/ros-init" in launcher
    assert os.access(root / "usr/bin/ros-init", os.X_OK)
    # The installed tree imports on its own (same ABI as the image's python3.11).
    check = subprocess.run([sys.executable, "-IS", "-c", f"import sys; sys.path.insert(0, {str(lib)!r}); "
                            "import ros_init.cli, yaml; print(ros_init.__version__)"], capture_output=True, text=True)
    assert check.returncode == 0 and check.stdout.strip(), check.stderr
    units = root / "usr/lib/systemd/system"
    assert (units / "sysinit.target.wants/ros-init-boot.service").resolve() == units / "ros-init-boot.service"
    assert (units / "multi-user.target.wants/ros-init-network.service").resolve() == \
        units / "ros-init-network.service"
    assert (units / "ros-init-failure@.service").exists()
    for name in ("on-failure", "need-network"):
        assert os.access(root / "usr/libexec/ros-init" / name, os.X_OK)
    assert (root / "etc/ros-init/ros-init.yaml").read_text() == "fail_closed: true\n"
    dracut = root / "usr/lib/dracut/modules.d/40ros-init"
    assert os.access(dracut / "module-setup.sh", os.X_OK)
    assert os.access(dracut / "ros-init-sysroot-rw.sh", os.X_OK)  # /sysroot read-write for the phase
    assert "Requires=sysroot.mount ros-init-sysroot-rw.service" in (dracut / "ros-init-initramfs.service").read_text()
    assert (dracut / "ros-init-sysroot-rw.service").exists()
    unit = (dracut / "ros-init-initramfs.service").read_text()
    assert "RootDirectory=/sysroot" in unit and "Before=initrd.target" in unit
    assert not (root / "usr/share/initramfs-tools/hooks/ros-init").exists()


def test_initramfs_tools_root_gets_the_hook_and_script(tmp_path, wheels):
    root = fake_root(tmp_path, ("initramfs-tools",))
    proc = install(root, wheels)
    assert proc.returncode == 0, proc.stderr
    for path in ("usr/share/initramfs-tools/hooks/ros-init", "usr/share/initramfs-tools/scripts/local-bottom/ros-init"):
        assert os.access(root / path, os.X_OK), path
    assert not (root / "usr/lib/dracut").exists()
    assert not (root / "etc/ros-init/ros-init.yaml").exists()  # no settings given: schema defaults


def test_refuses_a_root_without_python(tmp_path, wheels):
    root = tmp_path / "empty"
    root.mkdir()
    proc = install(root, wheels)
    assert proc.returncode == 1
    assert "python3 is missing" in proc.stderr
