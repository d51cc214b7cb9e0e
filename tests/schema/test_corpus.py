"""Real-world configs: tests/corpus/valid must validate (warnings allowed); every file of
tests/corpus/invalid must fail with the error its `# expect: <json path> <keyword>` line names.

The path is where JSON Schema reports the error (for additionalProperties: the object holding the
unknown key); an expectation matches at any depth of anyOf/oneOf branches, since validators differ in
which level they report.
"""

from __future__ import annotations

import jsonschema
import pytest
import yaml

from .corpus import all_errors, corpus_files, expectations, json_path, load_schema

VALIDATOR = jsonschema.Draft202012Validator(load_schema())
VALID = corpus_files("valid")
INVALID = corpus_files("invalid")


def test_corpus_sizes():
    assert len(VALID) >= 15
    assert len(INVALID) >= 20


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_config_has_no_error(path):
    text = path.read_text()
    assert text.startswith("#cloud-config\n")
    assert expectations(text) == []
    errors = [f"{json_path(e.absolute_path)}: {e.message}" for e in VALIDATOR.iter_errors(yaml.safe_load(text))]
    assert errors == []


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_config_fails_where_expected(path):
    text = path.read_text()
    expected = expectations(text)
    assert expected, "an invalid corpus file needs a `# expect: <json path> <keyword>` line"
    errors = list(VALIDATOR.iter_errors(yaml.safe_load(text)))
    found = {(json_path(e.absolute_path), e.validator) for e in all_errors(errors)}
    for exp in expected:
        assert (exp.path, exp.keyword) in found, f"{exp} not in {sorted(found)}"
