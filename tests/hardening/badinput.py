"""The generated half of the bad-input corpus (the hand-written half is in corpus/*.yaml).

Each case is a ``Case``: the bytes of a config and what must happen to it. ``reject``: the
validator reports at least one located error and ``run`` changes nothing. ``fail``: the
config is valid but cannot be applied; ``run`` exits 1, the status names the failing item
(``where``), every other item is applied whole. ``ok``: accepted (with warnings maybe).
Generators are deterministic (fixed seeds), so a failing case keeps its id.
"""

from __future__ import annotations

import base64
import copy
import gzip
import random
import zlib
from dataclasses import dataclass
from pathlib import Path

import yaml

CORPUS = Path(__file__).parent / "corpus"
HEADER = b"#cloud-config\n"


@dataclass(frozen=True)
class Case:
    id: str
    data: bytes
    expect: str  # reject | fail | ok
    where: str = ""  # reject: a prefix of an error's path; fail: text the failed step names

    def __repr__(self) -> str:
        return self.id


def hand_written() -> list[Case]:
    out = []
    for f in sorted(CORPUS.glob("*.yaml")):
        raw = f.read_bytes()
        line = raw.split(b"\n")[1].decode()
        assert line.startswith("# expect: "), f"{f.name}: second line must be '# expect: KIND [WHERE]'"
        kind, _, where = line[len("# expect: "):].partition(" ")
        out.append(Case(f"hand:{f.stem}", raw, kind, where.strip()))
    return out


def dump(config: object) -> bytes:
    return HEADER + yaml.dump(config, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True, width=1 << 30).encode()


# -- hostile bytes -------------------------------------------------------------------------
def hostile_bytes() -> list[Case]:
    rng = random.Random(7)
    c: list[Case] = []

    def add(name: str, data: bytes) -> None:
        c.append(Case(f"bytes:{name}", data, "reject"))

    add("nul-early", b"#cloud-config\nhost\0name: a\n")
    add("nul-late", HEADER + b"hostname: a\n" * 1000 + b"\0")
    for i in range(8):
        add(f"random-binary-{i}", bytes(rng.randrange(256) for _ in range(rng.choice([16, 300, 5000]))) + b"\0")
    for off, bad in enumerate([b"\xff", b"\xc3\x28", b"\xe2\x82", b"\xf0\x28\x8c\xbc", b"\xed\xa0\x80", b"\xc0\xaf"]):
        add(f"invalid-utf8-{off}", HEADER + b"hostname: node" + bad + b"\n")
    add("utf16-bom", "#cloud-config\nhostname: a\n".encode("utf-16"))
    add("utf32", "#cloud-config\nhostname: a\n".encode("utf-32"))
    add("gzip-magic", gzip.compress(HEADER + b"hostname: a\n"))
    add("control-chars", HEADER + b"hostname: a\x07b\x1b[31m\n")
    add("over-8MiB", HEADER + b"# " + b"x" * (8 * 1024 * 1024) + b"\n")
    add("huge-scalar-bad-type", HEADER + b"hostname: " + b"a" * (7 * 1024 * 1024) + b"\n")
    add("huge-line-of-keys", HEADER + b"{" + b", ".join(b"k%d: v" % i for i in range(60000)) + b"}\n")
    add("indent-bomb", HEADER + b"a:\n" + b" " * 5000 + b"b: c\n")
    add("flow-nesting-1000", HEADER + b"runcmd: " + b"[" * 1000 + b"]" * 1000 + b"\n")
    add("flow-nesting-unclosed", HEADER + b"runcmd: " + b"{a: " * 3000 + b"\n")
    add("block-seq-nesting", HEADER + b"".join(b"  " * i + b"- \n" for i in range(300)))
    add("many-documents", HEADER + b"---\na: 1\n" * 5000)
    add("lone-surrogate-escape", HEADER + b'hostname: "\\ud800"\n')
    add("binary-tag-hostname", HEADER + b"hostname: !!binary aGVsbG8=\n")
    add("set-tag", HEADER + b"ssh_authorized_keys: !!set {a: null}\n")
    add("omap-tag", HEADER + b"users: !!omap [{a: 1}]\n")
    add("python-name-tag", HEADER + b"runcmd: !!python/name:os.system\n")
    add("timestamp-hostname", HEADER + b"hostname: 2001-12-14t21:59:43.10-05:00\n")
    add("float-inf-uid", HEADER + b"users: [{name: a, uid: .inf}]\n")
    add("float-nan-mode", HEADER + b"write_files: [{path: /etc/x, permissions: .nan}]\n")
    add("int-overflow-mtu", HEADER + b"network: {version: 2, ethernets: {eth0: {mtu: " + b"9" * 5000 + b"}}}\n")
    for depth in (70, 200):
        add(f"mapping-nesting-{depth}", HEADER + b"rancherd:\n  extraConfig:\n" +
            b"".join(b"  " * (i + 2) + b"k:\n" for i in range(depth)) + b"  " * (depth + 2) + b"v\n")
    # alias bombs: a few widths and depths, in lists and in mappings
    for width, depth in ((10, 9), (100, 4), (2, 40), (1000, 3)):
        lines = [b"a0: &a0 [" + b", ".join([b"x"] * width) + b"]"]
        for i in range(1, depth):
            lines.append(b"a%d: &a%d [" % (i, i) + b", ".join([b"*a%d" % (i - 1)] * width) + b"]")
        add(f"alias-bomb-{width}x{depth}", HEADER + b"\n".join(lines) + b"\n")
    add("alias-recursive-merge", HEADER + b"a: &a {<<: *a}\n")
    return c


# -- wrong types everywhere ------------------------------------------------------------------
BASELINE: dict = {
    "hostname": "node-1",
    "fqdn": "node-1.example.com",
    "manage_etc_hosts": True,
    "users": [{"name": "rancher", "gecos": "Rancher", "groups": ["wheel"], "shell": "/bin/bash", "uid": 1500,
               "lock_passwd": True, "sudo": "ALL=(ALL) NOPASSWD:ALL", "homedir": "/home/rancher",
               "ssh_authorized_keys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGVxYW1wbGVrZXlleGFtcGxla2V5ZXhhbXBsZWtleTE a@b"]}],
    "groups": ["ops"],
    "ssh_pwauth": False,
    "chpasswd": {"expire": False, "users": [{"name": "rancher", "password": "$6$salt$hash", "type": "hash"}]},
    "write_files": [{"path": "/etc/motd", "content": "hello\n", "permissions": "0644", "owner": "root:root",
                     "encoding": "text/plain", "append": False, "phase": "boot"}],
    "runcmd": ["echo hi", ["echo", "there"]],
    "bootcmd": ["true"],
    "network": {"version": 2, "ethernets": {"eth0": {"dhcp4": True, "addresses": ["10.0.0.5/24"], "mtu": 1500,
                                                     "nameservers": {"addresses": ["10.0.0.1"], "search": ["lan"]},
                                                     "routes": [{"to": "default", "via": "10.0.0.1", "metric": 100}]}}},
    "disks": [{"device": "/dev/vdb", "table": "gpt", "wipe_table": False,
               "partitions": [{"number": 1, "label": "DATA", "size": "1G", "type": "linux",
                               "filesystem": {"format": "ext4", "label": "data", "mount": {"path": "/var/lib/data"}}}]}],
    "growpart": {"mode": "auto", "devices": ["/"]},
    "rancherd": {"role": "server", "server": "https://10.0.0.2:8443", "token": "tok", "tlsSans": ["a.example"],
                 "labels": ["a=b"], "kubernetesVersion": "v1.27.4+rke2r1"},
}

_WRONG = [12345, "a string", ["a", "b"], {"k": "v"}, True, None, 2.5]


def _kind(value: object) -> str:
    return type(value).__name__


def _paths(value: object, path: tuple = ()) -> list[tuple]:
    out = [path] if path else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, path + (i,))
    return out


def _set(doc: dict, path: tuple, value: object) -> dict:
    doc = copy.deepcopy(doc)
    node = doc
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value
    return doc


def path_text(path: tuple) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def wrong_types() -> list[Case]:
    """Every element of a full config replaced by values of other types (2 per element).

    Whether the result is invalid is decided by jsonschema (the reference validator) in the
    test, not here: some replacements are valid (``sudo`` takes many forms).
    """
    rng = random.Random(11)
    out = []
    for path in _paths(BASELINE):
        node = BASELINE
        for p in path:
            node = node[p]
        choices = [w for w in _WRONG if _kind(w) != _kind(node)]
        for w in rng.sample(choices, 2):
            out.append(Case(f"type:{path_text(path)}={_kind(w)}", dump(_set(BASELINE, path, w)), "schema",
                            path_text(path)))
    return out


# -- write_files payloads ----------------------------------------------------------------------
def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _gzip_bomb(size: int) -> bytes:
    """gzip of ``size`` zero bytes, built without holding them in memory."""
    comp = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b"\0" * (1 << 20)
    parts = [comp.compress(chunk) for _ in range(size >> 20)]
    parts.append(comp.flush())
    return b"".join(parts)


def file_payloads() -> list[Case]:
    ok_item = {"path": "/etc/ok-file", "content": "kept whole\n"}
    cases = []

    def add(name: str, item: dict, expect: str, where: str) -> None:
        cases.append(Case(f"files:{name}", dump({"write_files": [ok_item, item]}), expect, where))

    bomb = _gzip_bomb(256 << 20)  # 256 MiB of zeros in about 1.1 MiB
    # content that cannot be decoded: cloud-init's schema accepts it and its write fails at boot;
    # here validate warns and run fails that one file (the ok item is written)
    add("gzip-bomb-256MiB", {"path": "/etc/bomb", "encoding": "gz+b64", "content": _b64(bomb)}, "fail",
        "write_files[1]")
    add("gzip-bomb-in-bomb", {"path": "/etc/bomb2", "encoding": "gzip+base64",
                              "content": _b64(gzip.compress(_gzip_bomb(16 << 20)))}, "ok", "")
    add("gzip-truncated", {"path": "/etc/gzt", "encoding": "gz+b64",
                           "content": _b64(gzip.compress(b"hello" * 100)[:-10])}, "fail", "write_files[1]")
    add("gzip-trailing-garbage", {"path": "/etc/gzg", "encoding": "gz+b64",
                                  "content": _b64(gzip.compress(b"hello") + b"garbage!")}, "fail",
        "write_files[1]")
    add("gzip-plain-text", {"path": "/etc/gzp", "encoding": "gzip", "content": "not compressed"}, "fail",
        "write_files[1]")
    for i, bad in enumerate(["@@@@", "YQ", "Y===", "aGVsbG8gd29ybGQ=x", "\u00e9t\u00e9"]):
        add(f"b64-invalid-{i}", {"path": f"/etc/b64-{i}", "encoding": "b64", "content": bad}, "fail",
            "write_files[1]")
    add("b64-binary-ok", {"path": "/etc/bin", "encoding": "b64", "content": _b64(bytes(range(256)))}, "ok", "")
    add("huge-content-7MiB", {"path": "/etc/big", "content": "x" * (7 * 1024 * 1024)}, "ok", "")
    for i, path in enumerate(["/etc/../../../tmp/x", "/../../../../etc/passwd", "/etc/./../..", "/a/b/../../../c"]):
        add(f"dotdot-{i}", {"path": path, "content": "x"}, "reject", "write_files")
    add("nul-path", {"path": "/etc/a\0b", "content": "x"}, "reject", "write_files[1].path")
    add("owner-uid-out-of-range", {"path": "/etc/own", "owner": "99999999999:0", "content": "x"}, "fail", "/etc/own")
    add("owner-nobody-user", {"path": "/etc/own2", "owner": "ghost", "content": "x"}, "fail", "/etc/own2")
    add("owner-nobody-group", {"path": "/etc/own3", "owner": "root:ghosts", "content": "x"}, "fail", "/etc/own3")
    add("folder-in-the-way", {"path": "/etc/ssh", "content": "x"}, "fail", "/etc/ssh")
    add("file-as-parent", {"path": "/etc/hostname/child", "content": "x"}, "fail", "/etc/hostname/child")
    add("name-too-long", {"path": "/etc/" + "n" * 300, "content": "x"}, "fail", "/etc/nnn")
    add("path-too-long", {"path": "/" + "/".join(["d" * 200] * 30), "content": "x"}, "fail", "/ddd")
    add("proc-target", {"path": "/proc/sys/kernel/hostname", "content": "x"}, "ok", "")
    return cases


# -- symlinks planted in the target root --------------------------------------------------------
# (path written by the config, expected outcome) against Fenced.plant_symlinks
SYMLINK_CASES = [
    ("/etc/cron.d/job", "ok"),  # absolute link to a host folder: read inside the root
    ("/etc/evil-rel/pwned", "fail"),  # relative link climbing out of the root: refused
    ("/etc/motd", "ok"),  # a link at the destination is replaced, not written through
    ("/opt/app/config", "ok"),  # symlinked folder high in the tree
    ("/etc/loop/x", "fail"),  # symlink loop
    ("/etc/evil-rel", "ok"),  # the link itself is replaced by a file
]


def symlink_cases() -> list[Case]:
    out = []
    for path, expect in SYMLINK_CASES:
        cfg = {"write_files": [{"path": "/etc/ok-file", "content": "kept whole\n"},
                               {"path": path, "content": "planted\n", "permissions": "0600"}]}
        out.append(Case(f"symlink:{path}", dump(cfg), expect, path))
        cfg2 = {"write_files": [{"path": "/etc/ok-file", "content": "kept whole\n"},
                                {"path": path, "content": "more\n", "append": True}]}
        out.append(Case(f"symlink-append:{path}", dump(cfg2), expect, path))
    return out


def all_run_cases() -> list[Case]:
    return hand_written() + hostile_bytes() + file_payloads() + symlink_cases() + wrong_types()
