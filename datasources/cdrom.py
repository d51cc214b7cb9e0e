"""Seed volumes and seed folders: NoCloud, OpenStack ConfigDrive, ros-init's own volume.

Found by filesystem label (``cdrom.labels``: cidata, CIDATA, config-2, CONFIG-2,
ROS_INIT) through ``ros_init.system.blockdev`` (udev, blkid or the superblock), or as a folder
on disk (``cdrom.seed_dirs``: preseeded images, tests). The content decides the format:

- ConfigDrive: ``openstack/latest/meta_data.json`` (+ ``user_data``,
  ``network_data.json``, ``vendor_data.json``)
- ros-init: ``ros-init.yaml`` at the top (plain YAML), optional ``meta-data``
- NoCloud: ``meta-data``, ``user-data``, ``network-config``, ``vendor-data``

A volume is mounted read-only (nosuid, nodev, noexec) on a private temporary folder and
always unmounted. A stock kernel has iso9660 and vfat as modules (``/proc/filesystems`` lists
only loaded ones), so the module is loaded with ``modprobe fs-TYPE`` first; only when the
mount fails (containers, this CI machine: no module to load) are its files copied out by
xorriso (ISO9660) or mtools (FAT). The log says which way was taken. The first seed
found wins: seed folders first (as cloud-init), then volumes in label order.
"""

from __future__ import annotations

import contextlib
import json
import os

from ros_init.core.model import ConfigDocument, Documents, Layer
from ros_init.core.root import Root, RootError
from ros_init.sources.host import DatasourceError, Host
from ros_init.sources.userdata import parse_mapping
from ros_init.system.blockdev import Volume, by_label

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from collections.abc import Iterator

NAME = "cdrom"
DETECT_HINT = "no seed folder and no volume labelled as in cdrom.labels"
MAX_FILE = 4 * 1024 * 1024
MAX_USERSPACE_VOLUME = 256 * 1024 * 1024
_NOCLOUD = ("meta-data", "user-data", "network-config", "vendor-data")
_CD = "openstack/latest"


def _settings(host: Host) -> dict:
    return host.source_settings("cdrom")


def seed_dirs(host: Host) -> list[str]:
    out = []
    for d in _settings(host).get("seed_dirs") or []:
        try:
            if any(host.root.exists(f"{d}/{n}") for n in (*_NOCLOUD, "ros-init.yaml", _CD + "/meta_data.json")):
                out.append(d)
        except RootError as exc:
            host.logger.warning("cdrom: seed folder %s: %s", d, exc)
    return out


def volumes(host: Host) -> list[Volume]:
    """Labelled volumes; scanned once per probe (detect, then fetch)."""
    if "cdrom.volumes" not in host.memo:
        labels = list(_settings(host).get("labels") or [])
        timeout = float(_settings(host).get("timeout") or 5.0)
        host.memo["cdrom.volumes"] = by_label(labels, sys_root=host.sys_root, devices=host.devices,
                                              timeout=timeout)
    return host.memo["cdrom.volumes"]


def detect(host: Host) -> bool:
    return bool(seed_dirs(host)) or bool(volumes(host))


def fetch(host: Host, deadline: float) -> Documents | None:
    for d in seed_dirs(host):
        seed = Root(host.root.resolve(d))
        return read_seed(seed, f"seed folder {d}", host, deadline)
    for vol in volumes(host):
        how: list[str] = []
        with open_volume(vol, host, deadline, how) as path:
            docs = read_seed(Root(path), f"volume {vol.device} ({vol.label})", host, deadline)
        if docs is not None:
            docs.how = how[0] if how else ""
        return docs
    return None


# -- reading a seed (a Root at the top of the volume or folder) -------------------------
def _read(seed: Root, name: str, where: str) -> bytes | None:
    try:
        st = seed.stat(name)
        if st is None:
            return None
        if st.st_size > MAX_FILE:
            raise DatasourceError(f"{where} {name}: {st.st_size} bytes is over the {MAX_FILE}-byte limit")
        return seed.read_bytes(name, limit=MAX_FILE + 1)
    except (OSError, RootError) as exc:
        raise DatasourceError(f"{where} {name}: cannot read: {exc}") from None


def read_seed(seed: Root, where: str, host: Host, deadline: float | None = None) -> Documents | None:
    """Documents of one seed; the format is decided by the files present. ``deadline`` bounds
    the ``#include`` URLs its user-data may name (default: the settings' deadline from now)."""
    if deadline is None:
        deadline = host.clock() + float(host.settings.get("deadline") or 30)
    if seed.exists(f"{_CD}/meta_data.json"):
        return _configdrive(seed, where, host, deadline)
    if seed.exists("ros-init.yaml"):
        return _nocloud(seed, f"ros-init {where}", host, deadline, main="ros-init.yaml")
    if any(seed.exists(n) for n in _NOCLOUD):
        return _nocloud(seed, f"nocloud {where}", host, deadline)
    return None


def metadata_config(hostname: str | None, keys: list[str], network: dict | None) -> dict:
    """Pure: the config a datasource's metadata implies."""
    data: dict = {}
    if hostname:
        data["hostname"] = hostname
    if keys:
        data["ssh_authorized_keys"] = keys
    if network:
        data["network"] = network
    return data


def _nocloud(seed: Root, where: str, host: Host, deadline: float, main: str = "user-data") -> Documents:
    from ros_init.network.convert import NetconvError, to_v2
    from ros_init.sources.instancedata import instance_data
    from ros_init.sources.metaservice import keys_of
    from ros_init.sources.userdata import decode, decode_vendor, source_context

    docs = Documents(source=where)
    raw = {n: _read(seed, n, where) for n in (*_NOCLOUD, main)}
    docs.raw = {n: v for n, v in raw.items() if v is not None}
    meta = parse_mapping(raw["meta-data"], f"{where} meta-data") if raw["meta-data"] else {}
    iid = meta.get("instance-id") or meta.get("instance_id")
    docs.instance_id = str(iid) if iid is not None else None
    network = None
    if raw["network-config"]:
        try:
            network = to_v2(parse_mapping(raw["network-config"], f"{where} network-config"), f"{where} network-config")
        except NetconvError as exc:
            raise DatasourceError(str(exc)) from None
    elif isinstance(meta.get("network-interfaces"), str):
        host.logger.warning("%s: meta-data network-interfaces (ifupdown) is not supported: use network-config", where)
    md = metadata_config(meta.get("local-hostname") or meta.get("hostname"), keys_of(meta.get("public-keys")),
                         network)
    if md:
        docs.configs.append(ConfigDocument(f"{where} meta-data", Layer.METADATA, md))
    ctx = source_context(host, deadline, instance_data(
        cloud_name="nocloud", platform="nocloud", meta=meta, instance_id=docs.instance_id,
        local_hostname=md.get("hostname"), public_ssh_keys=md.get("ssh_authorized_keys")))
    if raw["vendor-data"]:
        vd = decode_vendor(raw["vendor-data"], f"{where} vendor-data", ctx, host.logger)
        docs.configs += vd.configs
        docs.scripts += vd.scripts
    if raw[main]:
        ud = decode(raw[main], f"{where} {main}", Layer.USER, yaml_without_header=main.endswith(".yaml"), context=ctx)
        docs.configs += ud.configs
        docs.scripts += ud.scripts
    return docs


def _json(data: bytes | None, where: str) -> object:
    if data is None:
        return None
    try:
        return json.loads(data)
    except ValueError as exc:
        raise DatasourceError(f"{where}: not valid JSON: {exc}") from None


def _configdrive(seed: Root, where: str, host: Host, deadline: float) -> Documents:
    from ros_init.network.convert import NetconvError, configdrive_to_v2
    from ros_init.sources.instancedata import instance_data
    from ros_init.sources.metaservice import keys_of
    from ros_init.sources.userdata import decode, decode_vendor, source_context, vendor_ignored

    where = f"configdrive {where}"
    docs = Documents(source=where)
    names = ("meta_data.json", "user_data", "network_data.json", "vendor_data.json")
    raw = {n: _read(seed, f"{_CD}/{n}", where) for n in names}
    docs.raw = {n: v for n, v in raw.items() if v is not None}
    meta = _json(raw["meta_data.json"], f"{where} meta_data.json")
    if not isinstance(meta, dict):
        raise DatasourceError(f"{where} meta_data.json: must be an object")
    iid = meta.get("uuid") or meta.get("instance-id")
    docs.instance_id = str(iid) if iid else None
    network = None
    nd = _json(raw["network_data.json"], f"{where} network_data.json")
    if nd is not None:
        try:
            network = configdrive_to_v2(nd)  # type: ignore[arg-type]
        except NetconvError as exc:
            raise DatasourceError(f"{where}: {exc}") from None
    keys = keys_of(meta.get("public_keys")) + keys_of(meta.get("keys"))
    md = metadata_config(meta.get("hostname") or meta.get("name"), list(dict.fromkeys(keys)), network)
    if md:
        docs.configs.append(ConfigDocument(f"{where} meta_data.json", Layer.METADATA, md))
    ctx = source_context(host, deadline, instance_data(
        cloud_name="openstack", platform="openstack", meta=meta, instance_id=docs.instance_id,
        local_hostname=md.get("hostname"), availability_zone=meta.get("availability_zone"),
        public_ssh_keys=md.get("ssh_authorized_keys")))
    try:
        vd = _json(raw["vendor_data.json"], f"{where} vendor_data.json")
    except DatasourceError as exc:
        vendor_ignored(f"{where} vendor_data.json", str(exc), host.logger)
        vd = None
    if isinstance(vd, dict):
        vd = vd.get("cloud-init")
    if isinstance(vd, str) and vd.strip():
        dec = decode_vendor(vd.encode(), f"{where} vendor_data.json", ctx, host.logger)
        docs.configs += dec.configs
        docs.scripts += dec.scripts
    if raw["user_data"]:
        ud = decode(raw["user_data"], f"{where} user_data", Layer.USER, context=ctx)
        docs.configs += ud.configs
        docs.scripts += ud.scripts
    return docs


# -- giving access to a volume ---------------------------------------------------------
def _kernel_has(fstype: str) -> bool:
    try:
        with open("/proc/filesystems") as fh:
            return any(line.split()[-1] == fstype for line in fh if line.strip())
    except OSError:
        return False


def _load_module(fstype: str, timeout: float) -> str:
    """``modprobe fs-TYPE`` from this root (the one with the modules), as the kernel's own
    request would: a stock kernel builds isofs and vfat as modules, and /proc/filesystems
    lists only the loaded ones. Returns "" or why it could not (the mount is tried anyway)."""
    import shutil
    import subprocess

    modprobe = shutil.which("modprobe") or next(
        (p for p in ("/usr/sbin/modprobe", "/sbin/modprobe") if os.access(p, os.X_OK)), None)
    if modprobe is None:
        return "no modprobe"
    try:
        res = subprocess.run([modprobe, "-q", f"fs-{fstype}"], capture_output=True, text=True,
                             timeout=max(0.5, timeout), check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"modprobe: {exc}"
    return "" if res.returncode == 0 else f"modprobe fs-{fstype} exited {res.returncode}"


def _private_dir() -> str:
    import tempfile

    base = "/run" if os.access("/run", os.W_OK) else None
    return tempfile.mkdtemp(prefix="ros-init-seed-", dir=base)  # mode 0700


def _copy_tool(fstype: str) -> str | None:
    """The userspace reader of a filesystem the kernel cannot mount, when installed."""
    import shutil

    tool = {"iso9660": "xorriso", "vfat": "mcopy"}.get(fstype)
    return tool if tool and shutil.which(tool) else None


@contextlib.contextmanager
def open_volume(vol: Volume, host: Host, deadline: float, how: list[str] | None = None) -> Iterator[str]:
    """A host folder showing the volume's files, read-only; cleaned up on exit.

    The kernel mounts it with the filesystem the probe found (its module loaded first when
    it is not yet); xorriso/mtools copy the files out only when that mount fails. The log
    says which way was taken, and so does ``how`` (for the probe report). Volumes are the
    rare branch of this source (a seed folder needs none of it), so the tools' modules are
    imported here.
    """
    import shutil
    import subprocess

    how = how if how is not None else []
    remaining = host.remaining(deadline)
    if remaining <= 0:
        raise DatasourceError(f"volume {vol.device}: deadline passed before it could be read")
    tmp = _private_dir()
    mounted = False
    try:
        fstype = vol.fstype or "auto"
        why, loaded = "", False
        if fstype != "auto" and not _kernel_has(fstype):
            why = _load_module(fstype, remaining)
            loaded = not why
        try:
            _run(["mount", "-o", "ro,nosuid,nodev,noexec", "-t", fstype, vol.device, tmp],
                 host.remaining(deadline), vol)
            mounted = True
            how.append(f"mounted as {fstype}" + (" (module loaded with modprobe)" if loaded else ""))
            host.logger.info("cdrom: %s (%s): %s", vol.device, vol.label, how[-1])
        except DatasourceError as exc:
            tool = _copy_tool(fstype)
            if tool is None:
                extra = f"; {why}" if why else ""
                raise DatasourceError(f"{exc}{extra}; and no {fstype} reader (xorriso, mtools) is installed"
                                      if fstype in ("iso9660", "vfat") else f"{exc}{extra}") from None
            how.append(f"files copied with {tool} (the kernel cannot mount {fstype}: "
                       f"{str(exc).split(': ', 1)[-1]}{f'; {why}' if why else ''})")
            host.logger.info("cdrom: %s (%s): %s", vol.device, vol.label, how[-1])
            _copy_out(vol, tool, tmp, host.remaining(deadline))
        yield tmp
    finally:
        if mounted:
            res = subprocess.run(["umount", tmp], capture_output=True, text=True, check=False)
            if res.returncode != 0:
                host.logger.warning("umount %s failed (%s); detaching lazily", tmp, res.stderr.strip())
                subprocess.run(["umount", "-l", tmp], capture_output=True, check=False)
            with contextlib.suppress(OSError):
                os.rmdir(tmp)
        else:
            if os.path.ismount(tmp):  # a mount that completed after its timeout
                subprocess.run(["umount", "-l", tmp], capture_output=True, check=False)
            shutil.rmtree(tmp, ignore_errors=True)


def _copy_out(vol: Volume, tool: str, dest: str, timeout: float) -> None:
    _check_size(vol)
    if timeout <= 0:
        raise DatasourceError(f"volume {vol.device}: deadline passed before it could be read")
    if tool == "xorriso":  # stdio: lets xorriso read any block device or file, not only optical drives
        _run(["xorriso", "-osirrox", "on", "-indev", f"stdio:{vol.device}", "-extract", "/", dest], timeout, vol)
    else:
        _run(["mcopy", "-s", "-n", "-i", vol.device, "::/", dest + "/"], timeout, vol,
             env={**os.environ, "MTOOLS_SKIP_CHECK": "1"})


def _check_size(vol: Volume) -> None:
    try:
        with open(vol.device, "rb") as fh:
            size = fh.seek(0, os.SEEK_END)
    except OSError as exc:
        raise DatasourceError(f"volume {vol.device}: cannot open: {exc.strerror}") from None
    if size > MAX_USERSPACE_VOLUME:
        raise DatasourceError(f"volume {vol.device}: {size} bytes is too large for a seed volume")


def _run(cmd: list[str], timeout: float, vol: Volume, env: dict | None = None) -> None:
    import subprocess

    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False, env=env)
    except subprocess.TimeoutExpired:
        raise DatasourceError(f"volume {vol.device}: {cmd[0]} did not finish before the deadline") from None
    except FileNotFoundError:
        raise DatasourceError(f"volume {vol.device}: {cmd[0]} is not installed") from None
    if res.returncode != 0:
        err = (res.stderr or res.stdout).strip().splitlines()
        raise DatasourceError(f"volume {vol.device}: {cmd[0]} failed: {err[-1] if err else res.returncode}")
