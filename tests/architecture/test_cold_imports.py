"""What a cold ``ros-init validate`` and ``ros-init run`` (every phase, from ``--config`` or from
the datasources: a NoCloud seed folder) import.

Start-up is most of what both commands cost (issue 10: no slower than before the config
model; issue 13: a boot pays it once per phase). The timings are in ``benchmarks/``; this
is the guard that needs no clock: the modules that once made a validate twice as slow
(``dataclasses`` pulls in ``inspect`` and ``ast``; ``typing``; ``logging``) and the heavy
libraries a typical config never needs must not come back on these paths unnoticed.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "ros_init" / "examples" / "demo.yaml"

# Never on either path for the demo config (the typical node).
# A run logs a line per change and per datasource, written by the engine without the logging
# machinery (engine.logs): logging stays off both paths too.
HEAVY = {"dataclasses", "inspect", "ast", "typing", "logging", "subprocess", "requests", "urllib3", "pyudev",
         "jsonschema", "http.client", "jinja2", "jsonpatch", "passlib", "libpass", "email"}
# validate also never copies a file; it parses, it does not plan: the target-root and change
# machinery and the account decision stay out (the stage modules import them inside plan and
# apply).
VALIDATE_HEAVY = HEAVY | {"shutil", "copy", "ros_init.core.root", "ros_init.core.changes",
                          "ros_init.accounts.decide", "ros_init.accounts.policy", "ros_init.accounts.logindefs",
                          "ros_init.accounts.lookup", "ros_init.state.once"}


def _modules_after(argv: list[str], tmp_path: Path) -> set[str]:
    """The modules loaded by a fresh interpreter that ran ``ros-init ARGV`` (in-process, as
    the console script does)."""
    out = tmp_path / "modules.txt"
    code = ("import sys\nfrom ros_init.cli import main\nrc = main(sys.argv[2:])\n"
            "open(sys.argv[1], 'w').write(repr(sorted(sys.modules)))\nraise SystemExit(rc)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(out), *argv], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return set(ast.literal_eval(out.read_text()))


def test_cold_validate_imports_nothing_heavy(tmp_path: Path) -> None:
    loaded = _modules_after(["validate", str(DEMO)], tmp_path)
    assert "ros_init.stages.users" in loaded  # the stages' parse did run (validate == run)
    assert sorted(loaded & VALIDATE_HEAVY) == []


def _seeded_root(tmp_path: Path) -> Path:
    """An OS skeleton with the demo config in a NoCloud seed folder (a preseeded image): the
    datasources give the config, as on a first boot without ``--config``."""
    from ros_init.cli.demo import make_os_skeleton

    root = make_os_skeleton(tmp_path / "root")
    seed = root / "var" / "lib" / "cloud" / "seed" / "nocloud"
    seed.mkdir(parents=True)
    (seed / "meta-data").write_text("instance-id: iid-cold-1\n")
    (seed / "user-data").write_text(DEMO.read_text())
    return root


def test_cold_datasource_run_imports_nothing_heavy(tmp_path: Path) -> None:
    """The boot phase that probes the datasources: the seed folder's source is read, the cloud
    sources it outranks are not even imported (azure's XML would pull in ``urllib.request``,
    ``http.client``, ``email`` and ``ssl``), and the probe, its handover to the next phase and
    the HTTP client's module load nothing heavy."""
    root = _seeded_root(tmp_path)
    loaded = _modules_after(["run", "--phase", "boot", "--root", str(root)], tmp_path)
    assert "ros_init.datasources.cdrom" in loaded and (root / "etc" / "hostname").read_text() == "demo-node-1\n"
    assert (root / "run" / "ros-init" / "handover" / "probed").is_file()
    assert "ros_init.datasources.azure" not in loaded and "xml.etree.ElementTree" not in loaded
    assert sorted(loaded & (HEAVY | {"ssl", "urllib.request", "tempfile"})) == []


@pytest.mark.parametrize("phase", ["initramfs", "network"])
def test_cold_disk_phases_import_nothing_heavy(tmp_path: Path, phase: str) -> None:
    """The phases with the disks stage: the initramfs phase probes the seed, the network phase
    of the same boot takes the boot phase's handover record and probes the network sources the
    seed does not outrank (the config URL source: not detected here)."""
    root = _seeded_root(tmp_path)
    if phase == "network":
        _modules_after(["run", "--phase", "boot", "--root", str(root)], tmp_path)
    loaded = _modules_after(["run", "--phase", phase, "--root", str(root)], tmp_path)
    # the config URL source is probed (not outranked by the seed), the cloud ones are not
    assert "ros_init.stages.disks" in loaded and "ros_init.datasources.http" in loaded
    assert "ros_init.datasources.ec2" not in loaded
    assert sorted(loaded & HEAVY) == []


def test_cold_boot_run_imports_nothing_heavy(tmp_path: Path) -> None:
    from ros_init.cli.demo import make_os_skeleton

    root = make_os_skeleton(tmp_path / "root")  # no /bin/sh: the runcmd entries are planned and skipped
    loaded = _modules_after(["run", "--phase", "boot", "--root", str(root), "--config", str(DEMO)], tmp_path)
    assert "ros_init.stages.users" in loaded and (root / "etc" / "hostname").read_text() == "demo-node-1\n"
    assert sorted(loaded & HEAVY) == []
