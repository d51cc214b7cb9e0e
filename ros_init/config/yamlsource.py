"""YAML text -> data, the position of every key and value, and findings.

PyYAML's composer gives nodes with marks; we build the Python data ourselves from the
nodes so that we can (a) record where each element is (``users[0].name`` -> line:col),
(b) report duplicate keys instead of silently keeping the last one, (c) refuse alias bombs,
deep nesting and oversized input before they cost memory or crash the C parser (libyaml's
composer recurses on the C stack: 100 000 nested brackets segfault it), and (d) remember
which plain scalars YAML 1.1 turned into non-strings (``0644`` -> 420, ``no`` -> False), so
the validator can explain the trap. Bad input never raises: it becomes findings.
"""

from __future__ import annotations

from ros_init.core.findings import Finding, Location

MAX_BYTES = 8 * 1024 * 1024  # cloud user-data limits are 16 KiB (EC2) to 256 KiB (GCE)
MAX_DEPTH = 64  # nesting of collections; real configs stay below 12
MAX_NODES = 200_000  # elements after alias expansion ("billion laughs" stops here)
MAX_INDENT = 1000  # a line indented further than this is refused before parsing

_TAG = "tag:yaml.org,2002:"


class BinaryText(str):
    """A ``!!binary`` scalar kept as its base64 text.

    cloud-init documents ``content: !!binary |`` in ``write_files``; keeping the text (not
    bytes) lets the value merge, redact and serialise like any string, while the type tells
    the files stage (and the validator, everywhere else) that YAML meant bytes.
    """

    __slots__ = ()

    def as_bytes(self) -> bytes:
        import base64

        return base64.b64decode("".join(self.split()))


class ParsedDocument:
    """One parsed YAML document.

    ``positions`` maps element paths to the location of their value, ``key_positions`` to
    the location of their key (where an unknown-key error points), ``plain_scalars`` the
    source text of unquoted scalars that YAML resolved to something other than a string.
    """

    __slots__ = ("data", "positions", "key_positions", "plain_scalars", "findings", "source")

    def __init__(self, source: str, data: object = None) -> None:
        self.source = source
        self.data = data
        self.positions: dict[str, Location] = {}
        self.key_positions: dict[str, Location] = {}
        self.plain_scalars: dict[str, str] = {}
        self.findings: list[Finding] = []

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    def location(self, path: str, *, key: bool = False) -> Location | None:
        """Best location for ``path``: its key or value, else the nearest located parent."""
        table = self.key_positions if key else self.positions
        p = path
        while True:
            loc = table.get(p) or self.positions.get(p)
            if loc is not None:
                return loc
            if not p:
                return None
            p = parent_path(p)


def join_path(parent: str, key: object) -> str:
    """``users`` + 0 -> ``users[0]``; ``a`` + ``b`` -> ``a.b``; odd keys are quoted."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    k = str(key)
    bare = k.replace("_", "").replace("-", "")  # every character alphanumeric, '_' or '-' (hot: every node)
    if k and (not bare or bare.isalnum()):
        return f"{parent}.{k}" if parent else k
    quoted = k.replace("\\", "\\\\").replace('"', '\\"')
    return f'{parent}["{quoted}"]'


def parent_path(path: str) -> str:
    """The path of the element containing ``path`` ("" for top-level elements)."""
    if path.endswith("]"):
        depth, i = 0, len(path) - 1
        in_quote = False
        while i >= 0:
            c = path[i]
            if c == '"' and (i == 0 or path[i - 1] != "\\"):
                in_quote = not in_quote
            elif not in_quote and c == "]":
                depth += 1
            elif not in_quote and c == "[":
                depth -= 1
                if depth == 0:
                    return path[:i]
            i -= 1
        return ""
    dot = path.rfind(".")
    bracket = path.rfind("]")
    if dot > bracket:
        return path[:dot]
    return path[: bracket + 1] if bracket >= 0 else ""


def _loc(source: str, mark: object) -> Location:
    return Location(source, mark.line + 1, mark.column + 1)  # type: ignore[attr-defined]


def _offset_location(source: str, data: bytes, offset: int) -> Location:
    line = data.count(b"\n", 0, offset) + 1
    col = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return Location(source, line, col)


def decode_text(raw: bytes | str, source: str, doc: ParsedDocument) -> str | None:
    """Bytes -> text, or None with a located finding (too big, binary, not UTF-8)."""
    if isinstance(raw, str):
        if len(raw) > MAX_BYTES:
            doc.findings.append(Finding("error", "too-large", "", f"the file is larger than the {MAX_BYTES // (1024 * 1024)} MiB limit for a config", Location(source, 1, 1)))
            return None
        return raw
    if len(raw) > MAX_BYTES:
        doc.findings.append(Finding(
            "error", "too-large", "",
            f"the file is {len(raw) / (1024 * 1024):.1f} MiB, over the {MAX_BYTES // (1024 * 1024)} MiB limit for a config"
            " (large payloads belong in a URL or on a seed volume, not in the config)",
            Location(source, 1, 1)))
        return None
    if raw.startswith(b"\x1f\x8b"):
        doc.findings.append(Finding("error", "binary", "", "the file is gzip-compressed: decompress it first"
                                    " (datasources accept gzip user-data, validate expects the YAML)", Location(source, 1, 1)))
        return None
    nul = raw.find(b"\0")
    if nul >= 0:
        doc.findings.append(Finding("error", "binary", "", "the file is binary (it holds a NUL byte), not YAML text",
                                    _offset_location(source, raw, nul)))
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        doc.findings.append(Finding("error", "encoding", "",
                                    f"invalid UTF-8 (byte 0x{raw[exc.start]:02x}): save the file as UTF-8",
                                    _offset_location(source, raw, exc.start)))
        return None
    return text[1:] if text.startswith("\ufeff") else text


def _prescan(text: str, source: str, doc: ParsedDocument) -> bool:
    """Refuse nesting that would exhaust the parser before parsing it (cheap, conservative)."""
    depth = 0
    # A text cannot nest deeper than the brackets it has: skip the walk when it has few.
    text_to_scan = "" if text.count("[") + text.count("{") <= MAX_DEPTH else text
    for i, c in enumerate(text_to_scan):
        if c in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                line = text.count("\n", 0, i) + 1
                col = i - (text.rfind("\n", 0, i) + 1) + 1
                doc.findings.append(Finding("error", "too-deep", "",
                                            f"collections nested more than {MAX_DEPTH} levels deep", Location(source, line, col)))
                return False
        elif c in "]}" and depth:
            depth -= 1
    for n, line in enumerate(text.split("\n"), 1):
        indent = len(line) - len(line.lstrip(" "))
        if indent > MAX_INDENT:
            doc.findings.append(Finding("error", "too-deep", "", f"a line indented by {indent} spaces: nesting too deep",
                                        Location(source, n, 1)))
            return False
    return True


# PyYAML compiles this character class when yaml.reader is imported; sre's charset optimiser
# makes it cost about a quarter of a cold `ros-init validate` (57M instructions, callgrind).
_YAML_NON_PRINTABLE = "[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010ffff]"
# The same set written as its complement: compiles ~12x cheaper. tests/core prove it matches
# exactly the same code points.
_YAML_NON_PRINTABLE_FAST = "[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x84\x86-\x9F\uD800-\uDFFF\uFFFE\uFFFF]"


def import_yaml():  # -> the yaml module
    """``import yaml``, pre-seeding re's cache with a cheaper equivalent of one pattern.

    Only an optimisation: if ``re``'s private cache is not what we expect (another Python),
    nothing is seeded and PyYAML compiles its own pattern as usual.
    """
    import sys

    if "yaml" not in sys.modules:
        import re

        cache = getattr(re, "_cache", None)
        if isinstance(cache, dict):
            cache.setdefault((str, _YAML_NON_PRINTABLE, 0), re.compile(_YAML_NON_PRINTABLE_FAST))
    import yaml

    if not getattr(yaml, "_ros_init_binary", False):  # a BinaryText dumps back as the !!binary it came from
        def represent(dumper: object, data: BinaryText) -> object:
            return dumper.represent_scalar("tag:yaml.org,2002:binary", str(data))  # type: ignore[attr-defined]

        for cls in {yaml.representer.SafeRepresenter, yaml.SafeDumper, getattr(yaml, "CSafeDumper", yaml.SafeDumper)}:
            cls.add_representer(BinaryText, represent)
        yaml._ros_init_binary = True  # type: ignore[attr-defined]
    return yaml


def load_document(raw: bytes | str, source: str) -> ParsedDocument:
    """Parse one YAML document; never raises for bad input, reports findings instead."""
    doc = ParsedDocument(source)
    text = decode_text(raw, source, doc)
    if text is None or not _prescan(text, source, doc):
        return doc
    yaml = import_yaml()

    loader_cls = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader
    loader = loader_cls(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or str(exc)
        if exc.context and "expected a single document" in exc.context:
            problem = "more than one YAML document (---) in the file: a config is one document"
        at = ""
        lines = text.split("\n")
        if "could not find expected ':'" in problem and exc.context_mark is not None:
            mark = exc.context_mark  # where the key without ':' starts: the culprit, not the line after it
        if mark is not None and mark.line < len(lines):
            at = lines[mark.line][mark.column: mark.column + 1]
        from ros_init.config.indent import syntax_hint

        hint = syntax_hint(lines, mark.line + 1, problem) if mark is not None else None
        if hint is not None:  # one finding that says what to indent, on the line to fix
            line, col, message = hint
            doc.findings.append(Finding("error", "indentation", "", f"{message} (YAML: {problem})",
                                        Location(source, line, col)))
            return doc
        doc.findings.append(Finding("error", "yaml-syntax", "", _syntax_message(problem, exc.context, at),
                                    _loc(source, mark) if mark else Location(source, 1, 1)))
        return doc
    except yaml.YAMLError as exc:
        doc.findings.append(Finding("error", "yaml-syntax", "", str(exc).splitlines()[0], Location(source, 1, 1)))
        return doc
    except RecursionError:
        doc.findings.append(Finding("error", "too-deep", "", "nesting too deep to parse", Location(source, 1, 1)))
        return doc
    finally:
        dispose = getattr(loader, "dispose", None)
        if dispose:
            dispose()
    if node is None:
        return doc
    builder = _Builder(doc, loader)
    try:
        builder.refuse_alias_bomb(node)
        doc.data = builder.build(node, "", 0)
    except _Abort:
        doc.data = None
    except RecursionError:
        doc.findings.append(Finding("error", "too-deep", "", "nesting too deep to build", Location(source, 1, 1)))
        doc.data = None
    return doc


def _syntax_message(problem: str, context: str | None, at: str) -> str:
    msg = problem
    if context and context not in problem and "single document" not in context:
        msg = f"{problem} ({context})"
    if at == "\t" or "'\\t'" in problem:
        msg += ": YAML indentation must use spaces, not tabs"
    elif "mapping values are not allowed here" in problem:
        msg += ": a value containing ': ' must be quoted, or the indentation is off"
    elif "could not find expected ':'" in problem:
        msg += ": a key needs ': ' after it (or a line is not indented like its neighbours)"
    return msg


class _Abort(Exception):
    pass


class _Builder:
    """Nodes -> plain data with positions; counts elements to stop alias bombs."""

    def __init__(self, doc: ParsedDocument, loader: object) -> None:
        self.doc = doc
        self.loader = loader
        self.count = 0

    def fail(self, code: str, message: str, path: str, mark: object) -> None:
        self.doc.findings.append(Finding("error", code, path, message, _loc(self.doc.source, mark)))
        raise _Abort

    def refuse_alias_bomb(self, node: object) -> None:
        """Count the elements aliases would expand to before building anything.

        The node graph is a DAG (an alias is the same node object again), so sizes are
        counted once per node: a billion-laughs file is refused in milliseconds instead of
        after building MAX_NODES elements. The finding points at the innermost collection
        that is over the limit, where the expansion happens.
        """
        sizes: dict[int, int] = {}

        def size(n: object) -> int:
            key = id(n)
            if key in sizes:
                return sizes[key]
            sizes[key] = 1  # in progress: a cycle counts once here, and build() stops it as too deep
            total = 1
            value = getattr(n, "value", None)
            if isinstance(value, list):
                for item in value:
                    for child in (item if isinstance(item, tuple) else (item,)):
                        total += size(child)
                        if total > MAX_NODES:
                            break
                    if total > MAX_NODES:
                        break
            sizes[key] = min(total, MAX_NODES + 1)
            return sizes[key]

        if size(node) <= MAX_NODES:
            return
        path, here = "", node
        while True:  # walk down to the innermost collection still over the limit
            nxt = None
            for i, item in enumerate(getattr(here, "value", None) or []):
                k, v = item if isinstance(item, tuple) else (i, item)
                if sizes.get(id(v), 0) > MAX_NODES:
                    key = k.value if hasattr(k, "value") and isinstance(k.value, str) else k
                    nxt = (join_path(path, key), v)
                    break
            if nxt is None:
                break
            path, here = nxt
        self.fail("too-large", f"more than {MAX_NODES} elements once aliases are expanded"
                  " (an alias bomb?): refusing to build it", path, here.start_mark)  # type: ignore[attr-defined]

    def build(self, node: object, path: str, depth: int) -> object:
        import yaml

        self.count += 1
        if self.count > MAX_NODES:
            self.fail("too-large", f"more than {MAX_NODES} elements once aliases are expanded"
                      " (an alias bomb?): refusing to build it", path, node.start_mark)  # type: ignore[attr-defined]
        if depth > MAX_DEPTH:
            self.fail("too-deep", f"collections nested more than {MAX_DEPTH} levels deep", path, node.start_mark)  # type: ignore[attr-defined]
        src = self.doc.source
        self.doc.positions.setdefault(path, _loc(src, node.start_mark))  # type: ignore[attr-defined]
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        if isinstance(node, yaml.SequenceNode | yaml.MappingNode) and node.tag not in (_TAG + "seq", _TAG + "map"):
            # A tag on a collection (``!!python/object/apply:...``, ``!!set``, ``!vault``) would
            # otherwise be dropped silently and the list or mapping taken at face value.
            tag = node.tag.replace(_TAG, "!!", 1)  # type: ignore[attr-defined]
            self.fail("yaml-syntax", f"unknown YAML tag {tag}: ros-init reads plain YAML only", path,
                      node.start_mark)  # type: ignore[attr-defined]
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, join_path(path, i), depth + 1) for i, item in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path, depth)
        self.fail("yaml-syntax", "unsupported YAML node", path, node.start_mark)  # type: ignore[attr-defined]
        return None

    def scalar(self, node: object, path: str) -> object:
        tag = node.tag  # type: ignore[attr-defined]
        if tag == _TAG + "str":
            return node.value  # type: ignore[attr-defined]
        if tag == _TAG + "binary":
            import binascii

            text = "".join(node.value.split())  # type: ignore[attr-defined]
            try:
                BinaryText(text).as_bytes()
            except (binascii.Error, ValueError):
                self.fail("yaml-syntax", "!!binary value is not valid base64", path, node.start_mark)  # type: ignore[attr-defined]
            return BinaryText(text)
        try:
            value = self.loader.construct_object(node, deep=True)  # type: ignore[attr-defined]
        except Exception as exc:  # a constructor error is a finding, never a traceback
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            if tag.startswith("!"):
                problem = f"unknown YAML tag {tag}: ros-init reads plain YAML only"
            self.fail("yaml-syntax", problem, path, node.start_mark)  # type: ignore[attr-defined]
        if node.style in ("", None) and not isinstance(value, str):  # type: ignore[attr-defined]
            self.doc.plain_scalars[path] = node.value  # type: ignore[attr-defined]
        return value

    def mapping(self, node: object, path: str, depth: int) -> dict[str, object]:
        import yaml

        if depth > MAX_DEPTH:  # merges recurse here directly, not through build()
            self.fail("too-deep", f"collections nested more than {MAX_DEPTH} levels deep", path, node.start_mark)  # type: ignore[attr-defined]
        out: dict[str, object] = {}
        seen: dict[str, object] = {}
        merged: list[object] = []
        for key_node, value_node in node.value:  # type: ignore[attr-defined]
            if key_node.tag == _TAG + "merge":
                merged.append(value_node)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.fail("yaml-syntax", "a key must be a plain value, not a list or mapping", path, key_node.start_mark)
            key = key_node.value
            child = join_path(path, key)
            key_loc = _loc(self.doc.source, key_node.start_mark)
            if key_node.tag != _TAG + "str" and key_node.style in ("", None) and key_node.tag in (_TAG + "bool", _TAG + "null"):
                meaning = "a boolean" if key_node.tag == _TAG + "bool" else "null"
                self.doc.findings.append(Finding(
                    "warning", "yaml11-key", child,
                    f"the key `{key}` is read by YAML 1.1 as {meaning}; ros-init uses the text `{key}`, but other tools"
                    f" will not: quote it (\"{key}\")", key_loc))
            if key in seen:
                first = seen[key]
                self.doc.findings.append(Finding(
                    "warning", "duplicate-key", child,
                    f"duplicate key `{key}` (first at line {first.line}): YAML keeps only this last one and drops the first",  # type: ignore[attr-defined]
                    key_loc))
                # The later value wins, as in YAML; forget the positions of the dropped one.
                self._forget(child)
            seen[key] = key_loc
            self.doc.key_positions[child] = key_loc
            out[key] = self.build(value_node, child, depth + 1)
        for value_node in merged:  # `<<: *base` merges keys the mapping does not set itself
            sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            for src_node in sources:
                if not isinstance(src_node, yaml.MappingNode):
                    self.fail("yaml-syntax", "`<<` must merge a mapping (or a list of mappings)", path, src_node.start_mark)
                base = self.mapping(src_node, path, depth + 1)  # +1: `a: &a {<<: *a}` must end
                for k, v in base.items():
                    out.setdefault(k, v)
        return out

    def _forget(self, path: str) -> None:
        for table in (self.doc.positions, self.doc.plain_scalars):
            for p in [p for p in table if p == path or p.startswith(path + ".") or p.startswith(path + "[")]:
                del table[p]
