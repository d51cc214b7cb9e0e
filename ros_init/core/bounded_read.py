"""Reading a host file named on the command line (``--config``, ``--settings``, ``validate
FILE``) so that it can neither hang nor grow without bound.

The file is opened non-blocking (a FIFO does not wait for a writer), must be a regular file
(``/dev/zero``, a terminal or a FIFO is refused with the reason), and is read in chunks up to
a limit: a caller gets at most ``limit + 1`` bytes and tells "too large" itself. Files inside
a target root are read through ``Root.read_bytes``, which applies the same rules.
"""

from __future__ import annotations

import errno
import os
import stat


class NotRegularFile(OSError):
    """The path is a FIFO, a device, a socket: not read (``strerror`` says what it is)."""


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder")):
        if test(mode):
            return name
    return "not a regular file"


def read_limited(path: str, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of the regular file ``path`` (more than ``limit``: too large)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            if stat.S_ISDIR(st.st_mode):
                raise IsADirectoryError(errno.EISDIR, "is a folder, not a file")
            raise NotRegularFile(errno.EINVAL, f"{_kind(st.st_mode)}, not a regular file: not read")
        return read_capped(fd, limit + 1)
    finally:
        os.close(fd)


def read_capped(fd: int, cap: int) -> bytes:
    """At most ``cap`` bytes of ``fd``, read in chunks (memory grows with the file, not the cap)."""
    chunks, total = [], 0
    while total < cap:
        try:
            chunk = os.read(fd, min(1 << 20, cap - total))
        except BlockingIOError:
            break
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)
