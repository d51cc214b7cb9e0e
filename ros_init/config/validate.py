"""Validation of configs against the schema, with findings a person can act on.

This is ros-init's own interpreter of the JSON Schema keywords that ``schemas/`` uses
(checked against ``jsonschema`` by the test suite on every corpus file and on generated
documents). It exists for two reasons: a valid config is checked without importing
``jsonschema`` (cold ``ros-init validate`` stays fast, and so does every boot), and errors
are explained for people: the exact key or value, expected vs found, "did you mean", the
YAML 1.1 traps (``0644``, ``no``), and never the value of a secret field.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ros_init.config.compat import FOREIGN_SECTIONS, header_kind, template_placeholder
from ros_init.config.redact import looks_secret
from ros_init.config.schema import SchemaWalker, load_schema, schema_pattern
from ros_init.config.yamlsource import BinaryText, ParsedDocument, join_path, load_document
from ros_init.core.findings import Finding, Location

_TYPE_NAMES = {
    "string": "a string", "integer": "an integer", "number": "a number", "boolean": "true or false",
    "null": "an empty value", "array": "a list", "object": "a mapping",
}
_MAX_UNKNOWN_KEYS = 50  # per mapping; a hostile file with 100k keys must not cost minutes
_YAML11_BOOLS = {"yes", "no", "on", "off", "y", "n"}


class _Err:
    """An internal finding before it is located; ``expected`` is set for type mismatches."""

    __slots__ = ("path", "code", "message", "at_key", "severity", "expected")

    def __init__(self, path: str, code: str, message: str, *, at_key: bool = False,
                 severity: str = "error", expected: tuple[str, ...] = ()) -> None:
        self.path, self.code, self.message = path, code, message
        self.at_key, self.severity, self.expected = at_key, severity, expected


def _type_of(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__  # date, datetime, bytes (YAML timestamps and !!binary)


def _is_type(value: object, t: str) -> bool:
    vt = _type_of(value)
    return vt == t or (t == "number" and vt == "integer")


def _show(value: object, limit: int = 40) -> str:
    text = value if isinstance(value, str) else repr(value)
    if isinstance(value, bool):
        text = "true" if value else "false"
    text = text.replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe(value: object, secret: bool) -> str:
    t = _type_of(value)
    if t == "null":
        return "an empty value (the key has nothing after it)"
    if t in ("array", "object"):
        return _TYPE_NAMES[t]
    if t in ("date", "datetime"):
        return "a date" if secret else f"the date {value}"
    if t == "bytes":
        return "binary data (!!binary)"
    name = {"string": "the string", "integer": "the integer", "number": "the number", "boolean": "the boolean"}[t]
    if secret:
        return _TYPE_NAMES.get(t, t)
    return f"{name} `{_show(value)}`" if t == "string" else f"{name} {_show(value)}"


_HOSTNAME = re.compile(r"(?=.{1,253}\Z)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?\Z")
_MODE_STR = re.compile(r"(0o?)?[0-7]{3,4}\Z")


def _check_format(fmt: str, value: object, raw: str | None) -> tuple[str, str] | None:
    """(severity, message) when ``value`` does not have format ``fmt``."""
    if fmt == "file-mode":
        if isinstance(value, str):
            if not _MODE_STR.match(value):
                return "error", f"`{_show(value)}` is not an octal file mode: write it like '0644' or '0o600'"
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            if raw is not None and re.fullmatch(r"0[0-7]+", raw):
                return ("warning", f"`{raw}` is read by YAML 1.1 as octal (mode {raw}) but by YAML 1.2 tools as the decimal"
                        f" number {raw.lstrip('0') or '0'}: quote it: '{raw}'")
            if raw is not None and raw.startswith("0o"):
                return None
            shown = raw if raw is not None else str(value)
            if re.fullmatch(r"[0-7]{3,4}", shown):
                meant = "0" + shown  # 644 was meant as 0644
            elif 0 <= value <= 0o7777:
                meant = "0" + oct(value)[2:]  # 420 is 0644 computed in decimal
            else:
                meant = "0644"
            return ("error", f"`{shown}` is a decimal number (mode {oct(value)}), not an octal mode:"
                    f" write the mode as a quoted octal string: '{meant}'")
        return None
    if fmt == "hostname" and isinstance(value, str) and not _HOSTNAME.match(value):  # match + \Z: whole string
        return "error", (f"`{_show(value)}` is not a valid host name: letters, digits and '-' only, labels of 1-63"
                         " characters separated by dots, not starting or ending with '-'")
    if fmt in ("ipv4", "ipv6") and isinstance(value, str):
        import ipaddress

        try:
            addr = ipaddress.ip_address(value)
        except ValueError:
            return "error", f"`{_show(value)}` is not an {fmt.upper()} address"
        if (fmt == "ipv4") != (addr.version == 4):
            return "error", f"`{_show(value)}` is not an {fmt.upper()} address"
    return None


def _pattern_hint(pattern: str) -> str:
    if pattern == "^/":
        return "must be an absolute path (starting with /)"
    return f"does not have the expected form (pattern {pattern})"


class Validator:
    """Checks one document against one schema; produces located findings."""

    def __init__(self, schema_root: dict, doc: ParsedDocument) -> None:
        self.walker = SchemaWalker(schema_root)
        self.doc = doc

    def run(self) -> list[Finding]:
        errs = self.check(self.doc.data, self.walker.root, "", False)
        # Where a format check failed, it explains better than the pattern that encodes it.
        formats = {e.path for e in errs if e.code == "format" and e.severity == "error"}
        errs = [e for e in errs if not (e.code == "pattern" and e.path in formats)]
        seen: set[tuple[str, str, str]] = set()
        out = []
        for e in errs:  # alternatives and allOf branches can report the same thing twice
            if (e.path, e.code, e.message) not in seen:
                seen.add((e.path, e.code, e.message))
                out.append(self._locate(e))
        return out

    def _locate(self, e: _Err) -> Finding:
        loc = self.doc.location(e.path, key=e.at_key)
        return Finding(e.severity, e.code, e.path, e.message, loc)  # type: ignore[arg-type]

    # -- the interpreter ------------------------------------------------------------------
    def check(self, value: object, node: object, path: str, secret: bool) -> list[_Err]:
        n = self.walker.deref(node)
        secret = secret or bool(n.get("x-secret"))
        if isinstance(value, BinaryText) and not n.get("x-binary"):
            value = value.as_bytes()  # `!!binary` is bytes for cloud-init too; only x-binary keys take it
        errs: list[_Err] = []
        if "x-ignored" in n:
            key = path.rsplit(".", 1)[-1]
            return [_Err(path, "ignored", f"`{key}` is accepted but ignored by ros-init: {n['x-ignored']}",
                         at_key=True, severity="warning")]
        if "x-warning" in n:
            errs.append(_Err(path, "warning", n["x-warning"], severity="warning"))
        if "x-deprecated" in n:
            errs.append(_Err(path, "deprecated", f"deprecated: {n['x-deprecated']}", at_key=True, severity="warning"))
        t = n.get("type")
        if t is not None:
            allowed = t if isinstance(t, list) else [t]
            if not any(_is_type(value, a) for a in allowed):
                return errs + [self._type_error(value, tuple(allowed), path, secret)]
        if "const" in n and not _equal(value, n["const"]):
            shown = "" if secret else f", found `{_show(value)}`"
            errs.append(_Err(path, "const", f"must be `{_show(n['const'])}`{shown}"))
        if "enum" in n and not any(_equal(value, e) for e in n["enum"]):
            errs.append(self._enum_error(value, n["enum"], path, secret))
        vt = _type_of(value)
        if vt == "string":
            errs.extend(self._check_string(value, n, path, secret))  # type: ignore[arg-type]
        elif vt in ("integer", "number"):
            errs.extend(self._check_number(value, n, path))  # type: ignore[arg-type]
        elif vt == "array":
            errs.extend(self._check_array(value, n, path, secret))  # type: ignore[arg-type]
        elif vt == "object":
            errs.extend(self._check_object(value, n, path, secret))  # type: ignore[arg-type]
        if "format" in n and vt in ("string", "integer"):
            bad = _check_format(n["format"], value, self.doc.plain_scalars.get(path))
            if bad and template_placeholder(value):
                errs.append(_template_warning(value, n, path, secret))
            elif bad:
                sev, msg = bad
                if secret:
                    msg = f"not a valid {n['format']}"
                errs.append(_Err(path, "format", msg, severity=sev))
        if vt == "boolean" and path in self.doc.plain_scalars and t is not None and "boolean" in (t if isinstance(t, list) else [t]):
            raw = self.doc.plain_scalars[path]
            if raw.lower() in _YAML11_BOOLS and not secret:
                errs.append(_Err(path, "yaml11-bool", f"`{raw}` is read by YAML 1.1 as {_show(value)} but as the string"
                                 f" \"{raw}\" by YAML 1.2 tools: write {_show(value)}", severity="warning"))
        for sub in n.get("allOf", ()):
            errs.extend(self.check(value, sub, path, secret))
        for comb in ("anyOf", "oneOf"):
            if comb in n:
                errs.extend(self._check_alternatives(value, n[comb], path, secret, comb == "oneOf"))
        # an unrendered template (`${user}`) cannot be judged by what it must not be
        if "not" in n and not template_placeholder(value) and not _has_errors(self.check(value, n["not"], path, secret)):
            errs.append(_Err(path, "not", n.get("x-not-message") or "this value is not allowed here"))
        if "if" in n:
            if _has_errors(self.check(value, n["if"], path, secret)):
                if "else" in n:
                    errs.extend(self._because(self.check(value, n["else"], path, secret), value, n["if"], negated=True))
            elif "then" in n:
                errs.extend(self._because(self.check(value, n["then"], path, secret), value, n["if"], negated=False))
        return errs

    def _because(self, errs: list[_Err], value: object, cond: dict, negated: bool) -> list[_Err]:
        """Add the reason of a conditional rule ("because role is agent") to its errors."""
        cond = self.walker.deref(cond)
        reasons = []
        if isinstance(value, dict):
            for key, sub in cond.get("properties", {}).items():
                if key in value and not isinstance(value[key], (dict, list)):
                    sub = self.walker.deref(sub)
                    if sub.get("x-secret") or looks_secret(key) and not isinstance(value[key], bool):
                        continue  # never a secret's value, not even in a reason
                    if "const" in sub or "enum" in sub:
                        reasons.append(f"`{key}` is {_show(value[key])}")
        if reasons and not negated:
            for e in errs:
                if e.severity == "error":
                    e.message += f" (because {' and '.join(reasons)})"
        return errs

    def _type_error(self, value: object, expected: tuple[str, ...], path: str, secret: bool) -> _Err:
        return _Err(path, "type", self._type_message(value, expected, path, secret), expected=expected)

    def _type_message(self, value: object, expected: tuple[str, ...], path: str, secret: bool) -> str:
        names = [_TYPE_NAMES.get(x, x) for x in dict.fromkeys(expected)]
        if "number" in expected and "integer" in expected:
            names.remove(_TYPE_NAMES["integer"])
        want = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
        msg = f"expected {want}, found {_describe(value, secret)}"
        if "boolean" in expected and _type_of(value) == "integer" and value in (0, 1) and not secret:
            # `ssh_pwauth: 1`: the fix is the boolean, not quoting the number
            return f"{msg}: write {'true' if value else 'false'} (YAML reads {value} as a number, not a boolean)"
        raw = self.doc.plain_scalars.get(path)
        if raw is not None:
            shown = "the value" if secret else f"`{raw}`"
            vt = _type_of(value)
            if vt == "integer" and re.fullmatch(r"0[0-7]+", raw):
                why = f"YAML 1.1 reads {shown} as an octal number"
            elif vt == "boolean":
                why = f"YAML 1.1 reads {shown} as the boolean {_show(value)}"
            elif vt == "null":
                why = f"YAML reads {shown} as an empty value"
            elif vt in ("date", "datetime"):
                why = f"YAML reads {shown} as a date"
            else:
                why = f"YAML reads {shown} as a number"
            if "string" in expected:
                msg = f"{msg}: {why}; quote {'it' if secret else repr(raw)} to keep it a string"
            else:
                msg = f"{msg} ({why})"
        return msg

    def _enum_error(self, value: object, enum: list, path: str, secret: bool) -> _Err:
        choices = ", ".join(f"`{_show(e)}`" for e in enum[:12]) + (", ..." if len(enum) > 12 else "")
        msg = f"must be one of {choices}"
        if not secret:
            msg += f"; found `{_show(value)}`"
            if isinstance(value, str):
                hint = _did_you_mean(value, [e for e in enum if isinstance(e, str)])
                if hint:
                    msg += f"; did you mean `{hint}`?"
        return _Err(path, "enum", msg)

    def _check_string(self, value: str, n: dict, path: str, secret: bool) -> list[_Err]:
        errs = []
        if "minLength" in n and len(value) < n["minLength"]:
            errs.append(_Err(path, "length", "must not be empty" if n["minLength"] == 1 else
                             f"must be at least {n['minLength']} characters long"))
        if "maxLength" in n and len(value) > n["maxLength"]:
            errs.append(_Err(path, "length", f"must be at most {n['maxLength']} characters long (found {len(value)})"))
        if "pattern" in n and not schema_pattern(n["pattern"]).search(value):
            if template_placeholder(value):
                errs.append(_template_warning(value, n, path, secret))
                return errs
            msg = n.get("x-message") or _pattern_hint(n["pattern"])
            if not secret:
                msg = f"`{_show(value)}` {msg}" if not n.get("x-message") else f"{msg} (found `{_show(value)}`)"
            # x-severity: a format check cloud-init's schema does not make is a warning here
            # (an error under --strict), said with what it would do at boot.
            errs.append(_Err(path, "pattern", msg, severity=n.get("x-severity", "error")))
        return errs

    def _check_number(self, value: float, n: dict, path: str) -> list[_Err]:
        errs = []
        for kw, ok, word in (("minimum", lambda a, b: a >= b, ">="), ("maximum", lambda a, b: a <= b, "<="),
                             ("exclusiveMinimum", lambda a, b: a > b, ">"), ("exclusiveMaximum", lambda a, b: a < b, "<")):
            if kw in n and not ok(value, n[kw]):
                errs.append(_Err(path, "range", f"must be {word} {n[kw]}, found {value}"))
        return errs

    def _check_array(self, value: list, n: dict, path: str, secret: bool) -> list[_Err]:
        errs = []
        if "minItems" in n and len(value) < n["minItems"]:
            errs.append(_Err(path, "length", "must not be an empty list" if n["minItems"] == 1 else
                             f"needs at least {n['minItems']} items (found {len(value)})"))
        if "maxItems" in n and len(value) > n["maxItems"]:
            errs.append(_Err(path, "length", f"takes at most {n['maxItems']} items (found {len(value)})"))
        if n.get("uniqueItems"):
            seen: list[object] = []
            for i, item in enumerate(value):
                for j, prev in enumerate(seen):
                    if _equal(item, prev):
                        what = "" if secret else f" `{_show(item)}`"
                        errs.append(_Err(join_path(path, i), "duplicate", f"duplicate item{what} (same as item {j})"))
                        break
                seen.append(item)
        if n.get("x-merge") == "keyed":
            errs.extend(_duplicate_entries(value, str(n.get("x-merge-key") or "name"), path))
        items = n.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                errs.extend(self.check(item, items, join_path(path, i), secret))
        return errs

    def _check_object(self, value: dict, n: dict, path: str, secret: bool) -> list[_Err]:
        errs = []
        props = n.get("properties", {})
        for req in n.get("required", ()):
            if req not in value:
                errs.append(_Err(path, "required", f"missing required key `{req}`", at_key=True))
        for key, deps in n.get("dependentRequired", {}).items():
            if key in value:
                for d in deps:
                    if d not in value:
                        errs.append(_Err(join_path(path, key), "required", f"`{key}` also needs `{d}`", at_key=True))
        if "minProperties" in n and len(value) < n["minProperties"]:
            errs.append(_Err(path, "length", "must not be empty"))
        patterns = n.get("patternProperties", {})
        additional = n.get("additionalProperties", True)
        unknown = 0
        for key, item in value.items():
            child = join_path(path, key)
            # every branch of a secret-named key (a flag such as lock_passwd holds no secret)
            sub_secret = secret or (looks_secret(key) and not isinstance(item, bool | int | float))
            if key in props:
                errs.extend(self.check(item, props[key], child, sub_secret))
                continue
            matched = False
            for pat, sub in patterns.items():
                if schema_pattern(pat).search(key):
                    matched = True
                    errs.extend(self.check(item, sub, child, sub_secret))
            if matched:
                continue
            if additional is False:
                if not _allowed_elsewhere(self.walker, n, key):
                    unknown += 1
                    if unknown <= _MAX_UNKNOWN_KEYS:  # each one costs a "did you mean" search
                        errs.append(self._unknown_key(key, props, child, n))
            elif isinstance(additional, dict):
                errs.extend(self.check(item, additional, child, sub_secret))
        if unknown > _MAX_UNKNOWN_KEYS:
            errs.append(_Err(path, "unknown-key", f"{unknown - _MAX_UNKNOWN_KEYS} more unknown keys not listed"))
        return errs

    def _unknown_key(self, key: str, props: dict, child: str, n: dict) -> _Err:
        if child == key and key in FOREIGN_SECTIONS:
            return _Err(child, "unknown-key", FOREIGN_SECTIONS[key], at_key=True)
        hint = _did_you_mean(key, list(props))
        if not hint and (n.get("x-key-message") or not props and n.get("patternProperties")):
            # keys are names or follow a form (users by name, bond parameters): say the form
            what = n.get("x-key-message") or "does not have the form of the keys allowed here"
            return _Err(child, "unknown-key", f"`{_show(key)}` {what}", at_key=True)
        known = [k for k in props if "x-ignored" not in self.walker.deref(props[k])] or list(props)
        if hint:
            msg = f"unknown key `{key}`; did you mean `{hint}`?"
        elif len(known) <= 12:
            msg = f"unknown key `{key}`; allowed here: {', '.join(f'`{k}`' for k in known)}"
        else:
            msg = f"unknown key `{key}` (see `ros-init schema` or docs/config-reference.md for the keys allowed here)"
        return _Err(child, "unknown-key", msg, at_key=True)

    def _check_alternatives(self, value: object, alts: list, path: str, secret: bool, one: bool) -> list[_Err]:
        results = [self.check(value, alt, path, secret) for alt in alts]
        passing = [r for r in results if not _has_errors(r)]
        if passing:
            if one and len(passing) > 1:
                return [_Err(path, "ambiguous", "matches more than one of the allowed forms")]
            return passing[0]
        # No alternative fits. If the value's type fits some alternatives, the best of those
        # (fewest errors) is what the author meant; otherwise it is one type error.
        typed = [r for r in results if not any(e.code == "type" and e.path == path for e in r)]
        if typed:
            return min(typed, key=lambda r: sum(e.severity == "error" for e in r))
        expected: list[str] = []
        for r in results:
            for e in r:
                if e.code == "type" and e.path == path:
                    expected.extend(e.expected)
        return [self._type_error(value, tuple(expected), path, secret)]


def _template_warning(value: str, n: dict, path: str, secret: bool) -> _Err:
    """A value that fails its format because it still holds ``${x}`` / ``{{ x }}``: cloud-init
    accepts it (its schema checks no format there), so it is a warning that names the cause."""
    shown = "" if secret else f" `{_show(template_placeholder(value) or '')}`"
    msg = (f"looks like an unrendered template variable{shown}: render it before boot, or make the user-data"
           " a `## template: jinja` document")
    if n.get("x-at-boot"):
        msg += f"; as it is, {n['x-at-boot']}"
    return _Err(path, "template", msg, severity="warning")


def _duplicate_entries(items: list, key: str, path: str) -> list[_Err]:
    """Warnings for a second entry with the same key in one list (two `alice` users, one
    path written twice): merging keeps one entry per key, so the later one silently wins
    over the earlier; an ``append: true`` file item is a deliberate second entry."""
    errs = []
    first: dict[object, int] = {}
    for i, item in enumerate(items):
        k = item.get(key) if isinstance(item, dict) else None
        if not isinstance(k, str) or (isinstance(item, dict) and item.get("append") is True):
            continue
        k = k.strip()
        if k in first:
            errs.append(_Err(join_path(path, i), "duplicate", f"a second entry for `{_show(k)}` (first: item {first[k]}):"
                             " the two are merged and this one's values win", severity="warning"))
        else:
            first[k] = i
    return errs


def _allowed_elsewhere(walker: SchemaWalker, n: dict, key: str) -> bool:
    """True when an allOf/if-then branch of the same object declares ``key``."""
    for comb in ("allOf",):
        for sub in n.get(comb, ()):
            if key in walker.deref(sub).get("properties", {}):
                return True
    return False


def _has_errors(errs: list[_Err]) -> bool:
    return any(e.severity == "error" for e in errs)


def _equal(a: object, b: object) -> bool:
    """JSON equality: true != 1, 1 == 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return a == b


def _did_you_mean(word: str, choices: list[str]) -> str | None:
    if not choices:
        return None
    lowered = {c.lower().replace("-", "_"): c for c in choices}
    norm = word.lower().replace("-", "_")
    if norm in lowered:
        return lowered[norm]
    import difflib

    best = difflib.get_close_matches(word, choices, n=1, cutoff=0.6 if len(word) <= 4 else 0.75)
    return best[0] if best else None


# -- documents and files ---------------------------------------------------------------------
def header_findings(text_first_line: str, source: str) -> list[Finding]:
    """The ``#cloud-config`` first line: missing is a warning, misspelled an error.

    The rule is cloud-init's: a case-insensitive prefix after leading whitespace, so
    ``#Cloud-Config`` and ``#cloud-config (1)`` are headers and ``# cloud-config`` is not.
    """
    line = text_first_line.strip()
    loc = Location(source, 1, 1)
    if header_kind(line) == "cloud-config":
        return []
    if line.startswith("#!"):
        return [Finding("error", "header", "", "this is a script (#!), not a cloud-config: scripts are run as"
                        " user-data by the commands stage, and cannot be validated", loc)]
    if line.startswith("#"):
        squashed = re.sub(r"[\s_\-]", "", line[1:].lower())
        import difflib

        if squashed in ("cloudconfig", "cloudinit", "cloudconf", "cloudcfg") or \
                difflib.SequenceMatcher(None, squashed, "cloudconfig").ratio() >= 0.75:
            return [Finding("error", "header", "", f"the first line `{line[:40]}` is not the header `#cloud-config`"
                            " exactly: cloud-init and RancherOS v2 would ignore the whole file", loc)]
    return [Finding("warning", "header", "", "no `#cloud-config` first line: cloud-init and RancherOS v2 ignore a user-data"
                    " file without it (ros-init's drop-in files in /oem may omit it)", loc)]


def validate_document(doc: ParsedDocument, schema: str = "cloud-config", *, first_line: str | None = None) -> list[Finding]:
    """All findings for a parsed document (its parse findings included), sorted by position."""
    findings = list(doc.findings)
    if schema == "cloud-config" and first_line is not None:
        findings.extend(header_findings(first_line, doc.source))
    if doc.ok:
        if doc.data is None:
            findings.append(Finding("warning", "empty", "", "the document is empty: nothing to configure",
                                    Location(doc.source, 1, 1)))
        elif not isinstance(doc.data, dict):
            findings.append(Finding("error", "type", "", "the top level must be a mapping of keys (like"
                                    f" `hostname: node1`), found {_describe(doc.data, True)}", doc.location("")))
        else:
            validator = Validator(load_schema(schema), doc)
            found = validator.run()
            if any(f.code == "unknown-key" for f in found):  # maybe a key that lost its indent
                from ros_init.config.indent import explain_indentation, schema_allows

                found = explain_indentation(found, doc.data, doc.key_positions, schema_allows(validator.walker, doc.data))
            findings.extend(found)
            if schema == "cloud-config":
                findings.extend(_merge_how_findings(doc))
    return sort_findings(findings)


def _merge_how_findings(doc: ParsedDocument) -> list[Finding]:
    """A merge directive cloud-init would refuse is an error here too (the user-data would
    not be used at boot)."""
    out = []
    for key in ("merge_how", "merge_type"):
        value = doc.data.get(key) if isinstance(doc.data, dict) else None
        if value is None:
            continue
        from ros_init.config import mergehow

        try:
            mergehow.parse(value)
        except mergehow.MergeHowError as exc:
            out.append(Finding("error", "merge-how", key, str(exc), doc.location(key)))
    return out


def validate_data(data: object, positions: dict[str, Location] | None, source: str,
                  schema: str = "cloud-config", *, key_positions: dict[str, Location] | None = None,
                  plain_scalars: dict[str, str] | None = None) -> list[Finding]:
    """Findings for already-parsed data (merged configs, settings), located when positions are
    known; ``plain_scalars`` (unquoted scalars as written) give YAML 1.1 values their meaning
    (``permissions: 0644`` is mode 0644 with a warning, as in ``validate`` of the file)."""
    doc = ParsedDocument(source, data)
    if positions:
        doc.positions.update(positions)
    if key_positions:
        doc.key_positions.update(key_positions)
    if plain_scalars:
        doc.plain_scalars.update(plain_scalars)
    return validate_document(doc, schema)


def validate_bytes(raw: bytes, source: str, schema: str = "cloud-config",
                   semantic: Callable[[ParsedDocument, list[Finding]], list[Finding]] | None = None) -> list[Finding]:
    """Findings for one file. ``semantic`` checks a document the schema accepts further (the
    stages' ``parse``, handed in by the CLI: the config layer does not import the stages),
    given the findings of this check so that it does not repeat it."""
    head = raw[:64].lstrip(b"\xef\xbb\xbf")
    kind = header_kind(head) if schema == "cloud-config" else "cloud-config"
    if kind not in (None, "cloud-config", "script") or (kind is None and _mime_like(raw)):
        from ros_init.config.validate_parts import validate_userdata

        other = validate_userdata(raw, source)  # archive, jsonp, include, template, boothook
        if other is not None:
            return sort_findings(other)
    doc = load_document(raw, source)
    first = None
    if schema == "cloud-config":
        first = raw.lstrip().split(b"\n", 1)[0].decode("utf-8", "replace").lstrip("\ufeff") if raw.strip() else None
    findings = validate_document(doc, schema, first_line=first)
    if semantic is not None and isinstance(doc.data, dict) and not any(
            f.severity == "error" and f.code != "required" for f in findings):
        # ``semantic`` is what run checks (the file, then the merge of it); the file's own
        # findings that run decides on the merged config alone (required keys) come from it.
        extra = semantic(doc, findings)
        findings = sort_findings([f for f in findings if f.code != "required" or f in extra]
                                 + [f for f in extra if f not in findings])
    return findings


def _mime_like(raw: bytes) -> bool:
    """MIME user-data, or headers that are refused as such (``config.parts``: the decoder's test)."""
    from ros_init.config.parts import is_mime, mime_refusal

    return is_mime(raw) or mime_refusal(raw) is not None


def sort_findings(findings: list[Finding]) -> list[Finding]:
    def key(f: Finding) -> tuple:
        loc = f.location
        return (loc is None, loc.file if loc else "", loc.line if loc else 0, loc.column if loc else 0)

    return sorted(findings, key=key)
