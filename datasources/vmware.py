"""VMware vSphere / ESXi: the VM's guestinfo variables, read through open-vm-tools.

Detected from DMI (``VMware`` in ``product_name`` or ``sys_vendor``; ``vmware: {force: true}``
skips that) when ``vmware-rpctool`` or ``vmtoolsd`` is installed (``vmware.tool`` names
one). No network: the keys are read over the hypervisor's RPC channel with
``vmware-rpctool "info-get guestinfo.<key>"`` (or ``vmtoolsd --cmd "info-get ..."``); a key
that is unset, empty or ``---`` is absent, and with none of the three keys set the source
is absent (so a plain ESXi VM does not shadow a seed volume or a config URL).

Keys: ``guestinfo.metadata``, ``guestinfo.userdata``, ``guestinfo.vendordata``, each with
``guestinfo.<key>.encoding``: unset = plain, ``base64``/``b64``, ``gzip+base64``/``gz+b64``.
Metadata (JSON or YAML): ``instance-id`` (else the DMI product UUID, lower-cased),
``local-hostname``, keys in ``public-keys-data``/``public_keys_data``/``public-keys``/
``public_keys``, ``network`` (network config v1 or v2, a mapping or a string with
``network.encoding``). ``redact`` (or the older ``cleanup-guestinfo``): keys to overwrite
with ``---`` once the configuration is applied (``after_run``), so the secrets of user-data
do not stay readable from the VM's guestinfo after boot.
"""

from __future__ import annotations

import base64
import binascii
import os
import shutil
import subprocess
import zlib

from ros_init.core.model import Documents
from ros_init.sources import platform_id
from ros_init.sources.host import DatasourceError, Host

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from typing import Any

NAME = "vmware"
DETECT_HINT = f"{platform_id.detect_hint(NAME, url=False)}, or neither vmware-rpctool nor vmtoolsd is installed"
TOOLS = ("vmware-rpctool", "vmtoolsd")
KEYS = ("metadata", "userdata", "vendordata")
MAX_VALUE = 4 * 1024 * 1024
NOVALUE = "---"


def _cfg(host: Host) -> dict[str, Any]:
    return host.source_settings(NAME)


def tool(host: Host) -> str | None:
    """The guestinfo tool: ``vmware.tool``, else the first of TOOLS on PATH."""
    configured = _cfg(host).get("tool")
    if configured:
        return str(configured) if os.access(str(configured), os.X_OK) else None
    for name in TOOLS:
        found = shutil.which(name)
        if found:
            return found
    return None


def detect(host: Host) -> bool:
    if not (_cfg(host).get("force") or platform_id.is_platform(host, NAME)
            or NAME in (host.cmdline.datasources or [])):
        return False
    return tool(host) is not None


def command(exe: str, rpc: str) -> list[str]:
    """Pure: the argv of one RPC for ``vmware-rpctool`` or ``vmtoolsd``."""
    if os.path.basename(exe).startswith("vmtoolsd"):
        return [exe, "--cmd", rpc]
    return [exe, rpc]


class Guestinfo:
    """``info-get`` / ``info-set`` through the tool, each call bounded by the deadline."""

    def __init__(self, host: Host, exe: str, deadline: float) -> None:
        self.host, self.exe, self.deadline = host, exe, deadline
        self.timeout = float(_cfg(host).get("timeout") or 5.0)

    def _run(self, rpc: str, what: str) -> subprocess.CompletedProcess[bytes]:
        budget = min(self.timeout, self.host.remaining(self.deadline))
        if budget <= 0:
            raise DatasourceError(f"vmware: deadline passed before {what}")
        try:
            return subprocess.run(command(self.exe, rpc), capture_output=True, timeout=budget, check=False)
        except subprocess.TimeoutExpired:
            raise DatasourceError(f"vmware: {os.path.basename(self.exe)} did not answer {what} in {budget:.1f}s") from None
        except OSError as exc:
            raise DatasourceError(f"vmware: cannot run {self.exe}: {exc.strerror}") from None

    def get(self, key: str) -> str | None:
        res = self._run(f"info-get guestinfo.{key}", f"info-get guestinfo.{key}")
        if res.returncode != 0:
            err = res.stderr.decode("utf-8", "replace").strip()
            if "No value found" in err or not err:
                return None
            raise DatasourceError(f"vmware: info-get guestinfo.{key} failed: {err.splitlines()[-1][:200]}")
        if len(res.stdout) > MAX_VALUE:
            raise DatasourceError(f"vmware: guestinfo.{key} is over {MAX_VALUE} bytes")
        value = res.stdout.decode("utf-8", "replace").strip()
        return None if value in ("", NOVALUE) else value

    def set(self, key: str, value: str) -> bool:
        res = self._run(f"info-set guestinfo.{key} {value}", f"info-set guestinfo.{key}")
        return res.returncode == 0


def decode_value(value: str, encoding: str | None, key: str) -> bytes:
    """Pure: a guestinfo value in its ``.encoding`` -> bytes."""
    enc = (encoding or "").strip().lower()
    try:
        if enc in ("base64", "b64"):
            return base64.b64decode(value, validate=False)
        if enc in ("gzip+base64", "gz+b64"):
            raw = base64.b64decode(value, validate=False)
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            out = d.decompress(raw, 16 * MAX_VALUE + 1)
            if len(out) > 16 * MAX_VALUE or d.unconsumed_tail:
                raise DatasourceError(f"vmware: guestinfo.{key} expands beyond {16 * MAX_VALUE} bytes")
            return out
    except (binascii.Error, ValueError, zlib.error) as exc:
        raise DatasourceError(f"vmware: guestinfo.{key} does not decode as {enc}: {type(exc).__name__}") from None
    if enc not in ("", "plain", "none"):
        raise DatasourceError(f"vmware: guestinfo.{key}.encoding {enc!r} is not plain, base64 or gzip+base64")
    return value.encode()


def read_key(gi: Guestinfo, key: str) -> bytes | None:
    value = gi.get(key)
    return None if value is None else decode_value(value, gi.get(f"{key}.encoding"), key)


def parse_metadata(data: bytes, dmi_uuid: str | None) -> dict[str, Any]:
    """Pure (but for the YAML loader): metadata bytes -> the fields ros-init uses."""
    from ros_init.network.convert import NetconvError, to_v2
    from ros_init.sources.metaservice import keys_of
    from ros_init.sources.userdata import UserDataError, parse_mapping

    try:
        meta = parse_mapping(data, "vmware guestinfo.metadata")
    except UserDataError as exc:
        raise DatasourceError(f"vmware: {exc}") from None
    keys: list[str] = []
    for k in ("public-keys-data", "public_keys_data", "public-keys", "public_keys"):
        keys += keys_of(meta.get(k))
    network = meta.get("network")
    if isinstance(network, str):
        from ros_init.sources.userdata import parse_mapping as pm

        network = pm(decode_value(network, meta.get("network.encoding"), "metadata network"),
                     "vmware metadata network")
    if network is not None:
        try:
            network = to_v2(network, "vmware metadata network")
        except NetconvError as exc:
            raise DatasourceError(f"vmware: {exc}") from None
    redact = meta.get("redact") if meta.get("redact") is not None else meta.get("cleanup-guestinfo")
    return {"instance_id": meta.get("instance-id") or (dmi_uuid.lower() if dmi_uuid else None),
            "hostname": meta.get("local-hostname") or meta.get("hostname"),
            "keys": list(dict.fromkeys(keys)), "network": network,
            "redact": [str(k) for k in redact] if isinstance(redact, list) else []}


def fetch(host: Host, deadline: float) -> Documents | None:
    from ros_init.sources import metaservice as ms

    exe = tool(host)
    if exe is None:
        return None
    gi = Guestinfo(host, exe, deadline)
    values = {k: read_key(gi, k) for k in KEYS if k != "vendordata"}
    values["vendordata"] = ms.vendor_envelope(lambda: read_key(gi, "vendordata"), "vmware guestinfo.vendordata",
                                              host.logger)
    if not any(values.values()):
        host.logger.info("vmware: none of guestinfo.%s is set", ", guestinfo.".join(KEYS))
        return None
    meta = parse_metadata(values["metadata"] or b"{}", platform_id.dmi(host, "product_uuid"))
    iid = ms.check_instance_id(meta["instance_id"], NAME)
    raw = {"metadata": values["metadata"]} if values["metadata"] else {}
    return ms.found(NAME, f"guestinfo ({os.path.basename(exe)})", iid, host=host, deadline=deadline,
                    hostname=meta["hostname"],
                    keys=meta["keys"], network=meta["network"], user_data=values["userdata"],
                    vendor_data=values["vendordata"], raw=raw)


def after_run(host: Host, ok: bool, reason: str = "", deadline: float | None = None) -> list[str]:
    """Once the configuration is applied: overwrite the guestinfo keys the metadata lists in
    ``redact``/``cleanup-guestinfo`` with ``---`` (and their encodings), so user-data secrets do
    not stay readable from the VM. Returns the keys cleared. Not done when the run failed (the
    next boot must still find the config)."""
    exe = tool(host)
    if not ok or exe is None:
        return []
    gi = Guestinfo(host, exe, deadline if deadline is not None else host.clock() + 10)
    data = read_key(gi, "metadata")
    if not data:
        return []
    cleared = []
    for key in parse_metadata(data, None)["redact"]:
        key = key.removeprefix("guestinfo.")
        if gi.set(key, NOVALUE):
            gi.set(f"{key}.encoding", " ")  # empty is impossible through the RPC: a space means plain
            cleared.append(key)
        else:
            host.logger.warning("vmware: could not clear guestinfo.%s (the tool refused info-set)", key)
    return cleared
