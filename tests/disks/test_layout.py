"""The pure layout decision (no devices): selection, matching, refusals, and invariants."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ros_init.core.record import replace
from ros_init.disks.layout import (
    GPT_TYPES,
    DiskLayoutError,
    Fence,
    parse_config,
    parse_size,
    plan_layout,
)
from ros_init.system.blockdev import Content, Disk, Partition, Table
from tests.disks.simulate import simulate

M = 1 << 20
LINUX = GPT_TYPES["linux"]
LOOPS = Fence(include_loop=True)


def disk(name: str = "vdb", size: int = 1024 * M, parts: list[Partition] | None = None, label: str = "gpt",
         **kw) -> Disk:
    table = Table(label, 512, 2048, tuple(parts)) if parts is not None else None
    content = Content(type=label, usage="partition table") if table else kw.pop("content", Content())
    return Disk(name, f"/dev/{name}", size, table=table, content=content, **kw)


def part(n: int, start_m: int, size_m: int, name: str | None = None, content: Content | None = None,
         dname: str = "vdb") -> Partition:
    return Partition(n, f"/dev/{dname}{n}", start_m * 2048, size_m * 2048, LINUX, f"uuid-{n}", name,
                     content or Content())


def plan(config: dict, disks: list[Disk], fence: Fence = LOOPS):
    specs, targets, grow = parse_config(config)
    return plan_layout(specs, targets, grow, disks, fence, new_uuid=lambda fmt: "11111111-2222-3333-4444-555555555555")


EXT4_OLD = Content(type="ext4", label="old", uuid="u-old", usage="filesystem", fs_size=16 * M, fs_used=12 * M)


# -- sizes and parsing ------------------------------------------------------------------------
@pytest.mark.parametrize("text,want", [(4096, 4096), ("10G", 10 << 30), ("512M", 512 << 20), ("1GiB", 1 << 30),
                                       ("3k", 3072), ("7", 7), ("2T", 2 << 40)])
def test_parse_size(text, want) -> None:
    assert parse_size(text, "x") == want


@pytest.mark.parametrize("bad", ["ten", "-1", "1.5G", True, None, "10X"])
def test_parse_size_refuses(bad) -> None:
    with pytest.raises(DiskLayoutError, match="x"):
        parse_size(bad, "x")


@pytest.mark.parametrize("config,words", [
    ({"disks": [{"partitions": []}]}, "exactly one of device or match"),
    ({"disks": [{"device": "/dev/vdb", "match": {"only": True}}]}, "exactly one of device or match"),
    ({"disks": [{"match": {}}]}, "at least one of"),
    ({"disks": [{"device": "/dev/vdb", "table": "apple"}]}, "disks[0].table"),
    ({"disks": [{"device": "/dev/vdb", "partitions": [{"filesystem": {"format": "ntfs"}}]}]},
     "disks[0].partitions[0].filesystem.format"),
    ({"disks": [{"device": "/dev/vdb", "partitions": [{"filesystem": {"format": "xfs", "label": "thirteen-char"}}]}]},
     "12 bytes"),
    ({"disks": [{"device": "/dev/vdb", "partitions": [{"label": 'a"b'}]}]}, "without quotes"),
    ({"filesystems": [{"device": "/dev/vdb", "format": "ext4", "mount": {"path": "relative"}}]}, "absolute path"),
    ({"growpart": {"mode": "sometimes"}}, "growpart.mode"),
])
def test_config_errors_are_located(config, words) -> None:
    with pytest.raises(DiskLayoutError) as err:
        plan(config, [disk()])
    assert words in str(err.value)


# -- selection -------------------------------------------------------------------------------
def test_only_selector_ignores_root_readonly_removable_and_loop_disks() -> None:
    disks = [disk("vda", holds_root=True), disk("sr0", removable=True), disk("vdc", read_only=True),
             disk("loop3", loop=True), disk("vdb")]
    p = plan({"disks": [{"match": {"only": True}, "partitions": [{"label": "X"}]}]}, disks, Fence())
    assert {a.args["disk"] for a in p.actions} == {"/dev/vdb"}


def test_only_selector_with_two_candidates_is_ambiguous() -> None:
    with pytest.raises(DiskLayoutError, match="2 disks match.*refusing to guess"):
        plan({"disks": [{"match": {"only": True}}]}, [disk("vdb"), disk("vdc")], Fence())


def test_restrict_to_fences_off_even_named_disks() -> None:
    fence = Fence(restrict_to=frozenset({"/dev/vdc"}))
    with pytest.raises(DiskLayoutError, match="outside the disks the image settings allow"):
        plan({"disks": [{"device": "/dev/vdb"}]}, [disk("vdb"), disk("vdc")], fence)


def test_selectors_model_serial_min_size() -> None:
    disks = [disk("vdb", 20 << 30, model="QEMU HARDDISK", serial="abc1"),
             disk("vdc", 40 << 30, model="QEMU HARDDISK", serial="xyz2"),
             disk("vdd", 100 << 30, model="Samsung SSD", serial="abc9")]
    one = lambda m: {a.args["disk"] for a in plan({"disks": [{"match": m, "partitions": [{"label": "A"}]}]}, disks).actions}  # noqa: E731
    assert one({"model": "QEMU*", "serial": "xyz*"}) == {"/dev/vdc"}
    assert one({"serial": "abc*", "min_size": "50G"}) == {"/dev/vdd"}
    assert one({"min_size": "30G"}) == {"/dev/vdc"}  # smallest fit is unique
    with pytest.raises(DiskLayoutError, match="2 disks match"):
        one({"model": "QEMU*"})
    with pytest.raises(DiskLayoutError, match="no disk matches"):
        one({"model": "WD*"})


def test_label_selector_and_ambiguous_label() -> None:
    a = disk("vdb", parts=[part(1, 1, 16, "DATA", dname="vdb")])
    b = disk("vdc", parts=[part(1, 1, 16, "OTHER", Content(type="ext4", label="DATA"), dname="vdc")])
    c = disk("vdd", parts=[part(1, 1, 16, "DATA", dname="vdd")])
    cfg = {"disks": [{"match": {"label": "OTHER"}, "partitions": [{"number": 1, "label": "OTHER"}]}]}
    assert plan(cfg, [a, b]).actions == []
    with pytest.raises(DiskLayoutError, match="3 disks match"):  # a partition label or a filesystem label
        plan({"disks": [{"match": {"label": "DATA"}}]}, [a, b, c])


def test_by_label_link_is_resolved_without_udev() -> None:
    d = disk("vdb", parts=[part(1, 1, 16, "P", Content(type="ext4", label="my data"))])
    p = plan({"filesystems": [{"device": "/dev/disk/by-label/my\\x20data", "format": "ext4", "label": "my data",
                               "mount": {"path": "/srv"}}]}, [d])
    assert p.actions == []
    assert p.mounts[0].what == "/dev/disk/by-label/my\\x20data"
    with pytest.raises(DiskLayoutError, match="by-id"):
        plan({"filesystems": [{"device": "/dev/disk/by-id/virtio-x", "format": "ext4"}]}, [d])


# -- partitions ------------------------------------------------------------------------------
def test_empty_disk_layout_actions_and_summaries() -> None:
    p = plan({"disks": [{"device": "/dev/vdb", "partitions": [
        {"label": "DATA", "size": "100M", "filesystem": {"format": "ext4", "label": "data", "mount": {"path": "/d"}}},
        {"label": "REST"}]}]}, [disk()])
    kinds = [a.kind for a in p.actions]
    assert kinds == ["create-table", "create-partition", "create-partition", "format"]
    assert not any(a.destructive for a in p.actions)
    c1, c2 = p.actions[1].args, p.actions[2].args
    assert (c1["start"], c1["size"], c1["number"]) == (2048, 100 * 2048, 1)
    assert c2["start"] == c1["start"] + c1["size"] and c2["start"] + c2["size"] == 1024 * 2048 - 33
    assert p.actions[3].summary == "format /dev/vdb1 as ext4 label data (holds: nothing)"
    assert p.mounts[0].what == "/dev/disk/by-label/data"


def test_format_over_data_names_device_and_what_it_holds() -> None:
    d = disk(parts=[part(1, 1, 16, "DATA", EXT4_OLD)])
    cfg = {"disks": [{"device": "/dev/vdb", "partitions": [{"number": 1, "filesystem": {"format": "vfat", "label": "data"}}]}]}
    with pytest.raises(DiskLayoutError) as err:
        plan(cfg, [d])
    assert "refusing to format /dev/vdb1 as vfat label data: it holds ext4 label old, 12 MiB used" in str(err.value)
    cfg["disks"][0]["partitions"][0]["filesystem"]["wipe_filesystem"] = True
    a = plan(cfg, [d]).actions
    assert [(x.kind, x.destructive) for x in a] == [("format", True)]
    assert a[0].summary == "format /dev/vdb1 as vfat label data (holds: ext4 label old, 12 MiB used)"


def test_unrecognised_data_is_not_formatted() -> None:
    d = disk(parts=[part(1, 1, 16, "DATA", Content(data=True))])
    with pytest.raises(DiskLayoutError, match="unrecognised data"):
        plan({"disks": [{"device": "/dev/vdb", "partitions": [{"number": 1, "filesystem": {"format": "ext4"}}]}]}, [d])


def test_reuse_with_wipe_flag_does_not_reformat() -> None:
    d = disk(parts=[part(1, 1, 16, "DATA", EXT4_OLD)])
    cfg = {"disks": [{"device": "/dev/vdb", "wipe_table": True, "partitions": [
        {"number": 1, "label": "DATA", "filesystem": {"format": "ext4", "label": "old", "wipe_filesystem": True}}]}]}
    assert plan(cfg, [d]).actions == []


def test_busy_partition_blocks_destruction_but_not_growth() -> None:
    d = disk(parts=[part(1, 1, 16, "DATA", EXT4_OLD)], in_use=(("/dev/vdb1", "mounted on /srv"),))
    with pytest.raises(DiskLayoutError, match="/dev/vdb1 is mounted on /srv"):
        plan({"disks": [{"device": "/dev/vdb", "wipe_table": True, "table": "msdos"}]}, [d])
    grow = plan({"growpart": {"devices": ["/dev/vdb1"]}}, [d]).actions
    assert [a.kind for a in grow] == ["grow-partition", "grow-filesystem"]


def test_msdos_rules() -> None:
    with pytest.raises(DiskLayoutError, match="no partition labels"):
        plan({"disks": [{"device": "/dev/vdb", "table": "msdos", "partitions": [{"label": "X"}]}]}, [disk()])
    with pytest.raises(DiskLayoutError, match="primary partitions 1 to 4"):
        plan({"disks": [{"device": "/dev/vdb", "table": "msdos", "partitions": [{"number": 5}]}]}, [disk()])
    p = plan({"disks": [{"device": "/dev/vdb", "table": "msdos", "partitions": [{"size": "10M", "type": "swap"}, {}]}]},
             [disk()])
    assert [a.args.get("type") for a in p.actions[1:]] == ["82", "83"]
    assert p.actions[2].args["start"] + p.actions[2].args["size"] == 1024 * 2048


def test_no_free_space_is_refused_before_anything() -> None:
    with pytest.raises(DiskLayoutError, match="no free space"):
        plan({"disks": [{"device": "/dev/vdb", "partitions": [{"size": "600M"}, {"size": "600M"}]}]}, [disk()])


def test_second_disk_spec_for_the_same_disk_is_refused() -> None:
    with pytest.raises(DiskLayoutError, match="already laid out"):
        plan({"disks": [{"device": "/dev/vdb"}, {"match": {"only": True}}]}, [disk()])


# -- invariants --------------------------------------------------------------------------------
_fs = st.one_of(st.none(), st.builds(lambda f, lab: {"format": f, "label": lab},
                                      st.sampled_from(["ext4", "xfs", "btrfs", "vfat", "swap"]),
                                      st.sampled_from(["a", "b", "c", None])))
_part = st.fixed_dictionaries({}, optional={"size": st.integers(1, 400).map(lambda m: f"{m}M"),
                                            "label": st.sampled_from(["A", "B", "C", "D", "E"]),
                                            "number": st.integers(1, 8), "grow": st.booleans(),
                                            "filesystem": _fs})


def _dedupe(parts: list[dict]) -> list[dict]:
    seen_n, seen_l, out = set(), set(), []
    for p in parts:
        if p.get("number") in seen_n or p.get("label") in seen_l:
            continue
        seen_n.add(p.get("number"))
        seen_l.add(p.get("label"))
        out.append(p)
    return out


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(parts=st.lists(_part, max_size=6).map(_dedupe), size_m=st.integers(64, 2048),
       table=st.sampled_from(["gpt", "msdos"]))
def test_applying_a_plan_then_planning_again_changes_nothing(parts, size_m, table) -> None:
    if table == "msdos":
        parts = [{k: v for k, v in p.items() if k != "label"} | ({"number": p["number"] % 4 + 1} if "number" in p else {})
                 for p in parts][:4]
        parts = _dedupe(parts)
    cfg = {"disks": [{"device": "/dev/vdb", "table": table, "partitions": parts}]}
    disks = [disk(size=size_m * M)]
    try:
        first = plan(cfg, disks)
    except DiskLayoutError:
        event("refused")
        return  # refusals are fine; what is planned must converge
    event("planned")
    assert not any(a.destructive for a in first.actions)
    after = simulate(disks, first.actions)
    second = plan(cfg, after)
    assert second.actions == []
    t = after[0].table
    spans = sorted((p.start, p.end) for p in t.partitions)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False)), "partitions overlap"
    assert all(s >= 2048 for s, _ in spans)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(existing=st.lists(_part, min_size=1, max_size=5).map(_dedupe), wanted=st.lists(_part, max_size=5).map(_dedupe),
       grow_m=st.integers(0, 256))
def test_without_wipe_flags_existing_partitions_are_never_touched(existing, wanted, grow_m) -> None:
    """Whatever the config (no wipe flags), a plan either refuses or leaves every existing
    partition where it is, and nothing it plans is destructive."""
    base = [disk(size=512 * M)]
    try:
        built = plan({"disks": [{"device": "/dev/vdb", "partitions": existing}]}, base)
    except DiskLayoutError:
        return
    now = [replace(d, size=d.size + grow_m * M) for d in simulate(base, built.actions)]
    try:
        p = plan({"disks": [{"device": "/dev/vdb", "partitions": wanted}]}, now)
    except DiskLayoutError:
        event("second plan refused")
        return
    event("second plan accepted" + (" with changes" if p.actions else ""))
    assert not any(a.destructive for a in p.actions)
    assert not any(a.kind in ("create-table", "delete-partition") for a in p.actions)
    kept = {q.node: q for q in now[0].table.partitions}
    for a in p.actions:
        if a.kind == "create-partition":
            assert a.device not in kept
        if a.kind == "format":
            assert a.device not in kept or kept[a.device].content.empty
    final = simulate(now, p.actions)[0].table
    for q in final.partitions:
        if q.node in kept:
            old = kept[q.node]
            assert (q.start, q.type, q.name, q.uuid) == (old.start, old.type, old.name, old.uuid)
            assert q.size >= old.size


def test_stage_without_disk_config_probes_nothing(tmp_path) -> None:
    from ros_init.stages import disks as stage

    from ros_init.core.model import StageContext
    from ros_init.core.root import Root

    ctx = StageContext(phase="initramfs", sys_root=str(tmp_path / "no-such-sys"))
    assert stage.plan(stage.parse({"hostname": "x", "growpart": {"mode": "off"}}), Root(tmp_path), ctx) == []
    from ros_init.stages import BY_NAME

    assert stage.NAME == "disks"
    assert (BY_NAME["disks"].phases, BY_NAME["disks"].order) == (("initramfs",), 50)


def test_filesystem_target_on_a_table_being_replaced_is_refused() -> None:
    d = disk(parts=[part(1, 1, 16, "OLD", EXT4_OLD), part(2, 17, 16, "KEEP")])
    cfg = {"disks": [{"device": "/dev/vdb", "wipe_table": True, "partitions": [{"label": "NEW"}]}],
           "filesystems": [{"device": "/dev/vdb2", "format": "ext4"}]}
    with pytest.raises(DiskLayoutError, match="replaced by the layout of disks\\[0\\]"):
        plan(cfg, [d])
    # A kept partition of a disk that only gains a partition is a fine target.
    cfg = {"disks": [{"device": "/dev/vdb", "partitions": [{"label": "NEW"}]}],
           "filesystems": [{"device": "PARTLABEL=KEEP", "format": "ext4"}]}
    assert [a.kind for a in plan(cfg, [d]).actions] == ["create-partition", "format"]


def test_swap_is_always_switched_on_and_swap_takes_no_mount_path() -> None:
    p = plan({"disks": [{"device": "/dev/vdb", "partitions": [{"label": "S", "size": "8M",
                                                                 "filesystem": {"format": "swap", "label": "sw"}}]}]},
             [disk()])
    assert [(m.what, m.where) for m in p.mounts] == [("/dev/disk/by-label/sw", None)]
    with pytest.raises(DiskLayoutError, match="always switched on"):
        plan({"filesystems": [{"device": "/dev/vdb", "format": "swap", "mount": {"path": "/swap"}}]}, [disk()])


def test_growpart_modes_and_refusals_are_one_line() -> None:
    d = disk(parts=[part(1, 1, 16, "A", EXT4_OLD), part(2, 17, 16, "B")])
    assert [a.kind for a in plan({"growpart": {"mode": "gpart", "devices": ["/dev/vdb2"]}}, [d]).actions] \
        == ["grow-partition"]
    assert plan({"growpart": {"mode": False, "devices": ["/dev/vdb2"]}}, [d]).actions == []
    with pytest.raises(DiskLayoutError) as err:
        plan({"disks": [{"device": "/dev/vdb", "partitions": [{"number": 1, "label": "X"}, {"number": 2, "size": "1M"}]}]},
             [d])
    assert "\n" not in str(err.value) and "partitions[0]" in str(err.value) and "partitions[1]" in str(err.value)


def test_too_small_for_the_format_is_refused_in_the_plan() -> None:
    with pytest.raises(DiskLayoutError, match="/dev/vdb1 is 32 MiB, too small for xfs \\(at least 300 MiB\\)"):
        plan({"disks": [{"device": "/dev/vdb", "partitions": [
            {"label": "A", "size": "32M", "filesystem": {"format": "xfs"}}]}]}, [disk()])


def test_a_rest_partition_leaves_room_for_sized_ones_declared_after_it() -> None:
    p = plan({"disks": [{"device": "/dev/vdb", "partitions": [{"label": "A", "size": "100M"}, {"label": "REST"},
                                                                {"label": "SWAP", "size": "16M"}]}]}, [disk()])
    a, rest, swap = (x.args for x in p.actions[1:])
    assert a["start"] + a["size"] == rest["start"]
    assert rest["start"] + rest["size"] == swap["start"]
    assert swap["size"] == 16 * 2048 and swap["start"] + swap["size"] <= 1024 * 2048 - 33


def test_a_device_outside_the_fence_says_so() -> None:
    fence = Fence(restrict_to=frozenset({"/dev/vdc"}))
    with pytest.raises(DiskLayoutError, match="image settings limit ros-init to /dev/vdc"):
        plan({"filesystems": [{"device": "/dev/vdb", "format": "ext4"}]}, [disk("vdc")], fence)
