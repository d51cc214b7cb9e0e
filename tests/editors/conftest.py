"""Fixtures: the schema variants written to files, and a yaml-language-server per version."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ros_init.config.schema import load_schema
from ros_init.config.schema_variants import editor_schema, portable_schema


@pytest.fixture(scope="session")
def schema_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``ros-init schema --editor`` and ``--portable`` output, as files the tools load."""
    folder = tmp_path_factory.mktemp("schemas")
    files = {}
    for name, make in (("editor", editor_schema), ("portable", portable_schema)):
        files[name] = folder / f"cloud-config.v1.{name}.json"
        files[name].write_text(json.dumps(make(load_schema()), indent=2))
    return files


def _settings(schema: Path) -> dict:
    # What a user puts in VS Code's settings.json (docs/editors.md), plus: no SchemaStore
    # download (tests stay offline once the packages are installed).
    return {"yaml": {"schemas": {schema.as_uri(): ["*.cloud-config.yaml", "user-data", "*.yaml"]},
                     "validate": True, "hover": True, "completion": True,
                     "schemaStore": {"enable": False}, "format": {"enable": False}}}


def _server(version: str, schema_files: dict[str, Path], tmp_path_factory: pytest.TempPathFactory):
    from editors.lsp import LspClient
    from editors.tools import yamlls_argv

    workspace = tmp_path_factory.mktemp("workspace")
    client = LspClient(yamlls_argv(version), workspace, _settings(schema_files["editor"]))
    client.workspace = workspace  # type: ignore[attr-defined]
    return client


@pytest.fixture(scope="session", params=["2.0.0", "1.19.2"], ids=lambda v: f"yamlls-{v}")
def yamlls(request: pytest.FixtureRequest, schema_files: dict[str, Path],
           tmp_path_factory: pytest.TempPathFactory):
    """yaml-language-server as editors ship it now, and the last release before 1.20."""
    client = _server(request.param, schema_files, tmp_path_factory)
    yield client
    client.close()


@pytest.fixture(scope="session")
def yamlls_current(schema_files: dict[str, Path], tmp_path_factory: pytest.TempPathFactory):
    """The current release only, for the sweeps over hundreds of documents (test time)."""
    client = _server("2.0.0", schema_files, tmp_path_factory)
    yield client
    client.close()
