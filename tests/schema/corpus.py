"""Shared helpers of the schema tests: the schema, the corpus files and their expectations."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCHEMA_PATH = REPO / "schemas" / "cloud-config.v1.json"
CORPUS = REPO / "tests" / "corpus"
DATA = REPO / "tests" / "data"

_EXPECT = re.compile(r"^#\s*expect:\s*(\S+)\s+(\S+)\s*$")
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def load_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text())


def read_key_list(name: str) -> list[str]:
    """Keys of a tests/data list file (one per line, `#` comments)."""
    lines = (DATA / name).read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


@dataclass(frozen=True)
class Expectation:
    """An error an invalid corpus file must produce: where (JSON path) and which keyword."""

    path: str
    keyword: str


def expectations(text: str) -> list[Expectation]:
    """The `# expect: <json path> <keyword>` lines of a corpus file."""
    out = []
    for line in text.splitlines():
        m = _EXPECT.match(line.strip())
        if m:
            out.append(Expectation(m.group(1), m.group(2)))
    return out


def json_path(parts) -> str:
    """`$.users[0].passwd` for the instance path ('users', 0, 'passwd')."""
    out = "$"
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif _PLAIN_KEY.match(p):
            out += f".{p}"
        else:
            out += "[" + json.dumps(p) + "]"
    return out


def all_errors(errors) -> Iterator:
    """Every error with the errors of anyOf/oneOf branches under it (validators differ in which
    level they report, so an expectation matches at any level)."""
    for err in errors:
        yield err
        yield from all_errors(err.context or [])


def corpus_files(kind: str) -> list[Path]:
    return sorted((CORPUS / kind).glob("*.yaml"))


SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs")
SUBSCHEMA_LISTS = ("anyOf", "allOf", "oneOf")
SUBSCHEMA_ONE = ("items", "not", "if", "then", "else", "additionalProperties")


def walk(schema, path="#") -> Iterator[tuple[str, dict]]:
    """Every (sub)schema object with its location."""
    if not isinstance(schema, dict):
        return
    yield path, schema
    for key in SUBSCHEMA_MAPS:
        for name, sub in schema.get(key, {}).items():
            yield from walk(sub, f"{path}/{key}/{name}")
    for key in SUBSCHEMA_LISTS:
        for i, sub in enumerate(schema.get(key, [])):
            yield from walk(sub, f"{path}/{key}/{i}")
    for key in SUBSCHEMA_ONE:
        if isinstance(schema.get(key), dict):
            yield from walk(schema[key], f"{path}/{key}")
