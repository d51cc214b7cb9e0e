"""Dependencies point one way: core <- config <- domain packages <- sources, state <-
datasources, stages <- engine <- cli (docs/architecture.md). Checked from the imports of
every module, the lazy ones inside functions included."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

LAYERS = {
    "ros_init": 0, "ros_init.schemas": 0, "ros_init.core": 0,
    "ros_init.config": 1,
    "ros_init.accounts": 2, "ros_init.network": 2, "ros_init.disks": 2, "ros_init.system": 2,
    "ros_init.sources": 3, "ros_init.state": 3,
    "ros_init.datasources": 4, "ros_init.stages": 4,
    "ros_init.engine": 5,
    "ros_init.cli": 6,
}
FOLDERS = {"ros_init": "ros_init", "datasources": "ros_init.datasources", "stages": "ros_init.stages",
           "schemas": "ros_init.schemas"}


def _package(module: str) -> str:
    if module == "ros_init.__main__":  # `python -m ros_init`: the command line's entry point
        return "ros_init.cli"
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 and ".".join(parts[:2]) in LAYERS else parts[0]


def _modules() -> dict[str, Path]:
    out = {}
    for folder, package in FOLDERS.items():
        for path in (REPO / folder).rglob("*.py"):
            rel = path.relative_to(REPO / folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            out[".".join([package, *parts])] = path
    return out


def _imports(path: Path) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
            out += [(node.lineno, f"{node.module}.{a.name}") for a in node.names if node.module == "ros_init"]
    return [(line, name) for line, name in out if name.split(".")[0] == "ros_init"]


def violations() -> list[str]:
    found = []
    for module, path in _modules().items():
        src = LAYERS[_package(module)]
        for line, target in _imports(path):
            pkg = _package(target)
            if pkg == "ros_init" and target != "ros_init":  # `from ros_init import __version__`
                continue
            if LAYERS[pkg] > src:
                found.append(f"{path.relative_to(REPO)}:{line}: {module} (layer {src}) imports {target} "
                             f"(layer {LAYERS[pkg]})")
    return found


def test_every_package_has_a_layer():
    assert {_package(m) for m in _modules()} <= set(LAYERS)


def test_imports_point_down_the_layers():
    assert violations() == []


def test_the_checker_sees_an_upward_import(tmp_path: Path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from ros_init.engine.run import execute\n")
    assert (2, "ros_init.engine.run") in _imports(bad)
    assert LAYERS[_package("ros_init.engine.run")] > LAYERS[_package("ros_init.core.root")]
