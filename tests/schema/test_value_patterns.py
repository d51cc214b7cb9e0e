"""The value patterns of the schema against independent definitions of what they encode."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from .corpus import load_schema

SCHEMA = load_schema()
DEFS = SCHEMA["$defs"]
HOSTNAME = re.compile(SCHEMA["properties"]["hostname"]["pattern"])
MODE = re.compile(DEFS["fileMode"]["then"]["pattern"])
CRYPT = re.compile(DEFS["user"]["properties"]["passwd"]["pattern"])
SSH_KEY = re.compile(DEFS["sshKey"]["pattern"])

LDH = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"


def rfc1123(name: str) -> bool:
    """Reference definition: dot-separated labels of letters/digits/hyphens, 1..63 each, no hyphen at
    either end of a label (length <= 253 is the schema's maxLength, not the pattern's job)."""
    labels = name.split(".")
    return all(0 < len(label) <= 63 and set(label) <= set(LDH) and label[0] != "-" and label[-1] != "-"
               for label in labels)


@settings(max_examples=200)
@given(st.lists(st.text(alphabet=LDH + "_. ", min_size=0, max_size=70), min_size=1, max_size=4))
def test_hostname_pattern_is_rfc1123(labels):
    name = ".".join(labels)
    assert bool(HOSTNAME.search(name)) == rfc1123(name)


@given(st.integers(min_value=0, max_value=0o7777))
def test_every_octal_mode_spelling_is_accepted(mode):
    spellings = [f"{mode:04o}", f"0{mode:04o}", f"0o{mode:03o}"] + ([f"{mode:03o}"] if mode < 0o1000 else [])
    for text in spellings:
        assert MODE.search(text), text


@given(st.text(min_size=1, max_size=8))
def test_mode_pattern_rejects_non_octal(text):
    if any(c not in "01234567o" for c in text):
        assert not MODE.search(text)


def test_real_crypt_hashes_match_and_clear_text_does_not():
    from passlib.hash import des_crypt, md5_crypt, sha256_crypt, sha512_crypt

    secret = "throwaway"
    for scheme in (sha512_crypt.using(rounds=5000), sha256_crypt.using(rounds=5000), md5_crypt, des_crypt):
        hashed = scheme.hash(secret)
        assert CRYPT.search(hashed), scheme.name
        assert CRYPT.search("!" + hashed), scheme.name
    assert CRYPT.search("$2b$12$GhvMmNVjRW29ulnudl.LbuAnUtN/LRfe1JsBm1Xu6LE3059z5Tr8m")  # bcrypt
    assert CRYPT.search("$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7")
    for clear in ("hunter2", "correct horse battery staple", "", "$notahash", "passw0rd!"):
        assert not CRYPT.search(clear), clear


@given(st.from_regex(r"\A[a-z0-9][a-z0-9-]{0,20}\Z"))
def test_github_and_gitlab_references_match(user):
    assert SSH_KEY.search(f"github:{user}") and SSH_KEY.search(f"gitlab:{user}")
    assert not SSH_KEY.search(f"bitbucket:{user}")


def test_key_lines_with_options_and_comments_match():
    key = "AAAAC3NzaC1lZDI1NTE5AAAAIAsrJ7GvakFe+P3N1bPGKvScAg585ctWtzWPVGVdobAm"
    for line in (f"ssh-ed25519 {key}", f"ssh-ed25519 {key} me@host", f'command="uptime",no-pty ssh-ed25519 {key}',
                 f"cert-authority ssh-ed25519 {key}", f"sk-ssh-ed25519@openssh.com {key} yubi"):
        assert SSH_KEY.search(line), line
    for line in ("ssh-ed25519", "ssh-rsa AAAA...", "<ssh pub key 1>", f"ssh-ed25519{key}"):
        assert not SSH_KEY.search(line), line
