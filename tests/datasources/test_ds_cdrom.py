"""Seed folders and seed volumes: real ISO9660, FAT and ext4 images on loop devices."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time
from pathlib import Path

import pytest
from facilities import need_root, need_tools
from ros_init.datasources import cdrom

from ros_init.core.model import Layer
from ros_init.core.root import Root
from ros_init.sources.host import DatasourceError, Host
from ros_init.sources.userdata import UserDataError
from ros_init.system.blockdev import Volume, by_label, label_from_bytes, volumes_from_blkid_export

NOCLOUD = {
    "meta-data": "instance-id: iid-nocloud-1\nlocal-hostname: seeded\npublic-keys:\n  - ssh-ed25519 AAAAseed k1\n",
    "user-data": "#cloud-config\nruncmd: [echo seeded]\n",
    "vendor-data": "#cloud-config\nbootcmd: [echo vendor]\n",
    "network-config": "version: 2\nethernets:\n  eth0:\n    dhcp4: true\n",
}
CONFIGDRIVE = {
    "openstack/latest/meta_data.json": json.dumps({
        "uuid": "83679162-1378-4288-a2d4-70e13ec132aa", "hostname": "cd-host.novalocal", "name": "cd-host",
        "public_keys": {"mykey": "ssh-rsa AAAAcd mykey\n"}}),
    "openstack/latest/user_data": "#cloud-config\nruncmd: [echo cd]\n",
    "openstack/latest/network_data.json": json.dumps({
        "links": [{"id": "tap0", "type": "phy", "ethernet_mac_address": "fa:16:3e:00:00:01"}],
        "networks": [{"id": "n0", "type": "ipv4_dhcp", "link": "tap0"}], "services": []}),
    "openstack/latest/vendor_data.json": json.dumps({"cloud-init": "#cloud-config\nbootcmd: [echo v]\n"}),
}


def _tree(base: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        p = base / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return base


def _host(root: Path, **cdrom_settings) -> Host:
    settings = {"cdrom": {"labels": [], "seed_dirs": ["/seed"], **cdrom_settings}}
    return Host(root=Root(root), settings=settings)


def _fetch(host: Host):
    return cdrom.fetch(host, time.monotonic() + 20)


def test_nocloud_seed_folder(tmp_path):
    _tree(tmp_path / "seed", NOCLOUD)
    host = _host(tmp_path)
    assert cdrom.detect(host)
    docs = _fetch(host)
    assert docs.instance_id == "iid-nocloud-1"
    by_layer = {d.layer: d.data for d in docs.configs}
    assert by_layer[Layer.METADATA] == {"hostname": "seeded", "ssh_authorized_keys": ["ssh-ed25519 AAAAseed k1"],
                                        "network": {"version": 2, "ethernets": {"eth0": {"dhcp4": True}}}}
    assert by_layer[Layer.VENDOR] == {"bootcmd": ["echo vendor"]}
    assert by_layer[Layer.USER] == {"runcmd": ["echo seeded"]}
    assert set(docs.raw) == set(NOCLOUD)


def test_configdrive_seed_folder(tmp_path):
    _tree(tmp_path / "seed", CONFIGDRIVE)
    docs = _fetch(_host(tmp_path))
    assert docs.instance_id == "83679162-1378-4288-a2d4-70e13ec132aa"
    meta = docs.configs[0].data
    assert meta["hostname"] == "cd-host.novalocal" and meta["ssh_authorized_keys"] == ["ssh-rsa AAAAcd mykey"]
    assert meta["network"]["ethernets"]["tap0"] == {"match": {"macaddress": "fa:16:3e:00:00:01"}, "dhcp4": True}
    assert [(d.layer, d.data) for d in docs.configs[1:]] == [
        (Layer.VENDOR, {"bootcmd": ["echo v"]}), (Layer.USER, {"runcmd": ["echo cd"]})]


def test_ros_init_seed_takes_plain_yaml(tmp_path):
    _tree(tmp_path / "seed", {"ros-init.yaml": "hostname: rosi\n"})
    docs = _fetch(_host(tmp_path))
    assert docs.configs[0].data == {"hostname": "rosi"} and docs.instance_id is None


def test_empty_seed_folder_is_not_detected(tmp_path):
    (tmp_path / "seed").mkdir()
    assert not cdrom.detect(_host(tmp_path))


def test_symlink_in_a_seed_cannot_read_outside_it(tmp_path):
    (tmp_path / "secret").write_text("#cloud-config\nhostname: stolen\n")
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "meta-data").write_text("instance-id: x\n")
    os.symlink("../../secret", seed / "user-data")
    with pytest.raises(DatasourceError, match="user-data"):
        _fetch(_host(tmp_path))


def test_broken_meta_data_is_a_located_error(tmp_path):
    _tree(tmp_path / "seed", {"meta-data": "instance-id: [x\n"})
    with pytest.raises((DatasourceError, UserDataError), match=r"/seed meta-data:\d+:\d+: error"):
        _fetch(_host(tmp_path))


def test_blkid_export_parsing():
    text = "DEVNAME=/dev/sr0\nLABEL=cidata\nTYPE=iso9660\n\nDEVNAME=/dev/vda1\nTYPE=ext4\n"
    assert [(v.device, v.label) for v in volumes_from_blkid_export(text)] == [("/dev/sr0", "cidata")]


def test_blkid_export_labels_are_unescaped_as_the_disk_probe_reads_them():
    # one reader of blkid's export format for the seed volumes and the disks stage: a label
    # with a space is printed backslash-escaped by blkid and must match the config's label.
    text = "DEVNAME=/dev/vdb\nLABEL=my\\ seed\nTYPE=vfat\n"
    assert volumes_from_blkid_export(text) == [Volume("/dev/vdb", "my seed", "vfat")]


# -- real images -------------------------------------------------------------------------
def _iso(tmp_path: Path, label: str, files: dict[str, str]) -> Path:
    need_tools("xorriso")
    src = _tree(tmp_path / f"iso-{label}", files)
    out = tmp_path / f"{label}.iso"
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-V", label, "-J", "-r", "-o", str(out), str(src)],
                   check=True, capture_output=True)
    return out


def _vfat(tmp_path: Path, label: str, files: dict[str, str]) -> Path:
    need_tools("mkfs.vfat", "mcopy")
    src = _tree(tmp_path / f"fat-{label}", files)
    out = tmp_path / f"{label}.img"
    with open(out, "wb") as fh:
        fh.truncate(4 * 1024 * 1024)
    subprocess.run(["mkfs.vfat", "-n", label, str(out)], check=True, capture_output=True)
    for top in sorted(os.listdir(src)):
        subprocess.run(["mcopy", "-s", "-i", str(out), str(src / top), "::/"], check=True, capture_output=True,
                       env={**os.environ, "MTOOLS_SKIP_CHECK": "1"})
    return out


def _ext4(tmp_path: Path, label: str, files: dict[str, str]) -> Path:
    need_tools("mkfs.ext4")
    src = _tree(tmp_path / f"ext-{label}", files)
    out = tmp_path / f"{label}.ext4"
    with open(out, "wb") as fh:
        fh.truncate(8 * 1024 * 1024)
    subprocess.run(["mkfs.ext4", "-q", "-L", label, "-d", str(src), str(out)], check=True, capture_output=True)
    return out


def _assert_found_by_scan(dev: str, label: str) -> None:
    """Real discovery among all the machine's devices (no udev here: blkid probing)."""
    found = by_label([label])
    if dev not in [v.device for v in found]:
        seen = subprocess.run(["blkid", "-o", "export", "-c", "/dev/null", dev], capture_output=True, text=True)
        parts = Path("/proc/partitions").read_text()
        pytest.fail(f"{dev} ({label}) not found by the scan: {found}; blkid {dev}: {seen.stdout!r} "
                    f"rc={seen.returncode}; /proc/partitions: {parts!r}")


def _mounted(dev: str) -> bool:
    return any(line.startswith(dev + " ") for line in Path("/proc/mounts").read_text().splitlines())


def _seed_dirs() -> set[str]:
    return {d for d in os.listdir("/run") if d.startswith("ros-init-seed-")}



def test_superblock_labels_of_real_images(tmp_path):
    for build, label, fstype in ((_iso, "cidata", "iso9660"), (_vfat, "config-2", "vfat"),
                                 (_ext4, "ROS_INIT", "ext4")):
        img = build(tmp_path, label, {"meta-data": "instance-id: x\n"})
        assert label_from_bytes(img.read_bytes()[:65536]) == (label, fstype)


@pytest.mark.parametrize("blocksize", ["512", "2048", "4096"])
def test_udf_volumes_are_recognised(tmp_path, blocksize):
    """Azure's provisioning media is UDF: the type (what mounting needs) from the volume
    recognition sequence, whatever the block size mkudffs chose."""
    need_tools("mkudffs")
    img = tmp_path / "udf.img"
    with open(img, "wb") as fh:
        fh.truncate(8 * 1024 * 1024)
    subprocess.run(["mkudffs", "--media-type=hd", f"--blocksize={blocksize}", "--label=rd_rdfe_stable.x", str(img)],
                   check=True, capture_output=True)
    assert label_from_bytes(img.read_bytes()[:65536]) == (None, "udf")


def test_superblock_scan_of_a_fake_device_tree(tmp_path):
    img = _iso(tmp_path, "cidata", NOCLOUD)
    fake = tmp_path / "fake"
    (fake / "proc").mkdir(parents=True)
    (fake / "dev").mkdir()
    (fake / "proc/partitions").write_text("major minor  #blocks  name\n\n  11  0  100 sr0\n 253 0 100 vda\n")
    os.symlink(img, fake / "dev/sr0")
    (fake / "dev/vda").write_bytes(b"\0" * 70000)
    vols = by_label(["cidata"], sys_root=str(fake))
    assert [(v.device, v.label, v.fstype) for v in vols] == [(str(fake / "dev/sr0"), "cidata", "iso9660")]


def test_nocloud_iso9660_on_a_loop_device(tmp_path, loop):
    dev = loop(_iso(tmp_path, "cidata", NOCLOUD))
    # Real discovery: blkid (no udev here) finds the device by its label among all devices.
    _assert_found_by_scan(dev, "cidata")
    root = tmp_path / "root"
    root.mkdir()
    host = Host(root=Root(root), settings={"cdrom": {"labels": ["cidata"], "seed_dirs": []}}, devices=[dev])
    assert cdrom.detect(host)
    before = _seed_dirs()
    docs = _fetch(host)
    assert docs.source == f"nocloud volume {dev} (cidata)"
    assert docs.instance_id == "iid-nocloud-1"
    assert {d.layer: d.data for d in docs.configs}[Layer.USER] == {"runcmd": ["echo seeded"]}
    assert not _mounted(dev)
    assert _seed_dirs() == before  # the private copy is gone


def test_configdrive_vfat_on_a_loop_device(tmp_path, loop):
    dev = loop(_vfat(tmp_path, "config-2", CONFIGDRIVE))
    _assert_found_by_scan(dev, "config-2")
    root = tmp_path / "root"
    root.mkdir()
    host = Host(root=Root(root), settings={"cdrom": {"labels": ["config-2"], "seed_dirs": []}}, devices=[dev])
    docs = _fetch(host)
    assert docs.instance_id == "83679162-1378-4288-a2d4-70e13ec132aa"
    assert docs.configs[-1].data == {"runcmd": ["echo cd"]}


def test_ros_init_ext4_volume_is_mounted_read_only_and_unmounted(tmp_path, loop):
    dev = loop(_ext4(tmp_path, "ROS_INIT", {"ros-init.yaml": "hostname: from-ext4\n"}))
    root = tmp_path / "root"
    root.mkdir()
    host = Host(root=Root(root), settings={"cdrom": {"labels": ["ROS_INIT"], "seed_dirs": []}}, devices=[dev])
    before = _seed_dirs()
    docs = _fetch(host)
    assert docs.configs[0].data == {"hostname": "from-ext4"}
    assert not _mounted(dev)
    assert _seed_dirs() == before  # the private mount point is gone too


def test_volume_without_a_usable_filesystem_is_a_clear_error(tmp_path, loop):
    img = tmp_path / "junk.img"
    img.write_bytes(b"\0" * 1024 * 1024)
    dev = loop(img)

    host = Host(root=Root(tmp_path), settings={})
    with pytest.raises(DatasourceError, match=dev), cdrom.open_volume(Volume(dev, "cidata", "hfsplus"), host,
                                                                      time.monotonic() + 5):
        pass


def test_nocloud_on_a_partition_of_a_disk_named_by_the_disk(tmp_path):
    """A USB stick or virtio disk with a partition table: the seed is the partition, the settings
    (or a test) name the disk; the scan looks at the disk's partitions too."""
    need_root()
    need_tools("losetup", "sfdisk", "mkfs.vfat", "mcopy")
    disk = tmp_path / "stick.img"
    disk.write_bytes(b"\0" * (40 * 1024 * 1024))
    subprocess.run(["sfdisk", "-q", str(disk)], input="label: gpt\nstart=2048, type=L\n", text=True,
                   check=True, capture_output=True)
    dev = subprocess.run(["losetup", "--find", "--show", "--partscan", str(disk)], check=True,
                         capture_output=True, text=True).stdout.strip()
    made = False
    try:
        part = dev + "p1"
        sysfs = Path("/sys/class/block") / os.path.basename(part) / "dev"
        for _ in range(50):
            if os.path.exists(part) or sysfs.exists():
                break
            time.sleep(0.1)
        if not os.path.exists(part) and sysfs.exists():  # no udev here: make the node the kernel announced
            major, minor = map(int, sysfs.read_text().split(":"))
            os.mknod(part, 0o600 | stat.S_IFBLK, os.makedev(major, minor))
            made = True
        if not os.path.exists(part):
            pytest.skip("the kernel made no partition for the loop disk")
        subprocess.run(["mkfs.vfat", "-n", "CIDATA", part], check=True, capture_output=True)
        for name, text in NOCLOUD.items():
            src = tmp_path / name
            src.write_text(text)
            subprocess.run(["mcopy", "-i", part, str(src), f"::/{name}"], check=True, capture_output=True,
                           env={**os.environ, "MTOOLS_SKIP_CHECK": "1"})
        root = tmp_path / "root"
        root.mkdir()
        host = Host(root=Root(root), settings={"cdrom": {"labels": ["CIDATA"], "seed_dirs": []}}, devices=[dev])
        assert [v.device for v in cdrom.volumes(host)] == [part]
        docs = _fetch(host)
        assert docs.instance_id == "iid-nocloud-1" and part in docs.source
    finally:
        if made:
            os.unlink(part)
        subprocess.run(["losetup", "-d", dev], check=False, capture_output=True)


def test_a_named_disk_brings_its_partitions_fake_sysfs(tmp_path):
    from ros_init.system.blockdev import with_partitions

    for part in ("vdb1", "vdb2"):
        (tmp_path / "sys/class/block/vdb" / part).mkdir(parents=True)
        (tmp_path / "sys/class/block/vdb" / part / "partition").write_text("1\n")
    (tmp_path / "sys/class/block/vdb/queue").mkdir()
    assert with_partitions(["/dev/vdb", "/dev/sr0"], str(tmp_path)) == ["/dev/vdb", "/dev/vdb1", "/dev/vdb2",
                                                                        "/dev/sr0"]


# -- which way a volume is read: the kernel first (module loaded), the copy tools only after ----
def _modprobe_recorder(tmp_path: Path, monkeypatch) -> Path:
    """A `modprobe` first on PATH that records its arguments (this host has no modules to load)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "modprobe.calls"
    (bin_dir / "modprobe").write_text(f"#!/bin/sh\necho \"$@\" >> {calls}\nexit 1\n")
    (bin_dir / "modprobe").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    return calls


def _fs_loaded(fstype: str) -> bool:
    return any(line.split()[-1] == fstype for line in Path("/proc/filesystems").read_text().splitlines() if line)


def test_iso_not_in_the_kernel_loads_the_module_then_falls_back_to_xorriso(tmp_path, loop, monkeypatch, caplog):
    if _fs_loaded("iso9660"):
        pytest.skip("this kernel has iso9660 loaded: the fallback cannot be seen here")
    dev = loop(_iso(tmp_path, "cidata", NOCLOUD))
    calls = _modprobe_recorder(tmp_path, monkeypatch)
    root = tmp_path / "root"
    root.mkdir()
    host = Host(root=Root(root), settings={"cdrom": {"labels": ["cidata"], "seed_dirs": []}}, devices=[dev])
    with caplog.at_level("INFO", logger="ros_init.datasources"):
        docs = _fetch(host)
    assert docs.instance_id == "iid-nocloud-1"
    assert calls.read_text().split() == ["-q", "fs-iso9660"]  # the kernel's own module alias
    assert docs.how.startswith("files copied with xorriso (the kernel cannot mount iso9660")  # in the probe report
    said = caplog.text
    assert f"cdrom: {dev} (cidata): files copied with xorriso (the kernel cannot mount iso9660" in said
    assert not _mounted(dev)


def test_filesystem_in_the_kernel_is_mounted_without_modprobe(tmp_path, loop, monkeypatch, caplog):
    if not _fs_loaded("ext4"):
        pytest.skip("this kernel has no ext4 loaded")
    dev = loop(_ext4(tmp_path, "ROS_INIT", {"ros-init.yaml": "hostname: from-ext4\n"}))
    calls = _modprobe_recorder(tmp_path, monkeypatch)
    root = tmp_path / "root"
    root.mkdir()
    host = Host(root=Root(root), settings={"cdrom": {"labels": ["ROS_INIT"], "seed_dirs": []}}, devices=[dev])
    with caplog.at_level("INFO", logger="ros_init.datasources"):
        docs = _fetch(host)
    assert docs.configs[0].data == {"hostname": "from-ext4"}
    assert not calls.exists()
    assert docs.how == "mounted as ext4"
    assert f"cdrom: {dev} (ROS_INIT): mounted as ext4" in caplog.text


def test_unmountable_volume_without_a_reader_names_both_ways(tmp_path, loop, monkeypatch):
    if _fs_loaded("iso9660"):
        pytest.skip("this kernel has iso9660 loaded")
    dev = loop(_iso(tmp_path, "cidata", NOCLOUD))
    _modprobe_recorder(tmp_path, monkeypatch)
    monkeypatch.setattr(cdrom, "_copy_tool", lambda fstype: None)  # an image without xorriso

    host = Host(root=Root(tmp_path), settings={})
    with pytest.raises(DatasourceError, match=r"mount failed.*modprobe fs-iso9660 exited 1.*no iso9660 reader"), \
            cdrom.open_volume(Volume(dev, "cidata", "iso9660"), host, time.monotonic() + 5):
        pass
