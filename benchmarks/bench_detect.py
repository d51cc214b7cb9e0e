"""Benchmark: what probing costs when no datasource is present at all.

Runs a cold ``ros-init fetch`` (a new interpreter each time) against an empty scratch
root with the default settings, except that ec2 and gce point at closed ports on
127.0.0.1 (so they are "detected" and really probed: the worst case short of a cloud),
and compares its median wall time with the median of ``ros-init --version`` (interpreter
and CLI start-up). The difference is what detection adds; the target is <= 1 s. A second
scenario runs without a settings file (all defaults; ec2/gce then depend on DMI, which
says "not a cloud" on a non-cloud machine).

Bytecode is compiled first (as an installed package has it), so the numbers do not
include compiling ros-init's own sources (PYTHONDONTWRITEBYTECODE is honoured elsewhere).

    .venv/bin/python benchmarks/bench_detect.py [--runs 9]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

TARGET_SECONDS = 1.0


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


CPU: dict[str, list[float]] = {}


def _time(cmd: list[str]) -> float:
    """Wall time of one run; its CPU time (user+sys) is kept in CPU, keyed by the command."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    elapsed = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.setdefault(" ".join(cmd), []).append(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
    if res.returncode not in (0, 1):
        sys.exit(f"{' '.join(cmd)} failed ({res.returncode}): {res.stderr.strip()}")
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=9)
    args = ap.parse_args()
    exe = shutil.which("ros-init", path=os.path.dirname(sys.executable)) or "ros-init"
    with tempfile.TemporaryDirectory(prefix="ros-init-bench-") as tmp:
        root = os.path.join(tmp, "root")
        os.mkdir(root)
        settings = os.path.join(tmp, "settings.yaml")
        with open(settings, "w") as fh:
            fh.write(f"ec2: {{url: 'http://127.0.0.1:{_closed_port()}'}}\n"
                     f"gce: {{url: 'http://127.0.0.1:{_closed_port()}'}}\n")
        cmdline = os.path.join(tmp, "cmdline")
        with open(cmdline, "w") as fh:
            fh.write("quiet console=ttyS0\n")
        fetch = [exe, "fetch", "--root", root, "--settings", settings, "--cmdline", cmdline]
        plain = [exe, "fetch", "--root", root, "--cmdline", cmdline]
        base = [exe, "--version"]
        pkg = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        subprocess.run([sys.executable, "-m", "compileall", "-q", os.path.join(pkg, "ros_init"),
                        os.path.join(pkg, "datasources")], check=False)
        for cmd in (fetch, plain, base):
            _time(cmd)  # warm the page cache once: we measure a cold interpreter, not a cold disk
        fetch_times = [_time(fetch) for _ in range(args.runs)]
        plain_times = [_time(plain) for _ in range(args.runs)]
        base_times = [_time(base) for _ in range(args.runs)]
    f, p, b = (statistics.median(t) for t in (fetch_times, plain_times, base_times))
    added = f - b
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"ros-init --version (start-up):            median {b:.3f}s over {args.runs} runs")
    print(f"fetch, defaults, no settings file:        median {p:.3f}s (adds {p - b:.3f}s)")
    print(f"fetch, ec2+gce at closed ports (target):  median {f:.3f}s (min {min(fetch_times):.3f}s, "
          f"max {max(fetch_times):.3f}s)")
    cpu = {name: statistics.median(CPU[" ".join(cmd)]) for name, cmd in (("fetch", fetch), ("base", base))}
    print(f"CPU time (user+sys) median: fetch {cpu['fetch']:.3f}s, start-up {cpu['base']:.3f}s "
          f"(wall time exceeds CPU time when the machine is loaded)")
    print(f"added by detection:                       {added:.3f}s (target <= {TARGET_SECONDS:.1f}s): "
          f"{'OK' if added <= TARGET_SECONDS else 'TOO SLOW'}")
    return 0 if added <= TARGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
