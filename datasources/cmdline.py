"""Kernel command line: ``ros.config=<base64 YAML>`` and ``ros.<key.path>=value`` overrides.

``ros.config`` is a user-data document (Layer.USER, merged after every other user
document); the dot-notation overrides form one document in Layer.CMDLINE, on top of
everything. ``ros.config_url`` and ``ds=nocloud;s=`` are fetched by the ``http`` source;
``ros.datasource`` is read by the probing engine.
"""

from __future__ import annotations

import base64
import binascii

from ros_init.core.model import ConfigDocument, Documents, Layer
from ros_init.sources.cmdline import overrides_to_config
from ros_init.sources.host import DatasourceError, Host

NAME = "cmdline"
DETECT_HINT = "no ros.config or ros.<key>= parameter on the kernel command line"


def detect(host: Host) -> bool:
    c = host.cmdline
    return bool(c.config_b64 or c.overrides or c.problems)


def fetch(host: Host, deadline: float) -> Documents | None:
    from ros_init.sources.userdata import decode

    c = host.cmdline
    if c.problems:
        raise DatasourceError("kernel command line: " + "; ".join(c.problems))
    docs = Documents(source="kernel command line")
    if c.config_b64:
        text = c.config_b64.strip()
        try:
            text = text.translate(str.maketrans("-_", "+/"))  # the URL-safe alphabet too
            raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise DatasourceError("kernel command line: ros.config is not valid base64") from None
        docs.raw["ros.config"] = raw
        decoded = decode(raw, "kernel command line ros.config", Layer.USER, yaml_without_header=True)
        docs.configs += decoded.configs
        docs.scripts += decoded.scripts
    if c.overrides:
        data, problems = overrides_to_config(c.overrides)
        if problems:
            host.logger.warning("kernel command line: %s", "; ".join(problems))
        docs.configs.append(ConfigDocument(source="kernel command line ros.*", layer=Layer.CMDLINE, data=data))
        docs.raw["overrides"] = "\n".join(f"ros.{k}" for k, _ in c.overrides).encode()
    return docs if docs.configs or docs.scripts else None
