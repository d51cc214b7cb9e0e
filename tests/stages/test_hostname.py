"""The hostname stage: /etc/hostname, the 127.0.1.1 line of /etc/hosts, the running name."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

import pytest
from facilities import need_root
from hypothesis import given, settings
from hypothesis import strategies as st
from ros_init.stages import hostname
from ros_init.stages.hostname import HostnameError, HostnameSpec, edit_hosts, parse

from ros_init.core.model import StageContext
from ros_init.core.root import Root

CTX = StageContext(phase="initramfs")
_FAST_TMP = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


def converge(config, root):
    changes = hostname.plan(hostname.parse(config), root, CTX)
    for change in changes:
        hostname.apply(change, root, CTX)
    return changes


@pytest.mark.parametrize(("config", "spec"), [
    ({"hostname": "node1"}, HostnameSpec("node1", None, True)),
    ({"hostname": "node1.example.com"}, HostnameSpec("node1", "node1.example.com", True)),
    ({"fqdn": "node1.example.com"}, HostnameSpec("node1", "node1.example.com", True)),
    ({"hostname": "web", "fqdn": "node1.example.com."}, HostnameSpec("web", "node1.example.com", True)),
    ({"hostname": "node1", "manage_etc_hosts": "localhost"}, HostnameSpec("node1", None, True)),
    ({"hostname": "node1", "manage_etc_hosts": "template"}, HostnameSpec("node1", None, True)),
    ({"hostname": "node1", "manage_etc_hosts": False}, HostnameSpec("node1", None, False)),
    ({"hostname": "node1", "preserve_hostname": True}, None),
    ({}, None),
])
def test_desired(config, spec):
    assert parse(config) == spec


@pytest.mark.parametrize(("config", "words"), [
    ({"hostname": "-bad"}, "hostname: '-bad'"),
    ({"hostname": "a_b"}, "bad label 'a_b'"),
    ({"hostname": "x" * 64}, "bad label"),
    ({"fqdn": ("a" * 60 + ".") * 5}, "longer than 253"),
    ({"hostname": ""}, "non-empty"),
    ({"hostname": 12}, "string"),
    ({"hostname": "a", "manage_etc_hosts": "yes"}, "manage_etc_hosts"),
])
def test_invalid_names_are_errors_naming_the_key(config, words):
    with pytest.raises(HostnameError, match=words):
        parse(config)


def test_hosts_line_replaced_other_lines_kept():
    text = ("127.0.0.1 localhost\n# admin's note\n127.0.1.1 old.example.com old\n10.0.0.5 db\n"
            "127.0.1.1 dup\n::1 localhost\n")
    out = edit_hosts(text, HostnameSpec("node1", "node1.example.com", True))
    assert out.splitlines() == ["127.0.0.1 localhost", "# admin's note",
                                "# ros-init: this host's name (manage_etc_hosts)",
                                "127.0.1.1 node1.example.com node1", "10.0.0.5 db", "::1 localhost"]


def test_missing_hosts_gets_localhost_lines():
    full = edit_hosts(None, HostnameSpec("node1", None, True)).splitlines()
    assert full[:2] == ["127.0.0.1 localhost", "::1 localhost ip6-localhost ip6-loopback"]
    assert full[-1] == "127.0.1.1 node1"


def test_plan_apply_plan_on_a_scratch_root(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/hosts").write_text("127.0.0.1 localhost\n10.0.0.5 db\n")
    os.chmod(tmp_path / "etc/hosts", 0o640)
    root = Root(tmp_path)
    config = {"hostname": "node1", "fqdn": "node1.example.com"}
    changes = converge(config, root)
    assert [c.target for c in changes] == ["/etc/hostname", "/etc/hosts"]  # not the host's running name
    assert (tmp_path / "etc/hostname").read_text() == "node1\n"
    assert "127.0.1.1 node1.example.com node1" in (tmp_path / "etc/hosts").read_text()
    assert "10.0.0.5 db" in (tmp_path / "etc/hosts").read_text()
    assert os.stat(tmp_path / "etc/hosts").st_mode & 0o777 == 0o640
    assert hostname.plan(hostname.parse(config), root, CTX) == []


def test_manage_etc_hosts_false_and_preserve_hostname(tmp_path):
    root = Root(tmp_path)
    assert [c.target for c in converge({"hostname": "n", "manage_etc_hosts": False}, root)] == ["/etc/hostname"]
    assert not (tmp_path / "etc/hosts").exists()
    assert hostname.plan(hostname.parse({"hostname": "other", "preserve_hostname": True}), root, CTX) == []


def test_hostname_symlink_with_the_right_name_is_left_and_a_wrong_one_replaced(tmp_path):
    (tmp_path / "usr/local/etc").mkdir(parents=True)
    (tmp_path / "etc").mkdir()
    (tmp_path / "usr/local/etc/hostname").write_text("node1\n")
    os.symlink("/usr/local/etc/hostname", tmp_path / "etc/hostname")
    root = Root(tmp_path)
    assert hostname.plan(hostname.parse({"hostname": "node1", "manage_etc_hosts": False}), root, CTX) == []
    converge({"hostname": "node2", "manage_etc_hosts": False}, root)
    assert not (tmp_path / "etc/hostname").is_symlink()
    assert (tmp_path / "etc/hostname").read_text() == "node2\n"
    assert (tmp_path / "usr/local/etc/hostname").read_text() == "node1\n"  # never written through


def test_the_running_hostname_is_set_only_when_the_root_is_slash():
    """In a private UTS namespace: plan against / proposes set-hostname; apply sets it."""
    need_root()
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare (util-linux)")
    script = (
        "import socket\n"
        "from ros_init.core.model import StageContext\n"
        "from ros_init.core.root import Root\n"
        "from ros_init.stages import hostname\n"
        "ctx = StageContext(phase='boot')\n"
        "config = {'hostname': 'ros-init-uts-test', 'manage_etc_hosts': False}\n"
        "changes = [c for c in hostname.plan(hostname.parse(config), Root('/'), ctx) if c.action == 'set-hostname']\n"
        "assert len(changes) == 1, changes\n"
        "hostname.apply(changes[0], Root('/'), ctx)\n"
        "again = [c for c in hostname.plan(hostname.parse(config), Root('/'), ctx) if c.action == 'set-hostname']\n"
        "print(socket.gethostname(), len(again))\n"
    )
    before = subprocess.run(["hostname"], capture_output=True, text=True).stdout
    proc = subprocess.run(["unshare", "--uts", sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["ros-init-uts-test", "0"]
    assert subprocess.run(["hostname"], capture_output=True, text=True).stdout == before


def test_set_hostname_refused_for_a_scratch_root(tmp_path):
    from ros_init.core.model import Change

    with pytest.raises(HostnameError, match="only set when the target root is /"):
        hostname.apply(Change("hostname", "set-hostname", "running hostname", "x", payload="x"), Root(tmp_path), CTX)


def test_stage_shape():
    from ros_init.stages import BY_NAME

    assert hostname.NAME == "hostname"
    assert (BY_NAME["hostname"].phases, BY_NAME["hostname"].order) == (("initramfs", "boot"), 30)


_label = st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?\Z")
_line = st.one_of(
    st.builds(lambda a, n: f"{a} {n}", st.sampled_from(["10.0.0.1", "192.0.2.7", "127.0.1.1", "::1", "127.0.0.1"]), _label),
    st.sampled_from(["# comment", "", "   ", "127.0.1.1\told\t# trailing"]),
)


@settings(max_examples=80, deadline=None)
@given(labels=st.lists(_label, min_size=1, max_size=4), lines=st.lists(_line, max_size=8),
       manage=st.sampled_from([True, "localhost", "template"]))
def test_property_idempotent_and_other_lines_kept(labels, lines, manage):
    name = ".".join(labels)
    with tempfile.TemporaryDirectory(dir=_FAST_TMP) as tmp:
        os.mkdir(os.path.join(tmp, "etc"))
        original = "\n".join(lines) + "\n"
        with open(os.path.join(tmp, "etc/hosts"), "w") as fh:
            fh.write(original)
        root = Root(tmp)
        config = {"hostname": name, "manage_etc_hosts": manage}
        converge(config, root)
        assert hostname.plan(hostname.parse(config), root, CTX) == []
        with open(os.path.join(tmp, "etc/hosts")) as fh:
            result = fh.read().splitlines()
        ours = [ln for ln in result if ln.split()[:1] == ["127.0.1.1"]]
        assert ours == [f"127.0.1.1 {name} {labels[0]}" if len(labels) > 1 else f"127.0.1.1 {name}"]
        kept = [ln for ln in original.splitlines() if ln.split("#")[0].split()[:1] != ["127.0.1.1"]]
        assert [ln for ln in result if ln in kept] == kept  # every other line, in order
