"""ros-init's own folders (``/run/ros-init``, the state folder): private to root.

Everything ros-init writes there (status, once guards, the instance record, fetch's copies)
is mode 0600 in folders of mode 0700: a record may name users, paths and errors, and fetch's
copies hold every secret of the config. A folder found looser (made by an older version, or
by hand) is tightened, unless it is not a real folder.
"""

from __future__ import annotations

import os
import posixpath
import stat

from ros_init.core.root import Root, RootError

FILE_MODE = 0o600
DIR_MODE = 0o700


def ensure_folder(root: Root, base: str) -> None:
    """Make ``base`` (and missing parents of it: 0755, like /var/lib) a folder of mode 0700."""
    parent = posixpath.dirname(base.rstrip("/")) or "/"
    if parent != "/":
        root.makedirs(parent, mode=0o755)
    root.makedirs(base, mode=DIR_MODE)
    st = root.lstat(base)
    if st is None or not stat.S_ISDIR(st.st_mode):
        raise RootError(f"{base} is not a folder")
    if stat.S_IMODE(st.st_mode) != DIR_MODE:
        os.chmod(root.resolve(base, follow_last=False), DIR_MODE)


def write_private(root: Root, base: str, path: str, data: bytes) -> None:
    """Write ``path`` (below ``base``) with mode 0600, every folder from ``base`` down 0700."""
    ensure_folder(root, base)
    root.write_file(path, data, mode=FILE_MODE, dir_mode=DIR_MODE)
