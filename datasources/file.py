"""Local drop-in files and folders (``file.paths``; default ``/oem``, ``/usr/local/cloud-config``).

Each path is a file or a folder; a folder contributes its ``*.yaml``/``*.yml`` files
(not sub-folders), and every file is read in lexical order of its full path, so
``10-base.yaml`` comes before ``20-site.yaml`` and a later file wins within the user
layer. A file may be plain YAML (no ``#cloud-config`` header needed), gzip or MIME.
"""

from __future__ import annotations

from ros_init.core.model import Documents, Layer
from ros_init.core.root import RootError
from ros_init.sources.host import DatasourceError, Host

NAME = "file"
DETECT_HINT = "no *.yaml in the file.paths folders"
MAX_FILE = 4 * 1024 * 1024
_SUFFIXES = (".yaml", ".yml")


def _paths(host: Host) -> list[str]:
    return list(host.source_settings("file").get("paths") or [])


def candidates(host: Host) -> list[str]:
    """Root-relative files to read, in lexical order."""
    out: list[str] = []
    for path in _paths(host):
        try:
            st = host.root.stat(path)
        except RootError as exc:
            host.logger.warning("file source: %s: %s", path, exc)
            continue
        if st is None:
            continue
        import stat as st_mod

        if st_mod.S_ISDIR(st.st_mode):
            base = path.rstrip("/")
            out += [f"{base}/{n}" for n in host.root.listdir(path) if n.endswith(_SUFFIXES) and not n.startswith(".")]
        elif st_mod.S_ISREG(st.st_mode):
            out.append(path)
    return sorted(dict.fromkeys(out))


def detect(host: Host) -> bool:
    return bool(candidates(host))


def fetch(host: Host, deadline: float) -> Documents | None:
    from ros_init.sources.userdata import decode, source_context

    files = candidates(host)
    if not files:
        return None
    docs = Documents(source="local files")
    for path in files:
        try:
            st = host.root.stat(path)
            if st is None:
                continue
            if st.st_size > MAX_FILE:
                raise DatasourceError(f"{path}: {st.st_size} bytes is over the {MAX_FILE}-byte limit")
            data = host.root.read_bytes(path, limit=MAX_FILE + 1)
        except (OSError, RootError) as exc:
            raise DatasourceError(f"{path}: cannot read: {exc}") from None
        if data is None:
            continue
        docs.raw[path.lstrip("/").replace("/", "_")] = data
        decoded = decode(data, path, Layer.USER, yaml_without_header=True, context=source_context(host, deadline))
        docs.configs += decoded.configs
        docs.scripts += decoded.scripts
    return docs
