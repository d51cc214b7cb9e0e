"""The real peers, from Debian's packages, unpacked (never installed) into a cache folder.

``apt-get download`` + ``dpkg -x`` gives cloud-init and ignition exactly as Debian ships
them, runnable with Debian's /usr/bin/python3 and PYTHONPATH, without touching the host.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import time

CACHE = os.environ.get("ROS_INIT_BENCH_CACHE", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".cache", "peers"))
CLOUD_INIT_DEBS = [
    "cloud-init", "python3-configobj", "python3-jinja2", "python3-markupsafe", "python3-jsonpatch",
    "python3-json-pointer", "python3-jsonschema", "python3-attr", "python3-pyrsistent", "python3-netifaces",
    "python3-oauthlib", "python3-requests", "python3-urllib3", "python3-certifi", "python3-chardet",
    "python3-charset-normalizer", "python3-idna", "python3-serial", "python3-yaml",
]
IGNITION_DEBS = ["ignition"]


def unpacked(debs: list[str], name: str) -> str | None:
    """Folder holding ``debs`` unpacked; None when they cannot be downloaded here."""
    tree = os.path.abspath(os.path.join(CACHE, name))
    stamp = os.path.join(tree, ".complete")
    if os.path.exists(stamp):
        return tree
    dl = os.path.join(CACHE, "debs")
    os.makedirs(dl, exist_ok=True)
    missing = [d for d in debs if not glob.glob(os.path.join(dl, f"{d}_*.deb"))]
    if missing:
        r = subprocess.run(["apt-get", "download", *missing], cwd=dl, capture_output=True, text=True)
        if r.returncode != 0:
            print(f"peers: apt-get download failed: {r.stderr.strip()[:300]}")
            return None
    shutil.rmtree(tree, ignore_errors=True)
    os.makedirs(tree)
    for d in debs:
        for deb in glob.glob(os.path.join(dl, f"{d}_*.deb")):
            subprocess.run(["dpkg", "-x", deb, tree], check=True)
    pylib = os.path.join(tree, "usr/lib/python3/dist-packages")
    if os.path.isdir(pylib) and os.path.exists("/usr/bin/python3"):
        # Debian byte-compiles Python packages at install (py3compile); do the same, or every
        # run would measure the compiler (PYTHONDONTWRITEBYTECODE may be set).
        subprocess.run(["/usr/bin/python3", "-m", "compileall", "-q", pylib], check=False,
                       env={"PATH": "/usr/bin:/bin"}, stdout=subprocess.DEVNULL)
    open(stamp, "w").close()
    return tree


def cloud_init_cmd(config: str) -> tuple[list[str], dict[str, str]] | None:
    tree = unpacked(CLOUD_INIT_DEBS, "cloud-init")
    if tree is None or not os.path.exists("/usr/bin/python3"):
        return None
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": os.path.join(tree, "usr/lib/python3/dist-packages"), "LANG": "C.UTF-8"}
    return ["/usr/bin/python3", os.path.join(tree, "usr/bin/cloud-init"), "schema", "-c", config], env


def ignition_validate_cmd(config: str) -> tuple[list[str], dict[str, str]] | None:
    tree = unpacked(IGNITION_DEBS, "ignition")
    if tree is None:
        return None
    exe = next(iter(glob.glob(os.path.join(tree, "usr/bin/ignition-validate"))), None)
    return ([exe, config], {"PATH": "/usr/bin:/bin"}) if exe else None


def measure(cmd: list[str], env: dict[str, str] | None, runs: int, expect_rc: int | None = 0) -> dict:
    """Median and spread of wall time, CPU time and peak RSS over ``runs`` cold processes."""
    return measure_interleaved({"": lambda _i: cmd}, runs, env, expect_rc)[""]


def _child(cmd: list[str], env: dict[str, str] | None, expect_rc: int | None) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system of the child and its children) and peak RSS (MiB)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""  # never blocks on a full pipe
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = rc = os.waitstatus_to_exitcode(status)
    if proc.stderr:
        proc.stderr.close()
    if expect_rc is not None and rc != expect_rc:
        raise RuntimeError(f"{cmd[0]} exited {rc}: {err.strip()[:500]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def measure_interleaved(cases: dict, runs: int, env: dict[str, str] | None = None,
                        expect_rc: int | None = 0) -> dict[str, dict]:
    """Each case (name -> function of the run number giving the argv) run ``runs`` times, the
    cases taking turns, so that a change of load on the machine hits them all alike. Returns
    per case: wall median/min/p90, CPU (user + system) median/min, peak RSS.

    On a loaded machine (other jobs, QEMU) wall time measures the machine; CPU time of the
    process is the figure to compare, and the ratio of two interleaved cases is the claim."""
    walls: dict[str, list[float]] = {k: [] for k in cases}
    cpus: dict[str, list[float]] = {k: [] for k in cases}
    rss: dict[str, list[float]] = {k: [] for k in cases}
    for i in range(runs):
        for name, argv in cases.items():
            wall, cpu, peak = _child(argv(i), env, expect_rc)
            walls[name].append(wall)
            cpus[name].append(cpu)
            rss[name].append(peak)
    out = {}
    for name in cases:
        w, c = sorted(walls[name]), sorted(cpus[name])
        out[name] = {"median_ms": 1000 * w[len(w) // 2], "min_ms": 1000 * w[0],
                     "p90_ms": 1000 * w[max(0, int(len(w) * 0.9) - 1)],
                     "median_cpu_ms": 1000 * c[len(c) // 2], "min_cpu_ms": 1000 * c[0],
                     "peak_rss_mib": max(rss[name]), "runs": len(w)}
    return out


def baseline_tree(ref: str) -> str:
    """A source tree to compare with: ``ref`` itself when it is a folder (a checkout), else the
    commit ``ref`` of this repository exported (``git archive``) into the cache once."""
    if os.path.isdir(ref):
        return os.path.abspath(ref)
    repo = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    sha = subprocess.run(["git", "-C", repo, "rev-parse", "--verify", f"{ref}^{{commit}}"], capture_output=True,
                         text=True, check=True).stdout.strip()
    tree = os.path.join(os.path.dirname(CACHE), f"baseline-{sha[:12]}")
    if not os.path.exists(os.path.join(tree, ".complete")):
        shutil.rmtree(tree, ignore_errors=True)
        os.makedirs(tree)
        archive = subprocess.run(["git", "-C", repo, "archive", sha], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", tree], input=archive, check=True)
        open(os.path.join(tree, ".complete"), "w").close()
    return tree


def ros_init_exe(tree: str | None = None) -> str:
    """ros-init installed the way an image installs it (a regular, non-editable install).

    The editable install of ./dev adds an import hook to every start-up (~tens of ms of
    pathlib and importlib machinery), which a real image does not pay, so benchmarks use
    their own venv under .cache/bench-venv, rebuilt when the sources change. ``tree``: another
    source tree (a baseline, ``baseline_tree``), installed the same way into its own venv.
    """
    import hashlib
    import sys

    repo = os.path.abspath(tree or os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    venv = os.path.join(repo, ".bench-venv") if tree else os.path.join(os.path.dirname(CACHE), "bench-venv")
    h = hashlib.sha256()
    for top in ("ros_init", "datasources", "stages", "schemas"):
        for dirpath, _, files in sorted(os.walk(os.path.join(repo, top))):
            for f in sorted(files):
                if f.endswith((".py", ".json", ".yaml")):
                    with open(os.path.join(dirpath, f), "rb") as fh:
                        h.update(f.encode() + fh.read())
    with open(os.path.join(repo, "pyproject.toml"), "rb") as fh:
        h.update(fh.read())
    stamp = os.path.join(venv, ".src-" + h.hexdigest()[:16])
    exe = os.path.join(venv, "bin", "ros-init")
    if not os.path.exists(stamp):
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([os.path.join(venv, "bin", "pip"), "install", "-q", repo], check=True)
        open(stamp, "w").close()
    return exe


def instructions(cmd: list[str], env: dict[str, str] | None = None) -> float | None:
    """Millions of instructions one run of ``cmd`` executes (valgrind's callgrind), or None
    without valgrind. Unlike time, the count does not move with the load of the machine: two
    trees compared this way differ by what their code does, run after run. A console script
    is run through the interpreter of its shebang (valgrind follows ELF programs). A run that
    fails raises, with valgrind's last lines."""
    import shlex

    if shutil.which("valgrind") is None:
        return None
    with open(cmd[0], "rb") as fh:
        head = fh.readline()
    if head.startswith(b"#!"):
        cmd = [*shlex.split(head[2:].decode().strip()), *cmd]
    proc = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd],
                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    found = re.search(r"Collected : (\d+)", proc.stderr)
    if proc.returncode != 0 or not found:
        raise RuntimeError(f"valgrind {' '.join(cmd)} exited {proc.returncode}: {proc.stderr.strip()[-500:]}")
    return int(found.group(1)) / 1e6
