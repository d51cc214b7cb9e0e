"""The real clients of the schema, from the npm registry: yaml-language-server and ajv-cli.

Installed once into the repository's ignored ``.cache/npm-editors`` (versions pinned below, a
stamp file per set of versions, a lock so parallel workers install once) and reused by every
later run. Tests skip only when node/npm are missing or the registry cannot be reached.
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
}
YAMLLS = {"2.0.0": "yaml-language-server", "1.19.2": "yaml-language-server-1"}


def node_modules() -> Path:
    """The folder holding the pinned packages, installed on first use."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip("needs node and npm (.ci/apt-packages.txt lists nodejs, which ships npm from NodeSource; Debian's nodejs needs its npm package too)")
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


def yamlls_argv(version: str) -> list[str]:
    exe = node_modules() / YAMLLS[version] / "bin" / "yaml-language-server"
    return [shutil.which("node") or "node", str(exe), "--stdio"]


def ajv_argv() -> list[str]:
    return [shutil.which("node") or "node", str(node_modules() / "ajv-cli" / "dist" / "index.js")]


def compat_corpus() -> Path:
    """The shared cloud-init compatibility corpus, read in place (../shared/compat in CI)."""
    for base in (REPO.parent, REPO.parent.parent):
        path = base / "shared" / "compat"
        if (path / "verdicts.tsv").exists():
            return path
    pytest.skip("the shared compat corpus (../shared/compat) is not present")
