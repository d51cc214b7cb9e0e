"""Boot benchmark: the same Debian guest, the same NoCloud seed, three first-boot setups.

    python benchmarks/bench_boot.py [--runs N] [--work DIR]

Boots (QEMU TCG, like the e2e tests) the guest with ros-init (installed the documented way),
with Debian's own cloud-init (bookworm's package), and with no first-boot tool, and prints,
side by side, from the guest's own clock (uptime, seconds):

- multi-user: when multi-user.target was reached;
- ssh up: when ssh.service was ready;
- configured: when the tool's last unit finished (the node has its users, keys, files...);
- ready: max(ssh up, configured): the node is configured and SSH answers;
- tool time: the tool's own time, the sum of its units' run times (ExecMainStart to
  ExecMainExit) plus, for ros-init, the initramfs phase (its hook's own record).

Needs root, qemu-system-x86_64, debootstrap, xorriso (see tests/e2e). Not part of CI (long).
A loaded host (other VMs, builds) slows TCG a lot: compare figures from one run only.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))

import guest  # noqa: E402

TOOL_UNITS = {
    "ros-init": ["ros-init-boot.service", "ros-init-network.service"],
    "cloud-init": ["cloud-init-local.service", "cloud-init.service", "cloud-config.service",
                   "cloud-final.service"],
    "none": [],
}
SETTINGS = Path(__file__).resolve().parents[1] / "tests" / "e2e" / "settings.yaml"


def seed(work: Path, pubkey: str) -> Path:
    """One seed for both tools: only keys both implement the same way."""
    user_data = f"""#cloud-config
hostname: bench-node
users:
  - name: rancher
    shell: /bin/bash
    sudo: "ALL=(ALL) NOPASSWD:ALL"
    ssh_authorized_keys:
      - {pubkey}
write_files:
  - path: /etc/bench/hello.txt
    content: "hello\\n"
    permissions: "0644"
runcmd:
  - [sh, -c, "echo ran > /var/lib/bench-runcmd"]
"""
    return guest.seed_iso(work / "bench-seed.iso", {
        "user-data": user_data, "meta-data": "instance-id: iid-bench\nlocal-hostname: bench-node\n"})


def _usec(value: str) -> float:
    return int(value) / 1e6 if value.strip().isdigit() else 0.0


def measure(vm: guest.Vm, image: guest.Image, tool: str) -> dict[str, float]:
    """Read the guest's own timestamps over SSH (as root, control key)."""
    sh = lambda cmd: vm.ssh(image.control_key, "root", cmd, check=False)  # noqa: E731
    out: dict[str, float] = {}
    props = "-p ActiveEnterTimestampMonotonic"
    out["multi-user"] = _usec(sh(f"systemctl show {props} --value multi-user.target"))
    out["ssh up"] = _usec(sh(f"systemctl show {props} --value ssh.service"))
    tool_time, configured = 0.0, 0.0
    for unit in TOOL_UNITS[tool]:
        start, end = (sh(f"systemctl show -p ExecMainStartTimestampMonotonic -p ExecMainExitTimestampMonotonic "
                         f"--value {unit}").split() + ["0", "0"])[:2]
        if _usec(end) > 0:
            tool_time += _usec(end) - _usec(start)
            configured = max(configured, _usec(end))
    if tool == "ros-init":
        rec = sh("cat /run/ros-init/initramfs.timing 2>/dev/null").split()
        if len(rec) >= 3:
            out["initramfs phase"] = float(rec[2]) - float(rec[1])
            tool_time += out["initramfs phase"]
    if tool == "cloud-init":
        report = sh("cloud-init analyze show 2>/dev/null | grep -E '^Total Time' | "
                    "awk '{s+=$3} END {print s+0}'").strip()
        out["cloud-init analyze"] = float(report or 0)
    out["configured"] = configured
    out["ready"] = max(out["ssh up"], configured)
    out["tool time"] = tool_time
    ok = sh("test -f /etc/bench/hello.txt && id rancher >/dev/null && hostname").strip()
    out["configured ok"] = 1.0 if (tool == "none" or ok == "bench-node") else 0.0
    return out


CHAINS: dict[str, str] = {}


def boot_once(image: guest.Image, work: Path, tool: str, iso: Path, key: Path, n: int,
              second: bool = False) -> dict[str, float]:
    """One first boot (and, with ``second``, a second boot of the same disk: converged)."""
    disk = guest.overlay(image, work / f"{tool}-{n}.qcow2")
    result: dict[str, float] = {}
    for boot in (("first", "second") if second else ("first",)):
        name = f"{tool}-{n}" + ("-2" if boot == "second" else "")
        with guest.Vm(image, disk, work, name=name, cdrom=iso, append="e2e.control", timeout=900) as vm:
            t = vm.wait_ssh(image.control_key, "root", 600)
            if tool != "none":
                vm.wait_ssh(key, "rancher", 300)
            got = measure(vm, image, tool)
            got["host: qemu start to first login"] = t
            if tool.startswith("ros-init") and boot == "first" and n == 0:
                CHAINS[tool] = vm.ssh(image.control_key, "root",
                                      "systemd-analyze critical-chain ssh.service --no-pager 2>&1", check=False)
            if second:
                vm.poweroff()
        result.update({(k if boot == "first" else f"2nd boot: {k}"): v for k, v in got.items()})
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1, help="boots per setup (median reported)")
    ap.add_argument("--work", type=Path, help="work folder (default: a temporary one)")
    ap.add_argument("--tools", default="none,ros-init,cloud-init")
    ap.add_argument("--images", type=Path, help="reuse the images guest.assemble made in DIR")
    ap.add_argument("--second-boot", action="store_true", help="also boot each disk a second time (converged)")
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="ros-init-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    tools = args.tools.split(",")
    key = guest.ssh_keypair(work / "bench_key")
    iso = seed(work, key.with_suffix(".pub").read_text().strip())
    images = {t: guest.Image.load(t, args.images) if args.images and (args.images / f"{t}.img").exists()
              else guest.assemble(t, work / "images", settings=SETTINGS if t == "ros-init" else None)
              for t in tools}
    results: dict[str, list[dict[str, float]]] = {t: [] for t in tools}
    for n in range(args.runs):  # interleaved, so a load change hits every setup alike
        for tool in tools:
            t0 = time.monotonic()
            results[tool].append(boot_once(images[tool], work, tool, iso, key, n, args.second_boot))
            with open(work / "results.jsonl", "a") as fh:  # each boot as it ends: a long run can be cut short
                fh.write(json.dumps({"tool": tool, "boot": n, **results[tool][-1]}) + "\n")
            print(f"bench: {tool} boot {n + 1}/{args.runs} done in {time.monotonic() - t0:.0f}s", file=sys.stderr)
    head = ["multi-user", "ssh up", "configured", "ready", "tool time"]
    rows = sorted({k for rs in results.values() for r in rs for k in r},
                  key=lambda k: (k.startswith("2nd"), head.index(k.removeprefix("2nd boot: "))
                                 if k.removeprefix("2nd boot: ") in head else 99, k))
    width = max(len(r) for r in rows) + 2
    print(f"\nuptime seconds, median of {args.runs} boot(s), QEMU TCG, same seed")
    print("".ljust(width) + "".join(t.rjust(12) for t in tools))
    for row in rows:
        vals = [statistics.median(r[row] for r in results[t] if row in r) if any(row in r for r in results[t])
                else None for t in tools]
        print(row.ljust(width) + "".join(("-" if v is None else f"{v:.2f}").rjust(12) for v in vals))
    if "none" in tools and "ros-init" in tools:
        base = statistics.median(r["multi-user"] for r in results["none"])
        ready = statistics.median(r["ready"] for r in results["ros-init"])
        print(f"\nros-init ready - tool-less multi-user: {ready - base:+.2f} s (target <= 3 s)")
        print(f"ros-init tool time: {statistics.median(r['tool time'] for r in results['ros-init']):.2f} s "
              "(target <= 1.5 s)")
        if args.second_boot:
            ready2 = statistics.median(r["2nd boot: ready"] for r in results["ros-init"])
            base2 = statistics.median(r["2nd boot: multi-user"] for r in results["none"])
            print(f"second boot: ros-init ready - tool-less multi-user: {ready2 - base2:+.2f} s (target <= 2 s)")
    if "cloud-init" in tools and "ros-init" in tools:
        ci = statistics.median(r["tool time"] for r in results["cloud-init"])
        ri = statistics.median(r["tool time"] for r in results["ros-init"])
        print(f"ros-init tool time / cloud-init tool time: {ri / ci:.2f} (target <= 0.10)" if ci else "")
    for tool, chain in CHAINS.items():
        print(f"\n{tool}: systemd-analyze critical-chain ssh.service (first boot)\n{chain.rstrip()}")
    print(f"(consoles and disks in {work})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
