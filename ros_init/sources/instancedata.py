"""cloud-init's instance data, the variables of ``## template: jinja`` user-data.

cloud-init documents a stable ``v1`` namespace (the same names on every cloud) and the
datasource's raw metadata under ``ds.meta_data``. A datasource builds it from what it
fetched; a name it does not know is left out, so a template using it fails with a
located "undefined variable" instead of rendering an empty value.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from typing import Any


def instance_data(*, cloud_name: str, platform: str, meta: dict[str, Any] | None = None,
                  instance_id: str | None = None, local_hostname: str | None = None, region: str | None = None,
                  availability_zone: str | None = None, public_ssh_keys: list[str] | None = None,
                  subplatform: str | None = None) -> dict[str, Any]:
    """``{"v1": {...}, "ds": {"meta_data": ...}}`` with cloud-init's key names (the machine's
    architecture and kernel come from this host: the node itself at boot)."""
    import os
    import sys

    uname = os.uname()
    v1: dict[str, Any] = {"cloud_name": cloud_name, "cloud_id": cloud_name, "platform": platform,
                          "distro": "rancheros", "variant": "rancheros", "machine": uname.machine,
                          "kernel_release": uname.release,
                          "python_version": f"{sys.version_info[0]}.{sys.version_info[1]}.{sys.version_info[2]}"}
    for key, value in (("instance_id", instance_id), ("local_hostname", local_hostname), ("region", region),
                       ("availability_zone", availability_zone), ("subplatform", subplatform)):
        if value is not None:
            v1[key] = value
    v1["public_ssh_keys"] = list(public_ssh_keys or [])
    return {"v1": v1, "ds": {"meta_data": dict(meta or {})}}

