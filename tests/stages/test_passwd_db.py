"""The account database layer: lossless round-trip, in-place edits, id allocation, login.defs."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ros_init.accounts.logindefs import IdRange, account_defaults, parse_login_defs
from ros_init.accounts.passwd_db import Database, DatabaseError, Table, allocate_id, lock, unlock

PASSWD = """root:x:0:0:root:/root:/bin/bash
# a comment the admin wrote
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin

+@netgroup::::::
broken line without fields
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
"""

# Text made of the characters that matter to the format: separators, comments, NIS
# markers, line ends, and some letters.
db_text = st.text(alphabet=st.sampled_from(list("ab:x#+-!*$0 \n\r\t\u00e9")), max_size=200)
field = st.text(alphabet=st.sampled_from(list("abcxyz019!$*/. ")), max_size=8)
name = st.text(alphabet=st.sampled_from(list("abcdefgh")), min_size=1, max_size=6)


@pytest.mark.parametrize("kind", ["passwd", "shadow", "group", "gshadow"])
@given(text=db_text)
def test_parse_render_round_trip_is_exact_for_any_text(kind: str, text: str) -> None:
    # Decision (docs/stages.md): foreign content is kept byte for byte, comments,
    # blank lines, malformed lines and a missing final newline included.
    assert Table.parse(kind, text).render() == text


def test_entries_skip_comments_blank_and_malformed_lines() -> None:
    table = Table.parse("passwd", PASSWD)
    assert [f[0] for f in table.entries()] == ["root", "daemon", "+@netgroup", "nobody"]
    assert table.get("daemon") == ("daemon", "x", "1", "1", "daemon", "/usr/sbin", "/usr/sbin/nologin")
    assert table.get("# a comment the admin wrote") is None


def test_put_replaces_in_place_and_appends_new_entries_at_the_end() -> None:
    table = Table.parse("passwd", PASSWD)
    changed = table.put(("daemon", "x", "1", "1", "Daemon", "/usr/sbin", "/usr/sbin/nologin"))
    lines = changed.render().splitlines()
    assert lines[2] == "daemon:x:1:1:Daemon:/usr/sbin:/usr/sbin/nologin"
    assert lines[:2] + lines[3:] == PASSWD.splitlines()[:2] + PASSWD.splitlines()[3:]
    added = changed.put(("alice", "x", "1000", "1000", "", "/home/alice", "/bin/sh"))
    assert added.render() == changed.render() + "alice:x:1000:1000::/home/alice:/bin/sh\n"
    assert added.put(added.get("alice")) is added  # no-op keeps the object


def test_put_after_a_file_without_final_newline_starts_a_new_line() -> None:
    table = Table.parse("group", "root:x:0:")
    assert table.put(("adm", "x", "4", "")).render() == "root:x:0:\nadm:x:4:\n"


@given(text=db_text, fields=st.tuples(name, field, field, field))
def test_put_keeps_every_other_line_in_order(text: str, fields: tuple[str, ...]) -> None:
    table = Table.parse("group", text)
    new = table.put(fields)
    old_lines, new_lines = list(table.lines), list(new.lines)
    replaced = [i for i, line in enumerate(old_lines) if table._fields(line) and line.split(":")[0] == fields[0]]
    if replaced:
        i = replaced[0]
        assert new_lines[:i] + new_lines[i + 1:] == old_lines[:i] + old_lines[i + 1:]
        assert new_lines[i] == ":".join(fields)
    else:
        assert new_lines == old_lines + [":".join(fields)]
    assert Table.parse("group", new.render()) == new


@pytest.mark.parametrize("bad", ["a:b", "two\nlines", "cr\r", "nul\0"])
def test_put_refuses_values_that_break_the_line_and_does_not_echo_them(bad: str) -> None:
    with pytest.raises(DatabaseError) as err:
        Table.parse("shadow", "").put(("alice", "secret" + bad, "", "", "", "", "", "", ""))
    assert "secret" not in str(err.value)


def test_allocate_id_like_useradd() -> None:
    ids = IdRange(1000, 1005)
    assert allocate_id({0, 1, 65534}, ids, system=False) == 1000
    assert allocate_id({1000, 1003}, ids, system=False) == 1004  # highest used + 1
    assert allocate_id({1000, 1005}, ids, system=False) == 1001  # top taken: lowest free
    assert allocate_id({999, 998}, IdRange(100, 999), system=True) == 997  # system: top down
    with pytest.raises(DatabaseError):
        allocate_id(set(range(1000, 1006)), ids, system=False)


def test_lock_and_unlock() -> None:
    assert lock("$6$s$h") == "!$6$s$h"
    assert lock("!$6$s$h") == "!$6$s$h"
    assert unlock("!!$6$s$h") == "$6$s$h"
    assert unlock("!") == "!"  # never an empty password
    assert unlock("!*") == "!*"
    assert unlock("*") == "*"


def test_groups_and_members_go_to_group_and_gshadow() -> None:
    db = Database.parse({"passwd": "", "shadow": "", "group": "root:x:0:\nadm:x:4:syslog\n",
                         "gshadow": "root:*::\nadm:*::syslog\n"})
    db = db.add_group("docker", 1001).add_member("docker", "alice").add_member("adm", "alice")
    db = db.add_member("adm", "alice")  # twice: no duplicate
    assert db.group.render() == "root:x:0:\nadm:x:4:syslog,alice\ndocker:x:1001:alice\n"
    assert db.gshadow is not None
    assert db.gshadow.render() == "root:*::\nadm:*::syslog,alice\ndocker:!::alice\n"
    with pytest.raises(DatabaseError):
        db.add_group("other", 1001)
    with pytest.raises(DatabaseError):
        db.add_member("missing", "alice")


def test_no_gshadow_file_means_none_is_created() -> None:
    db = Database.parse({"group": "root:x:0:\n", "gshadow": None})
    db = db.add_group("docker", 1001).add_member("docker", "alice")
    assert db.gshadow is None


def test_login_defs_of_the_target() -> None:
    text = """# comment
UID_MIN\t\t\t 2000
UID_MAX  3000
SYS_UID_MAX 1999
GID_MIN 2000
GID_MAX 3000
UMASK 077
PASS_MAX_DAYS 90
SHA_CRYPT_MIN_ROUNDS 10000
ENCRYPT_METHOD SHA512
"""
    assert parse_login_defs(text)["UID_MIN"] == "2000"
    defs = account_defaults(text, 'SHELL=/bin/bash\nHOME="/srv/home"\n# x\n')
    assert defs.uids == IdRange(2000, 3000)
    assert defs.sys_uids == IdRange(101, 1999)
    assert defs.sys_gids == IdRange(101, 1999)
    assert defs.home_mode == 0o700  # from UMASK 077
    assert defs.pass_max_days == 90
    assert defs.sha_crypt_rounds == 10000
    assert defs.shell == "/bin/bash"
    assert defs.home_base == "/srv/home"
    assert account_defaults("HOME_MODE 0750\n").home_mode == 0o750
    assert account_defaults("UID_MIN 5000\nUID_MAX 10\n").uids == IdRange(1000, 60000)  # nonsense: defaults


def test_login_defs_of_this_host_parse() -> None:
    try:
        text = Path("/etc/login.defs").read_text()
    except OSError:
        pytest.skip("no /etc/login.defs on this host")
    defs = account_defaults(text)
    assert defs.uids.low <= defs.uids.high
    assert defs.sys_uids.high < defs.uids.low or defs.sys_uids.high >= defs.sys_uids.low
