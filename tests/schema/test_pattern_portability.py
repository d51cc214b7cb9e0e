"""Schema patterns mean the same in Python `re` and ECMA-262 (JSON Schema's regex dialect, used by
editors and other validators): both engines must agree on every string of the corpus."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import yaml
from facilities import need_tools

from .corpus import corpus_files, load_schema, walk

SCHEMA = load_schema()


def patterns() -> list[str]:
    out = set()
    for _, sub in walk(SCHEMA):
        if "pattern" in sub:
            out.add(sub["pattern"])
        out |= set(sub.get("patternProperties", {}))
    return sorted(out)


def strings(value) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(set(map(str, value)), *(strings(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(strings(v) for v in value)) if value else set()
    return set()


def samples() -> list[str]:
    out: set[str] = {"", " ", "a", "0644", "0o644", "root:root", "10G", "my host", "é", "日本"}
    for kind in ("valid", "invalid"):
        for path in corpus_files(kind):
            out |= strings(yaml.safe_load(path.read_text()))
    return sorted(out)


JS = """
const {patterns, samples} = JSON.parse(require('fs').readFileSync(0, 'utf8'));
console.log(JSON.stringify(patterns.map(p => { const r = new RegExp(p, 'u'); return samples.map(s => r.test(s)); })));
"""


def test_python_and_ecma_agree_on_every_corpus_string():
    need_tools("node")
    pats, texts = patterns(), samples()
    assert len(pats) > 10 and len(texts) > 100
    run = subprocess.run([shutil.which("node"), "-e", JS], input=json.dumps({"patterns": pats, "samples": texts}),
                         capture_output=True, text=True, check=True, timeout=60)
    ecma = json.loads(run.stdout)
    for pattern, js_results in zip(pats, ecma, strict=True):
        compiled = re.compile(pattern)
        disagree = [t for t, js in zip(texts, js_results, strict=True) if bool(compiled.search(t)) != js]
        assert disagree == [], pattern
