"""Users stage at scale: N new users planned and applied on a scratch root.

    python benchmarks/bench_users.py [N ...]      (default: 1000 2000 4000 10000)

Each N: a fresh scratch root with real account files, a config of N users (each with a
group, a home from /etc/skel and one sudo rule every 100), ``plan`` timed, then ``run``
(plan + apply) timed, then a second ``run`` (must change nothing). Not a timed test: the
figures go in the README's hardening section. The stage used to be quadratic (linear scans
of passwd_db.Table on every lookup): 1,000 users planned in 10.7 s, 4,000 in 182 s.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from pathlib import Path

from ros_init.cli.demo import make_os_skeleton
from ros_init.config.settings import defaults
from ros_init.core.model import ConfigDocument, Layer
from ros_init.core.root import Root
from ros_init.engine.inputs import Inputs
from ros_init.engine.run import execute


def config(n: int) -> dict:
    users = []
    for i in range(n):
        user = {"name": f"user{i:05d}", "lock_passwd": True, "groups": ["users"]}
        if i % 100 == 0:
            user["sudo"] = "ALL=(ALL) NOPASSWD:ALL"
        users.append(user)
    return {"users": users}


def once(n: int) -> tuple[float, float, float, int]:
    with tempfile.TemporaryDirectory(dir="/dev/shm" if Path("/dev/shm").is_dir() else None) as tmp:
        root = Root(make_os_skeleton(Path(tmp) / "root"))
        inputs = Inputs(documents=[ConfigDocument("bench", Layer.USER, config(n))])
        settings = defaults()
        t0 = time.monotonic()
        out = execute(root, settings, inputs, "boot", dry_run=True, log_level=logging.ERROR)
        t_plan = time.monotonic() - t0
        assert out.code == 0, out
        t0 = time.monotonic()
        out = execute(root, settings, inputs, "boot", log_level=logging.ERROR)
        t_run = time.monotonic() - t0
        assert out.code == 0, out
        t0 = time.monotonic()
        again = execute(root, settings, inputs, "boot", log_level=logging.ERROR)
        t_again = time.monotonic() - t0
        assert again.record is not None
        changed = again.record.counts()["changed"]
        lines = len((Path(root.path) / "etc/passwd").read_text().splitlines())
        assert changed == 0 and lines >= n
        return t_plan, t_run, t_again, lines


def main(argv: list[str]) -> int:
    sizes = [int(a) for a in argv] or [1000, 2000, 4000, 10000]
    print(f"{'users':>7} {'plan s':>8} {'run s':>8} {'2nd run s':>10}")
    for n in sizes:
        t_plan, t_run, t_again, _ = once(n)
        print(f"{n:>7} {t_plan:>8.2f} {t_run:>8.2f} {t_again:>10.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
