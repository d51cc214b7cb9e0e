"""What a disks plan's actions leave on the disks, as a pure model: planning again on it must
give no action (the layout's idempotence, property-tested in test_layout without devices)."""

from __future__ import annotations

import uuid as uuidlib

from ros_init.core.changes import DiskAction
from ros_init.core.record import replace
from ros_init.disks.layout import GROWABLE, MIB
from ros_init.system.blockdev import Content, Disk, Partition, Table


def simulate(disks: list[Disk], actions: list[DiskAction]) -> list[Disk]:
    """The disks as ``actions`` leave them (created tables and partitions get fresh uuids)."""
    by_path = {d.path: d for d in disks}
    node_disk = {p.node: d.path for d in disks for p in (d.table.partitions if d.table else ())}
    for a in actions:
        if a.kind == "create-table":
            d = by_path[a.device]
            label = a.args["label"]
            by_path[d.path] = replace(d, table=Table(label, d.sector_size, MIB // d.sector_size, ()),
                                      content=Content(type=label, usage="partition table"))
        elif a.kind == "delete-partition":
            d = by_path[a.args["disk"]]
            assert d.table is not None
            parts = tuple(p for p in d.table.partitions if p.number != a.args["number"])
            by_path[d.path] = replace(d, table=replace(d.table, partitions=parts))
        elif a.kind == "create-partition":
            d = by_path[a.args["disk"]]
            assert d.table is not None
            p = Partition(a.args["number"], a.args["node"], a.args["start"], a.args["size"], a.args["type"],
                          str(uuidlib.uuid4()).upper() if d.table.label == "gpt" else None, a.args["name"])
            parts = tuple(sorted(d.table.partitions + (p,), key=lambda q: q.number))
            by_path[d.path] = replace(d, table=replace(d.table, partitions=parts))
            node_disk[p.node] = d.path
        elif a.kind == "grow-partition":
            d = by_path[a.args["disk"]]
            assert d.table is not None
            parts = tuple(replace(p, size=a.args["size"]) if p.number == a.args["number"] else p
                          for p in d.table.partitions)
            by_path[d.path] = replace(d, table=replace(d.table, partitions=parts))
        elif a.kind in ("format", "grow-filesystem"):
            dpath = node_disk.get(a.device, a.device)
            d = by_path[dpath]
            size = d.size
            if d.table is not None:
                part = next(p for p in d.table.partitions if p.node == a.device)
                size = part.size * d.table.sector_size
            if a.kind == "format":
                c = Content(type=a.args["format"], label=a.args["label"], uuid=a.args["uuid"], usage="filesystem",
                            fs_size=size if a.args["format"] in GROWABLE else None)
            else:
                old = (next(p for p in d.table.partitions if p.node == a.device).content
                       if d.table else d.content)
                c = replace(old, fs_size=size)
            if d.table is None:
                by_path[dpath] = replace(d, content=c)
            else:
                parts = tuple(replace(p, content=c) if p.node == a.device else p for p in d.table.partitions)
                by_path[dpath] = replace(d, table=replace(d.table, partitions=parts))
    return [by_path[d.path] for d in disks]
