"""Which platform this machine is, from the firmware's DMI strings: one table for every source.

Every network datasource's ``detect`` asks ``is_platform(host, name)``; the table below is
the only place that knows which DMI field names which platform (the strings are those the
platforms document and cloud-init's ds-identify checks). Reading is cheap and offline:
a handful of small files under the host's ``/sys/class/dmi/id`` (``Host.sys_root``).

A platform with no rule here (Equinix Metal) cannot be recognised offline: its source is
probed only when the settings give its ``url`` or ``ros.datasource=`` names it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from ros_init.sources.host import Host

DMI = "/sys/class/dmi/id"


class Rule(NamedTuple):
    """``platform`` is named when ``field`` (a file of /sys/class/dmi/id, or an absolute
    /sys path) ``match``-es ``value``: exact, prefix, contains, or i* (case-insensitive)."""

    platform: str
    field: str
    match: str
    value: str


RULES: tuple[Rule, ...] = (
    Rule("ec2", "sys_vendor", "contains", "Amazon EC2"),
    Rule("ec2", "bios_vendor", "contains", "Amazon EC2"),
    Rule("ec2", "/sys/hypervisor/uuid", "iprefix", "ec2"),
    Rule("ec2", "product_uuid", "iprefix", "ec2"),
    Rule("ec2", "board_asset_tag", "prefix", "i-"),
    Rule("gce", "product_name", "contains", "Google"),
    Rule("gce", "bios_vendor", "contains", "Google"),
    Rule("openstack", "product_name", "exact", "OpenStack Nova"),
    Rule("openstack", "product_name", "exact", "OpenStack Compute"),
    Rule("openstack", "chassis_asset_tag", "exact", "OpenStack Nova"),
    Rule("openstack", "chassis_asset_tag", "exact", "OpenStack Compute"),
    Rule("openstack", "chassis_asset_tag", "exact", "OpenTelekomCloud"),
    Rule("openstack", "chassis_asset_tag", "exact", "SAP CCloud VM"),
    Rule("openstack", "chassis_asset_tag", "exact", "HUAWEICLOUD"),
    Rule("openstack", "chassis_asset_tag", "exact", "Samsung Cloud Platform"),
    Rule("vmware", "product_name", "icontains", "vmware"),
    Rule("vmware", "sys_vendor", "icontains", "vmware"),
    Rule("azure", "chassis_asset_tag", "exact", "7783-7084-3265-9085-8269-3286-77"),
    Rule("digitalocean", "sys_vendor", "exact", "DigitalOcean"),
    Rule("hetzner", "sys_vendor", "exact", "Hetzner"),
    Rule("vultr", "sys_vendor", "exact", "Vultr"),
    Rule("oracle", "chassis_asset_tag", "exact", "OracleCloud.com"),
    Rule("akamai", "sys_vendor", "exact", "Linode"),
    Rule("akamai", "sys_vendor", "exact", "Akamai"),
    Rule("exoscale", "product_name", "prefix", "Exoscale"),
    Rule("upcloud", "sys_vendor", "exact", "UpCloud"),
    Rule("scaleway", "sys_vendor", "exact", "Scaleway"),
    Rule("alibaba", "product_name", "exact", "Alibaba Cloud ECS"),
    Rule("kubevirt", "sys_vendor", "exact", "KubeVirt"),  # a hint only: its seed is a NoCloud volume
)

NETWORK_PLATFORMS = tuple(dict.fromkeys(r.platform for r in RULES if r.platform not in ("kubevirt", "vmware")))
"""Platforms whose source needs the network (VMware's guestinfo and KubeVirt's seed volume do not)."""


def matches(rule: Rule, value: str | None) -> bool:
    """Pure: does a DMI value satisfy the rule?"""
    if value is None:
        return False
    want = rule.value
    if rule.match.startswith("i"):
        value, want = value.lower(), want.lower()
    kind = rule.match.lstrip("i")
    if kind == "exact":
        return value == want
    if kind == "prefix":
        return value.startswith(want)
    if kind == "contains":
        return want in value
    raise ValueError(f"unknown match kind {rule.match!r}")


def identify(values: dict[str, str | None]) -> list[str]:
    """Pure: the platforms the DMI ``values`` (field -> stripped content) name, in table order."""
    return list(dict.fromkeys(r.platform for r in RULES if matches(r, values.get(r.field))))


def _path(field: str) -> str:
    return field if field.startswith("/") else f"{DMI}/{field}"


def dmi_values(host: Host) -> dict[str, str | None]:
    """The fields the table reads (seven small files: cheaper than keeping them fresh in a cache)."""
    return {f: host.read_sys(_path(f)) for f in dict.fromkeys(r.field for r in RULES)}


def platforms(host: Host) -> list[str]:
    return identify(dmi_values(host))


def is_platform(host: Host, name: str) -> bool:
    return name in platforms(host)


def forced(host: Host, name: str) -> bool:
    """The settings give ``<name>.url`` or the command line's ``ros.datasource=`` names the source:
    probe it whatever DMI says (EC2-compatible clouds, Equinix Metal, tests)."""
    return bool(host.source_settings(name).get("url")) or name in (host.cmdline.datasources or [])


def detect(host: Host, name: str, *, cmdline_word: bool = False, markers: tuple[str, ...] = ()) -> bool:
    """The ``detect`` of a network platform source: forced, or DMI names the platform, or
    (where the platform has them) its name as a word of the kernel command line or one of its
    ``markers`` files in the target root."""
    if forced(host, name) or is_platform(host, name):
        return True
    if cmdline_word and name in host.cmdline_text.split():
        return True
    return any(host.root.exists(m) for m in markers)


_NOT = {"exact": ("is not", "is none of"), "prefix": ("does not start with", "starts with none of"),
        "contains": ("does not contain", "contains none of")}


def detect_hint(name: str, *also: str, url: bool = True) -> str:
    """Pure: why ``detect`` said no, for ``ros-init fetch`` (a source's ``DETECT_HINT``): what
    the table checks for the platform, then ``also`` (the source's own signs), then its
    ``<name>.url`` setting. Written from the table, so the two cannot disagree."""
    checks: dict[tuple[str, str], list[str]] = {}
    for r in RULES:
        if r.platform == name:
            checks.setdefault((r.field, r.match), []).append(repr(r.value))
    said = []
    for (field, match), values in checks.items():
        one, many = _NOT[match.lstrip("i")]
        said.append(f"{field} {one if len(values) == 1 else many} {', '.join(values)}"
                    + (" (any case)" if match.startswith("i") else ""))
    reasons = ([f"DMI {'; '.join(said)}"] if said else ["no DMI rule"]) + list(also)
    if url:
        reasons.append(f"no {name}.url in the settings")
    return ", ".join(reasons[:-1]) + " and " + reasons[-1] if len(reasons) > 1 else reasons[0]


def dmi(host: Host, field: str) -> str | None:
    """One DMI field (``product_serial``, ``product_uuid`` ...), stripped, None when absent/empty."""
    value = host.read_sys(_path(field))
    return value or None


def need_network_sh() -> str:
    """The DMI part of ``packaging/libexec/need-network`` generated from the table (plain sh)."""
    lines = ['dmi=/sys/class/dmi/id']
    fields = list(dict.fromkeys(r.field for r in RULES if r.platform in NETWORK_PLATFORMS))
    for i, f in enumerate(fields):
        lines.append(f'v{i}=$(cat "{_path(f).replace(DMI, "$dmi")}" 2>/dev/null)')
    for i, f in enumerate(fields):
        pats = []
        for r in RULES:
            if r.field != f or r.platform not in NETWORK_PLATFORMS:
                continue
            v = r.value.replace('"', '\\"')
            if r.match.startswith("i"):
                v = "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in v)
                pat = {"exact": v, "prefix": f"{v}*", "contains": f"*{v}*"}[r.match[1:]]
            else:
                pat = {"exact": f'"{v}"', "prefix": f'"{v}"*', "contains": f'*"{v}"*'}[r.match]
            pats.append(pat)
        lines.append(f'case "$v{i}" in {"|".join(pats)}) exit 0 ;; esac')
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # python -m ros_init.sources.platform_id: the sh lines for need-network
    print(need_network_sh(), end="")
