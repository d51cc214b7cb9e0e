"""The image settings (``/etc/ros-init/ros-init.yaml``): read, defaults filled in.

Settings belong to the OS image, not to the node's user: which datasources to probe, the
state folder, the failure policy, the network renderer. Defaults come from the ``default``
values of ``schemas/settings.v1.json``, so the schema documents them and code cannot drift.
"""

from __future__ import annotations

import copy

from ros_init.config.schema import load_schema
from ros_init.core.root import Root

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from typing import Any

DEFAULT_PATH = "/etc/ros-init/ros-init.yaml"


class SettingsError(Exception):
    """The settings file exists but cannot be used; the message says where and why."""


def defaults() -> dict[str, Any]:
    """Every top-level setting with its schema default (sub-objects: their defaults too)."""
    schema = load_schema("settings")
    out: dict[str, Any] = {}
    for key, prop in schema["properties"].items():
        if "default" in prop:
            out[key] = copy.deepcopy(prop["default"])
        elif prop.get("type") == "object" and "properties" in prop:
            sub = {k: copy.deepcopy(v["default"]) for k, v in prop["properties"].items() if "default" in v}
            out[key] = sub
        else:
            out[key] = {}
    return out


def state_dir(settings: dict[str, Any]) -> str:
    """The persistent state folder (root-relative): the setting, else the schema's default."""
    return settings.get("state_dir") or defaults()["state_dir"]


def load_settings(root: Root, path: str | None = None) -> dict[str, Any]:
    """Settings from ``path`` (a host path) or from the root's settings file, over defaults.

    A missing file means defaults. An unreadable or invalid file raises SettingsError with
    a located message (it is the image builder's bug and must not pass silently).
    """
    from ros_init.config.yamlsource import load_document

    if path is not None:
        from ros_init.config.yamlsource import MAX_BYTES
        from ros_init.core.bounded_read import read_limited

        try:
            text: bytes | None = read_limited(path, MAX_BYTES)
        except OSError as exc:
            raise SettingsError(f"{path}: cannot read settings: {exc.strerror}") from None
        name = path
    else:
        from ros_init.core.root import RootError

        try:
            text = root.read_bytes(DEFAULT_PATH)
        except (OSError, RootError) as exc:
            raise SettingsError(f"{DEFAULT_PATH}: cannot read settings: {getattr(exc, 'strerror', None) or exc}") \
                from None
        name = root.resolve(DEFAULT_PATH)
    out = defaults()
    if text is None:
        return out
    parsed = load_document(text, name)
    if not parsed.ok:
        raise SettingsError("; ".join(f.render() for f in parsed.findings if f.severity == "error"))
    data = parsed.data or {}
    if not isinstance(data, dict):
        raise SettingsError(f"{name}: settings must be a mapping, found {type(data).__name__}")
    from ros_init.config.validate import validate_document

    errors = [f for f in validate_document(parsed, "settings") if f.severity == "error"]
    if errors:
        raise SettingsError("\n".join(f.render() for f in errors))
    for key, value in data.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out
