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


def _finding_path(expected: str) -> str:
    """`$.users[0].passwd` -> `users[0].passwd` (ros-init's Finding.path; the root is '')."""
    return expected.removeprefix("$").removeprefix(".")


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_ros_init_validator_finds_no_error_in_valid_config(path):
    from ros_init.config.validate import validate_bytes

    errors = [f.render() for f in validate_bytes(path.read_bytes(), path.name) if f.severity == "error"]
    assert errors == []


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_ros_init_validator_reports_the_error_where_expected(path):
    """ros-init's validator names its own codes (`range`, `unknown-key` ...) and reports an unknown or
    dependent key at the key itself, so only the place is compared: the finding is at the expected
    path or inside it."""
    from ros_init.config.validate import validate_bytes

    # `# ros-init: warning`: a format check cloud-init's schema does not make (x-severity), so
    # cloud-init accepts the file and ros-init must warn there, not fail (an error only with --strict).
    severity = "warning" if "\n# ros-init: warning\n" in path.read_text() else "error"
    findings = validate_bytes(path.read_bytes(), path.name)
    paths = [f.path for f in findings if f.severity == severity]
    if severity == "warning":
        assert not [f.render() for f in findings if f.severity == "error"]
    for exp in expectations(path.read_text()):
        where = _finding_path(exp.path)
        assert any(p == where or p.startswith(f"{where}.") or p.startswith(f"{where}[") or not where
                   for p in paths), f"no error at {exp.path}: {paths}"
        assert paths
