"""The cloud-config schema itself: valid draft 2020-12, only the keywords ros-init's own validator
implements, strict objects, a description on every property, annotations that mean something."""

from __future__ import annotations

import re
from collections.abc import Iterator

import jsonschema
import pytest

from .corpus import load_schema, walk

SCHEMA = load_schema()

# The keywords the fast validator (ros_init/config/validate.py) implements, plus annotations.
ALLOWED = {
    "$schema", "$id", "$defs", "$ref", "type", "enum", "const", "properties", "additionalProperties",
    "patternProperties", "required", "items", "minItems", "maxItems", "uniqueItems", "minLength",
    "maxLength", "pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "oneOf",
    "anyOf", "allOf", "not", "if", "then", "else", "format", "minProperties", "dependentRequired",
    "description", "default", "examples", "title",
}
X_KEYWORDS = {"x-secret", "x-merge", "x-merge-key", "x-ignored", "x-deprecated", "x-phase", "x-passthrough",
              "x-message", "x-alias-of", "x-warning", "x-severity", "x-at-boot", "x-binary", "x-not-message",
              "x-key-message"}
def properties() -> Iterator[tuple[str, str, dict]]:
    for path, sub in walk(SCHEMA):
        for name, prop in sub.get("properties", {}).items():
            yield path, name, prop


def resolve(sub: dict) -> dict:
    ref = sub.get("$ref")
    return {**resolve(SCHEMA["$defs"][ref.removeprefix("#/$defs/")]), **sub} if ref else sub


def test_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["$id"] == "https://rancher.github.io/ros-init/schemas/cloud-config.v1.json"


def test_uses_only_keywords_the_fast_validator_implements():
    bad = [(path, key) for path, sub in walk(SCHEMA) for key in sub
           if key not in ALLOWED and key not in X_KEYWORDS]
    assert bad == []


def test_refs_are_local_and_resolve():
    for path, sub in walk(SCHEMA):
        if "$ref" in sub:
            ref = sub["$ref"]
            assert ref.startswith("#/$defs/"), path
            assert ref.removeprefix("#/$defs/") in SCHEMA["$defs"], path


def test_every_object_with_properties_is_strict_or_declared_passthrough():
    for path, sub in walk(SCHEMA):
        if "properties" in sub and not _only_constrains(path):
            if sub.get("x-passthrough"):
                assert sub.get("additionalProperties") is True, path
            else:
                assert sub.get("additionalProperties") is False, path
    assert SCHEMA["additionalProperties"] is False


def test_every_property_has_a_description():
    missing = [f"{path}/{name}" for path, name, prop in properties()
               if not resolve(prop).get("description") and not _only_constrains(path)]
    assert missing == []


def _only_constrains(path: str) -> bool:
    """Properties inside if/then/else only add a constraint to a property described elsewhere."""
    return any(f"/{k}" in path for k in ("/if", "/then", "/else", "/not")) or "/allOf/" in path


def test_defaults_and_examples_are_valid_values_of_their_property():
    checked = 0
    for path, name, prop in properties():
        if _only_constrains(path) or "x-ignored" in prop:
            continue
        sub = {**prop, "$defs": SCHEMA["$defs"]}
        validator = jsonschema.Draft202012Validator(sub)
        for value in ([prop["default"]] if "default" in prop else []) + prop.get("examples", []):
            errors = [e.message for e in validator.iter_errors(value)]
            assert errors == [], f"{path}/{name}: {value!r}"
            checked += 1
    assert checked > 40


def test_patterns_compile_in_python():
    for _path, sub in walk(SCHEMA):
        for pattern in [sub["pattern"]] if "pattern" in sub else []:
            re.compile(pattern)
        for pattern in sub.get("patternProperties", {}):
            re.compile(pattern)


def test_patterns_avoid_python_only_syntax():
    """ECMA-262 and Python `re` must read every pattern the same way: no named groups, inline flags,
    \\A/\\Z anchors, or possessive/atomic constructs."""
    python_only = re.compile(r"\(\?P|\(\?[aiLmsux]|\\[AZ]|\(\?>|[*+?]\+"
                             # identity escapes that ECMA's unicode mode rejects (\" \: \@ ...)
                             r"|\\[^\\/^$.|?*+()\[\]{}\-dDsSwWbBnrtfv0-9]")
    for path, sub in walk(SCHEMA):
        for pattern in ([sub["pattern"]] if "pattern" in sub else []) + list(sub.get("patternProperties", {})):
            assert not python_only.search(pattern), (path, pattern)


def reachable_properties(sub: dict, seen: set[str] | None = None) -> set[str]:
    """Names of the properties an instance of ``sub`` can have, following $ref and branches."""
    seen = set() if seen is None else seen
    names: set[str] = set()
    for _, part in walk(sub):
        names |= set(part.get("properties", {}))
        ref = part.get("$ref")
        if ref and ref not in seen:
            seen.add(ref)
            names |= reachable_properties(SCHEMA["$defs"][ref.removeprefix("#/$defs/")], seen)
    return names


def test_every_pattern_has_a_message_for_people():
    missing = [path for path, sub in walk(SCHEMA) if "pattern" in sub and not sub.get("x-message", "").strip()]
    assert missing == []


def test_merge_annotations_are_well_formed():
    rules = {"keyed", "union", "append", "replace"}
    seen = set()
    for path, sub in walk(SCHEMA):
        rule = sub.get("x-merge")
        if rule is None:
            continue
        seen.add(rule)
        assert rule in rules, path
        if rule == "keyed":
            items = [part["items"] for _, part in walk(sub) if isinstance(part.get("items"), dict)]
            assert items, path
            assert all(sub["x-merge-key"] in reachable_properties(item) for item in items), path
    assert seen == rules


@pytest.mark.parametrize(("key", "rule"), [
    ("users", "keyed"), ("write_files", "append"), ("filesystems", "keyed"), ("ssh_authorized_keys", "union"),
    ("runcmd", "append"), ("bootcmd", "append"),
])
def test_list_merge_rules_of_the_spec(key, rule):
    assert SCHEMA["properties"][key]["x-merge"] == rule
    expected_key = {"users": "name", "filesystems": "device"}.get(key)
    assert SCHEMA["properties"][key].get("x-merge-key") == expected_key


@pytest.mark.parametrize("pointer", [
    "user/passwd", "user/hashed_passwd", "user/plain_text_passwd", "user/hashed-passwd",
    "user/plain-text-passwd", "writeFile/content", "rancherd/token", "rancherd/registries",
    "chpasswdUser/password", "rancherosInstall/password",
])
def test_secrets_are_marked(pointer):
    definition, prop = pointer.split("/")
    assert SCHEMA["$defs"][definition]["properties"][prop].get("x-secret") is True


def test_chpasswd_list_and_ignored_password_keys_are_secret():
    assert SCHEMA["properties"]["chpasswd"]["properties"]["list"]["x-secret"] is True
    for key in ("password", "ssh_keys", "user"):
        assert SCHEMA["properties"][key]["x-secret"] is True


def test_every_top_level_key_is_implemented_with_a_phase_or_ignored():
    for name, prop in SCHEMA["properties"].items():
        if "x-ignored" in prop:
            assert "x-phase" not in prop, name
            assert prop["x-ignored"].strip(), name
        else:
            assert prop.get("x-phase") in ("initramfs", "boot"), name


def test_ignored_keys_accept_any_value():
    """An ignored key must never produce an error, whatever cloud-init would put there."""
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for name, prop in SCHEMA["properties"].items():
        if "x-ignored" in prop:
            for value in (None, True, 3, "text", [1, "a"], {"any": {"thing": []}}):
                assert list(validator.iter_errors({name: value})) == [], (name, value)


def test_aliases_point_at_existing_properties_of_the_same_object():
    for path, sub in walk(SCHEMA):
        for name, prop in sub.get("properties", {}).items():
            if "x-alias-of" in prop:
                assert prop["x-alias-of"] in sub["properties"], f"{path}/{name}"


def test_a_map_of_names_says_what_a_name_is():
    """An object whose keys are names (only ``patternProperties``, nothing else allowed) tells
    what a bad key should look like (``x-key-message``): there is no list of keys to offer."""
    bare = [path for path, sub in walk(SCHEMA) if sub.get("patternProperties") and not sub.get("properties")
            and sub.get("additionalProperties") is False and not sub.get("x-key-message", "").strip()]
    assert bare == []
