"""docs/config-reference.md is rendered from the schema and committed: it must not drift."""

from __future__ import annotations

import json
import subprocess
import sys

from ros_init.config.reference import (
    README_BEGIN,
    README_END,
    merge_rules,
    render_reference,
    with_merge_table,
)

from .corpus import REPO, load_schema

SCHEMA = load_schema()


def test_committed_reference_is_the_rendered_one():
    committed = (REPO / "docs" / "config-reference.md").read_text()
    assert committed == render_reference(SCHEMA), (
        "docs/config-reference.md is stale: run `python -m ros_init.config.reference > docs/config-reference.md`")


def test_module_entry_point_prints_the_reference():
    out = subprocess.run([sys.executable, "-m", "ros_init.config.reference"], capture_output=True, text=True,
                         check=True, cwd=REPO)
    assert out.stdout == render_reference(SCHEMA)


def test_one_section_per_implemented_key_and_every_ignored_key_listed():
    text = render_reference(SCHEMA)
    for name, prop in SCHEMA["properties"].items():
        if "x-ignored" in prop:
            assert f"| `{name}`" in text.split("## Accepted but not implemented")[1]
        else:
            assert f"\n## {name}\n" in text


def test_fields_show_type_default_and_secret():
    text = render_reference(SCHEMA)
    assert "| `users[].passwd` | string |  | yes |" in text
    assert '| `write_files[].encoding` |' in text and '`"text/plain"` |  |' in text
    assert "| `rancherd.token` | string |  | yes |" in text


def test_render_is_pure_and_handles_a_tiny_schema():
    tiny = {
        "title": "Tiny", "description": "A tiny | schema.",
        "properties": {
            "a": {"description": "An a. More.", "type": "object", "additionalProperties": False, "x-phase": "boot",
                  "properties": {"b": {"description": "Secret b.", "type": "string", "x-secret": True,
                                       "default": "x"}}},
            "z": {"description": "Old.", "x-ignored": "not here"},
        },
    }
    text = render_reference(tiny)
    assert text == render_reference(tiny)
    assert "A tiny \\| schema." not in text  # the intro is prose, not a table cell
    assert "| `a.b` | string | `\"x\"` | yes | Secret b. |" in text
    assert "| `z` | not here |" in text
    assert "| [`a`](#a) | object | boot | An a. |" in text


def test_readme_merge_table_is_the_generated_one():
    readme = (REPO / "README.md").read_text()
    assert readme == with_merge_table(readme, SCHEMA), "README merge table is stale: run `./dev docs`"
    assert README_BEGIN in readme and README_END in readme


def test_merge_table_lists_every_x_merge_annotation():
    text = json.dumps(SCHEMA)
    annotated = text.count('"x-merge":')
    paths = merge_rules(SCHEMA)
    assert ("users", "keyed", "name") in paths and ("runcmd", "append", None) in paths
    assert len(paths) >= annotated - sum(1 for k, v in SCHEMA["properties"].items()
                                         if "x-ignored" in v and "x-merge" in json.dumps(v))
