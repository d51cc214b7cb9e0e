"""``ros-init demo``: a first boot of the bundled example config into a scratch root.

It builds a small Debian-like OS skeleton (passwd, shadow, group, gshadow, login.defs,
skel, ssh) in ``--root`` (default ./demo-root), runs the initramfs and boot phases on it,
prints what happened and ``ros-init status``, and shows some of the files written. It runs
as a normal user too (ownership is then left alone, and said so). Config commands are
NEVER run by the demo: they are planned and reported skipped, since the demo root is not
a system of its own. A second demo on the same root shows the converged case: 0 changed.
"""

from __future__ import annotations

import os
import stat
import sys
from importlib import resources
from pathlib import Path
from typing import Any

SKELETON: dict[str, tuple[int, str]] = {
    "etc/passwd": (0o644, """\
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
bin:x:2:2:bin:/bin:/usr/sbin/nologin
sys:x:3:3:sys:/dev:/usr/sbin/nologin
sync:x:4:65534:sync:/bin:/bin/sync
man:x:6:12:man:/var/cache/man:/usr/sbin/nologin
mail:x:8:8:mail:/var/mail:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
systemd-network:x:998:998:systemd Network Management:/:/usr/sbin/nologin
messagebus:x:100:101::/nonexistent:/usr/sbin/nologin
sshd:x:101:65534::/run/sshd:/usr/sbin/nologin
"""),
    "etc/shadow": (0o640, """\
root:*:19700:0:99999:7:::
daemon:*:19700:0:99999:7:::
bin:*:19700:0:99999:7:::
sys:*:19700:0:99999:7:::
sync:*:19700:0:99999:7:::
man:*:19700:0:99999:7:::
mail:*:19700:0:99999:7:::
nobody:*:19700:0:99999:7:::
systemd-network:!*:19700::::::
messagebus:!:19700::::::
sshd:!:19700::::::
"""),
    "etc/group": (0o644, """\
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
mail:x:8:
man:x:12:
sudo:x:27:
wheel:x:10:
shadow:x:42:
users:x:100:
nogroup:x:65534:
systemd-network:x:998:
messagebus:x:101:
"""),
    "etc/gshadow": (0o640, """\
root:*::
daemon:*::
bin:*::
sys:*::
adm:*::
tty:*::
disk:*::
mail:*::
man:*::
sudo:*::
wheel:*::
shadow:*::
users:*::
nogroup:*::
systemd-network:!*::
messagebus:!::
"""),
    "etc/login.defs": (0o644, """\
MAIL_DIR        /var/mail
PASS_MAX_DAYS   99999
PASS_MIN_DAYS   0
PASS_WARN_AGE   7
UID_MIN                  1000
UID_MAX                 60000
SYS_UID_MIN               100
SYS_UID_MAX               999
GID_MIN                  1000
GID_MAX                 60000
SYS_GID_MIN               100
SYS_GID_MAX               999
UMASK           022
USERGROUPS_ENAB yes
ENCRYPT_METHOD SHA512
"""),
    "etc/skel/.bashrc": (0o644, "# ~/.bashrc: executed by bash(1) for non-login shells.\n[ -z \"$PS1\" ] && return\n"),
    "etc/skel/.profile": (0o644, "# ~/.profile: executed by the command interpreter for login shells.\n"
                                  "if [ -n \"$BASH_VERSION\" ] && [ -f \"$HOME/.bashrc\" ]; then . \"$HOME/.bashrc\"; fi\n"),
    "etc/skel/.bash_logout": (0o644, "# ~/.bash_logout: executed by bash(1) when login shell exits.\n"),
    "etc/ssh/sshd_config": (0o644, "Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\n"
                                    "UsePAM yes\nX11Forwarding yes\nPrintMotd no\nAcceptEnv LANG LC_*\n"
                                    "Subsystem sftp /usr/lib/openssh/sftp-server\n"),
    "etc/hostname": (0o644, "localhost\n"),
    "etc/hosts": (0o644, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"),
    "etc/hosts.allow": (0o644, "# /etc/hosts.allow: list of hosts that are allowed to access the system.\n"),
    "etc/os-release": (0o644, 'NAME="RancherOS"\nID=rancheros\nVERSION_ID="2.0"\nPRETTY_NAME="RancherOS v2 (demo root)"\n'),
}
FOLDERS = ("etc/ssh/sshd_config.d", "etc/sudoers.d", "etc/ros-init", "root", "home", "run", "var/lib", "var/log",
           "usr/bin", "usr/sbin", "proc", "sys", "dev", "tmp")


def make_os_skeleton(path: str | os.PathLike[str]) -> Path:
    """A small Debian-like OS tree at ``path`` (files that exist are left as they are)."""
    base = Path(path)
    base.mkdir(parents=True, exist_ok=True)
    for folder in FOLDERS:
        (base / folder).mkdir(parents=True, exist_ok=True)
    os.chmod(base / "root", 0o700)
    os.chmod(base / "tmp", 0o1777)
    for rel, (mode, text) in SKELETON.items():
        target = base / rel
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            os.chmod(target, mode)
    return base


def example_config() -> str | None:
    """The bundled example config (ros_init/examples/demo.yaml), else the test fixture of a
    source checkout; None when neither is there."""
    try:
        bundled = resources.files("ros_init").joinpath("examples/demo.yaml")
        if bundled.is_file():
            return str(bundled)
    except (FileNotFoundError, ModuleNotFoundError):
        pass
    fixture = Path(__file__).resolve().parent.parent.parent / "tests" / "engine" / "fixtures" / "typical.yaml"
    return str(fixture) if fixture.is_file() else None


# What the demo shows of the files written: one file per pattern, in this order.
SHOWN = ("/etc/hostname", "/etc/hosts", "/etc/passwd", "/home/*/.ssh/authorized_keys", "/etc/ssh/sshd_config.d/*",
         "/etc/systemd/network/*.network", "/etc/NetworkManager/system-connections/*", "/etc/motd",
         "/etc/rancher/rancherd/config.yaml")


def _show_files(root: Any, records: list[Any]) -> list[str]:
    from fnmatch import fnmatch

    from ros_init.config.redact import redact

    changed = [st.target for rec in records for stage in rec.stages for st in stage.steps
               if st.result == "changed" and st.target.startswith("/")]
    lines = []
    for pattern in SHOWN:
        path = next((p for p in changed if fnmatch(p, pattern)), None)
        st = root.lstat(path) if path else None
        if st is None or not stat.S_ISREG(st.st_mode):
            continue
        lines.append(f"--- {path} ({stat.filemode(st.st_mode)} {st.st_uid}:{st.st_gid}, {st.st_size} bytes)")
        if path == "/etc/rancher/rancherd/config.yaml":
            import yaml

            data = yaml.safe_load(root.read_bytes(path) or b"") or {}
            lines.append(yaml.safe_dump(redact(data), sort_keys=False).rstrip())
        elif (not st.st_mode & stat.S_IROTH and not path.endswith("/authorized_keys")) or st.st_size > 4096:
            lines.append("(not shown: readable by its owner only, or large)")
        elif path == "/etc/passwd":  # the accounts the config added, not the whole table
            text = root.read_text(path) or ""
            lines += [line for line in text.splitlines() if line.split(":")[2:3] and
                      line.split(":")[2].isdigit() and 999 <= int(line.split(":")[2]) < 65534]
        else:
            lines.append((root.read_text(path) or "").rstrip())
    return lines


def cli_main(args: Any) -> int:
    from ros_init.config.settings import SettingsError, load_settings
    from ros_init.core.root import Root
    from ros_init.engine import run as engine
    from ros_init.engine.inputs import gather_inputs
    from ros_init.engine.stages import PHASES
    from ros_init.state import status

    config = args.config or example_config()
    if config is None:
        print("ros-init demo: no example config found; give one with --config FILE", file=sys.stderr)
        return 1
    try:
        make_os_skeleton(args.root)
    except OSError as exc:
        print(f"ros-init demo: cannot build the scratch root {args.root}: {exc.strerror}", file=sys.stderr)
        return 1
    root = Root(args.root)
    try:
        settings = load_settings(root)
    except SettingsError as exc:
        print(f"ros-init demo: {exc}", file=sys.stderr)
        return 1
    print(f"ros-init demo: first boot of {config} into {root.path}"
          f"{'' if os.geteuid() == 0 else ' (not root: file ownership is left as is)'}")
    print("ros-init demo: config commands are never run by the demo; they are reported skipped\n")
    code = 0
    records = []
    for phase in PHASES:
        inputs = gather_inputs(root, settings, [config])
        out = engine.execute(root, settings, inputs, phase, run_commands=False)
        for f in out.findings:
            print(f.render(), file=sys.stderr)
        if out.record is None:
            print(f"ros-init demo: {out.problem or 'the config has errors; nothing was changed'}", file=sys.stderr)
            return out.code
        records.append(out.record)
        sys.stderr.flush()
        print(status.summary_line(out.record))
        code = max(code, out.code)
    doc, origin = status.load(root, settings["state_dir"])
    if doc is not None:
        print("\n$ ros-init status --root " + args.root)
        print(status.render_text(doc, origin or "?"))
    shown = _show_files(root, records)
    if shown:
        print("\nSome of the files written:")
        print("\n".join(shown))
    print(f"\nRun `ros-init demo --root {args.root}` again: a converged root changes nothing.")
    return code
