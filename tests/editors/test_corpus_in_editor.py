"""No document that ``ros-init validate`` accepts shows an error in the editor.

The shared cloud-init compat corpus (real documents written by others) opened in the real
yaml-language-server with the editor schema: validate's warnings (ignored keys, deprecated
spellings, YAML 1.1 booleans and octal modes) must not become editor errors.
"""

from __future__ import annotations

import csv

from editors.tools import compat_corpus
from ros_init.config.compat import header_kind
from ros_init.config.validate import validate_bytes

ERROR = 1


def test_documents_validate_accepts_have_no_editor_error(yamlls_current):
    corpus = compat_corpus()
    with open(corpus / "verdicts.tsv", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    docs, names = {}, {}
    for i, row in enumerate(rows):
        raw = (corpus / row["file"]).read_bytes()
        if header_kind(raw) not in (None, "cloud-config"):
            continue  # archives, jsonp patches, MIME, templates: not YAML mappings an editor schema checks
        if not any(f.severity == "error" for f in validate_bytes(raw, row["file"])):
            uri = (yamlls_current.workspace / f"corpus{i:04d}.cloud-config.yaml").as_uri()
            docs[uri], names[uri] = raw.decode("utf-8"), row["file"]
    assert len(docs) > 200
    wrong, unparsed = [], []
    for uri, diags in yamlls_current.open_all(docs).items():
        if any(d.get("severity") == ERROR and d.get("source") == "YAML" for d in diags):
            unparsed.append((names[uri], [d["message"] for d in diags if d.get("source") == "YAML"]))
            continue
        for d in diags:
            if d.get("severity") == ERROR:
                wrong.append(f"{names[uri]}:{d['range']['start']['line'] + 1}: {d['message']}")
    assert wrong == []
    # Parser-level differences no schema can remove (docs/editors.md "Known differences"): a
    # key given twice (validate warns and keeps the last) and a quoted scalar continued at
    # column 0 (PyYAML accepts it, the YAML 1.2 parser does not).
    parser_differences = {"Map keys must be unique", "Missing closing 'quote", "Implicit keys need to be on a single line",
                          "All mapping items must start at the same column"}
    assert {m for _, ms in unparsed for m in ms} <= parser_differences, unparsed
    assert len(unparsed) <= 5, unparsed
