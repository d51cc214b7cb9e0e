"""Is there a network yet? A source that needs one steps aside early in boot and asks for the
network phase instead of retrying until the deadline.

``steps_aside`` is that rule, for every source: ``has_network`` reads the host's route tables;
``ask_for_network_phase`` leaves ``/run/ros-init/need-network`` for the network unit's
condition (``need-network``).
"""

from __future__ import annotations

from ros_init.core.root import RootError
from ros_init.sources.host import Host


def has_network(host: Host) -> bool:
    """Pure over the host's /proc: is there any route through an interface other than ``lo``?

    Early in boot (initramfs, boot phase before the network manager) there is none, and a
    config URL would only be retried until the deadline (58 s measured in the e2e boot). Then
    the source steps aside at once and the network phase (after network-online) fetches it.
    """
    for table, iface_col in (("/proc/net/route", 0), ("/proc/net/ipv6_route", 9)):
        text = host.read_sys(table, limit=1 << 20)
        if text is None:
            return True  # no /proc to tell: let the request decide
        for line in text.splitlines()[(1 if iface_col == 0 else 0):]:
            fields = line.split()
            if len(fields) <= iface_col or fields[iface_col] == "lo":
                continue
            if iface_col == 9 and fields[0].startswith("fe80"):
                continue  # link-local only: not a way to a config server
            return True
    return False


def steps_aside(host: Host, source: str, urls: list[str], what: str) -> bool:
    """True when ``source`` must leave ``what`` to the network phase: it has URLs to reach,
    none on this machine, and no route yet. Then it is logged and the network phase asked for."""
    if not urls or any(is_local(u) for u in urls) or has_network(host):
        return False
    host.logger.info("%s: no network route yet; %s is left to the network phase", source, what)
    ask_for_network_phase(host, source)
    return True


def is_local(url: str) -> bool:
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.")


def ask_for_network_phase(host: Host, source: str) -> None:
    """Leave /run/ros-init/need-network for the network unit's condition (best effort)."""
    try:
        from ros_init.state.private import write_private

        write_private(host.root, "/run/ros-init", "/run/ros-init/need-network", f"{source}\n".encode())
    except (OSError, RootError) as exc:
        host.logger.debug("cannot leave the need-network marker: %s", exc)
