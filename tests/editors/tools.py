"""The real clients of the schema, from the npm registry: yaml-language-server and ajv-cli,
and the Node.js they run on.

Installed once into the repository's ignored ``.cache/npm-editors`` (versions pinned below, a
stamp file per set of versions, a lock so parallel workers install once) and reused by every
later run. The system's node and npm only install them (Debian 12's nodejs 18 and npm 9 do):
yaml-language-server 2 needs a newer Node.js (its engines: >= 22.13; on 18 it fails to
initialize), so the pinned ``node`` package (the official binary, from the registry) runs
them. Tests skip only when node/npm are missing or the registry cannot be reached.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache" / "npm-editors"

# What editors ship (yaml-language-server 2.x; 1.19 is the last before dependentRequired) and
# what CI pipelines use (ajv-cli 5 with ajv 8).
PACKAGES = {
    "yaml-language-server": "2.0.0",
    "yaml-language-server-1": "npm:yaml-language-server@1.19.2",
    "ajv-cli": "5.0.0",
    "ajv": "8.20.0",
    "node": "22.22.0",
}
YAMLLS = {"2.0.0": "yaml-language-server", "1.19.2": "yaml-language-server-1"}


def node_modules() -> Path:
    """The folder holding the pinned packages, installed on first use."""
    system_node, npm = shutil.which("node"), shutil.which("npm")
    if not system_node or not npm:
        pytest.skip("needs node and npm to install the editor tools (.ci/apt-packages.txt: nodejs and npm)")
    CACHE.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(json.dumps(PACKAGES, sort_keys=True).encode()).hexdigest()[:16]
    stamp = CACHE / f".installed-{digest}"  # new pins, new install
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not stamp.exists():
            (CACHE / "package.json").write_text(json.dumps({"name": "ros-init-editor-tests", "private": True,
                                                            "dependencies": PACKAGES}, indent=2))
            try:
                subprocess.run([npm, "install", "--no-audit", "--no-fund", "--no-save", "--loglevel=error"],
                               cwd=CACHE, check=True, capture_output=True, timeout=600,
                               env={**os.environ, "npm_config_update_notifier": "false"})
            except subprocess.CalledProcessError as exc:
                pytest.skip(f"npm install failed (registry unreachable?): {exc.stderr.decode(errors='replace')[-300:]}")
            except subprocess.TimeoutExpired:
                pytest.skip("npm install took more than 10 minutes")
            stamp.touch()
    return CACHE / "node_modules"


def node() -> str:
    """The pinned Node.js that runs the tools (not the system's: see the module's docstring)."""
    return str(node_modules() / "node" / "bin" / "node")


def yamlls_argv(version: str) -> list[str]:
    exe = node_modules() / YAMLLS[version] / "bin" / "yaml-language-server"
    return [node(), str(exe), "--stdio"]


def ajv_argv() -> list[str]:
    return [node(), str(node_modules() / "ajv-cli" / "dist" / "index.js")]


def compat_corpus() -> Path:
    """The shared cloud-init compatibility corpus, read in place (../shared/compat in CI)."""
    for base in (REPO.parent, REPO.parent.parent):
        path = base / "shared" / "compat"
        if (path / "verdicts.tsv").exists():
            return path
    pytest.skip("the shared compat corpus (../shared/compat) is not present")
