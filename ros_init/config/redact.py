"""Replace secret values before anything is printed, logged or saved for reading.

What is secret is data: the schema's ``x-secret`` annotation. In free-form sections the
schema cannot describe (``rancherValues``, ``extraConfig``, unknown keys), keys whose
names say secret (password, token, secret, credential, private key) are redacted too.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from ros_init.config.schema import SchemaWalker, load_schema

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from typing import Any

REDACTED = "<redacted>"
_SECRET_NAME = r"(pass(word|wd|phrase)?|token|secret|credential|private[_-]?key|api[_-]?key)$"  # compiled on first use


_SECRET_WORDS = ("password", "passwd", "passphrase", "token", "secret", "credential", "credentials", "content",
                 "apikey", "privatekey")
_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")


_BY_LENGTH: dict[int, tuple[str, ...]] = {}  # word length -> the secret words one edit away in length
for _w in _SECRET_WORDS:
    for _n in (len(_w) - 1, len(_w), len(_w) + 1):
        _BY_LENGTH[_n] = (*_BY_LENGTH.get(_n, ()), _w)


@functools.lru_cache(maxsize=4096)
def _looks_secret(text: str) -> bool:
    if re.search(_SECRET_NAME, text, re.I):
        return True
    words = [w.lower() for w in _WORD_SPLIT.split(text) if w]
    words += ["".join(words[i:i + 2]) for i in range(len(words) - 1)]  # api_key -> apikey
    # Every key of every config is asked (validate, redaction): only words of a near length compared.
    return any(_near(w, s) for w in words if len(w) >= 4 for s in _BY_LENGTH.get(len(w), ()))


def looks_secret(name: object) -> bool:
    """A key whose name says secret, misspelled by one letter too (``tokn``, ``contnet``,
    ``pasword``): used where the schema says nothing (free-form and unknown keys)."""
    return _looks_secret(str(name))


def _near(a: str, b: str) -> bool:
    """Optimal-string-alignment distance of a and b is at most 1."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long_[i]:
        i += 1
    return short[i:] == long_[i + 1:]


def redact(value: object, schema: str | dict = "cloud-config") -> object:
    """A deep copy of ``value`` with every secret value replaced by ``<redacted>``."""
    walker = SchemaWalker(load_schema(schema) if isinstance(schema, str) else schema)
    return _redact(value, [walker.root], walker)


def _redact(value: object, nodes: list[dict], walker: SchemaWalker) -> object:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            children = [c for n in nodes for c in walker.child(n, key)]
            secret = walker.annotation(children, "x-secret") if children else looks_secret(key)
            out[key] = REDACTED if secret and item is not None else _redact(item, children, walker)
        return out
    if isinstance(value, list):
        items = [c for n in nodes for c in walker.child(n, 0)]
        return [_redact(item, items, walker) for item in value]
    return value


class Scrubber:
    """Replaces known secret values in any text that leaves the engine (logs, status, errors).

    The stages already keep secrets out of summaries; this is the second line: a secret that
    an exception or a command's output happens to carry is replaced before it is shown.

    Three rules keep it from being an oracle or a sieve:

    - a value that is also the value of a non-secret field (``public``: a user name, a path)
      is never searched for: redacting every mention of ``alice`` because her password is
      ``alice`` would tell that it is;
    - a value shorter than ``MIN_LEN`` is left to the field-based redaction (``redact``):
      searching text for ``abc`` would hide words, not secrets; a value shorter than
      ``FRAGMENT`` is matched as a whole token only (not inside a longer word);
    - a long value is also hidden piecewise: any ``FRAGMENT``-character piece of it (a token
      cut by a terminal, a line of a key) is replaced.

    ``contents`` are texts whose every line is secret (the content of a file only root can
    read); their lines are treated as secret values.
    """

    MIN_LEN = 4
    FRAGMENT = 12
    PIECE_BUDGET = 200_000  # pieces kept at most (a 8 MiB private file would make millions):
    # past it, a long value's lines are matched whole, as substrings

    def __init__(self, secrets: Iterable[str] = (), contents: Iterable[str] = (),
                 public: Iterable[str] = ()) -> None:
        public_set = {p.strip() for p in public if isinstance(p, str)}
        values: set[str] = set()
        values.update(text.strip() for text in secrets)  # long ones: their lines are pieces
        for text in contents:
            values.update(line.strip() for line in text.splitlines())
        values = {v for v in values if len(v) >= self.MIN_LEN and v not in public_set}
        self._tokens = sorted((v for v in values if len(v) < self.FRAGMENT), key=len, reverse=True)
        self._pieces: set[str] = set()
        whole: set[str] = set()
        budget = self.PIECE_BUDGET
        for v in sorted((v for v in values if len(v) >= self.FRAGMENT), key=len):
            windows = len(v) - self.FRAGMENT + 1
            if windows <= budget:
                budget -= windows
                self._pieces.update(v[i:i + self.FRAGMENT] for i in range(windows))
            else:
                whole.update(line.strip() for line in v.splitlines() if len(line.strip()) >= self.FRAGMENT)
        self._pieces -= public_set
        self._whole = sorted(whole - public_set, key=len, reverse=True)
        self._token_re = None
        if self._tokens:
            alts = "|".join(re.escape(t) for t in self._tokens)
            self._token_re = re.compile(rf"(?<![A-Za-z0-9_])(?:{alts})(?![A-Za-z0-9_])")

    def __call__(self, text: str | None) -> str | None:
        if not text:
            return text
        for value in self._whole:
            if value in text:
                text = text.replace(value, REDACTED)
        if self._pieces and len(text) >= self.FRAGMENT:
            text = self._hide_pieces(text)
        if self._token_re is not None:
            text = self._token_re.sub(REDACTED, text)
        return text

    def _hide_pieces(self, text: str) -> str:
        n, size = len(text), self.FRAGMENT
        covered = bytearray(n)
        hit = False
        for i in range(n - size + 1):
            if text[i:i + size] in self._pieces:
                covered[i:i + size] = b"\x01" * size
                hit = True
        if not hit:
            return text
        out, i = [], 0
        while i < n:
            if covered[i]:
                while i < n and covered[i]:
                    i += 1
                out.append(REDACTED)
            else:
                j = i
                while j < n and not covered[j]:
                    j += 1
                out.append(text[i:j])
                i = j
        return "".join(out)

    @classmethod
    def for_config(cls, *configs: Any) -> Scrubber:
        """The scrubber of configs (valid or not): their secrets, minus their public values."""
        secrets: list[str] = []
        contents: list[str] = []
        public: list[str] = []
        for config in configs:
            s, c = secret_values(config)
            secrets += s
            contents += c
            public += public_values(config)
        return cls(secrets, contents, public)


def public_values(config: Any) -> list[str]:
    """Every string of ``config`` outside a secret field (what ``redact`` leaves shown)."""
    out: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            if value != REDACTED:
                out.append(value)
        elif isinstance(value, dict):
            for k, v in value.items():
                out.append(str(k))
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(redact(config) if isinstance(config, dict) else config)
    return out


READABLE_LINE = 16


def secret_values(config: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The strings of ``config`` that ``redact`` hides, and the contents of the files that
    only their owner may read (every line of those is secret); of a world-readable file, only
    lines of ``READABLE_LINE`` characters or more (its words, ``br_netfilter``, stay readable
    in messages)."""
    out: list[str] = []
    if not isinstance(config, dict):
        return out, []

    def walk(orig: Any, red: Any) -> None:
        if isinstance(orig, dict) and isinstance(red, dict):
            for k, v in orig.items():
                walk(v, red.get(k))
        elif isinstance(orig, list) and isinstance(red, list):
            for a, b in zip(orig, red, strict=False):
                walk(a, b)
        elif red == REDACTED and orig != REDACTED:
            collect(orig)

    def collect(value: Any) -> None:
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                collect(v)
        elif isinstance(value, list):
            for v in value:
                collect(v)

    walk(config, redact(config))
    listed = config.get("write_files")
    files = [item for item in (listed if isinstance(listed, list) else [])
             if isinstance(item, dict) and isinstance(item.get("content"), str)]
    readable = {item["content"] for item in files if not _private(item)}
    contents = [item["content"] for item in files if _private(item)]
    # a world-readable file: its long lines only (a key put there by mistake), not its words
    contents += ["\n".join(line for line in text.splitlines() if len(line.strip()) >= READABLE_LINE)
                 for text in readable]
    return [v for v in out if v not in readable], contents


def _private(item: dict[str, Any]) -> bool:
    """A write_files entry others cannot read (its permissions lack o+r; default 0644)."""
    perms = item.get("permissions", "0644")
    try:
        mode = int(str(perms), 8) if not isinstance(perms, int) else perms
    except ValueError:
        return True
    return not mode & 0o004
