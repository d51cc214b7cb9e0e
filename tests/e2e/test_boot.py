"""End-to-end: real boots of a Debian guest with ros-init, configured from real datasources.

Each scenario gives the guest a config through one datasource (a NoCloud ISO, an IMDSv2 server,
a URL on the kernel command line), boots it under QEMU TCG, and checks the result over SSH with
the key that came through ros-init. The guest reaches only the servers this test runs on
127.0.0.1, through QEMU user networking with ``restrict=on``.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from pathlib import Path

import guest
import pytest
import yaml
from servers import Imds, StaticHttp

SSH_WAIT = 600.0  # generous: a loaded 2-core host; an idle one boots in 20-60 s
VM_TIMEOUT = 900.0


def cloud_config(data: dict) -> str:
    return "#cloud-config\n" + yaml.safe_dump(data, sort_keys=False)


@contextlib.contextmanager
def boot(image: guest.Image, work: Path, name: str, disk: Path | None = None, **kw):
    """Boot ``image`` (or an existing overlay ``disk``); QEMU is always killed at the end."""
    work.mkdir(parents=True, exist_ok=True)
    disk = disk or guest.overlay(image, work / f"{name}.qcow2")
    with guest.Vm(image, disk, work, name=name, timeout=VM_TIMEOUT, **kw) as vm:
        yield vm


def status(vm: guest.Vm, key: Path, user: str) -> tuple[int, str]:
    p = subprocess.run([*vm.ssh_args(key, user), "sudo ros-init status; echo rc=$?"], capture_output=True,
                       text=True, timeout=120, stdin=subprocess.DEVNULL)
    out = p.stdout
    rc = int(out.rsplit("rc=", 1)[1].strip()) if "rc=" in out else -1
    return rc, out


# --- NoCloud seed ISO: users, keys, hostname, files, network, rancherd, runcmd --------------

NOCLOUD_TOKEN = "e2e-rancherd-token-not-for-logs"


# KubeVirt's cloudInitNoCloud volume (Harvester's default): an ISO 9660 image labelled `cidata`,
# made with `xorrisofs -volid cidata -joliet -rock -partition_cyl_align on` (kubevirt
# pkg/cloud-init), attached to the VM as a disk on the virtio bus, not as a CD-ROM.
KUBEVIRT_ISO_OPTIONS = ("-partition_cyl_align", "on")


def nocloud_seed(work: Path, pubkey: str, extra: dict | None = None, options: tuple[str, ...] = ()) -> Path:
    config = {
        "hostname": "e2e-nocloud",
        # rancher is listed, so its key goes under it: the top-level key goes to root only, behind
        # cloud-init's disable_root_opts (no default user: `users` names rancher without `default`).
        "users": [{"name": "rancher", "shell": "/bin/bash", "sudo": "ALL=(ALL) NOPASSWD:ALL",
                   "lock_passwd": True, "ssh_authorized_keys": [pubkey]}],
        "ssh_authorized_keys": [pubkey],
        "write_files": [{"path": "/etc/e2e/hello.txt", "content": "hello from the seed\n",
                         "permissions": "0640"}],
        "rancherd": {"role": "cluster-init", "token": NOCLOUD_TOKEN,
                     "kubernetesVersion": "v1.29.4+rke2r1"},
        "runcmd": [["sh", "-c", "echo ran >> /var/lib/e2e-runcmd"]],
        **(extra or {}),
    }
    network = {"version": 2, "ethernets": {"lan": {
        "match": {"macaddress": guest.GUEST_MAC},
        "addresses": ["10.0.2.15/24"], "gateway4": "10.0.2.2",
        "nameservers": {"addresses": ["10.0.2.3"]}}}}
    return guest.seed_iso(work / "seed.iso", {
        "user-data": cloud_config(config),
        "meta-data": "instance-id: iid-e2e-nocloud\nlocal-hostname: e2e-nocloud\n",
        "network-config": yaml.safe_dump(network, sort_keys=False),
    }, options=options)


def test_nocloud_seed(image, key, pubkey, tmp_path):
    seed = nocloud_seed(tmp_path, pubkey)
    with boot(image, tmp_path, "nocloud", cdrom=seed) as vm:
        vm.wait_ssh(key, "rancher", SSH_WAIT)
        sh = lambda cmd: vm.ssh(key, "rancher", cmd)  # noqa: E731
        assert sh("hostname").strip() == "e2e-nocloud"
        assert sh("sudo cat /etc/e2e/hello.txt") == "hello from the seed\n"
        assert sh("sudo stat -c '%a %U' /etc/e2e/hello.txt").split() == ["640", "root"]
        assert sh("sudo cat /var/lib/e2e-runcmd") == "ran\n"
        rancherd = yaml.safe_load(sh("sudo cat /etc/rancher/rancherd/config.yaml"))
        assert rancherd["role"] == "cluster-init" and rancherd["token"] == NOCLOUD_TOKEN
        assert sh("sudo stat -c '%a %U' /etc/rancher/rancherd/config.yaml").split() == ["600", "root"]
        # The static address of network-config, not a DHCP lease ("dynamic").
        addr = sh("ip -4 -o addr show to 10.0.2.15/24")
        assert "10.0.2.15/24" in addr and "dynamic" not in addr, addr
        assert "10.0.2.15" in sh("sudo grep -l 10.0.2.15 /etc/systemd/network/*.network | xargs cat")
        rc, out = status(vm, key, "rancher")
        assert rc == 0, out
        assert NOCLOUD_TOKEN not in out and NOCLOUD_TOKEN not in vm.console_text()
        assert sh("systemctl is-active ros-init-boot.service").strip() == "active"
        check_one_probe_and_boot_order(vm, key, "rancher")
        check_root_login_refused(vm, key, "NONE")
    # A stock kernel (isofs is a module, no module listed for the initramfs): the seed was mounted.
    assert "mounted as iso9660" in vm.console_text()


def check_root_login_refused(vm: guest.Vm, key: Path, default_user: str) -> None:
    """Root got the top-level key behind cloud-init's default disable_root_opts: the guest's
    own sshd accepts the key, runs the forced command (the message naming the default user,
    exit 142) and nothing else."""
    p = subprocess.run([*vm.ssh_args(key, "root"), "echo logged-in-as-root"], capture_output=True, text=True,
                       timeout=90, stdin=subprocess.DEVNULL)
    message = f'Please login as the user "{default_user}" rather than the user "root".'
    assert p.returncode == 142 and message in p.stdout and "logged-in-as-root" not in p.stdout, \
        (p.returncode, p.stdout, p.stderr)


def unit_times(vm: guest.Vm, key: Path, user: str, units: list[str]) -> dict[str, dict[str, int]]:
    """Monotonic microseconds of each unit: start (InactiveExit) and done (ActiveEnter)."""
    out: dict[str, dict[str, int]] = {}
    for unit in units:
        # KEY=value lines: systemctl prints properties in its own order, not the order asked
        props = dict(line.split("=", 1) for line in vm.ssh(
            key, user, f"systemctl show -p InactiveExitTimestampMonotonic -p ActiveEnterTimestampMonotonic {unit}"
        ).split())
        out[unit] = {"start": int(props["InactiveExitTimestampMonotonic"]),
                     "done": int(props["ActiveEnterTimestampMonotonic"])}
    return out


def check_one_probe_and_boot_order(vm: guest.Vm, key: Path, user: str) -> str:
    """The boot phase took the initramfs phase's probe, and ran after the root's file systems and
    before sshd, the gettys and the network manager. Returns the critical chain (for the log)."""
    journal = vm.ssh(key, user, "sudo journalctl -b -o cat -u ros-init-boot.service")
    assert "handed over by the initramfs phase" in journal, journal
    assert "probing the datasources" not in journal, journal
    t = unit_times(vm, key, user, ["local-fs.target", "ros-init-boot.service", "ssh.service",
                                   "systemd-networkd.service", "serial-getty@ttyS0.service",
                                   "systemd-user-sessions.service", "basic.target"])
    boot = t["ros-init-boot.service"]
    assert t["local-fs.target"]["done"] <= boot["start"], t
    for unit in ("ssh.service", "systemd-networkd.service", "serial-getty@ttyS0.service",
                 "systemd-user-sessions.service", "basic.target"):
        assert boot["done"] <= t[unit]["start"] or (unit == "basic.target" and boot["done"] <= t[unit]["done"]), \
            (unit, t)
    chain = vm.ssh(key, user, "systemd-analyze critical-chain ssh.service --no-pager 2>&1", check=False)
    print(chain)
    return chain


# --- EC2: IMDSv2 on the host, reached at 169.254.169.254 through guestfwd ----------------------

EC2_NET = "net=169.254.169.0/24,host=169.254.169.1,dhcpstart=169.254.169.15,dns=169.254.169.3"
EC2_SMBIOS = ["type=1,manufacturer=Amazon EC2,product=t3.micro,uuid=ec2e2e00-0000-4000-8000-000000000001"]


def test_ec2_imdsv2(image, key, pubkey, tmp_path):
    """The image's default user (settings: packaging/examples/ros-init.yaml's `rancher`) gets the
    IMDS public key; the user-data names no key and keeps the default user (`default` listed)."""
    user_data = cloud_config({
        "users": ["default", {"name": "ec2-user", "shell": "/bin/bash"}],
        "write_files": [{"path": "/etc/e2e/ec2.txt", "content": "from IMDS user-data\n"}],
    })
    assert pubkey.split()[1] not in user_data  # the key comes from IMDS public-keys only
    meta = {"instance-id": "i-0e2e0000000000001", "hostname": "ip-10-1-2-3.eu-west-1.compute.internal",
            "local-hostname": "ip-10-1-2-3", "local-ipv4": "169.254.169.15", "instance-type": "t3.micro",
            "placement/availability-zone": "eu-west-1a"}
    with Imds(meta, user_data, [pubkey], lifetime=VM_TIMEOUT) as imds, \
            boot(image, tmp_path, "ec2", netdev_extra=EC2_NET, smbios=EC2_SMBIOS,
                 guestfwd=[("169.254.169.254", 80, imds.port)]) as vm:
        vm.wait_ssh(key, "rancher", SSH_WAIT)
        sh = lambda cmd: vm.ssh(key, "rancher", cmd)  # noqa: E731
        assert sh("cat /etc/e2e/ec2.txt") == "from IMDS user-data\n"
        assert sh("hostname").strip() == "ip-10-1-2-3"
        # The default user as the image settings define it: gecos, shell, groups, sudo, no password.
        assert sh("getent passwd rancher").strip().split(":")[4:] == ["RancherOS", "/home/rancher", "/bin/bash"]
        assert "wheel" in sh("id -nG").split()
        assert sh("sudo -n id -un").strip() == "root"
        assert sh("sudo getent shadow rancher").split(":")[1][:1] in ("!", "*")  # lock_passwd
        # The metadata keys are the default user's alone (cloud-init's rule); ec2-user is created.
        assert pubkey.split()[1] in sh("cat /home/rancher/.ssh/authorized_keys")
        assert sh("id -un ec2-user").strip() == "ec2-user"
        assert sh("sudo test -e /home/ec2-user/.ssh/authorized_keys; echo $?").strip() == "1"
        rc, out = status(vm, key, "rancher")
        assert rc == 0, out
    assert ("PUT", "/latest/api/token") in imds.requests
    assert ("GET", "/latest/user-data") in imds.requests


# --- A config URL on the kernel command line ---------------------------------------------------


def test_cmdline_config_url(image, key, pubkey, tmp_path):
    config = cloud_config({
        "hostname": "e2e-url",
        "users": [{"name": "rancher", "shell": "/bin/bash", "sudo": "ALL=(ALL) NOPASSWD:ALL",
                   "ssh_authorized_keys": [pubkey]}],
        "write_files": [{"path": "/etc/e2e/url.txt", "content": "from the config URL\n"}],
    })
    with StaticHttp({"/e2e/config.yaml": config}, lifetime=VM_TIMEOUT) as web, \
            boot(image, tmp_path, "url", guestfwd=[("10.0.2.100", 80, web.port)],
                 append="ros.config_url=http://10.0.2.100/e2e/config.yaml") as vm:
        vm.wait_ssh(key, "rancher", SSH_WAIT)
        assert vm.ssh(key, "rancher", "hostname").strip() == "e2e-url"
        assert vm.ssh(key, "rancher", "cat /etc/e2e/url.txt") == "from the config URL\n"
        rc, out = status(vm, key, "rancher")
        assert rc == 0, out
    assert ("GET", "/e2e/config.yaml") in web.requests


# --- A blank second disk laid out in the initramfs phase; then a second boot of the same disks ---


@pytest.fixture(scope="module")
def disks(image, pubkey, tmp_path_factory):
    """The root overlay, the blank second disk and the seed shared by the two boots."""
    work = tmp_path_factory.mktemp("disks")
    blank = work / "blank.img"
    guest.run(["qemu-img", "create", "-q", "-f", "raw", str(blank), "1G"])
    seed = nocloud_seed(work, pubkey, TestDisksAndSecondBoot.DISKS, options=KUBEVIRT_ISO_OPTIONS)
    return {"work": work, "blank": blank, "seed": seed,
            "root": guest.overlay(image, work / "root.qcow2"), "facts": {}}


class TestDisksAndSecondBoot:
    """Boot 1 lays out /dev/vdb and mounts it by label; boot 2 of the same disks converges.

    The seed is a Harvester/KubeVirt-style NoCloud volume: the ISO on a virtio disk after the
    blank one (/dev/vdc), no CD-ROM drive at all (test_nocloud_seed covers the CD-ROM)."""

    DISKS = {"disks": [{"device": "/dev/vdb", "table": "gpt", "partitions": [{
        "label": "DATA", "size": "256M",
        "filesystem": {"format": "ext4", "label": "e2edata", "mount": {"path": "/var/lib/e2e-data"}}}]}]}

    def _boot(self, image, disks, name):
        return boot(image, disks["work"], name, disk=disks["root"], extra_disks=[disks["blank"], disks["seed"]])

    @staticmethod
    def _facts(vm, key) -> dict[str, str]:
        sh = lambda cmd: vm.ssh(key, "rancher", cmd).strip()  # noqa: E731
        return {
            "ptuuid": sh("sudo blkid -p -s PTUUID -o value /dev/vdb"),
            "partlabel": sh("sudo blkid -p -s PART_ENTRY_NAME -o value /dev/vdb1"),
            "fsuuid": sh("sudo blkid -p -s UUID -o value /dev/vdb1"),
            "label": sh("sudo blkid -p -s LABEL -o value /dev/vdb1"),
            "mount": sh("findmnt -n -o SOURCE,FSTYPE /var/lib/e2e-data"),
        }

    def test_first_boot_lays_out_and_mounts(self, image, key, disks):
        with self._boot(image, disks, "disks-1") as vm:
            vm.wait_ssh(key, "rancher", SSH_WAIT)
            facts = self._facts(vm, key)
            assert facts["partlabel"] == "DATA" and facts["label"] == "e2edata", facts
            assert facts["mount"].split() == ["/dev/vdb1", "ext4"], facts
            # Laid out by the initramfs phase, which ran and succeeded before the root's init.
            timing = vm.ssh(key, "rancher", "sudo cat /run/ros-init/initramfs.timing").split()
            assert timing[0] == "initramfs" and timing[3] == "0", timing
            check_seed_on_virtio_disk(vm, key)
            vm.ssh(key, "rancher", "echo precious | sudo tee /var/lib/e2e-data/keep.txt >/dev/null")
            disks["facts"] = facts
            vm.poweroff()

    def test_second_boot_converges(self, image, key, disks):
        if not disks["facts"]:
            pytest.skip("the first boot did not complete")
        with self._boot(image, disks, "disks-2") as vm:
            vm.wait_ssh(key, "rancher", SSH_WAIT)
            assert self._facts(vm, key) == disks["facts"]  # not re-partitioned, not re-formatted
            sh = lambda cmd: vm.ssh(key, "rancher", cmd)  # noqa: E731
            assert sh("cat /var/lib/e2e-data/keep.txt") == "precious\n"
            assert sh("hostname").strip() == "e2e-nocloud"
            assert sh("sudo cat /etc/e2e/hello.txt") == "hello from the seed\n"
            assert sh("sudo cat /var/lib/e2e-runcmd") == "ran\n"  # once per instance
            rc, out = status(vm, key, "rancher")
            assert rc == 0, out
            vm.poweroff()


def check_seed_on_virtio_disk(vm: guest.Vm, key: Path) -> None:
    """The config came from the seed on /dev/vdc, a virtio disk (the only `cidata` volume: the
    machine's default IDE CD-ROM drive is empty), and ros-init says so: the initramfs phase's
    probe on the console, the documents' sources in the status."""
    sh = lambda cmd: vm.ssh(key, "rancher", cmd).strip()  # noqa: E731
    assert sh("lsblk -dn -o NAME,TYPE,FSTYPE,LABEL /dev/vdc").split() == ["vdc", "disk", "iso9660", "cidata"]
    assert sh("readlink -f /sys/block/vdc/device/driver").endswith("/virtio_blk")
    assert sh("lsblk -rn -o NAME,LABEL | awk '$2 == \"cidata\" {print $1}'") == "vdc"
    probe = [line for line in vm.console_text().splitlines() if "datasource cdrom: found" in line]
    assert probe and "nocloud volume /dev/vdc (cidata)" in probe[0] and "mounted as iso9660" in probe[0], probe
    doc = json.loads(vm.ssh(key, "rancher", "sudo ros-init status --format json"))
    sources = {s for phase in doc["phases"].values() for s in phase.get("sources", [])}
    assert "nocloud volume /dev/vdc (cidata) user-data" in sources, sources


# --- A broken config: reported on the console and in `ros-init status` -----------------------

BROKEN_PASSWORD = "e2e-Plain-Secret-42"


@pytest.fixture(scope="module")
def broken_boot(image, tmp_path_factory) -> dict[str, object]:
    """Control boot (root's control key, `e2e.control`): the seeded config cannot log anyone in."""
    work = tmp_path_factory.mktemp("broken")
    broken = (
        "#cloud-config\n"
        "hostname: e2e-broken\n"
        "users:\n"
        "  - name: rancher\n"
        "    uid: not-a-number\n"
        "chpasswd:\n"
        "  users:\n"
        f"    - {{name: rancher, password: {BROKEN_PASSWORD}, type: text}}\n"
        "write_files:\n"
        "  - path: relative/path.txt\n"
        "    content: x\n"
    )
    seed = guest.seed_iso(work / "seed.iso", {"user-data": broken, "meta-data": "instance-id: iid-e2e-broken\n"})
    with boot(image, work, "broken", cdrom=seed, append="e2e.control") as vm:
        vm.wait_ssh(image.control_key, "root", SSH_WAIT)
        rc, out = status(vm, image.control_key, "root")
        unit = vm.ssh(image.control_key, "root", "systemctl is-failed ros-init-boot.service", check=False).strip()
        hostname = vm.ssh(image.control_key, "root", "hostname").strip()
        return {"rc": rc, "status": out, "console": vm.console_text(), "unit": unit, "hostname": hostname}


def test_broken_config_is_reported_on_the_console(broken_boot):
    console = broken_boot["console"]
    # Located (source, line:column, key path), in the initramfs phase and again in the boot phase.
    assert console.count("user-data:5:10: error: users[0].uid") >= 2, console[-3000:]
    assert "write_files[0].path" in console
    assert "ros-init-boot.service FAILED" in console  # the failure handler's banner
    assert broken_boot["unit"] == "failed"
    assert broken_boot["hostname"] != "e2e-broken"  # nothing applied from a config with errors
    assert BROKEN_PASSWORD not in console


def test_broken_config_is_reported_in_status(broken_boot):
    out = str(broken_boot["status"])
    assert BROKEN_PASSWORD not in out
    assert broken_boot["rc"] == 1, out
    assert "users[0].uid" in out and "user-data" in out, out


# --- The off switch ----------------------------------------------------------------------------


def test_disabled_on_the_kernel_command_line(image, key, pubkey, tmp_path):
    seed = nocloud_seed(tmp_path, pubkey)
    with boot(image, tmp_path, "disabled", cdrom=seed, append="e2e.control ros-init.disabled") as vm:
        vm.wait_ssh(image.control_key, "root", SSH_WAIT)
        sh = lambda cmd: vm.ssh(image.control_key, "root", cmd, check=False)  # noqa: E731
        assert sh("systemctl show -p ConditionResult --value ros-init-boot.service").strip() == "no"
        assert sh("sudo test -e /run/ros-init/initramfs.timing; echo $?").strip() == "1"
        assert sh("id rancher >/dev/null 2>&1; echo $?").strip() == "1"
        assert sh("hostname").strip() != "e2e-nocloud"
        # The units as installed are clean for systemd's own checker.
        verify = sh("systemd-analyze verify ros-init-boot.service ros-init-network.service "
                    "ros-init-failure@ros-init-boot.service.service 2>&1")
        assert "ros-init" not in verify, verify
