"""The host's network interfaces as sysfs shows them: kernel name, MAC address, driver.

Read from ``<sys_root>/sys/class/net`` only. That works in the initramfs and without a
udev daemon, shows exactly the network namespace ros-init runs in, and tests can point
``sys_root`` at a fake tree. (netifaces would give names and MACs of the same namespace
but no driver and no permanent MAC of a bond member, and cannot be pointed at a fake tree;
pyudev reads these same sysfs files.)
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable

from ros_init.core.record import record
from ros_init.network.model import Interface, Match, normalize_mac

_ARPHRD_ETHER = "1"


@record(frozen=True)
class Nic:
    name: str
    mac: str | None  # permanent MAC when the kernel shows one (bond members), else the current one
    driver: str | None
    physical: bool  # has a device (not a bond, vlan, bridge, veth pair ... created in software)


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as fh:
            return fh.read().strip()
    except OSError:
        return None


def list_nics(sys_root: str = "/") -> list[Nic]:
    """Ethernet-type interfaces of ``<sys_root>/sys/class/net``, sorted by name (``lo`` left out)."""
    base = os.path.join(sys_root, "sys/class/net")
    try:
        names = sorted(os.listdir(base))
    except OSError:
        return []
    out = []
    for name in names:
        folder = os.path.join(base, name)
        if _read(os.path.join(folder, "type")) != _ARPHRD_ETHER:
            continue  # loopback, tunnels, infiniband ...
        mac = normalize_mac(_read(os.path.join(folder, "bonding_slave/perm_hwaddr")) or "")
        if mac is None:
            mac = normalize_mac(_read(os.path.join(folder, "address")) or "")
        driver_link = os.path.join(folder, "device/driver")
        driver = os.path.basename(os.readlink(driver_link)) if os.path.islink(driver_link) else None
        out.append(Nic(name, mac, driver, os.path.exists(os.path.join(folder, "device"))))
    return out


def matching(nics: list[Nic], match: Match) -> list[Nic]:
    """The interfaces a netplan ``match`` selects (every given criterion must hold).

    A MAC is shared by a physical NIC and the vlans or bonds built on it; when both match,
    only the physical ones are returned (what the person means by "the NIC with this MAC").
    """
    found = [
        n for n in nics
        if (match.macaddress is None or n.mac == match.macaddress)
        and (match.name is None or fnmatch.fnmatchcase(n.name, match.name))
        and (match.driver is None or (n.driver is not None and fnmatch.fnmatchcase(n.driver, match.driver)))
    ]
    if match.macaddress and any(n.physical for n in found):
        found = [n for n in found if n.physical]
    return found


def device_names(interfaces: Iterable[Interface], nics: list[Nic]) -> dict[str, list[str]]:
    """Kernel names per config id: the name the config fixes, else the sysfs devices matched.

    An id matched by MAC, driver or glob with no such device present maps to ``[]``.
    """
    out: dict[str, list[str]] = {}
    for iface in interfaces:
        name = iface.name
        out[iface.id] = [name] if name else [n.name for n in matching(nics, iface.match)]
    return out
