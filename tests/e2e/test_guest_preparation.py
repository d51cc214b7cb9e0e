"""The e2e guest is a stock Debian image plus the README's install, nothing a user would not do.

The seed-volume scenarios prove that ros-init reads a NoCloud ISO on a stock kernel only if the
guest was not helped: no initramfs modules listed by hand, no initramfs settings changed. These
checks read the guest's cached root (what every image is assembled from) and hold the builder
to its documented list of extra steps (``guest.GUEST_PREPARATION``).
"""

from __future__ import annotations

import hashlib
import inspect
import re
from pathlib import Path

import guest
import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def base_root(e2e_work) -> Path:
    return guest.base_rootfs()


def _conffiles(root: Path) -> dict[str, tuple[str, str]]:
    """dpkg's record of every installed conffile: path -> (package, md5 as shipped)."""
    out: dict[str, tuple[str, str]] = {}
    for block in (root / "var/lib/dpkg/status").read_text().split("\n\n"):
        pkg = re.search(r"^Package: (\S+)", block, re.M)
        m = re.search(r"^Conffiles:\n((?: .*\n?)+)", block, re.M)
        if pkg and m:
            for line in m.group(1).splitlines():
                parts = line.split()
                if len(parts) >= 2 and parts[-1] != "obsolete":
                    out[parts[0]] = (pkg.group(1), parts[1])
    return out


def test_initramfs_configuration_is_the_packages_own(base_root):
    conffiles = _conffiles(base_root)
    path = "/etc/initramfs-tools/initramfs.conf"
    pkg, md5 = conffiles[path]
    actual = hashlib.md5((base_root / path.lstrip("/")).read_bytes()).hexdigest()
    assert actual == md5, f"{path} differs from {pkg}'s: the guest builder changed the initramfs"
    # /etc/initramfs-tools/modules is made by initramfs-tools-core's postinst from its template
    # (the ### lines dropped): it must be exactly that, listing no module.
    template = (base_root / "usr/share/initramfs-tools/modules").read_text()
    made = "".join(line for line in template.splitlines(keepends=True) if not line.startswith("###"))
    modules = (base_root / "etc/initramfs-tools/modules").read_text()
    assert modules == made
    assert [line for line in modules.splitlines() if line.strip() and not line.lstrip().startswith("#")] == []


def test_no_conffile_of_any_package_is_changed(base_root):
    """Everything the builder sets is a new file of its own (listed), never an edited package file."""
    changed = []
    for path, (pkg, md5) in _conffiles(base_root).items():
        f = base_root / path.lstrip("/")
        if f.is_file() and hashlib.md5(f.read_bytes()).hexdigest() != md5:
            changed.append(f"{path} ({pkg})")
    assert changed == []


def test_no_initramfs_files_beyond_the_packages(base_root):
    owned: set[str] = set()
    for lst in (base_root / "var/lib/dpkg/info").glob("*.list"):
        owned.update(lst.read_text().splitlines())
    made_by_postinst = {"etc/initramfs-tools/modules"}  # checked against its template above
    extra = [str(p.relative_to(base_root)) for p in (base_root / "etc/initramfs-tools").rglob("*")
             if p.is_file() and "/" + str(p.relative_to(base_root)) not in owned]
    assert sorted(set(extra) - made_by_postinst) == []


def test_the_builder_does_what_its_list_says_and_the_docs_list_it():
    source = inspect.getsource(guest.base_config)
    assert "initramfs" not in source.replace("The initramfs is Debian's", "")
    assert "modules" not in source
    docs = (REPO / "docs/boot-integration.md").read_text()
    for step in guest.GUEST_PREPARATION:
        assert step.split(":")[0].split(" (")[0] in docs, f"docs/boot-integration.md does not list: {step}"
    # ros-init goes in by the README's command, with the initramfs rebuilt by it.
    install = inspect.getsource(guest.assemble)
    assert "install-into-root.sh" in install and "--rebuild-initramfs" in install
    assert "packaging/install-into-root.sh ROOT" in (REPO / "README.md").read_text()
