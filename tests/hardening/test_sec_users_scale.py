"""Security, scale: the users stage is linear, and deciding all users at once gives exactly
what adding them one by one gives.

Before: linear scans in ``passwd_db.Table`` (every ``get``, every id allocation, a copy of
every line per change) and a listing of /home per new home made the stage quadratic: 1,000
users planned in 10.7 s, 4,000 in 182 s. The figures now come from
``benchmarks/bench_users.py`` (not a timed test); here, the equivalence and a count of the
work done, which does not depend on the machine's load.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ros_init.accounts.decide import PasswordHasher, decide
from ros_init.accounts.logindefs import account_defaults
from ros_init.accounts.passwd_db import Database, Table
from ros_init.accounts.userconfig import UsersConfigError, UserSpec

BASE = {
    "passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n",
    "shadow": "root:*:20000:0:99999:7:::\nnobody:*:20000:0:99999:7:::\n",
    "group": "root:x:0:\nusers:x:100:\nwheel:x:10:\nnogroup:x:65534:\n",
    "gshadow": "root:*::\nusers:!::\nwheel:!::\nnogroup:!::\n",
}
DEFS = account_defaults()
TODAY = 20500
HASH = "$6$saltsalt$" + "x" * 86


def _decide(db: Database, specs: list[UserSpec]) -> Database:
    return decide(db, specs, [], [], True, DEFS, TODAY, PasswordHasher()).db


def _render(db: Database) -> dict[str, str]:
    return {k: t.render() for k in ("passwd", "shadow", "group", "gshadow") if (t := db.table(k)) is not None}


spec_strategy = st.builds(
    lambda i, groups, system, uid, locked, hashed, no_group: UserSpec(
        name=f"u{i}", path=f"users[{i}]", groups=tuple(groups), system=system,
        uid=uid, lock_passwd=locked, passwd=HASH if hashed else None, no_user_group=no_group),
    st.integers(0, 40), st.lists(st.sampled_from(["users", "wheel", "extra", "docker"]), max_size=3, unique=True),
    st.booleans(), st.one_of(st.none(), st.integers(2000, 2010)), st.booleans(), st.booleans(), st.booleans())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(spec_strategy, max_size=12, unique_by=lambda s: s.name))
def test_all_at_once_equals_one_by_one(specs: list[UserSpec]) -> None:
    start = Database.parse(BASE)
    try:
        together = _render(_decide(start, specs))
    except UsersConfigError:
        together = None
    db = start
    try:
        for spec in specs:
            db = _decide(db, [spec])
        one_by_one = _render(db)
    except UsersConfigError:
        one_by_one = None
    if together is None or one_by_one is None:
        # a clash (an explicit uid taken): refused either way, but the batch refuses it as soon as met
        assert together is None
        return
    assert together == one_by_one


@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d", "#c", "e"]), st.integers(0, 5)), max_size=30))
def test_an_edited_table_reads_and_renders_like_the_immutable_one(puts: list[tuple[str, int]]) -> None:
    text = "a:x:1:\n# comment\nbroken line\nb:x:2:\n"
    plain, edited = Table.parse("group", text), Table.parse("group", text).editable()
    for name, gid in puts:
        if name.startswith("#"):
            continue
        plain = plain.put((name, "x", str(gid), ""))
        edited = edited.put((name, "x", str(gid), ""))
        for probe in "abcdef":
            assert plain.get(probe) == edited.get(probe)
    assert edited.frozen().render() == plain.render()
    assert Table.parse("group", text).render() == text  # the source is untouched


def test_a_superseded_edit_handle_refuses_to_be_read() -> None:
    old = Table.parse("group", "a:x:1:\n").editable()
    new = old.put(("b", "x", "2", ""))
    assert new.get("b") is not None
    try:
        old.get("a")
    except RuntimeError:
        pass
    else:
        raise AssertionError("a stale handle was read")


def test_the_work_per_user_does_not_grow_with_the_number_of_users() -> None:
    """Counted, not timed: the lines split by the index stay proportional to the users."""
    import ros_init.accounts.passwd_db as pdb

    counts = {}
    real = pdb._entry
    for n in (300, 1200):
        calls = 0

        def counting(kind: str, line: str, _real=real) -> tuple[str, ...] | None:
            nonlocal calls
            calls += 1
            return _real(kind, line)

        pdb._entry = counting
        try:
            specs = [UserSpec(name=f"user{i}", path=f"users[{i}]", groups=("users",)) for i in range(n)]
            _decide(Database.parse(BASE), specs)
        finally:
            pdb._entry = real
        counts[n] = calls
    assert counts[1200] < 4.5 * counts[300], counts  # linear: x4 users, about x4 work
