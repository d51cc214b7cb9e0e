"""What a cold ``ros-init validate`` and ``ros-init run --phase boot`` import.

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

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "ros_init" / "examples" / "demo.yaml"

# Never on either path for the demo config (the typical node).
HEAVY = {"dataclasses", "inspect", "ast", "typing", "subprocess", "requests", "urllib3", "pyudev",
         "jsonschema", "http.client", "jinja2", "jsonpatch", "passlib", "libpass", "email"}
# validate also never logs a valid config, and never copies a file; it parses, it does not
# plan: the target-root and change machinery and the account decision stay out (the stage
# modules import them inside plan and apply).
VALIDATE_HEAVY = HEAVY | {"logging", "shutil", "copy", "ros_init.core.root", "ros_init.core.changes",
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


def test_cold_boot_run_imports_nothing_heavy(tmp_path: Path) -> None:
    from ros_init.cli.demo import make_os_skeleton

    root = make_os_skeleton(tmp_path / "root")  # no /bin/sh: the runcmd entries are planned and skipped
    loaded = _modules_after(["run", "--phase", "boot", "--root", str(root), "--config", str(DEMO)], tmp_path)
    assert "ros_init.stages.users" in loaded and (root / "etc" / "hostname").read_text() == "demo-node-1\n"
    assert sorted(loaded & HEAVY) == []
