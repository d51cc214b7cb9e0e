"""The registry in ``datasources/__init__.py`` is the one list of sources: every entry has
its module, every module of the folder has its entry, and the settings schema accepts
exactly the registered names."""

import importlib
import json
from pathlib import Path

import ros_init.datasources as package
from ros_init.datasources import BY_NAME, SOURCES

REPO = Path(__file__).resolve().parents[2]


def test_every_entry_loads_a_module_of_the_same_name():
    for entry in SOURCES:
        mod = importlib.import_module(entry.module)
        assert entry.name == mod.NAME
        assert callable(mod.detect) and callable(mod.fetch)
        assert entry.kind in ("local", "network")


def test_every_module_of_the_folder_is_registered():
    names = {p.stem for p in Path(package.__path__[0]).glob("[!_]*.py")}
    assert names == set(BY_NAME)


def test_the_settings_schema_names_exactly_the_registered_sources():
    schema = json.loads((REPO / "schemas" / "settings.v1.json").read_text())
    assert set(schema["properties"]["datasources"]["items"]["enum"]) == set(BY_NAME)
