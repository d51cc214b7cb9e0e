"""Variants of the config schema for other people's tools, generated from the one source.

``schemas/cloud-config.v1.json`` carries ros-init's ``x-*`` annotations (messages, ignored keys,
deprecations). Two consumers cannot use it as it is:

* editors (yaml-language-server in VS Code, Neovim, Helix...) read their own keywords
  (``patternErrorMessage``, ``markdownDescription``, ``doNotSuggest``, ``defaultSnippets``) and read
  YAML as 1.2, where ``no`` and ``on`` are strings and ``0644`` is the decimal 644, while
  cloud-init and ros-init read YAML 1.1. ``editor_schema`` adds the editor keywords and widens
  the types so that the editor never shows an error for a document ``ros-init validate``
  accepts (its warnings included);
* strict validators (Ajv's defaults) refuse unknown keywords and formats.
  ``portable_schema`` strips every ``x-*`` keyword and spells the ``file-mode`` format as the
  pattern and range it stands for.

Both are pure functions of the source schema (nothing here reads a file), so the variants
cannot drift from what ``validate`` enforces.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

Schema = dict[str, Any]

# Keywords whose value is one sub-schema, a list of them, or a map of names to them.
_ONE = ("additionalProperties", "items", "not", "if", "then", "else", "propertyNames", "contains",
        "unevaluatedProperties", "unevaluatedItems")
_LIST = ("allOf", "anyOf", "oneOf", "prefixItems")
_MAP = ("properties", "patternProperties", "$defs", "dependentSchemas")

# PyYAML (YAML 1.1) reads these plain scalars as booleans; YAML 1.2 tools read them as strings.
# true/True/TRUE and false/False/FALSE are booleans in both.
YAML11_TRUE = ("yes", "Yes", "YES", "on", "On", "ON")
YAML11_FALSE = ("no", "No", "NO", "off", "Off", "OFF")
_YAML11_BOOL_PATTERN = "^(?:" + "|".join(YAML11_TRUE + YAML11_FALSE) + ")$"

# PyYAML's YAML 1.1 integer forms (the ones YAML 1.2 also reads as integers never reach the string branch).
_YAML11_INT_PATTERN = "^[-+]?(?:0b[0-1_]+|0[0-7_]+|(?:0|[1-9][0-9_]*)|0x[0-9a-fA-F_]+|[1-9][0-9_]*(?::[0-5]?[0-9])+)$"
_BOOL_MESSAGE = "expected true or false (YAML 1.1's yes/no/on/off are read as booleans too, with a warning)"

FILE_MODE_PATTERN = "^(0o|0)?[0-7]{3,4}$"
_FILE_MODE_MESSAGE = "must be an octal file mode like '0644', '644' or '0o644'"
# YAML 1.1 reads 04755 as the octal 0o4755; a YAML 1.2 editor reads the decimal 4755. An editor
# therefore sees octal-looking integers up to 7777 where ros-init sees modes up to 0o7777.
_EDITOR_MODE_MAX = 7777

_UNKNOWN_KEY = "unknown key; did you mean `{}`?"


def _map_schema(node: object, fn: Callable[[Schema], Schema]) -> object:
    """A copy of ``node`` with ``fn`` applied to every sub-schema, innermost first.

    Only keyword positions are sub-schemas: a property *named* ``format`` or ``if`` is not
    mistaken for the keyword, and ``enum``/``const``/``default``/``examples`` are data."""
    if not isinstance(node, dict):
        return copy.deepcopy(node)
    out: Schema = {}
    for key, value in node.items():
        if key in _ONE and isinstance(value, dict):
            out[key] = _map_schema(value, fn)
        elif key in _LIST and isinstance(value, list):
            out[key] = [_map_schema(v, fn) for v in value]
        elif key in _MAP and isinstance(value, dict):
            out[key] = {k: _map_schema(v, fn) for k, v in value.items()}
        else:
            out[key] = copy.deepcopy(value)
    return fn(out)


def as_validate_reads(node: Schema) -> Schema:
    """One sub-schema as ``ros-init validate`` judges it, in plain JSON Schema (which has no
    warnings), so that an editor or a CI validator never refuses what validate accepts:

    - a ``pattern`` validate only warns about (``x-severity: warning``: a format cloud-init's
      schema does not check, such as a placeholder SSH key) is left out;
    - a string holding an unrendered template placeholder (``${host}``, ``{{ v1.x }}``)
      passes any other ``pattern`` (validate names it in a warning instead).
    """
    if node.get("x-severity") == "warning":
        return {k: v for k, v in node.items() if k not in ("pattern", "x-message")}
    if isinstance(node.get("pattern"), str):
        from ros_init.config.compat import PLACEHOLDER

        return {**node, "pattern": f"(?:{node['pattern']})|{PLACEHOLDER}"}
    return node


def _strip_x(node: Schema) -> Schema:
    """Without ros-init's keywords; ``x-deprecated`` stays as the standard ``deprecated``
    annotation (JetBrains IDEs strike such keys through; validators only annotate)."""
    out = {k: v for k, v in node.items() if not k.startswith("x-")}
    if node.get("x-deprecated"):
        out["deprecated"] = True
    return out


def _file_mode(node: Schema, integer_max: int, message_key: str | None) -> Schema:
    """The ``file-mode`` format as plain JSON Schema: an octal string, or an integer in range."""
    string: Schema = {"type": "string", "pattern": FILE_MODE_PATTERN}
    if message_key:
        string[message_key] = (node.get("then") or {}).get("x-message", _FILE_MODE_MESSAGE)
    kept = {k: v for k, v in node.items()
            if k not in ("format", "anyOf", "oneOf", "type", "if", "then", "else", "pattern", "minimum", "maximum")}
    kept["anyOf"] = [string, {"type": "integer", "minimum": 0, "maximum": integer_max}]
    return kept


# -- portable ---------------------------------------------------------------------------------
def portable_schema(source: Schema) -> Schema:
    """The schema without ros-init's extensions: loadable by Ajv in its default strict mode
    (``--spec=draft2020``), by python-jsonschema and by any draft 2020-12 validator."""

    def fix(node: Schema) -> Schema:
        node = as_validate_reads(node)
        if node.get("format") == "file-mode":
            node = _file_mode(node, 0o7777, None)
        return _typed_conditional_properties(_typed_branches(_strip_x(node), _types_allowed(node)))

    out = _map_schema(source, fix)
    assert isinstance(out, dict)
    out["$id"] = _variant_id(source, "portable")
    return out


def _typed_conditional_properties(node: Schema) -> Schema:
    """In ``allOf: [{if, then: {properties: {k: {maxLength}}}}]``, give ``k`` the type the
    object's own ``properties`` give it (equivalent: both apply) for Ajv's strictTypes."""
    props = node.get("properties")
    if not isinstance(props, dict) or not isinstance(node.get("allOf"), list):
        return node
    typed = {k: v["type"] for k, v in props.items() if isinstance(v, dict) and isinstance(v.get("type"), str)}

    def fill(branch: object) -> object:
        if not isinstance(branch, dict) or not isinstance(branch.get("properties"), dict):
            return branch
        fixed = {k: {"type": typed[k], **v} if isinstance(v, dict) and k in typed and "type" not in v
                 and "$ref" not in v else v for k, v in branch["properties"].items()}
        return {**branch, "properties": fixed}

    rules = [{**r, **{b: fill(r[b]) for b in ("then", "else") if b in r}} if isinstance(r, dict) else r
             for r in node["allOf"]]
    return {**node, "allOf": rules}


def _types_allowed(node: Schema) -> list[str] | None:
    """The JSON types a node admits when it says so plainly (``type``, or anyOf of typed branches)."""
    t = node.get("type")
    if isinstance(t, str):
        return [t]
    if isinstance(t, list):
        return list(t)
    branches = node.get("anyOf")
    if isinstance(branches, list) and branches and all(isinstance(b, dict) and isinstance(b.get("type"), str)
                                                       for b in branches):
        return [b["type"] for b in branches]
    return None


def _typed_branches(node: Schema, allowed: list[str] | None) -> Schema:
    """``if: {type: X}`` then/else branches with the type they apply to written out.

    Equivalent (a then-branch only sees X; an else-branch only the one other type the node
    allows) and it spares Ajv's strictTypes its "missing type" notes at load time."""
    cond = node.get("if")
    if not (isinstance(cond, dict) and set(cond) == {"type"} and isinstance(cond["type"], str)):
        return node
    out = dict(node)
    then, other = out.get("then"), out.get("else")
    if isinstance(then, dict) and "type" not in then:
        out["then"] = {"type": cond["type"], **then}
    rest = [t for t in allowed or [] if t != cond["type"]]
    if isinstance(other, dict) and "type" not in other and rest:
        out["else"] = {"type": rest[0], **other} if len(rest) == 1 else _typed_branches(other, rest)
    return out


# -- editor -----------------------------------------------------------------------------------
def editor_schema(source: Schema) -> Schema:
    """The schema for yaml-language-server and the editors built on it (see docs/editors.md)."""

    def fix(node: Schema) -> Schema:
        node = as_validate_reads(node)
        if node.get("format") == "file-mode":
            node = _file_mode(node, _EDITOR_MODE_MAX, "patternErrorMessage")
        node = _yaml11_scalars(node)
        node = _messages(node)
        node = _dependent_required(node)
        node = _did_you_mean(node)
        return _annotations(node)

    # x-* go last: _did_you_mean reads x-deprecated and x-alias-of on the properties it is given.
    out = _map_schema(_map_schema(source, fix), _strip_x)
    assert isinstance(out, dict)
    out["$id"] = _variant_id(source, "editor")
    for path, snippets in DEFAULT_SNIPPETS.items():
        target = _at(out, path)
        if target is not None:  # the settings schema has none of these blocks
            target["defaultSnippets"] = copy.deepcopy(snippets)
    return out


def _variant_id(source: Schema, variant: str) -> str:
    sid = source.get("$id", "")
    return sid[: -len(".json")] + f".{variant}.json" if sid.endswith(".json") else sid


def _at(root: Schema, pointer: str) -> Schema | None:
    node: Any = root
    for part in pointer.lstrip("#/").split("/"):
        node = node.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(node, dict) else None
    return node


def _yaml11_scalars(node: Schema) -> Schema:
    """Accept as strings the YAML 1.1 booleans and integers that a YAML 1.2 editor reads as strings.

    ``lock_passwd: no`` is ``false`` for cloud-init and ros-init (with a warning), and the
    string "no" for the editor: the editor must not call it an error. Likewise ``1_000``."""
    t = node.get("type")
    types = t if isinstance(t, list) else [t] if isinstance(t, str) else []
    plain = "string" not in types and not {"pattern", "enum", "const"} & node.keys()
    if plain and "boolean" in types:
        # errorMessage too: a wrong type must not read "Expected one of boolean, string"
        return {**node, "type": [*types, "string"], "pattern": _YAML11_BOOL_PATTERN,
                "patternErrorMessage": _BOOL_MESSAGE, "errorMessage": _BOOL_MESSAGE}
    if plain and "integer" in types:  # 1_000, 0b101, 1:30 (sexagesimal) are integers in YAML 1.1 only
        return {**node, "type": [*types, "string"], "pattern": _YAML11_INT_PATTERN,
                "patternErrorMessage": "expected an integer", "errorMessage": "expected an integer"}
    key = "enum" if "enum" in node else "const" if "const" in node else None
    if key is None:
        return node
    values = node[key] if key == "enum" else [node[key]]
    bools = [v for v in values if isinstance(v, bool)]
    words = [w for w in (YAML11_TRUE if True in bools else ()) + (YAML11_FALSE if False in bools else ())
             if w not in values]
    if not words:
        return node
    # enum/const OR one of the words; as a separate alternative, so that completion does not
    # offer the words next to true and false.
    out = {k: v for k, v in node.items() if k != key}
    either = {"anyOf": [{key: node[key]}, {"type": "string", "pattern": "^(?:" + "|".join(words) + ")$"}]}
    out["allOf"] = [*out.get("allOf", []), either]
    return out


def _messages(node: Schema) -> Schema:
    """ros-init's ``x-message`` where the editor shows its own (``String does not match...``)."""
    msg = node.get("x-message")
    if not msg:
        return node
    key = "patternErrorMessage" if "pattern" in node else "errorMessage"
    return {**node, key: msg}


def _dependent_required(node: Schema) -> Schema:
    """``dependentRequired`` as if/then: yaml-language-server before 1.20 ignores the keyword."""
    deps = node.get("dependentRequired")
    if not isinstance(deps, dict):
        return node
    rules = [{"if": {"required": [k]}, "then": {"required": list(v)}} for k, v in deps.items()]
    out = {k: v for k, v in node.items() if k != "dependentRequired"}
    out["allOf"] = [*out.get("allOf", []), *rules]
    return out


def _js_escape(text: str) -> str:
    """Escape for a regex read by both Python and ECMAScript with the ``u`` flag (where
    needless escapes such as ``\\-`` are syntax errors)."""
    return "".join("\\" + c if c in "\\^$.|?*+()[]{}/" else c for c in text)


def near_misses(key: str) -> str:
    """A regex alternation of the names one edit away from ``key`` (a character dropped, added,
    replaced or two swapped) and of ``key`` in other case or with '-' for '_' (what ``validate``'s
    "did you mean" finds, to the precision a regex allows). It matches ``key`` itself too."""
    e = _js_escape
    alts: dict[str, None] = {}
    n = len(key)
    for i in range(n):
        # character i dropped, replaced, or with one more character before or after it
        alts[e(key[:i]) + ".{0,2}" + e(key[i + 1:])] = None
    for i in range(n - 1):
        if key[i] != key[i + 1]:
            alts[e(key[:i]) + e(key[i + 1]) + e(key[i]) + e(key[i + 2:])] = None
    folded = "".join("[-_]" if c in "-_" else f"[{c.lower()}{c.upper()}]" if c.lower() != c.upper() else e(c)
                     for c in key)
    alts[folded] = None
    return "|".join(alts)


def _did_you_mean(node: Schema) -> Schema:
    """For a closed object: a misspelled key is refused with ros-init's "did you mean" wording.

    yaml-language-server says only "Property X is not allowed". The near misses of the known
    keys are matched by ``patternProperties`` (so not reported as extra properties) and refused
    by ``propertyNames`` patterns whose message names the key meant; a deprecated alias points
    to the key it stands for. Keys shorter than 3 get no near misses (too many false friends)."""
    props = node.get("properties")
    if node.get("additionalProperties") is not False or not isinstance(props, dict) or not props:
        return node
    known = list(props)
    for sub in node.get("allOf", ()):
        if isinstance(sub, dict):
            known += [k for k in sub.get("properties", {}) if k not in known]
    names, patterns = [], []
    for key, sub in props.items():
        if len(key) < 3:
            continue
        meant = sub.get("x-alias-of", key) if isinstance(sub, dict) and "x-deprecated" in sub else key
        near = near_misses(key)
        names.append({"pattern": f"^(?!(?:{near})$)", "patternErrorMessage": _UNKNOWN_KEY.format(meant)})
        patterns.append(near)
    if not names:
        return node
    out = dict(node)
    not_known = "(?!(?:" + "|".join(_js_escape(k) for k in known) + ")$)"
    out["patternProperties"] = {**node.get("patternProperties", {}),
                                f"^{not_known}(?:{'|'.join(patterns)})$": True}
    rule: Schema = {"if": {"enum": known}, "else": {"allOf": names}}
    existing = node.get("propertyNames")
    out["propertyNames"] = {"allOf": [existing, rule]} if existing else rule
    return out


def _annotations(node: Schema) -> Schema:
    """``markdownDescription`` for hover and completion; ``doNotSuggest`` on keys that do not act."""
    desc = node.get("description")
    ignored, deprecated = node.get("x-ignored"), node.get("x-deprecated")
    facts = []
    if ignored:
        facts.append(f"**Ignored by ros-init** (a warning names it): {ignored}.")
    if deprecated:
        facts.append(f"**Deprecated** (a warning names it): {deprecated}.")
    details = []
    if "default" in node and "Default" not in (desc or ""):
        details.append(f"Default: `{json.dumps(node['default'])}`")
    if node.get("x-phase"):
        details.append(f"Phase: {node['x-phase']}")
    if node.get("x-secret"):
        details.append("Secret: never printed in findings, logs or status")
    if node.get("x-merge"):
        details.append(f"Merge: {node['x-merge']}")
    if not (desc or facts):
        return node
    out = dict(node)
    parts = [*facts, desc or ""]
    if details:
        parts.append(" · ".join(details))
    out["markdownDescription"] = "\n\n".join(p for p in parts if p)
    # A key that is ignored or a deprecated spelling is accepted but not offered. (hashed_passwd
    # is an x-alias-of passwd but not deprecated: it has its own meaning, and stays offered.)
    if ignored or deprecated:
        out["doNotSuggest"] = True
    return out


def _snippet(label: str, description: str, body: object) -> dict:
    return {"label": label, "description": description, "body": body}


# Completion snippets for the blocks people type most. Placeholders are ${n:default}; every
# body, placeholders replaced by their defaults, passes `ros-init validate` (tested).
DEFAULT_SNIPPETS: dict[str, list[dict]] = {
    "#/$defs/usersItem": [
        _snippet("user with SSH keys and sudo", "An admin account: key login, passwordless sudo, password locked.", {
            "name": "${1:rancher}",
            "groups": ["${2:wheel}"],
            "sudo": "${3:ALL=(ALL) NOPASSWD:ALL}",
            "shell": "${4:/bin/bash}",
            "lock_passwd": True,
            "ssh_authorized_keys": ["${5:ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample user@host}"],
        }),
    ],
    "#/$defs/rancherd": [
        _snippet("rancherd server", "A server joining an existing cluster.", {
            "role": "server",
            "server": "${1:https://10.0.0.10:8443}",
            "token": "${2:token}",
            "kubernetesVersion": "${3:v1.21.5+rke2r2}",
        }),
        _snippet("rancherd agent", "A worker joining an existing cluster.", {
            "role": "agent",
            "server": "${1:https://10.0.0.10:8443}",
            "token": "${2:token}",
        }),
    ],
    "#/$defs/netEthernet": [
        _snippet("static address", "A fixed address, default route and DNS servers.", {
            "addresses": ["${1:192.168.1.10/24}"],
            "routes": [{"to": "default", "via": "${2:192.168.1.1}"}],
            "nameservers": {"addresses": ["${3:192.168.1.1}"]},
        }),
    ],
    "#/$defs/writeFile": [
        _snippet("file", "A file with its owner and mode.", {
            "path": "${1:/etc/motd}",
            "content": "${2:Welcome}",
            "owner": "${3:root:root}",
            "permissions": "${4:0644}",
        }),
    ],
}
