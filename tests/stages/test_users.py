"""The users stage on scratch roots with real account files, checked with pwck/grpck/visudo."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from passlib.hash import sha512_crypt
from ros_init.stages import users

from ros_init.accounts.userconfig import UsersConfigError, read_users
from ros_init.core.model import StageContext
from ros_init.core.root import Root
from tests.conftest import need_root, need_tools

# A Debian-like system whose files pwck and grpck accept (homes and shells exist).
PASSWD = """root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
bin:x:2:2:bin:/bin:/usr/sbin/nologin
sshd:x:100:65534::/run/sshd:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
"""
SHADOW = """root:*:20000:0:99999:7:::
daemon:*:20000:0:99999:7:::
bin:*:20000:0:99999:7:::
sshd:!:20000::::::
nobody:*:20000:0:99999:7:::
"""
GROUP = """root:x:0:
daemon:x:1:
bin:x:2:
adm:x:4:
shadow:x:42:
users:x:100:
nogroup:x:65534:
"""
GSHADOW = """root:*::
daemon:*::
bin:*::
adm:*::
shadow:*::
users:*::
nogroup:*::
"""
LOGIN_DEFS = "UID_MIN 1000\nUID_MAX 60000\nGID_MIN 1000\nGID_MAX 60000\nUMASK 022\nHOME_MODE 0700\n"
CTX = StageContext(phase="boot")
PASSWORD = "correct horse battery staple"


def make_root(base: Path) -> Root:
    etc = base / "etc"
    (etc / "skel" / ".config").mkdir(parents=True)
    for name, text, mode in (("passwd", PASSWD, 0o644), ("shadow", SHADOW, 0o640), ("group", GROUP, 0o644),
                             ("gshadow", GSHADOW, 0o640), ("login.defs", LOGIN_DEFS, 0o644)):
        (etc / name).write_text(text)
        os.chmod(etc / name, mode)
        if name in ("shadow", "gshadow") and os.geteuid() == 0:
            os.chown(etc / name, 0, 42)
    (etc / "default").mkdir()
    (etc / "default" / "useradd").write_text("SHELL=/bin/bash\n")
    (etc / "skel" / ".bashrc").write_text("# bashrc\n")
    (etc / "skel" / ".config" / "app.conf").write_text("x=1\n")
    for d in ("root", "usr/sbin", "bin", "run/sshd", "nonexistent", "home"):
        (base / d).mkdir(parents=True, exist_ok=True)
    for exe in ("bin/bash", "usr/sbin/nologin", "bin/sh"):
        (base / exe).write_text("")
        os.chmod(base / exe, 0o755)
    return Root(base)


def run(config: dict, root: Root) -> list:
    changes = users.plan(users.parse(config), root, CTX)
    for change in changes:
        users.apply(change, root, CTX)
    return changes


def read(root: Root, path: str) -> str:
    return (Path(root.path) / path.lstrip("/")).read_text()


def entry(root: Root, path: str, name: str) -> list[str]:
    for line in read(root, path).splitlines():
        if line.split(":")[0] == name:
            return line.split(":")
    raise AssertionError(f"{name} not in {path}")


def check_with_shadow_tools(root: Root, homeless: frozenset[str] = frozenset()) -> None:
    """pwck and grpck of shadow-utils accept the files. ``homeless``: users created without a
    home on purpose (system, no_create_home), whose missing home pwck reports, as it would
    after ``useradd`` without ``-m``."""
    need_root()
    need_tools("pwck", "grpck")
    for tool in ("pwck", "grpck"):
        res = subprocess.run([tool, "-r", "-R", root.path], capture_output=True, text=True)
        problems = [line for line in (res.stdout + res.stderr).splitlines()
                    if line.strip() and not line.endswith("no changes")
                    and not any(line.startswith(f"user '{u}': directory ") for u in homeless)]
        assert not problems and res.returncode in (0, 2), f"{tool}: {res.stdout}{res.stderr}"


ALICE = {
    "name": "alice",
    "gecos": "Alice Example",
    "groups": ["docker", "adm"],
    "plain_text_passwd": PASSWORD,
    "sudo": "ALL=(ALL) NOPASSWD:ALL",
}


def test_creates_user_group_home_sudo_and_converges(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    changes = run({"users": [ALICE]}, root)
    assert [c.target for c in changes] == ["/etc/group", "/etc/gshadow", "/etc/shadow", "/home/alice",
                                           "/etc/passwd", "/etc/sudoers.d/90-ros-init-alice"]
    assert entry(root, "/etc/passwd", "alice") == ["alice", "x", "1000", "1000", "Alice Example",
                                                   "/home/alice", "/bin/bash"]
    assert entry(root, "/etc/group", "alice") == ["alice", "x", "1000", ""]
    assert entry(root, "/etc/group", "docker") == ["docker", "x", "1001", "alice"]
    assert entry(root, "/etc/group", "adm") == ["adm", "x", "4", "alice"]
    assert entry(root, "/etc/gshadow", "docker") == ["docker", "!", "", "alice"]
    field = entry(root, "/etc/shadow", "alice")[1]
    assert field.startswith("!$6$")  # lock_passwd defaults to true
    assert sha512_crypt.verify(PASSWORD, field[1:])
    # foreign entries are kept, in order, untouched
    assert read(root, "/etc/passwd").startswith(PASSWD)
    assert read(root, "/etc/shadow").startswith(SHADOW)
    st_shadow = os.stat(root.resolve("/etc/shadow"))
    assert stat.S_IMODE(st_shadow.st_mode) == 0o640
    home = Path(root.resolve("/home/alice"))
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert (home / ".bashrc").read_text() == "# bashrc\n"
    assert (home / ".config" / "app.conf").read_text() == "x=1\n"
    if os.geteuid() == 0:
        assert {(p.stat().st_uid, p.stat().st_gid) for p in [home, *home.rglob("*")]} == {(1000, 1000)}
    sudoers = Path(root.resolve("/etc/sudoers.d/90-ros-init-alice"))
    assert stat.S_IMODE(sudoers.stat().st_mode) == 0o440
    assert sudoers.read_text().splitlines()[1:] == ["alice ALL=(ALL) NOPASSWD:ALL"]
    assert users.plan(users.parse({"users": [ALICE]}), root, CTX) == []
    check_with_shadow_tools(root)


def test_sudoers_file_passes_visudo(tmp_path: Path) -> None:
    need_tools("visudo")
    root = make_root(tmp_path)
    run({"users": [{"name": "bob", "sudo": ["ALL=(ALL) ALL", "ALL=(root) NOPASSWD: /usr/bin/true"]},
                   {"name": "carol.x", "sudo": "ALL=(ALL) ALL"}]}, root)
    for name in ("90-ros-init-bob", "90-ros-init-carol_2ex"):
        path = root.resolve(f"/etc/sudoers.d/{name}")
        res = subprocess.run(["visudo", "-c", "-f", path], capture_output=True, text=True)
        assert res.returncode == 0, res.stdout + res.stderr


def test_sudo_rules_removed_when_the_config_drops_them(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    run({"users": [ALICE]}, root)
    (Path(root.path) / "etc/sudoers.d/README").write_text("hand written\n")
    changes = run({"users": [{**ALICE, "sudo": None}]}, root)
    assert [c.action for c in changes] == ["remove-file"]
    assert root.listdir("/etc/sudoers.d") == ["README"]


@pytest.mark.parametrize("rule", ["ALL=(ALL) ALL\nmallory ALL=(ALL) ALL", "ALL=(ALL) ALL \\", "# x"])
def test_sudo_rule_injection_is_refused(tmp_path: Path, rule: str) -> None:
    with pytest.raises(UsersConfigError, match=r"users\[0\]\.sudo"):
        users.plan(users.parse({"users": [{"name": "alice", "sudo": rule}]}), make_root(tmp_path), CTX)


def test_existing_users_get_passwords_and_lock_but_not_passwd(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    hashed = sha512_crypt.using(rounds=5000).hash("other")
    # root exists: `passwd` (creation only) is ignored, hashed_passwd applies, lock false unlocks
    run({"users": [{"name": "root", "passwd": hashed, "lock_passwd": False}]}, root)
    assert entry(root, "/etc/shadow", "root")[1] == "*"
    run({"users": [{"name": "root", "hashed_passwd": hashed, "lock_passwd": False}]}, root)
    assert entry(root, "/etc/shadow", "root")[1] == hashed
    assert entry(root, "/etc/passwd", "root") == PASSWD.splitlines()[0].split(":")  # nothing else changed
    run({"users": [{"name": "root", "hashed_passwd": hashed}]}, root)
    assert entry(root, "/etc/shadow", "root")[1] == "!" + hashed
    # a new user gets `passwd`
    run({"users": [{"name": "dave", "passwd": hashed, "lock_passwd": False}]}, root)
    assert entry(root, "/etc/shadow", "dave")[1] == hashed


def test_plain_text_password_is_hashed_once_and_rehashed_when_it_changes(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    config = {"users": [{"name": "erin", "plain_text_passwd": PASSWORD, "lock_passwd": False}]}
    run(config, root)
    first = entry(root, "/etc/shadow", "erin")[1]
    assert first.startswith("$6$") and PASSWORD not in read(root, "/etc/shadow")
    assert users.plan(users.parse(config), root, CTX) == []
    config["users"][0]["plain_text_passwd"] = "new password"
    changes = run(config, root)
    assert [c.summary for c in changes] == ["/etc/shadow: set the password of erin"]
    second = entry(root, "/etc/shadow", "erin")[1]
    assert second != first and sha512_crypt.verify("new password", second)


def test_chpasswd_sets_existing_users_and_expires(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    hashed = sha512_crypt.using(rounds=5000).hash("h")
    config = {"users": [{"name": "frank"}],
              "chpasswd": {"users": [{"name": "frank", "password": PASSWORD, "type": "text"},
                                     {"name": "root", "password": hashed},
                                     {"name": "ghost", "password": "x", "type": "text"}]}}
    run(config, root)
    frank = entry(root, "/etc/shadow", "frank")
    assert sha512_crypt.verify(PASSWORD, frank[1]) and frank[2] == "0"  # expire defaults to true
    assert entry(root, "/etc/shadow", "root")[1:3] == [hashed, "0"]
    assert users.plan(users.parse(config), root, CTX) == []
    config["chpasswd"]["expire"] = False
    config["chpasswd"]["users"][1]["password"] = hashed2 = sha512_crypt.using(rounds=5000).hash("i")
    run(config, root)
    root_entry = entry(root, "/etc/shadow", "root")
    assert root_entry[1] == hashed2 and root_entry[2] not in ("0", "20000")  # today


def test_uid_system_no_user_group_and_errors(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    run({"users": [{"name": "svc", "system": True},
                   {"name": "gina", "uid": 2500, "no_user_group": True, "shell": "/bin/sh"},
                   {"name": "hank", "primary_group": "staff", "homedir": "/srv/hank"}]}, root)
    svc = entry(root, "/etc/passwd", "svc")
    assert int(svc[2]) == 999 and int(svc[3]) == 999 and not os.path.exists(root.resolve("/home/svc"))
    assert entry(root, "/etc/passwd", "gina")[2:4] == ["2500", "100"]
    hank = entry(root, "/etc/passwd", "hank")
    assert entry(root, "/etc/group", "staff")[2] == hank[3]
    assert os.path.isdir(root.resolve("/srv/hank"))
    with pytest.raises(UsersConfigError, match=r"users\[0\]\.uid: uid 2500 already belongs to user gina"):
        users.plan(users.parse({"users": [{"name": "ivan", "uid": 2500}]}), root, CTX)
    with pytest.raises(UsersConfigError, match=r"users\[0\]\.gecos"):
        users.plan(users.parse({"users": [{"name": "ivan", "gecos": "a:b"}]}), root, CTX)
    with pytest.raises(UsersConfigError, match="create_groups is false"):
        users.plan(users.parse({"users": [{"name": "ivan", "primary_group": "nope", "create_groups": False}]}), root, CTX)
    check_with_shadow_tools(root)


def test_top_level_groups_and_string_forms(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    run({"users": "jane, default, kim", "groups": ["ops", {"devs": ["jane", "nobody-here"]}]}, root)
    assert entry(root, "/etc/passwd", "jane")[:4] == ["jane", "x", "1000", "1002"]  # gids 1000, 1001: ops, devs
    assert entry(root, "/etc/group", "devs")[3] == "jane"
    assert entry(root, "/etc/group", "ops")[3] == ""
    assert "default" not in read(root, "/etc/passwd")
    assert users.plan(users.parse({"users": "jane, default, kim", "groups": ["ops", {"devs": ["jane"]}]}), root, CTX) == []
    check_with_shadow_tools(root)


def test_a_crash_before_passwd_is_completed_by_the_next_run(tmp_path: Path) -> None:
    clean = make_root(tmp_path / "clean")
    run({"users": [ALICE]}, clean)
    crashed = make_root(tmp_path / "crashed")
    for change in users.plan(users.parse({"users": [ALICE]}), crashed, CTX)[:4]:  # group, gshadow, shadow, home
        users.apply(change, crashed, CTX)
    run({"users": [ALICE]}, crashed)
    assert users.plan(users.parse({"users": [ALICE]}), crashed, CTX) == []
    for path in ("/etc/passwd", "/etc/group", "/etc/gshadow"):
        assert read(crashed, path) == read(clean, path)
    assert os.listdir(crashed.resolve("/home")) == ["alice"]  # no temporary folder left


def test_half_built_home_from_a_crash_is_rebuilt(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    (Path(root.path) / "home/.alice.ros-init.tmp").mkdir()
    run({"users": [ALICE]}, root)
    assert sorted(os.listdir(root.resolve("/home"))) == ["alice"]
    assert (Path(root.resolve("/home/alice")) / ".bashrc").exists()


def test_existing_home_is_left_alone(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    (Path(root.path) / "home/alice").mkdir()
    (Path(root.path) / "home/alice/data").write_text("mine")
    changes = run({"users": [ALICE]}, root)
    assert "create-home" not in [c.action for c in changes]
    assert os.listdir(root.resolve("/home/alice")) == ["data"]


def test_no_secret_in_summaries_reprs_logs_or_errors(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    root = make_root(tmp_path)
    hashed = sha512_crypt.using(rounds=5000).hash("h")
    config = {"users": [{**ALICE, "hashed_passwd": hashed}],
              "chpasswd": {"users": [{"name": "root", "password": PASSWORD, "type": "text"}]}}
    changes = users.plan(users.parse(config), root, CTX)
    text = " ".join(f"{c!r} {c.summary} {c.target}" for c in changes)
    assert PASSWORD not in text and hashed not in text and "$6$" not in text
    assert PASSWORD not in repr(read_users(config)) and hashed not in repr(read_users(config))
    with pytest.raises(UsersConfigError) as err:
        users.plan(users.parse({"users": [{"name": "x", "hashed_passwd": "$6$abc:def"}]}), root, CTX)
    assert "abc" not in str(err.value)
    for change in changes:
        users.apply(change, root, CTX)
    changes = users.plan(users.parse({**config, "chpasswd": {"users": [{"name": "ghost", "password": PASSWORD}]}}), root, CTX)
    assert caplog.records  # the unknown chpasswd user was reported...
    assert PASSWORD not in caplog.text and hashed not in caplog.text  # ...without the password


def test_not_root_skips_chown_with_a_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Process identity cannot change inside one test process: the decision function is replaced.
    monkeypatch.setattr(users, "_can_chown", lambda: False)
    root = make_root(tmp_path)
    changes = run({"users": [ALICE]}, root)
    home = next(c for c in changes if c.action == "create-home")
    assert "not running as root" in home.summary
    assert users.plan(users.parse({"users": [ALICE]}), root, CTX) == []


def test_plan_of_an_empty_config_reads_nothing_and_changes_nothing(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    assert users.plan(users.parse({}), root, CTX) == []


user_items = st.fixed_dictionaries(
    {"name": st.sampled_from(["u1", "u2", "u3", "root", "daemon"])},
    optional={
        "lock_passwd": st.booleans(),
        "plain_text_passwd": st.sampled_from(["a", "b"]),
        "groups": st.lists(st.sampled_from(["g1", "g2", "adm"]), max_size=2),
        "sudo": st.sampled_from([None, "ALL=(ALL) ALL"]),
        "system": st.booleans(),
        "no_create_home": st.booleans(),
    },
)
configs = st.fixed_dictionaries(
    {"users": st.lists(user_items, max_size=3, unique_by=lambda u: u["name"])},
    optional={
        "groups": st.lists(st.sampled_from(["g1", "g3", {"g2": ["u1", "root"]}]), max_size=2),
        "chpasswd": st.fixed_dictionaries({"users": st.lists(st.fixed_dictionaries(
            {"name": st.sampled_from(["u1", "root"]), "password": st.sampled_from(["a", "c"]),
             "type": st.just("text")}), max_size=2, unique_by=lambda u: u["name"])},
            optional={"expire": st.booleans()}),
    },
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=configs, second=configs)
def test_property_plan_after_apply_is_empty(first: dict, second: dict) -> None:
    base = Path(tempfile.mkdtemp(prefix="ros-init-users-"))
    try:
        root = make_root(base)
        homeless: set[str] = set()
        for config in (first, second):  # a config, then a changed one over its result
            run(config, root)
            assert users.plan(users.parse(config), root, CTX) == []
            assert read(root, "/etc/passwd").startswith(PASSWD.splitlines()[0])
            homeless |= {u["name"] for u in config["users"] if u.get("system") or u.get("no_create_home")}
            if os.geteuid() == 0 and shutil.which("pwck"):
                check_with_shadow_tools(root, frozenset(homeless))
        for line in PASSWD.splitlines()[1:]:
            assert line in read(root, "/etc/passwd")  # foreign entries survive
    finally:
        shutil.rmtree(base)


def test_users_then_sshkeys_like_the_engine_runs_them(tmp_path: Path) -> None:
    from ros_init.stages import sshkeys

    root = make_root(tmp_path)
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEngineOrderEngineOrderEngineOrder1 me@host"
    config = {"users": [{**ALICE, "ssh_authorized_keys": [key]}], "ssh_pwauth": False}
    dry = sshkeys.plan(sshkeys.parse(config), root, CTX)  # a dry run before the users stage: alice is not there yet
    assert [c.action for c in dry] == ["skip", "write-file"]
    for stage in (users, sshkeys):
        for change in stage.plan(stage.parse(config), root, CTX):
            stage.apply(change, root, CTX)
    keys = Path(root.resolve("/home/alice/.ssh/authorized_keys"))
    assert key in keys.read_text()
    if os.geteuid() == 0:
        assert (keys.stat().st_uid, keys.stat().st_gid) == (1000, 1000)
    assert users.plan(users.parse(config), root, CTX) == [] and sshkeys.plan(sshkeys.parse(config), root, CTX) == []
    check_with_shadow_tools(root)


def test_account_files_wait_for_the_lckpwdf_lock(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    changes = users.plan(users.parse({"users": [ALICE]}), root, CTX)
    with users._account_lock(root, wait=1):  # creates it, like lckpwdf: 0600
        pass
    # Another program (here: a child process, as fcntl locks are per process) holds the lock.
    lock_path = root.resolve(users.PWD_LOCK)
    holder = subprocess.Popen(
        ["python3", "-c", "import fcntl,sys,time; f=open(sys.argv[1],'w'); fcntl.lockf(f, fcntl.LOCK_EX); "
         "print('locked', flush=True); time.sleep(30)", lock_path], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(RuntimeError, match="held by another program"), \
                users._account_lock(root, wait=0.3):
            pass
    finally:
        holder.kill()
        holder.wait()
    for change in changes:
        users.apply(change, root, CTX)
    assert users.plan(users.parse({"users": [ALICE]}), root, CTX) == []
    assert stat.S_IMODE(os.stat(lock_path).st_mode) == 0o600


def test_cloud_init_forms_of_the_schema(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = make_root(tmp_path)
    hashed = sha512_crypt.using(rounds=5000).hash("h")
    config = {
        # object form, true-ish scalar, false-ish scalar, hyphenated keys, numeric strings
        "users": {"kate": {"lock-passwd": False, "hashed-passwd": hashed, "uid": "3000", "groups": {"g1": None},
                           "primary-group": "100", "sudo": [None, "ALL=(ALL) ALL"]},
                  "leo": True, "mia": False, "ned": "no"},
        "chpasswd": {"list": "root:" + hashed + "\nleo:RANDOM\n", "users": [{"name": "kate", "type": "RANDOM"}]},
    }
    run(config, root)
    assert entry(root, "/etc/passwd", "kate")[2:4] == ["3000", "100"]
    assert entry(root, "/etc/shadow", "kate")[1] == hashed
    assert entry(root, "/etc/group", "g1")[3] == "kate"
    assert entry(root, "/etc/shadow", "root")[1] == hashed  # list form: a hash stays a hash
    assert entry(root, "/etc/passwd", "leo")[0] == "leo"
    assert "mia" not in read(root, "/etc/passwd") and "ned" not in read(root, "/etc/passwd")
    assert read(root, "/etc/sudoers.d/90-ros-init-kate").splitlines()[1:] == ["kate ALL=(ALL) ALL"]
    assert "random passwords are not supported" in caplog.text
    assert users.plan(users.parse(config), root, CTX) == []
    # a chpasswd entry without type is a hash (the schema's default), even one like "*"
    run({"chpasswd": {"users": [{"name": "leo", "password": "*"}], "expire": False}}, root)
    assert entry(root, "/etc/shadow", "leo")[1] == "*"
    # nested list of names, snapuser-only entries ignored
    run({"users": [["nora", "otto"], {"snapuser": "x@example.com"}]}, root)
    assert {"nora", "otto"} <= {line.split(":")[0] for line in read(root, "/etc/passwd").splitlines()}
    with pytest.raises(UsersConfigError, match=r"users\[0\]\.primary_group: no group has gid 4242"):
        users.plan(users.parse({"users": {"pia": {"primary_group": "4242"}}}), root, CTX)
    check_with_shadow_tools(root)
