"""Cold-process validation of a typical config: ros-init vs cloud-init vs ignition-validate.

    python benchmarks/bench_validate.py [--runs 30]

ros-init and cloud-init check the same #cloud-config (ros_init/examples/demo.yaml);
ignition-validate checks benchmarks/typical.ign, the same node written as Ignition. Peers
come from Debian's packages (benchmarks/peers.py). Targets (issue 2): ros-init <= 45 ms
median wall and <= 25 MiB peak RSS on the 2-core CI machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers import cloud_init_cmd, ignition_validate_cmd, measure, ros_init_exe  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIG = os.path.join(HERE, "..", "ros_init", "examples", "demo.yaml")
IGNITION = os.path.join(HERE, "typical.ign")
TARGET_MS, TARGET_MIB = 45.0, 25.0


def _cloud_init_flavour(path: str) -> str:
    """The same config without ros-init's own write_files `phase` (cloud-init 22.4 rejects it)."""
    import re
    import tempfile

    with open(path, encoding="utf-8") as fh:
        text = re.sub(r"(?m)^\s*phase:\s*\w+\s*\n", "", fh.read())
    fd, out = tempfile.mkstemp(suffix=".yaml", prefix="bench-cloud-init-")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    ros_init = ros_init_exe()
    rows = {}
    rows["ros-init validate"] = measure([ros_init, "validate", CONFIG], None, args.runs)
    ci = cloud_init_cmd(_cloud_init_flavour(CONFIG))
    if ci:
        rows["cloud-init schema -c (Debian 22.4.2)"] = measure(ci[0], ci[1], max(5, args.runs // 3))
    ig = ignition_validate_cmd(IGNITION)
    if ig:
        rows["ignition-validate (Debian 2.14)"] = measure(ig[0], ig[1], args.runs)
    py = os.path.join(os.path.dirname(ros_init), "python")
    rows["floor: python -c pass (same venv)"] = measure([py, "-c", "pass"], None, args.runs)
    rows["floor: python -c 'import yaml'"] = measure([py, "-c", "import yaml"], None, args.runs)
    base = rows["ros-init validate"]["median_ms"]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(f"{'tool':42} {'median':>9} {'min':>8} {'p90':>8} {'peak RSS':>9} {'vs ros-init':>11}")
        for name, r in rows.items():
            print(f"{name:42} {r['median_ms']:7.1f}ms {r['min_ms']:6.1f}ms {r['p90_ms']:6.1f}ms"
                  f" {r['peak_rss_mib']:6.1f}MiB {r['median_ms'] / base:10.2f}x")
    ok = base <= TARGET_MS and rows["ros-init validate"]["peak_rss_mib"] <= TARGET_MIB
    print(f"target <= {TARGET_MS:.0f} ms and <= {TARGET_MIB:.0f} MiB: {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
