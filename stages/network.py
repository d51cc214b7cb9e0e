"""The network stage: the ``network:`` config rendered for the target's network service.

Phase: initramfs, and again in the boot phase. NetworkManager, systemd-networkd and wicked
read their files when they start; in the initramfs the files land in ``/sysroot/etc`` before
the real root's systemd starts any of them, so no unit ordering or reload is needed. The
boot phase plans again: with the same config it finds nothing to do; with a config only a
network datasource could give (EC2), or when no initramfs phase ran, it writes the files
there. The stage converges (a second plan is empty) and runs every boot, because /etc is
ephemeral on RancherOS.

The renderer is the image setting ``network_renderer``; ``auto`` picks what the target root
has (see ``choose_renderer``). Files are ours by name (``ros-init-``/``10-ros-init-``
prefix) or, for wicked's interface-named files, by a first-line marker; ours that are no
longer wanted are removed, foreign files are never touched, except the ifcfg file of an
interface we configure (wicked has one file per interface) and the two DNS keys of
wicked's netconfig file.
"""

from __future__ import annotations

import stat

from ros_init.core.logger import logger
from ros_init.network.model import NetworkModel, is_disabled, parse_network

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ros_init.core.model import Change, Config, StageContext
    from ros_init.core.root import Root

NAME = "network"

log = logger(__name__)

RENDERERS = ("networkmanager", "wicked", "networkd")
# What shows that a renderer is installed in the target root.
_EVIDENCE = {
    "networkmanager": ("/usr/sbin/NetworkManager", "/usr/lib/systemd/system/NetworkManager.service"),
    "wicked": ("/usr/sbin/wicked", "/usr/lib/systemd/system/wicked.service"),
    "networkd": ("/usr/lib/systemd/systemd-networkd", "/lib/systemd/systemd-networkd"),
}
# openSUSE enables its network service through this alias; its target names the choice.
_ALIAS = "/etc/systemd/system/network.service"
_ALIAS_TARGETS = {"NetworkManager.service": "networkmanager", "wicked.service": "wicked",
                  "systemd-networkd.service": "networkd"}
def _managed_folders() -> tuple[str, ...]:
    from ros_init.network import networkd, networkmanager, wicked

    return (networkmanager.FOLDER, networkd.FOLDER, wicked.FOLDER)


class NetworkStageError(Exception):
    """The network config cannot be applied to this target; the message says why."""


def detect_renderers(root: Root) -> tuple[set[str], str | None]:
    """Renderers installed in the target, and the one ``network.service`` points at, if any."""
    present = {name for name, paths in _EVIDENCE.items() if any(root.exists(p) for p in paths)}
    alias = None
    st = root.lstat(_ALIAS)
    if st is not None and stat.S_ISLNK(st.st_mode):
        target = root.readlink(_ALIAS) or ""
        alias = _ALIAS_TARGETS.get(target.rsplit("/", 1)[-1])
    return present, alias


def choose_renderer(setting: str, present: set[str], alias: str | None) -> str:
    """Pure: the renderer for ``setting`` (auto|networkmanager|networkd|wicked).

    auto: the service ``network.service`` is an alias of; else NetworkManager, wicked,
    systemd-networkd, the first one installed; else systemd-networkd (its files are inert
    where nothing reads them, and systemd-networkd is what a minimal image is likeliest to
    gain).
    """
    if setting in RENDERERS:
        return setting
    if setting != "auto":
        raise NetworkStageError(f"settings: network_renderer {setting!r} is not one of auto, {', '.join(RENDERERS)}")
    if alias:
        return alias
    for name in RENDERERS:
        if name in present:
            return name
    log.warning("no network service found in the target root; writing systemd-networkd files")
    return "networkd"


def desired_files(model: NetworkModel, renderer: str, names: dict[str, list[str]],
                  netconfig: str | None) -> dict[str, tuple[bytes, int]]:
    """Pure: every file the model needs with this renderer, root-relative path -> (bytes, mode)."""
    from ros_init.network import networkd, networkmanager, wicked
    if not model.interfaces:
        return {}
    if renderer == "networkmanager":
        files = networkmanager.render(model, names)
        files.update(networkd.render_links(model, wake_on_lan=False))
    elif renderer == "wicked":
        files = wicked.render(model, names)
        files.update(networkd.render_links(model, wake_on_lan=False))
        # The static DNS keys follow the config (emptied when it names no servers), so a
        # server dropped from the config does not linger; no file is created just to say "none".
        if netconfig is not None or model.nameservers or model.search_domains:
            text = wicked.edit_netconfig(netconfig, model.nameservers, model.search_domains)
            files[wicked.NETCONFIG] = (text.encode(), 0o644)
    else:
        files = networkd.render(model, names)
    return files


def _is_managed(path: str, root: Root) -> bool:
    from ros_init.network import networkd, networkmanager, wicked

    if networkmanager.is_managed(path) or networkd.is_managed(path):
        return True
    if wicked.may_be_managed(path):
        st = root.lstat(path)
        if st is None or not stat.S_ISREG(st.st_mode):
            return False
        return wicked.is_managed(path, root.read_bytes(path, limit=200))
    return False


def parse(config: Config) -> NetworkModel | None:
    """Pure: the ``network:`` section as a model; None when networking is disabled."""
    network = config.get("network")
    if is_disabled(network):
        return None
    return parse_network(network)


def plan(model: NetworkModel | None, root: Root, ctx: StageContext) -> list[Change]:
    """Pure: the writes and removals that bring the target's network files to the config."""
    if model is None:
        return []
    files: dict[str, tuple[bytes, int]] = {}
    renderer = "none"
    if model.interfaces:
        renderer = choose_renderer(str(ctx.settings.get("network_renderer", "auto")), *detect_renderers(root))
        from ros_init.network.nics import device_names, list_nics

        names = device_names(model.interfaces, list_nics(ctx.sys_root))
        for iface in model.interfaces:
            if not names[iface.id] and renderer == "wicked":
                log.warning("network: %s: no interface present matches %s; not configured this boot",
                            iface.id, ", ".join(f"{k}={v}" for k, v in vars(iface.match).items() if v))
        from ros_init.network import wicked

        netconfig = root.read_text(wicked.NETCONFIG) if renderer == "wicked" else None
        files = desired_files(model, renderer, names, netconfig)

    from ros_init.core.changes import WriteFile, plan_remove, plan_write

    changes: list[Change | None] = []
    for path in sorted(files):
        data, mode = files[path]
        changes.append(plan_write(NAME, root, WriteFile(path, data, mode),
                                  f"write {path} ({renderer}, mode {mode:04o}; {{reasons}})"))
    for folder in _managed_folders():
        for name in root.listdir(folder):
            path = f"{folder}/{name}"
            if path not in files and _is_managed(path, root):
                changes.append(plan_remove(NAME, root, path, f"remove {path} (no longer configured)"))
    return [c for c in changes if c is not None]


def apply(change: Change, root: Root, ctx: StageContext) -> None:
    """Thin: write or remove one file, atomically, through Root."""
    from ros_init.core.changes import apply_payload

    apply_payload(root, change.payload)
