"""The RancherOS way, end to end: the OS image is built from ``packaging/examples/Dockerfile.debian``
with a real OCI builder (buildah), booted from its exported root with a NoCloud seed, then
upgraded A/B: image B booted with image A's state partition and data disk.

What persists across images is the ROS_STATE partition (ros-init's state and /home) and the disks
a config laid out; everything else, /etc included, comes from the image. The rules checked:
same instance on a new image -> once-per-instance work (``runcmd``) does not run again, users and
keys converge, the rancherd config is rewritten identically, the data disk is kept and mounted;
a new instance-id -> the once-per-instance work runs again, once.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import guest
import osimage
import pytest
import yaml
from test_boot import SSH_WAIT, boot, cloud_config, status

TOKEN = "e2e-osimage-token-not-for-logs"
EXAMPLE_SETTINGS = guest.REPO / "packaging/examples/ros-init.yaml"
COUNTER = "/var/lib/rancheros-state/runcmd-count"


def seed(work: Path, pubkey: str, instance: str) -> Path:
    config = {
        "hostname": "e2e-os",
        "users": [{"name": "rancher", "shell": "/bin/bash", "sudo": "ALL=(ALL) NOPASSWD:ALL",
                   "lock_passwd": True, "ssh_authorized_keys": [pubkey]}],
        "rancherd": {"role": "cluster-init", "token": TOKEN, "kubernetesVersion": "v1.29.4+rke2r1"},
        "runcmd": [["sh", "-c", f"n=$(cat {COUNTER} 2>/dev/null || echo 0); echo $((n+1)) > {COUNTER}"]],
        "disks": [{"device": "/dev/vdc", "table": "gpt", "partitions": [{
            "label": "DATA", "size": "64M",
            "filesystem": {"format": "ext4", "label": "osdata", "mount": {"path": "/var/lib/os-data"}}}]}],
    }
    return guest.seed_iso(work / f"seed-{instance}.iso", {
        "user-data": cloud_config(config),
        "meta-data": yaml.safe_dump({"instance-id": instance, "local-hostname": "e2e-os"}),
    })


@pytest.fixture(scope="module")
def os_images(e2e_work: Path) -> dict[str, osimage.Built]:
    if shutil.which("buildah") is None:
        pytest.skip("e2e: needs buildah (installed by ./dev test as root from .ci/apt-packages.txt)")
    work = e2e_work / "osimage"
    work.mkdir(exist_ok=True)
    base = osimage.base_image(work)
    ctx = osimage.build_context(work)
    return {v: osimage.build_os_image(work, ctx, base, v) for v in ("1", "2")}


def test_the_build_installs_ros_init_and_regenerates_the_initramfs(os_images):
    log = os_images["1"].log.read_text()
    assert "install-into-root: ros-init" in log and "installed into /" in log
    assert "update-initramfs: Generating /boot/initrd.img-" in log
    assert "ros-init 0." in log  # `ros-init --version` in the build


def test_boot_on_a_then_upgrade_to_b_with_the_state_kept(os_images, key, pubkey, tmp_path):
    state = osimage.state_partition(tmp_path / "state.img")
    data = tmp_path / "data.img"
    guest.run(["qemu-img", "create", "-q", "-f", "raw", str(data), "256M"])
    seed_1 = seed(tmp_path, pubkey, "iid-os-1")
    disks = [state, data]

    def sh(vm, cmd):
        return vm.ssh(key, "rancher", cmd).strip()

    a = os_images["1"].image
    with boot(a, tmp_path, "os-a", cdrom=seed_1, extra_disks=disks) as vm:
        vm.wait_ssh(key, "rancher", SSH_WAIT)
        assert sh(vm, "cat /etc/rancheros-image-version") == "1"
        # The image settings are the example's (its default user `rancher`; the seed names
        # `rancher` itself without `default`, so that entry is the account: cloud-init's rule).
        assert sh(vm, "cat /etc/ros-init/ros-init.yaml") == EXAMPLE_SETTINGS.read_text().strip()
        assert sh(vm, f"sudo cat {COUNTER}") == "1"
        assert sh(vm, "findmnt -n -o SOURCE /var/lib/ros-init").endswith("[/ros-init]")
        assert sh(vm, "findmnt -n -o FSTYPE /var/lib/os-data") == "ext4"
        sh(vm, "echo precious | sudo tee /var/lib/os-data/keep.txt >/dev/null")
        rancherd_a = sh(vm, "sudo sha256sum /etc/rancher/rancherd/config.yaml")
        fs_uuid = sh(vm, "findmnt -n -o UUID /var/lib/os-data")
        home_a = sh(vm, "stat -c %i /home/rancher")
        rc, out = status(vm, key, "rancher")
        assert rc == 0, out
        vm.poweroff()

    b = os_images["2"].image
    with boot(b, tmp_path, "os-b", cdrom=seed_1, extra_disks=disks) as vm:
        vm.wait_ssh(key, "rancher", SSH_WAIT)  # the user and the key converge on the new image
        assert sh(vm, "cat /etc/rancheros-image-version") == "2"
        assert sh(vm, f"sudo cat {COUNTER}") == "1"  # same instance: runcmd did not run again
        assert sh(vm, "sudo sha256sum /etc/rancher/rancherd/config.yaml") == rancherd_a
        assert sh(vm, "findmnt -n -o UUID /var/lib/os-data") == fs_uuid  # kept, not re-formatted
        assert sh(vm, "cat /var/lib/os-data/keep.txt") == "precious"
        assert sh(vm, "stat -c %i /home/rancher") == home_a  # the home from the state partition
        assert sh(vm, "hostname") == "e2e-os"
        rc, out = status(vm, key, "rancher")
        assert rc == 0, out
        vm.poweroff()

    seed_2 = seed(tmp_path, pubkey, "iid-os-2")
    with boot(b, tmp_path, "os-b-new-instance", disk=tmp_path / "os-b.qcow2", cdrom=seed_2,
              extra_disks=disks) as vm:
        vm.wait_ssh(key, "rancher", SSH_WAIT)
        assert sh(vm, f"sudo cat {COUNTER}") == "2"  # a new instance: runcmd ran again, once
        assert sh(vm, "cat /var/lib/os-data/keep.txt") == "precious"
        vm.poweroff()
