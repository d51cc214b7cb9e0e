"""One probe per boot: what an earlier phase of this boot fetched, handed to the later ones.

The initramfs phase probes the datasources (the seed volume mounted, read, unmounted) and
records here what each source gave: its outcome and its documents. The boot phase of the same
boot takes that record instead of probing again; the network phase takes the local sources'
part and probes only the network sources. A record is used only when it is this boot's (the
kernel's boot id) and of this format; anything else (missing, another boot, unreadable, not
root's own) means: probe again.

Where: ``/run/ros-init/handover/probed`` in the run root (the initramfs' ``/run``, carried into
the booted system). The documents hold every secret of the config, so, as the state rules
say for fetched documents, the record lives on tmpfs only (gone at the next boot), in a 0700
folder, mode 0600, and never in the persistent state dir. ``/run/ros-init`` itself stays
0755: the status there is readable by everyone and holds no secret.

The format is pickle, read back with an allowlist of the few model classes it may hold (YAML
values include dates, bytes and sets, which JSON would change); the file is root's own on a
root-only folder, and is checked to be so before it is read.
"""

from __future__ import annotations

import io
import os
import pickle
import stat

from ros_init.core.record import record, replace
from ros_init.core.root import Root, RootError

DIR = "/run/ros-init/handover"
PATH = f"{DIR}/probed"
FORMAT = 1


@record
class Handover:
    boot_id: str
    names: list[str]  # the sources the phase was asked to probe, in order
    probed: list  # ros_init.sources.probe.Probed, documents' raw bytes left out
    phase: str  # the phase that probed
    format: int = FORMAT


_ALLOWED = {
    ("ros_init.state.handover", "Handover"),
    ("ros_init.sources.probe", "Probed"),
    ("ros_init.sources.probe", "ProbeOutcome"),
    ("ros_init.core.model", "Documents"),
    ("ros_init.core.model", "ConfigDocument"),
    ("ros_init.core.model", "Script"),
    ("ros_init.core.model", "Layer"),
    ("ros_init.core.findings", "Location"),
    ("datetime", "date"),
    ("datetime", "datetime"),
    ("datetime", "timezone"),
    ("datetime", "timedelta"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "bytearray"),
    ("collections", "OrderedDict"),
    ("copyreg", "_reconstructor"),
    ("builtins", "object"),
}


def _enum_member(cls: object, name: str) -> object:
    """What Python 3.11's pickle calls ``getattr`` for: an enum member, and nothing else."""
    import enum

    if isinstance(cls, type) and issubclass(cls, enum.Enum) and name in cls.__members__:
        return cls.__members__[name]
    raise pickle.UnpicklingError(f"getattr({cls!r}, {name!r}) is not allowed in a handover record")


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> object:
        if (module, name) == ("builtins", "getattr"):  # enum members (Layer.USER) are pickled so
            return _enum_member
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a handover record")
        return super().find_class(module, name)


def dumps(record: Handover) -> bytes:
    """The record as bytes, raw documents left out (only ``ros-init fetch`` saves those)."""
    probed = [p if p.documents is None else replace(p, documents=replace(p.documents, raw={}))
              for p in record.probed]
    return pickle.dumps(replace(record, probed=probed), protocol=pickle.HIGHEST_PROTOCOL)


def loads(data: bytes) -> Handover | None:
    try:
        record = _Unpickler(io.BytesIO(data)).load()
    except Exception:  # truncated, foreign or tampered: probe again
        return None
    if not isinstance(record, Handover) or getattr(record, "format", None) != FORMAT:
        return None
    return record


def save(run_root: Root, record: Handover) -> str | None:
    """Write the record (0600 in a 0700 folder); returns why it could not, or None."""
    try:
        run_root.makedirs("/run/ros-init", mode=0o755)
        run_root.makedirs(DIR, mode=0o700)
        run_root.write_file(PATH, dumps(record), mode=0o600, dir_mode=0o700, durable=False)  # for this boot only
    except (OSError, RootError, pickle.PicklingError) as exc:
        return str(exc)
    return None


def _trusted(st: os.stat_result) -> bool:
    """Root's (or this process owner's) own, and writable by nobody else."""
    return st.st_uid in (0, os.geteuid()) and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def load(run_root: Root, boot_id: str) -> tuple[Handover | None, str]:
    """(this boot's record, "") or (None, why it is not used)."""
    try:
        dst = run_root.stat(DIR)
        fst = run_root.stat(PATH)
        if dst is None or fst is None:
            return None, "no handover record"
        if not (stat.S_ISDIR(dst.st_mode) and stat.S_ISREG(fst.st_mode) and _trusted(dst) and _trusted(fst)
                and not fst.st_mode & 0o077):
            return None, "handover record not root's own: ignored"
        data = run_root.read_bytes(PATH)
    except (OSError, RootError) as exc:
        return None, f"handover record unreadable: {exc}"
    record = loads(data or b"")
    if record is None:
        return None, "handover record unreadable"
    if record.boot_id != boot_id:
        return None, "handover record of another boot"
    return record, ""
