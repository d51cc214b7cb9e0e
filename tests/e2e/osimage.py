"""OS images the RancherOS way: built from a Dockerfile with a real OCI builder, booted from their
exported root.

buildah (Debian's package) runs rootful with the ``vfs`` storage driver and ``chroot``
isolation, which work in a container without overlayfs or user namespaces. No registry is
involved: the base image is the e2e guest root (``guest.base_rootfs``) imported with
``FROM scratch`` + ``ADD``, and ``--pull-never`` keeps every build local.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import guest

BUILDAH = ["buildah", "--storage-driver", "vfs"]
DOCKERFILE = guest.REPO / "packaging/examples/Dockerfile.debian"


def buildah(*args: str, log: Path | None = None) -> str:
    p = subprocess.run([*BUILDAH, *args], capture_output=True, text=True)
    if log is not None:
        with open(log, "a") as fh:
            fh.write(f"$ buildah {' '.join(args)}\n{p.stdout}{p.stderr}\n")
    if p.returncode != 0:
        raise RuntimeError(f"buildah {' '.join(args[:2])} exited {p.returncode}:\n{p.stderr[-3000:]}")
    return p.stdout


def has_image(tag: str) -> bool:
    return subprocess.run([*BUILDAH, "inspect", "--type", "image", tag], capture_output=True).returncode == 0


def base_image(work: Path, log=print) -> str:
    """The e2e Debian root as a local OCI image (built once per base root)."""
    tag = f"localhost/ros-init-e2e-base:{guest.base_key()}"
    if has_image(tag):
        return tag
    root = guest.base_rootfs(log=log)
    ctx = work / "base-ctx"
    ctx.mkdir(parents=True, exist_ok=True)
    log("e2e: importing the guest root as an OCI base image")
    guest.run(["tar", "-C", str(root), "--exclude=./.complete", "-cf", str(ctx / "rootfs.tar"), "."])
    (ctx / "Containerfile").write_text("FROM scratch\nADD rootfs.tar /\n")
    buildah("bud", "--isolation", "chroot", "-f", str(ctx / "Containerfile"), "-t", tag, str(ctx))
    (ctx / "rootfs.tar").unlink()
    return tag


def build_context(work: Path) -> Path:
    """What the Dockerfile copies: the wheels (built beforehand, as the Dockerfile says), the
    packaging folder and the boot-integration doc."""
    ctx = work / "ctx"
    guest.remove_tree(ctx)
    ctx.mkdir(parents=True)
    guest.wheels(None, ctx / "wheels")
    shutil.copytree(guest.REPO / "packaging", ctx / "packaging")
    (ctx / "docs").mkdir()
    shutil.copy2(guest.REPO / "docs/boot-integration.md", ctx / "docs/boot-integration.md")
    return ctx


@dataclass
class Built:
    tag: str
    image: guest.Image
    log: Path


def build_os_image(work: Path, ctx: Path, base: str, version: str) -> Built:
    """``buildah bud`` of the example Dockerfile, then its root exported into a bootable disk."""
    tag = f"localhost/ros-init-e2e-os:{version}"
    log = work / f"build-{version}.log"
    log.unlink(missing_ok=True)
    buildah("bud", "--isolation", "chroot", "--pull-never", "--layers=false", "--build-arg", f"BASE={base}",
            "--build-arg", f"IMAGE_VERSION={version}", "-f", str(ctx / "packaging/examples/Dockerfile.debian"),
            "-t", tag, str(ctx), log=log)
    return Built(tag, export(tag, work, f"os-{version}"), log)


def export(tag: str, work: Path, name: str) -> guest.Image:
    """The image's root filesystem as an ext4 disk plus its kernel and initramfs (direct boot)."""
    container = buildah("from", "--pull-never", tag).strip()
    try:
        mnt = Path(buildah("mount", container).strip())
        control = guest.ssh_keypair(work / "control_key")
        image = guest.Image(name, work / f"{name}.img", work / f"{name}-vmlinuz", work / f"{name}-initrd.img",
                            control)
        shutil.copy2(sorted((mnt / "boot").glob("vmlinuz-*"))[-1], image.kernel)
        shutil.copy2(sorted((mnt / "boot").glob("initrd.img-*"))[-1], image.initrd)
        image.disk.unlink(missing_ok=True)
        guest.run(["mkfs.ext4", "-q", "-F", "-L", "e2e-root", "-d", str(mnt), str(image.disk), guest.IMAGE_SIZE])
        return image
    finally:
        subprocess.run([*BUILDAH, "umount", container], capture_output=True)
        subprocess.run([*BUILDAH, "rm", container], capture_output=True)


def state_partition(path: Path) -> Path:
    """A blank ROS_STATE partition as the installer makes it: the folders the image binds."""
    src = path.with_suffix(".d")
    guest.remove_tree(src)
    (src / "ros-init").mkdir(parents=True)
    (src / "home").mkdir()
    guest.run(["mkfs.ext4", "-q", "-F", "-L", "ROS_STATE", "-d", str(src), str(path), "256M"])
    return path
