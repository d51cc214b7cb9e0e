"""The sshkeys stage: managed block in authorized_keys, github:/gitlab: fetched from a real
HTTP server on 127.0.0.1, ssh_pwauth checked with the real ``sshd -T``."""

from __future__ import annotations

import logging
import os
import socket
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ros_init.stages import sshkeys
from ros_init.stages.sshkeys import BEGIN, END, KeysFile, keys_by_user

from ros_init.core.model import SkipStep, StageContext
from ros_init.core.root import Root
from tests.conftest import need_root, need_tools

K1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey1Key1Key1Key1Key1Key1Key1Key1Key1Key1Key1 one@example"
K2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey2Key2Key2Key2Key2Key2Key2Key2Key2Key2Key2 two@example"
GH1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGitHubKeyGitHubKeyGitHubKeyGitHubKey1"
GH2 = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBGitHub2="
GL1 = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQGitLab1"
HAND = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHandAddedHandAddedHandAdded hand@laptop"

PASSWD = """root:x:0:0:root:/root:/bin/bash
alice:x:1000:1000::/home/alice:/bin/bash
bob:x:1001:1001::/home/bob:/bin/bash
"""


def make_root(base: Path) -> Root:
    (base / "etc").mkdir(parents=True)
    (base / "etc/passwd").write_text(PASSWD)
    (base / "root").mkdir(mode=0o700)
    (base / "home/alice").mkdir(parents=True)
    return Root(base)


def closed_port() -> int:
    """A port of 127.0.0.1 where nothing listens (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ctx_for(url: str = "", timeout: float = 2) -> StageContext:
    url = url or f"http://127.0.0.1:{closed_port()}"
    return StageContext(phase="boot", settings={"ssh_keys": {"github_url": url, "gitlab_url": url + "/gl",
                                                             "timeout": timeout}})


CTX = ctx_for()


def run(config: dict, root: Root, ctx: StageContext = CTX) -> list:
    changes = sshkeys.plan(sshkeys.parse(config), root, ctx)
    for change in changes:
        if change.action == "skip":  # recorded as a skipped step, never a failure
            with pytest.raises(SkipStep):
                sshkeys.apply(change, root, ctx)
        else:
            sshkeys.apply(change, root, ctx)
    return changes


def keyfile(root: Root, user_home: str) -> Path:
    return Path(root.resolve(f"{user_home}/.ssh/authorized_keys"))


class KeysHandler(BaseHTTPRequestHandler):
    pages = {
        "/alice.keys": f"{GH1}\n\nnot a key at all\n{GH2}\n".encode(),
        "/gl/bob.keys": f"{GL1}\n".encode(),
        "/big.keys": b"ssh-ed25519 " + b"A" * 100_000 + b"\n",
        "/empty.keys": b"",
    }

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if self.path == "/slow.keys":
            time.sleep(3)
        body = self.pages.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def key_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), KeysHandler)
    server.daemon_threads = True
    server.block_on_close = False
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def prefix(default_user: str = "NONE") -> str:
    """cloud-init's default disable_root_opts, substituted as cc_ssh does."""
    return sshkeys.DISABLE_ROOT_OPTS.replace("$USER", default_user).replace("$DISABLE_USER", "root")


def test_top_level_keys_go_to_the_default_user_and_root_never_to_the_users_listed() -> None:
    # users names others without `default`: no default user, so root only, behind the options
    assert keys_by_user({"users": ["default", {"name": "alice", "ssh_authorized_keys": [K1]}, "bob"],
                         "ssh_authorized_keys": [K2, K1]}) == {
        "alice": [(K1, None)], "bob": [], "root": [(K2, prefix()), (K1, prefix())]}
    # the default user resolved from the image settings (defaultuser.resolve marks it)
    resolved = {"users": [{"name": "rancher", "default": True}, {"name": "alice"}], "ssh_authorized_keys": [K1]}
    assert keys_by_user(resolved) == {"rancher": [(K1, None)], "alice": [], "root": [(K1, prefix("rancher"))]}
    assert keys_by_user({**resolved, "disable_root": False}) == {
        "rancher": [(K1, None)], "alice": [], "root": [(K1, None)]}
    assert keys_by_user({"ssh_authorized_keys": [K1], "disable_root_opts": "no-pty,from=\"10.0.0.1\""}) == {
        "root": [(K1, "no-pty,from=\"10.0.0.1\"")]}
    assert keys_by_user({"ssh_authorized_keys": [K1], "disable_root_opts": ""}) == {"root": [(K1, None)]}
    assert keys_by_user({}) == {"root": []}
    # root's own key that is also a top-level key: the top-level line (with the options) replaces it
    assert keys_by_user({"users": [{"name": "root", "ssh_authorized_keys": [K1, K2]}], "ssh_authorized_keys": [K1]}) \
        == {"root": [(K1, prefix()), (K2, None)]}
    with pytest.raises(sshkeys.KeysConfigError, match=r"ssh_authorized_keys\[0\]: a key must be one line"):
        keys_by_user({"ssh_authorized_keys": [K1 + "\n" + K2]})
    with pytest.raises(sshkeys.KeysConfigError, match="github"):
        keys_by_user({"ssh_authorized_keys": ["github:bad/name"]})


def test_receivers_is_cloud_inits_apply_credentials() -> None:
    opts = "command=\"echo $USER not $DISABLE_USER\""
    assert sshkeys.receivers("rancher", True, opts) == {"rancher": None, "root": "command=\"echo rancher not root\""}
    assert sshkeys.receivers(None, True, opts) == {"root": "command=\"echo NONE not root\""}
    assert sshkeys.receivers("rancher", False, opts) == {"rancher": None, "root": None}
    assert sshkeys.receivers(None, False, opts) == {"root": None}
    assert sshkeys.receivers("root", True, opts) == {"root": "command=\"echo root not root\""}


def test_disable_root_values_are_checked_and_located() -> None:
    for config, message in (
            ({"disable_root": "yes"}, "disable_root: expected true or false"),
            ({"disable_root_opts": 3}, "disable_root_opts: expected a string"),
            ({"disable_root_opts": "no-pty\ncommand=x"}, "disable_root_opts: must be one line"),
            ({"disable_root_opts": "no-pty, no-agent-forwarding"}, "disable_root_opts: sshd key options hold spaces"),
            ({"disable_root_opts": 'command="echo hi'}, "disable_root_opts: sshd key options hold spaces"),
            ({"disable_root_opts": "#no-pty"}, "disable_root_opts: would turn root's key lines into comments")):
        with pytest.raises(sshkeys.KeysConfigError, match=message):
            sshkeys.parse(config)
    sshkeys.parse({"disable_root_opts": 'command="echo \\"a b\\"",no-pty'})  # spaces inside quotes are fine


def test_options_replace_the_key_lines_own() -> None:
    own = 'from="10.0.0.1",command="echo \\"x y\\"" ' + K1
    assert sshkeys.split_options(own) == ('from="10.0.0.1",command="echo \\"x y\\""', K1)
    assert sshkeys.split_options(K1) == ("", K1)
    assert sshkeys.with_options(own, "no-pty") == f"no-pty {K1}"
    assert sshkeys.with_options(own, None) == own


option_text = st.text(alphabet=st.sampled_from(list('ab,="\\ -')), max_size=14)


@given(opts=option_text, own=st.one_of(st.just(""), option_text), key=st.sampled_from([K1, K2, GL1]))
def test_property_options_in_front_are_idempotent(opts: str, own: str, key: str) -> None:
    """What the plan compares with the file: applying the options to an already prefixed line
    gives the line back, and the key itself is never touched."""
    if sshkeys._options_problem(opts) or sshkeys._options_problem(own):
        return
    line = f"{own} {key}" if own else key
    once = sshkeys.with_options(line, opts)
    assert sshkeys.with_options(once, opts) == once
    assert sshkeys.split_options(once)[1] == key


def test_root_gets_the_prefixed_keys_in_its_block_and_converges(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    ssh = Path(root.resolve("/root/.ssh"))
    ssh.mkdir(mode=0o700)
    (ssh / "authorized_keys").write_text(f"{HAND}\n")
    config = {"users": [{"name": "alice", "ssh_authorized_keys": [K2]}], "ssh_authorized_keys": [K1]}
    summaries = {c.target: c.summary for c in run(config, root)}
    assert "behind disable_root_opts" in summaries["/root/.ssh/authorized_keys"]
    assert "behind" not in summaries["/home/alice/.ssh/authorized_keys"]
    assert keyfile(root, "/root").read_text() == f"{HAND}\n{BEGIN}\n{prefix()} {K1}\n{END}\n"
    assert keyfile(root, "/home/alice").read_text() == f"{BEGIN}\n{K2}\n{END}\n"  # not K1
    assert sshkeys.plan(sshkeys.parse(config), root, CTX) == []
    run({**config, "disable_root": False}, root)  # root usable: the same key, as written
    assert keyfile(root, "/root").read_text() == f"{HAND}\n{BEGIN}\n{K1}\n{END}\n"
    assert sshkeys.plan(sshkeys.parse({**config, "disable_root": False}), root, CTX) == []
    run(config, root)
    assert keyfile(root, "/root").read_text() == f"{HAND}\n{BEGIN}\n{prefix()} {K1}\n{END}\n"


def test_users_leaving_the_default_out_get_a_warning_about_top_level_keys() -> None:
    spec = sshkeys.parse({"users": ["alice"], "ssh_authorized_keys": [K1]})
    [(path, message)] = spec.warnings
    assert path == "ssh_authorized_keys" and "no user of it gets these keys" in message and "refused" in message
    assert "refused" not in sshkeys.parse({"users": ["alice"], "ssh_authorized_keys": [K1],
                                           "disable_root": False}).warnings[0][1]
    for config in ({"ssh_authorized_keys": [K1]}, {"users": ["default", "alice"], "ssh_authorized_keys": [K1]},
                   {"users": ["alice"]}):
        assert sshkeys.parse(config).warnings == ()


@pytest.mark.parametrize("disable_root", [True, False])
def test_ssh_keygen_reads_roots_lines(tmp_path: Path, disable_root: bool) -> None:
    """OpenSSH's own parser takes root's lines, cloud-init's default options in front included."""
    need_tools("ssh-keygen")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "real@example", "-f",
                    str(tmp_path / "id")], check=True)
    real = (tmp_path / "id.pub").read_text().strip()
    root = make_root(tmp_path / "target")
    run({"ssh_authorized_keys": [real], "disable_root": disable_root}, root)
    text = keyfile(root, "/root").read_text()
    assert (prefix() in text) is disable_root
    res = subprocess.run(["ssh-keygen", "-l", "-f", str(keyfile(root, "/root"))], capture_output=True, text=True)
    assert res.returncode == 0 and "real@example" in res.stdout, res.stdout + res.stderr


def test_writes_keys_with_modes_and_owner_and_converges(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    config = {"users": [{"name": "alice", "ssh_authorized_keys": [K1, K2]}]}
    changes = run(config, root)
    assert [c.target for c in changes] == ["/home/alice/.ssh/authorized_keys"]
    path = keyfile(root, "/home/alice")
    assert path.read_text() == f"{BEGIN}\n{K1}\n{K2}\n{END}\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    if os.geteuid() == 0:
        assert (path.stat().st_uid, path.stat().st_gid) == (1000, 1000)
        assert (path.parent.stat().st_uid, path.parent.stat().st_gid) == (1000, 1000)
    assert sshkeys.plan(sshkeys.parse(config), root, CTX) == []
    os.chmod(path.parent, 0o755)  # a loosened folder is repaired
    assert [c.target for c in run(config, root)] == ["/home/alice/.ssh/authorized_keys"]
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert sshkeys.plan(sshkeys.parse(config), root, CTX) == []


def test_hand_added_keys_survive_changes_and_removal(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    ssh = Path(root.resolve("/root/.ssh"))
    ssh.mkdir(mode=0o700)
    (ssh / "authorized_keys").write_text(f"# my laptop\n{HAND}\n")
    run({"ssh_authorized_keys": [K1], "disable_root": False}, root)
    assert (ssh / "authorized_keys").read_text() == f"# my laptop\n{HAND}\n{BEGIN}\n{K1}\n{END}\n"
    with (ssh / "authorized_keys").open("a") as fh:
        fh.write("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQLater later@host\n")
    run({"ssh_authorized_keys": [K2], "disable_root": False}, root)
    assert (ssh / "authorized_keys").read_text() == (
        f"# my laptop\n{HAND}\n{BEGIN}\n{K2}\n{END}\nssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQLater later@host\n")
    changes = run({}, root)  # no keys in the config any more: the block goes, the rest stays
    assert len(changes) == 1
    assert (ssh / "authorized_keys").read_text() == (
        f"# my laptop\n{HAND}\nssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQLater later@host\n")
    assert sshkeys.plan(sshkeys.parse({}), root, CTX) == []


def test_a_file_without_managed_keys_is_not_touched(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    ssh = Path(root.resolve("/root/.ssh"))
    ssh.mkdir(mode=0o755)
    (ssh / "authorized_keys").write_text(HAND)  # no final newline, loose folder: the user's business
    assert sshkeys.plan(sshkeys.parse({"users": [{"name": "root"}]}), root, CTX) == []


def test_missing_user_and_symlinked_ssh_folder_are_skipped(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    changes = sshkeys.plan(sshkeys.parse({"users": [{"name": "zoe", "ssh_authorized_keys": [K1]}]}), root, CTX)
    assert [c.action for c in changes] == ["skip"]
    with pytest.raises(SkipStep, match="no such user"):
        sshkeys.apply(changes[0], root, CTX)
    os.symlink("/etc", root.resolve("/home/alice/.ssh"))
    changes = sshkeys.plan(sshkeys.parse({"users": [{"name": "alice", "ssh_authorized_keys": [K1]}]}), root, CTX)
    assert [c.action for c in changes] == ["skip"] and "not a folder" in changes[0].summary
    assert not os.path.exists(root.resolve("/etc/authorized_keys"))


def test_home_missing_is_created_for_the_user(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    run({"users": [{"name": "bob", "ssh_authorized_keys": [K1]}]}, root)
    assert keyfile(root, "/home/bob").read_text() == f"{BEGIN}\n{K1}\n{END}\n"
    assert stat.S_IMODE(os.stat(root.resolve("/home/bob")).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(root.resolve("/home")).st_mode) == 0o755
    if os.geteuid() == 0:
        assert os.stat(root.resolve("/home")).st_uid == 0
        assert os.stat(root.resolve("/home/bob")).st_uid == 1001


def test_github_and_gitlab_keys_fetched_from_the_configured_server(tmp_path: Path, key_server: str) -> None:
    root = make_root(tmp_path)
    ctx = ctx_for(key_server)
    config = {"users": [{"name": "alice", "ssh_authorized_keys": [K1, "github:alice", "gitlab:bob"]}]}
    run(config, root, ctx)
    assert keyfile(root, "/home/alice").read_text() == (
        f"{BEGIN}\n{K1}\n# from github:alice\n{GH1}\n{GH2}\n# from gitlab:bob\n{GL1}\n{END}\n")
    assert sshkeys.plan(sshkeys.parse(config), root, ctx) == []


def test_a_failed_fetch_keeps_the_last_fetched_keys_and_the_next_plan_is_empty(
        tmp_path: Path, key_server: str, caplog) -> None:
    root = make_root(tmp_path)
    good = ctx_for(key_server)
    config = {"users": [{"name": "alice", "ssh_authorized_keys": ["github:alice"]}]}
    run(config, root, good)
    down = ctx_for()  # nothing listens there
    caplog.set_level(logging.WARNING, logger="ros_init")
    assert sshkeys.plan(sshkeys.parse(config), root, down) == []  # no "skip" change: nothing to do
    assert "github:alice: keys not fetched for alice: request failed" in caplog.text
    assert "2 key(s) fetched earlier kept" in caplog.text
    changes = sshkeys.plan(sshkeys.parse({"users": [{"name": "alice", "ssh_authorized_keys": [K1, "github:alice"]}]}),
                           root, down)
    assert [c.action for c in changes] == ["write-file"]
    sshkeys.apply(changes[0], root, down)
    assert keyfile(root, "/home/alice").read_text() == f"{BEGIN}\n{K1}\n# from github:alice\n{GH1}\n{GH2}\n{END}\n"


def test_the_fetch_goes_through_the_client_in_ctx_within_the_phase_deadline(tmp_path: Path, key_server: str) -> None:
    seen = []

    def http(url, deadline, **kw):
        from ros_init.sources.httpfetch import request

        seen.append((url, deadline))
        return request(url, deadline, **kw)

    root = make_root(tmp_path)
    ctx = ctx_for(key_server)
    ctx.http, ctx.deadline = http, time.monotonic() + 0.2
    run({"users": [{"name": "alice", "ssh_authorized_keys": ["github:alice"]}]}, root, ctx)
    assert seen and seen[0][0] == f"{key_server}/alice.keys" and seen[0][1] <= ctx.deadline


@pytest.mark.parametrize(("ref", "reason"), [
    ("github:nobody", "no such user (HTTP 404)"),
    ("github:slow", "no answer within 0.5s"),
    ("github:big", "answer larger than 64 KiB"),
])
def test_fetch_failures_have_clear_messages(tmp_path: Path, key_server: str, ref: str, reason: str, caplog) -> None:
    root = make_root(tmp_path)
    start = time.monotonic()
    caplog.set_level(logging.WARNING, logger="ros_init")
    run({"ssh_authorized_keys": [K1, ref], "disable_root": False}, root, ctx_for(key_server, timeout=0.5))
    assert time.monotonic() - start < 2.5  # the server would answer after 3 s
    assert reason in caplog.text
    assert keyfile(root, "/root").read_text() == f"{BEGIN}\n{K1}\n# from {ref}\n{END}\n"  # other keys written


def test_a_user_without_keys_upstream_gets_none(tmp_path: Path, key_server: str) -> None:
    root = make_root(tmp_path)
    run({"ssh_authorized_keys": ["github:empty"]}, root, ctx_for(key_server))
    assert keyfile(root, "/root").read_text() == f"{BEGIN}\n# from github:empty\n{END}\n"


foreign_line = st.text(alphabet=st.sampled_from(list("ab #-=ENDBGIN\t")), max_size=12)


@given(foreign=st.lists(foreign_line, max_size=6), block=st.lists(st.sampled_from([K1, K2, "# from github:x"]),
                                                                  max_size=3), at=st.integers(0, 6))
def test_property_managed_block_round_trip_keeps_foreign_lines(foreign: list[str], block: list[str], at: int) -> None:
    foreign = [f for f in foreign if f.strip() not in (BEGIN, END)]
    at = min(at, len(foreign))
    text = "".join(f"{line}\n" for line in foreign[:at])
    if block:
        text += "".join(f"{line}\n" for line in [BEGIN, *block, END])
    text += "".join(f"{line}\n" for line in foreign[at:])
    parsed = KeysFile.parse(text)
    assert list(parsed.foreign) == foreign
    assert list(parsed.managed) == block
    assert parsed.render(block) == text
    assert parsed.render([]) == "".join(f"{line}\n" for line in foreign)
    again = KeysFile.parse(parsed.render([K1]))
    assert list(again.foreign) == foreign and list(again.managed) == [K1]


def test_orphan_markers_never_cost_a_key() -> None:
    parsed = KeysFile.parse(f"{HAND}\n{BEGIN}\n{K1}\n")  # END lost by a hand edit
    assert parsed.foreign == (HAND, K1) and parsed.at is None
    assert KeysFile.parse(f"{END}\n{HAND}\n").foreign == (HAND,)


def test_ssh_pwauth_drop_in_written_and_removed(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    run({"ssh_pwauth": False}, root)
    path = Path(root.resolve(sshkeys.PWAUTH_DROPIN))
    assert path.read_text().splitlines()[1] == "PasswordAuthentication no"
    assert sshkeys.plan(sshkeys.parse({"ssh_pwauth": False}), root, CTX) == []
    run({"ssh_pwauth": True}, root)
    assert path.read_text().splitlines()[1] == "PasswordAuthentication yes"
    run({}, root)
    assert not path.exists()
    run({"ssh_pwauth": "no"}, root)  # cloud-init's strings (deprecated)
    assert path.read_text().splitlines()[1] == "PasswordAuthentication no"
    run({"ssh_pwauth": "unchanged"}, root)  # leaves sshd alone
    assert not path.exists()
    with pytest.raises(sshkeys.KeysConfigError):
        sshkeys.plan(sshkeys.parse({"ssh_pwauth": 42}), root, CTX)


def test_missing_include_is_reported(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    (tmp_path / "etc/ssh").mkdir()
    (tmp_path / "etc/ssh/sshd_config").write_text("PasswordAuthentication yes\n")
    [change] = sshkeys.plan(sshkeys.parse({"ssh_pwauth": False}), root, CTX)
    assert "does not include sshd_config.d" in change.summary


@pytest.mark.parametrize("enabled", [False, True])
def test_sshd_takes_the_drop_in(tmp_path: Path, enabled: bool) -> None:
    need_root()
    need_tools("sshd", "ssh-keygen", "unshare")
    root = make_root(tmp_path)
    etc_ssh = tmp_path / "etc/ssh"
    etc_ssh.mkdir()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "hostkey")], check=True)
    # Like Debian's and openSUSE's sshd_config: the Include comes first, then the defaults.
    (etc_ssh / "sshd_config").write_text(
        f"Include {etc_ssh}/sshd_config.d/*.conf\nHostKey {tmp_path}/hostkey\n"
        f"PasswordAuthentication {'no' if enabled else 'yes'}\n")
    [change] = run({"ssh_pwauth": enabled}, root)
    assert "warning" not in change.summary
    # sshd -T insists on its privilege separation folder: give it one in a private /run.
    res = subprocess.run(
        ["unshare", "--mount", "sh", "-c",
         'mount -t tmpfs tmpfs /run && mkdir -m 755 /run/sshd && exec sshd -T -f "$1"', "sh",
         str(etc_ssh / "sshd_config")], capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    assert f"passwordauthentication {'yes' if enabled else 'no'}" in res.stdout.splitlines()


key_configs = st.fixed_dictionaries({}, optional={
    "users": st.lists(st.fixed_dictionaries({"name": st.sampled_from(["alice", "bob", "root"])}, optional={
        "ssh_authorized_keys": st.lists(st.sampled_from([K1, K2, GL1]), max_size=2)}),
        max_size=2, unique_by=lambda u: u["name"]),
    "ssh_authorized_keys": st.lists(st.sampled_from([K1, K2, GH1, f'from="10.0.0.1" {K2}']), max_size=2),
    "disable_root": st.booleans(),
    "disable_root_opts": st.sampled_from(["", "no-pty", 'command="echo \\"$USER\\" only",no-pty']),
})


@settings(max_examples=40, deadline=None)
@given(configs=st.lists(key_configs, min_size=1, max_size=3), hand=st.lists(st.sampled_from([HAND, "# note", ""]),
                                                                           max_size=3))
def test_property_plan_after_apply_is_empty_and_hand_keys_survive(configs: list[dict], hand: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="ros-init-keys-") as base:
        root = make_root(Path(base))
        for home in ("/root", "/home/alice"):
            ssh = Path(root.resolve(f"{home}/.ssh"))
            ssh.mkdir(mode=0o700)
            (ssh / "authorized_keys").write_text("".join(f"{line}\n" for line in hand))
        for config in configs:
            run(config, root)
            assert sshkeys.plan(sshkeys.parse(config), root, CTX) == []
        for home in ("/root", "/home/alice"):
            assert list(KeysFile.parse(keyfile(root, home).read_text()).foreign) == hand


def test_keys_of_the_object_form_and_hyphenated_key() -> None:
    assert keys_by_user({"users": {"alice": {"ssh-authorized-keys": [K1]}, "bob": True},
                         "ssh_authorized_keys": [K2]}) == {"alice": [(K1, None)], "bob": [], "root": [(K2, prefix())]}


def test_the_schema_default_is_the_stage_default() -> None:
    from ros_init.config.schema import load_schema

    props = load_schema()["properties"]
    assert props["disable_root_opts"]["default"] == sshkeys.DISABLE_ROOT_OPTS
    assert (props["disable_root"]["type"], props["disable_root"]["default"]) == ("boolean", True)
    assert "x-ignored" not in props["disable_root"] and "x-ignored" not in props["disable_root_opts"]
