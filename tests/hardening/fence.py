"""The harness of the hardening tests (fixtures in conftest.py): scratch roots with a fence around them.

A case runs ``ros-init`` on a scratch OS root (``ros_init.cli.demo.make_os_skeleton``) that sits
in a folder next to an ``outside`` folder; symlinks planted in the root point at
``outside`` (absolute and relative). After the run, the fence checks say: nothing outside
the root changed, no temporary file is left behind, and (for a rejected config) nothing in
the root changed at all.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ros_init.cli import main

TMP_MARK = ".ros-init."  # Root.write_file's temporary files: .<name>.ros-init.<pid>.tmp


def snapshot(base: Path, skip: tuple[str, ...] = ()) -> dict[str, tuple[int, int, int, bytes | str | None]]:
    """rel path -> (mode, uid, gid, content or link target) of every entry below ``base``."""
    out: dict[str, tuple[int, int, int, bytes | str | None]] = {}
    for dirpath, dirnames, filenames in os.walk(base):
        rel_dir = os.path.relpath(dirpath, base)
        dirnames[:] = [d for d in dirnames if os.path.normpath(os.path.join(rel_dir, d)) not in skip]
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(base))
            if rel in skip:
                continue
            st = p.lstat()
            if p.is_symlink():
                body: bytes | str | None = os.readlink(p)
            elif p.is_file():
                body = p.read_bytes()
            else:
                body = None
            out[rel] = (st.st_mode, st.st_uid, st.st_gid, body)
    return out


def leftovers(base: Path) -> list[str]:
    """Temporary files of an interrupted or failed atomic write."""
    return [str(Path(d, f).relative_to(base)) for d, dirs, files in os.walk(base) for f in files + dirs
            if TMP_MARK in f and f.endswith(".tmp")]


@dataclass
class Fenced:
    """A scratch root and the fence around it."""

    base: Path  # holds root/, outside/ and the config files
    root: Path
    outside: Path

    def plant_symlinks(self) -> None:
        """Symlinks an attacker (or a sloppy image) left in the target root."""
        r = self.root
        (r / "etc" / "cron.d").symlink_to(self.outside)  # absolute, to a host folder
        (r / "etc" / "evil-rel").symlink_to("../../outside")  # relative, climbing out
        (r / "etc" / "motd").symlink_to(self.outside / "motd")  # absolute file link
        (r / "opt").symlink_to(self.outside)  # a symlinked folder high in the tree
        (r / "etc" / "loop").symlink_to("loop")  # a loop

    def outside_snapshot(self) -> dict:
        return snapshot(self.base, skip=("root",))

    def run(self, capsys, config: Path | str, *extra: str, phases: tuple[str, ...] = ("initramfs", "boot"),
            ) -> tuple[int, str, str]:
        """``ros-init run`` of each phase in turn, as a boot does; the worst exit code."""
        code, outs, errs = 0, [], []
        for phase in phases:
            c = main(["run", "--phase", phase, "--root", str(self.root), "--config", str(config), *extra])
            out, err = capsys.readouterr()
            code = max(code, c)
            outs.append(out)
            errs.append(err)
        return code, "".join(outs), "".join(errs)


def no_traceback(code: int, out: str, err: str) -> None:
    assert code in (0, 1), f"exit {code}: {err[-2000:]}"
    assert "Traceback" not in err and "internal error" not in err, err[-2000:]

