"""Property: a document `ros-init validate` accepts shows no error in the editor, whatever
YAML 1.1 spelling it uses for booleans, integers and file modes.

Hypothesis draws a batch of documents (one example is a batch: the editor validates many
documents at once in the time it takes for one); each is checked by validate and by the real
yaml-language-server with the editor schema.
"""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ros_init.config.validate import validate_bytes

ERROR = 1
_ids = itertools.count()


def _mostly(good: list[str], bad: list[str]) -> st.SearchStrategy[str]:
    """Spellings validate accepts (most draws), and some it refuses (so both verdicts occur)."""
    return st.sampled_from(good * 8 + bad)


BOOLS = _mostly(["true", "false", "True", "FALSE", "yes", "No", "ON", "off", "Yes", "NO", "on", "OFF"],
                ["y", "maybe", "'no'", "1", "'true'"])
INTS = _mostly(["1000", "1_000", "0x3e8", "0b1111101000", "01750", "+1000", "1:30", "1500"],
               ["'1000'", "-1", "1.5", "ten"])
MODES = _mostly(["'0644'", "0644", "04755", "0o600", "'0o600'", "0755", "'755'", "07777"],
                ["644", "420", "'0999'", "0999", "7777", "'rw'"])


@st.composite
def documents(draw) -> str:
    lines = ["#cloud-config", "users:", "  - name: alice"]
    for key in draw(st.lists(st.sampled_from(["lock_passwd", "system", "no_create_home", "create_groups"]),
                             unique=True, max_size=3)):
        lines.append(f"    {key}: {draw(BOOLS)}")
    if draw(st.booleans()):
        lines.append(f"    uid: {draw(INTS)}")
    lines += ["write_files:", "  - path: /etc/a", f"    permissions: {draw(MODES)}"]
    lines += ["network:", "  version: 2", "  ethernets:", "    eth0:",
              f"      dhcp4: {draw(BOOLS)}", f"      mtu: {draw(INTS)}"]
    lines.append(f"manage_etc_hosts: {draw(st.one_of(BOOLS, st.just('localhost')))}")
    lines.append(f"ssh_pwauth: {draw(BOOLS)}")
    return "\n".join(lines) + "\n"


@settings(max_examples=4, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(documents(), min_size=60, max_size=60))
def test_no_editor_error_where_validate_accepts(yamlls_current, docs):
    batch = {(yamlls_current.workspace / f"gen{next(_ids)}.cloud-config.yaml").as_uri(): d for d in docs}
    accepted = {uri for uri, text in batch.items()
                if not any(f.severity == "error" for f in validate_bytes(text.encode(), "doc.yaml"))}
    published = yamlls_current.open_all(batch)
    wrong = [(batch[uri], [d["message"] for d in published[uri] if d.get("severity") == ERROR])
             for uri in accepted if any(d.get("severity") == ERROR for d in published[uri])]
    assert wrong == []
