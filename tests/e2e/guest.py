"""The e2e guest: a Debian bookworm root built with debootstrap, booted under QEMU TCG.

Shared by the e2e tests and ``benchmarks/bench_boot.py``. Three steps, each reusable:

1. ``base_rootfs(cache)``: debootstrap + the guest's own settings, cached in ``cache`` under a
   key of everything that goes into it (packages, mirror, settings version). First run: ~2-3
   minutes; later runs reuse it.
2. ``assemble(...)``: a copy of that root with a first-boot tool installed (ros-init the
   documented way: ``packaging/install-into-root.sh``; or Debian's cloud-init; or nothing),
   made into an ext4 image file plus the kernel and initramfs for a direct kernel boot.
3. ``Vm``: one boot of a copy-on-write overlay of that image, serial console to a file, SSH
   forwarded to a free 127.0.0.1 port, QEMU user networking with ``restrict=on`` (the guest
   reaches only the host servers named in ``guestfwd`` rules), always killed at the end.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SUITE = "bookworm"
BASE_PACKAGES = [
    "systemd-sysv", "udev", "dbus", "linux-image-amd64", "initramfs-tools", "zstd", "kmod",
    "openssh-server", "python3", "iproute2", "netbase", "procps",
    "fdisk", "gdisk", "parted", "e2fsprogs", "dosfstools", "sudo",
]
# Bump when base_config() changes: the cached root is rebuilt.
BASE_CONFIG_VERSION = "6"
TOOLS = ("qemu-system-x86_64", "qemu-img", "debootstrap", "xorriso", "mkfs.ext4", "ssh", "ssh-keygen")
GUEST_MAC = "52:54:00:12:34:56"
INIT_STARTED = "Run /init as init process"  # the kernel hands over to the initramfs
# One vCPU: two under multi-threaded TCG on a 2-core host hung twice in ~60 boots (the kernel
# silent in its early init, in CI; both vCPUs in a soft lockup at a patched jump label, under
# load). One vCPU is ~20 % slower (url boot 51 s vs 41 s, NoCloud 87 s vs 72 s, same host).
SMP = int(os.environ.get("ROS_INIT_E2E_SMP", "1"))
KERNEL_STALL = 60.0  # silent this long before that: a hung guest kernel (its early init takes ~3 s)
IMAGE_SIZE = "2G"


def cache_dir() -> Path:
    """Where the debootstrap root and wheels are kept between runs (never required to exist)."""
    return Path(os.environ.get("ROS_INIT_E2E_CACHE", "/var/cache/ros-init-e2e"))


def apt_mirror() -> str:
    """The Debian mirror the host's apt uses, so debootstrap goes where apt is allowed to go."""
    for path in sorted(Path("/etc/apt").glob("sources.list.d/*.sources")):
        m = re.search(r"^URIs:\s*(\S+/debian)/?\s*$", path.read_text(), re.M)
        if m:
            return m.group(1)
    with contextlib.suppress(OSError):
        for line in Path("/etc/apt/sources.list").read_text().splitlines():
            m = re.match(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+/debian)/?\s", line)
            if m:
                return m.group(1)
    return "http://deb.debian.org/debian"


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    """Run a build command; on failure raise with its output (a build step must not fail quietly)."""
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def remove_tree(path: Path) -> None:
    """rm -rf that first unmounts whatever a failed chroot step left mounted below ``path``."""
    prefix = str(path.resolve()) + "/"
    with open("/proc/mounts") as fh:
        mounts = [line.split()[1] for line in fh]
    for mnt in sorted((m for m in mounts if m.startswith(prefix)), key=len, reverse=True):
        subprocess.run(["umount", "-l", mnt], check=False)
    shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# ---------------------------------------------------------------------------------------------
# 1. The cached Debian root

_CONTROL_UNIT = """\
# e2e only: with `e2e.control` on the kernel command line, root may log in with the control key
# installed at image assembly. Used by control boots (broken-config scenario), never otherwise.
[Unit]
Description=e2e control access
DefaultDependencies=no
ConditionKernelCommandLine=e2e.control
Before=ssh.service
After=local-fs.target

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'echo "AuthorizedKeysFile .ssh/authorized_keys /etc/ssh/e2e-control/%%u" > /etc/ssh/sshd_config.d/00-e2e-control.conf'

[Install]
WantedBy=sysinit.target
"""


# What the guest builder does beyond debootstrap and the documented install, all of it: the
# settings any image has (hostname, fstab, DHCP), SSH for the tests, and quiet timers. Nothing
# about the initramfs, the kernel modules or ros-init: those come from Debian's packages and
# packaging/install-into-root.sh alone (test_guest_preparation.py holds the guest to this list).
GUEST_PREPARATION = (
    "/etc/hostname, /etc/hosts, /etc/fstab (root on /dev/vda): any image has them",
    "/etc/systemd/network/99-default-dhcp.network + systemd-networkd enabled: the image's DHCP default",
    "/etc/ssh/sshd_config.d/10-e2e.conf (UseDNS no, no passwords): the tests log in with keys",
    "e2e-control.service (enabled): root's control key, honoured only with e2e.control on the command line",
    "passwd -l root",
    "masked timers (e2scrub, fstrim, apt-daily, man-db): nothing periodic during a test boot",
    "/usr/share/{doc,man,locale} emptied: a smaller image",
)


def base_config(root: Path) -> None:
    """The guest's own settings, as a distribution image would ship them (no first-boot tool):
    exactly ``GUEST_PREPARATION``. The initramfs is Debian's, as the packages configure it."""
    (root / "etc/hostname").write_text("localhost\n")
    (root / "etc/hosts").write_text("127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n")
    (root / "etc/fstab").write_text("/dev/vda / ext4 defaults,errors=remount-ro 0 1\n")
    net = root / "etc/systemd/network"
    net.mkdir(parents=True, exist_ok=True)
    # The image default: DHCP on the ethernet. A config's network section overrides it.
    (net / "99-default-dhcp.network").write_text("[Match]\nName=en* eth*\n\n[Network]\nDHCP=ipv4\n")
    ssh = root / "etc/ssh/sshd_config.d"
    ssh.mkdir(parents=True, exist_ok=True)
    (ssh / "10-e2e.conf").write_text("UseDNS no\nPasswordAuthentication no\n")
    (root / "etc/systemd/system/e2e-control.service").write_text(_CONTROL_UNIT)
    run(["chroot", str(root), "systemctl", "enable", "systemd-networkd", "e2e-control.service"])
    run(["chroot", str(root), "passwd", "-l", "root"])
    # Nothing periodic during a 1-minute boot.
    run(["chroot", str(root), "systemctl", "mask", "e2scrub_reap.service", "e2scrub_all.timer",
         "fstrim.timer", "apt-daily.timer", "apt-daily-upgrade.timer", "man-db.timer"])
    for p in (root / "usr/share/doc", root / "usr/share/man", root / "usr/share/locale"):
        shutil.rmtree(p, ignore_errors=True)
        p.mkdir()


def base_key() -> str:
    text = "\n".join([SUITE, apt_mirror(), ",".join(BASE_PACKAGES), BASE_CONFIG_VERSION])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def base_rootfs(cache: Path | None = None, log=print) -> Path:
    """The configured Debian root, built once and kept in the cache folder."""
    cache = cache or cache_dir()
    dest = cache / f"rootfs-{base_key()}"
    with _locked(cache / "rootfs.lock"):
        if (dest / ".complete").exists():
            return dest
        partial = dest.with_suffix(".partial")
        remove_tree(partial)
        debs = cache / "debs"
        debs.mkdir(parents=True, exist_ok=True)
        log(f"e2e: debootstrap {SUITE} from {apt_mirror()} into {partial} (first run only)")
        t0 = time.monotonic()
        run(["debootstrap", "--variant=minbase", f"--cache-dir={debs}", f"--include={','.join(BASE_PACKAGES)}",
             SUITE, str(partial), apt_mirror()])
        base_config(partial)
        (partial / ".complete").write_text(f"built in {time.monotonic() - t0:.0f}s\n")
        for old in cache.glob("rootfs-*"):
            if old != partial and old.is_dir():
                remove_tree(old)
        partial.rename(dest)
        return dest


# ---------------------------------------------------------------------------------------------
# 2. An image with a first-boot tool


@dataclass
class Image:
    """What a boot needs: the root file system image and the kernel and initramfs to boot it."""

    name: str
    disk: Path
    kernel: Path
    initrd: Path
    control_key: Path  # private key root accepts when booted with `e2e.control`

    @classmethod
    def load(cls, tool: str, work: Path) -> Image:
        """The image ``assemble(tool, work)`` made earlier."""
        image = cls(tool, work / f"{tool}.img", work / f"{tool}-vmlinuz", work / f"{tool}-initrd.img",
                    work / "control_key")
        for p in (image.disk, image.kernel, image.initrd, image.control_key):
            if not p.exists():
                raise FileNotFoundError(f"{p}: no image assembled there")
        return image


def ssh_keypair(path: Path) -> Path:
    if not path.exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f", str(path)])
    return path


def wheels(cache: Path | None, out: Path) -> Path:
    """ros-init's wheel (built now, from this tree) and its dependencies' wheels (cached)."""
    cache = cache or cache_dir()
    deps = cache / "wheels"
    out.mkdir(parents=True, exist_ok=True)
    with _locked(cache / "wheels.lock"):
        cmd = [str(REPO / "packaging/build-wheels.sh"), str(out), "3.11"]
        env = {**os.environ, "PYTHON": sys.executable, "PIP_FIND_LINKS": str(deps)}
        try:
            run(cmd, env=env if deps.exists() else {**os.environ, "PYTHON": sys.executable})
        except RuntimeError:
            if not any(deps.glob("*.whl")):
                raise
            run(cmd, env={**env, "PIP_NO_INDEX": "1"})  # PyPI unreachable: the cached wheels
        deps.mkdir(parents=True, exist_ok=True)
        for whl in out.glob("*.whl"):
            if not whl.name.startswith("ros_init-"):
                shutil.copy2(whl, deps / whl.name)
    return out


def _copy_root(src: Path, dest: Path) -> None:
    remove_tree(dest)
    run(["cp", "-a", "--reflink=auto", str(src), str(dest)])


@contextlib.contextmanager
def _chroot_mounts(root: Path) -> Iterator[None]:
    mounted = []
    try:
        for fs, opts in (("proc", ["-t", "proc", "proc"]), ("sys", ["-t", "sysfs", "sysfs"]),
                         ("dev", ["--bind", "/dev"])):
            run(["mount", *opts, str(root / fs)])
            mounted.append(root / fs)
        yield
    finally:
        for m in reversed(mounted):
            subprocess.run(["umount", "-l", str(m)], check=False)


def install_cloud_init(root: Path) -> None:
    """Debian's own cloud-init from the mirror, as `apt-get install cloud-init` in the image does."""
    _apt_install(root, ["cloud-init"])
    # Only the NoCloud seed on this VM (as a NoCloud image would be set up).
    (root / "etc/cloud/cloud.cfg.d/90-e2e.cfg").write_text("datasource_list: [ NoCloud, None ]\n")


def install_dracut(root: Path) -> None:
    """Debian's dracut instead of initramfs-tools, as `apt-get install dracut` does (apt removes
    initramfs-tools, which conflicts with it); the initramfs is made by dracut from then on."""
    _apt_install(root, ["dracut"], purge=["initramfs-tools", "initramfs-tools-core"])
    if not (root / "usr/bin/dracut").exists():
        raise RuntimeError("dracut did not install")


def _apt_install(root: Path, packages: list[str], purge: list[str] = ()) -> None:
    if Path("/etc/resolv.conf").exists():
        shutil.copy2("/etc/resolv.conf", root / "etc/resolv.conf")
    (root / "etc/apt/sources.list").write_text(f"deb {apt_mirror()} {SUITE} main\n")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with _chroot_mounts(root):
        run(["chroot", str(root), "apt-get", "update", "-qq"], env=env)
        run(["chroot", str(root), "apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages], env=env)
        if purge:
            run(["chroot", str(root), "apt-get", "purge", "-y", "-qq", *purge], env=env)
        run(["chroot", str(root), "apt-get", "clean"], env=env)


# The setups an image can be assembled with: the first-boot tool, and the cached root it goes on.
_DERIVED = {"cloud-init": install_cloud_init, "dracut": install_dracut}


def _derived_root(base: Path, cache: Path, name: str, log) -> Path:
    """The base root with ``_DERIVED[name]`` applied, cached: it only changes with the base."""
    src = cache / f"rootfs-{base_key()}-{name}"
    with _locked(cache / "rootfs.lock"):
        if not (src / ".complete").exists():
            log(f"e2e: installing {name} into a copy of the guest root")
            _copy_root(base, src.with_suffix(".partial"))
            _DERIVED[name](src.with_suffix(".partial"))
            (src.with_suffix(".partial") / ".complete").write_text("ok\n")
            src.with_suffix(".partial").rename(src)
    return src


def assemble(tool: str, work: Path, cache: Path | None = None, log=print, settings: Path | None = None) -> Image:
    """An image of the cached root with ``tool`` installed: "ros-init", "cloud-init", "none", or
    "ros-init-dracut" (ros-init on the root with Debian's dracut instead of initramfs-tools)."""
    cache = cache or cache_dir()
    work.mkdir(parents=True, exist_ok=True)
    base = base_rootfs(cache, log)
    if tool == "cloud-init":
        base = _derived_root(base, cache, "cloud-init", log)
    elif tool == "ros-init-dracut":
        base = _derived_root(base, cache, "dracut", log)
    root = work / f"root-{tool}"
    _copy_root(base, root)
    if tool in ("ros-init", "ros-init-dracut"):
        whl = wheels(cache, work / "wheels")
        log("e2e: packaging/install-into-root.sh (the documented way)")
        extra = ["--settings", str(settings)] if settings else []
        run([str(REPO / "packaging/install-into-root.sh"), str(root), "--wheels", str(whl), *extra,
             "--rebuild-initramfs"], env={**os.environ, "PYTHON": sys.executable})
    elif tool not in ("none", "cloud-init"):
        raise ValueError(f"unknown tool {tool!r}")
    control = ssh_keypair(work / "control_key")
    keys = root / "etc/ssh/e2e-control"
    keys.mkdir(parents=True, exist_ok=True)
    shutil.copy2(control.with_suffix(".pub"), keys / "root")
    kernel = sorted((root / "boot").glob("vmlinuz-*"))[-1]
    initrd = sorted((root / "boot").glob("initrd.img-*"))[-1]  # dracut on Debian writes the same name
    image = Image(tool, work / f"{tool}.img", work / f"{tool}-vmlinuz", work / f"{tool}-initrd.img", control)
    shutil.copy2(kernel, image.kernel)
    shutil.copy2(initrd, image.initrd)
    image.disk.unlink(missing_ok=True)
    run(["mkfs.ext4", "-q", "-F", "-L", "e2e-root", "-d", str(root), str(image.disk), IMAGE_SIZE])
    remove_tree(root)
    return image


# ---------------------------------------------------------------------------------------------
# 3. Booting


def _die_with_parent() -> None:
    """In the QEMU child: SIGKILL when the test process dies, even when it is killed outright."""
    import ctypes
    import signal

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed_iso(path: Path, files: dict[str, str | bytes], label: str = "cidata", options: tuple[str, ...] = ()) -> Path:
    """A NoCloud/config-drive seed ISO with these files (name -> content); ``options``: more
    mkisofs options (KubeVirt's cloudInitNoCloud disk adds ``-partition_cyl_align on``)."""
    src = path.with_suffix(".d")
    shutil.rmtree(src, ignore_errors=True)
    for name, content in files.items():
        f = src / name
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(content.encode() if isinstance(content, str) else content)
    run(["xorriso", "-as", "mkisofs", "-quiet", "-o", str(path), "-V", label, "-J", "-r", *options, str(src)])
    return path


def overlay(image: Image, path: Path) -> Path:
    """A copy-on-write disk over the image: each scenario starts from the same fresh image."""
    run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", str(image.disk), str(path)])
    return path


@dataclass
class Vm:
    """One QEMU TCG boot. Use as a context manager: QEMU is killed on exit, whatever happened."""

    image: Image
    disk: Path
    workdir: Path
    name: str = "vm"
    cdrom: Path | None = None
    extra_disks: list[Path] = field(default_factory=list)
    guestfwd: list[tuple[str, int, int]] = field(default_factory=list)  # (guest ip, guest port, host port)
    netdev_extra: str = ""  # e.g. "net=169.254.169.0/24,host=169.254.169.1,dhcpstart=169.254.169.15"
    smbios: list[str] = field(default_factory=list)
    append: str = ""
    memory: int = 1024
    timeout: float = 300.0  # the whole boot is killed after this, whatever it does
    port: int = 0
    proc: subprocess.Popen | None = None
    started: float = 0.0
    restarts: int = 0
    _seen: tuple[int, float] = (0, 0.0)  # console length, and when it last changed

    @property
    def console(self) -> Path:
        return self.workdir / f"{self.name}.console.log"

    def command(self) -> list[str]:
        net = f"user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:{self.port}-:22"
        if self.netdev_extra:
            net += "," + self.netdev_extra
        relay = Path(__file__).with_name("relay.py")
        for ip, gport, hport in self.guestfwd:  # a relay per guest connection (see relay.py)
            net += f",guestfwd=tcp:{ip}:{gport}-cmd:{sys.executable} {relay} {hport}"
        cmdline = f"root=/dev/vda ro console=ttyS0,115200 panic=-1 {self.append}".strip()
        cmd = ["qemu-system-x86_64", "-accel", "tcg", "-machine", "pc", "-smp", str(SMP), "-m", str(self.memory),
               "-display", "none", "-serial", f"file:{self.console}", "-no-reboot",
               "-monitor", f"unix:{self.workdir / (self.name + '.monitor')},server,nowait",
               "-kernel", str(self.image.kernel), "-initrd", str(self.image.initrd), "-append", cmdline,
               "-drive", f"file={self.disk},if=virtio,format=qcow2,cache=unsafe",
               "-netdev", net, "-device", f"virtio-net-pci,netdev=n0,mac={GUEST_MAC}",
               "-device", "virtio-rng-pci"]
        if self.cdrom:
            cmd += ["-drive", f"file={self.cdrom},media=cdrom,readonly=on,if=ide"]
        for d in self.extra_disks:
            fmt = "qcow2" if d.suffix == ".qcow2" else "raw"
            cmd += ["-drive", f"file={d},if=virtio,format={fmt},cache=unsafe"]
        for s in self.smbios:
            cmd += ["-smbios", s]
        return cmd

    def __enter__(self) -> Vm:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.started = time.monotonic()
        self._start()
        return self

    def _start(self) -> None:
        self.console.unlink(missing_ok=True)
        self._seen = (0, time.monotonic())
        with open(self.workdir / f"{self.name}.qemu.log", "w") as err:
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=err, preexec_fn=_die_with_parent)

    def _restart_if_hung(self) -> None:
        """Boot again when the guest kernel froze before it ran the initramfs.

        Under TCG with two vCPUs the guest kernel now and then stops printing in its early init
        (seen once in CI: silent from 1.05 s for ten minutes) and never recovers. Nothing of the
        guest's has run then and no disk has been written, so a second boot is the same test.
        A stall after ``Run /init`` is left alone: from there on, it may be ours."""
        text = self.console_text()
        now = time.monotonic()
        if len(text) != self._seen[0]:
            self._seen = (len(text), now)
            return
        if INIT_STARTED in text or now - self._seen[1] < KERNEL_STALL or self.restarts >= 2:
            return
        print(f"{self.name}: the guest kernel printed nothing for {KERNEL_STALL:.0f} s before running "
              f"the initramfs; booting it again\n" + self.tail(5))
        (self.workdir / f"{self.name}.console.log").replace(self.workdir / f"{self.name}.hung{self.restarts}.log")
        self.restarts += 1
        self.kill()
        self._start()

    def __exit__(self, *exc) -> None:
        self.kill()

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def remaining(self) -> float:
        return self.timeout - (time.monotonic() - self.started)

    def console_text(self) -> str:
        try:
            return self.console.read_text(errors="replace")
        except OSError:
            return ""

    def ssh_args(self, key: Path, user: str) -> list[str]:
        return ["ssh", "-i", str(key), "-p", str(self.port), "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "ConnectTimeout=15",
                "-o", "LogLevel=ERROR", "-o", "IdentitiesOnly=yes", f"{user}@127.0.0.1"]

    def wait_ssh(self, key: Path, user: str, timeout: float = 240.0) -> float:
        """Poll until ``user`` logs in with ``key``; return the host seconds since QEMU started."""
        end = time.monotonic() + min(timeout, self.remaining())
        last = ""
        while time.monotonic() < end:
            self._restart_if_hung()
            if self.proc and self.proc.poll() is not None:
                raise AssertionError(f"{self.name}: QEMU exited ({self.proc.returncode}) before SSH answered\n"
                                     + self.tail())
            try:
                p = subprocess.run([*self.ssh_args(key, user), "true"], capture_output=True, text=True,
                                   timeout=30, stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:  # sshd up but starved (a loaded host): try again
                last = "ssh did not finish within 30 s"
                continue
            if p.returncode == 0:
                return time.monotonic() - self.started
            last = p.stderr.strip()
            time.sleep(0.5)
        raise AssertionError(f"{self.name}: no SSH login as {user} within {timeout:.0f}s (last: {last})\n"
                             + self.tail())

    def wait_console(self, text: str, timeout: float = 600.0) -> float:
        """Poll the serial console until ``text`` shows; return the host seconds since QEMU started."""
        end = time.monotonic() + min(timeout, self.remaining())
        while time.monotonic() < end:
            self._restart_if_hung()
            if text in self.console_text():
                return time.monotonic() - self.started
            if self.proc and self.proc.poll() is not None:
                break
            time.sleep(1.0)
        raise AssertionError(f"{self.name}: {text!r} never on the console\n" + self.tail())

    def ssh(self, key: Path, user: str, command: str, check: bool = True, timeout: float = 60) -> str:
        for _ in range(4):  # exit 255 is ssh's own failure (a starved guest under TCG), not the command's
            p = subprocess.run([*self.ssh_args(key, user), command], capture_output=True, text=True,
                               timeout=timeout, stdin=subprocess.DEVNULL)
            if p.returncode != 255 or not p.stderr.strip():
                break
            time.sleep(2)
        if check and p.returncode != 0:
            raise AssertionError(f"{self.name}: `{command}` exited {p.returncode}: {p.stdout}{p.stderr}")
        return p.stdout

    def poweroff(self, timeout: float = 90.0) -> None:
        """ACPI power button through the monitor; the guest shuts down cleanly (disks flushed)."""
        mon = self.workdir / f"{self.name}.monitor"
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(str(mon))
            s.sendall(b"system_powerdown\n")
            time.sleep(0.5)
        try:
            assert self.proc is not None
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.name}: no clean power-off within {timeout:.0f}s\n" + self.tail()) from None

    def tail(self, lines: int = 60) -> str:
        return "--- console (last lines) ---\n" + "\n".join(self.console_text().splitlines()[-lines:])
