"""The target root: the only way ros-init touches files.

Every path is resolved inside the root with chroot semantics: an absolute symlink found
on the way is read relative to the root, and a path (or symlink) whose ``..`` would climb
above the root is refused. Writes go to a temporary file in the destination folder,
created with mode 0600, fsynced, given its owner and final mode, then renamed over the
destination, so a reader sees the old file or the new one, never half of one, and a file
holding a secret is never readable by others, not even for a moment.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections import namedtuple

from ros_init.core.bounded_read import read_capped

_MAX_SYMLINKS = 40
MAX_READ = 64 * 1024 * 1024  # a file read whole without a limit of its own (passwd of 100,000 users: 7 MB)


class RootError(Exception):
    """A path that cannot be used inside the target root (escape attempt, loop, bad name)."""


class FileTooLarge(RootError):
    """A file larger than what its reader accepts (read nothing of it)."""


class _Resolved(namedtuple("_Resolved", "parent name")):
    """``parent``: absolute host path of the resolved parent folder (inside the root);
    ``name``: last component ("" for the root itself)."""

    __slots__ = ()

    @property
    def host(self) -> str:
        return os.path.join(self.parent, self.name) if self.name else self.parent


class Root:
    """A directory tree that ros-init configures (``/``, ``/sysroot``, a scratch folder)."""

    def __init__(self, path: str | os.PathLike[str] = "/") -> None:
        self.path = os.path.realpath(os.fspath(path))
        if not os.path.isdir(self.path):
            raise RootError(f"target root {self.path} is not a folder")
        # Whose symlinks are followed: root's and the root folder's owner's (a demo root built
        # by a normal user). A link made by any other user (in a home, ~/.kube -> /etc/sudoers.d)
        # is never followed: a user cannot redirect ros-init's reads or writes.
        self.trusted_uids = frozenset({0, os.stat(self.path).st_uid})
        self._swept: set[tuple[int, int]] = set()  # folders looked through for stale temporaries

    def __repr__(self) -> str:
        return f"Root({self.path!r})"

    @property
    def is_host(self) -> bool:
        """True when the root is the running system's own ``/``."""
        return self.path == "/"

    # -- resolution -------------------------------------------------------------------
    def _split(self, path: str | os.PathLike[str]) -> list[str]:
        text = os.fspath(path)
        if "\0" in text:
            raise RootError("path contains a NUL byte")
        if not text:
            raise RootError("empty path")
        parts = [p for p in text.split("/") if p not in ("", ".")]
        if ".." in parts:
            raise RootError(f"path {text!r} contains '..': paths are taken inside the target root")
        return parts

    def _walk(self, parts: list[str], follow_last: bool) -> _Resolved:
        """Resolve components one by one, following symlinks inside the root."""
        stack: list[str] = []  # resolved components below the root
        todo = list(parts)
        hops = 0
        while todo:
            name = todo.pop(0)
            if name == "..":
                if not stack:
                    raise RootError("a symlink in the path points above the target root")
                stack.pop()
                continue
            if name in ("", "."):
                continue
            is_last = not todo
            host = os.path.join(self.path, *stack, name)
            if is_last and not follow_last:
                stack.append(name)
                break
            try:
                st = os.lstat(host)
            except FileNotFoundError:
                stack.append(name)
                # Components that do not exist yet are plain folders to create.
                continue
            if stat.S_ISLNK(st.st_mode):
                if st.st_uid not in self.trusted_uids:
                    raise RootError(f"/{'/'.join(stack + [name])} is a symlink owned by uid {st.st_uid}: "
                                    "not followed (a user's link never redirects ros-init)")
                hops += 1
                if hops > _MAX_SYMLINKS:
                    raise RootError(f"too many levels of symlinks at /{'/'.join(stack + [name])}")
                target = os.readlink(host)
                if target.startswith("/"):
                    stack = []
                tparts = [p for p in target.split("/") if p not in ("", ".")]
                todo = tparts + todo
                continue
            if not is_last and not stat.S_ISDIR(st.st_mode):
                raise RootError(f"/{'/'.join(stack + [name])} is not a folder")
            stack.append(name)
        if not stack:
            return _Resolved(self.path, "")
        return _Resolved(os.path.join(self.path, *stack[:-1]), stack[-1])

    def resolve(self, path: str | os.PathLike[str], *, follow_last: bool = True) -> str:
        """Host path of ``path`` taken inside the root; symlinks are followed inside it."""
        return self._walk(self._split(path), follow_last).host

    def rel(self, host_path: str) -> str:
        """The root-relative spelling (``/etc/hostname``) of a host path inside the root."""
        relp = os.path.relpath(host_path, self.path)
        return "/" if relp == "." else "/" + relp

    # -- reading ----------------------------------------------------------------------
    def lstat(self, path: str) -> os.stat_result | None:
        try:
            return os.lstat(self.resolve(path, follow_last=False))
        except FileNotFoundError:
            return None

    def stat(self, path: str) -> os.stat_result | None:
        try:
            return os.lstat(self.resolve(path))
        except FileNotFoundError:
            return None

    def exists(self, path: str) -> bool:
        return self.stat(path) is not None

    def read_bytes(self, path: str, limit: int | None = None) -> bytes | None:
        """Content of a regular file, or None when it is missing.

        Never blocks and never grows without bound: the file is opened non-blocking (a FIFO
        or device planted at the path is refused, not waited on) and must be a regular file.
        With ``limit``, at most that many bytes are returned (the caller checks the length);
        without, a file larger than ``MAX_READ`` raises ``FileTooLarge``.
        """
        host = self.resolve(path)
        try:
            fd = os.open(host, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise RootError(f"{path} changed into a symlink while being read") from exc
            raise
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise RootError(f"{path} is not a regular file: not read")
            _check_opened(fd, host, path)
            cap = MAX_READ if limit is None else limit
            if limit is None and st.st_size > cap:
                raise FileTooLarge(f"{path} is larger than {cap // (1024 * 1024)} MiB: not read")
            data = read_capped(fd, cap + (1 if limit is None else 0))
            if limit is None and len(data) > cap:
                raise FileTooLarge(f"{path} is larger than {cap // (1024 * 1024)} MiB: not read")
            return data
        finally:
            os.close(fd)

    def read_text(self, path: str) -> str | None:
        data = self.read_bytes(path)
        return None if data is None else data.decode("utf-8", errors="surrogateescape")

    def listdir(self, path: str) -> list[str]:
        try:
            return sorted(os.listdir(self.resolve(path)))
        except (FileNotFoundError, NotADirectoryError):
            return []

    # -- writing ----------------------------------------------------------------------
    def makedirs(self, path: str, mode: int = 0o755, uid: int = -1, gid: int = -1) -> list[str]:
        """Create missing folders (each with ``mode`` and owner); return those created."""
        created: list[str] = []
        parts = self._split(path)
        for i in range(1, len(parts) + 1):
            res = self._walk(parts[:i], follow_last=True)
            host = res.host
            existing = _lstat_or_none(host)
            if existing is not None:
                if not stat.S_ISDIR(existing.st_mode):
                    raise RootError(f"{self.rel(host)} exists and is not a folder")
                continue
            if self._mkdir_atomic(res.parent, res.name, mode, uid, gid, self._swept):
                created.append(self.rel(host))
        return created

    @staticmethod
    def _mkdir_atomic(parent: str, name: str, mode: int, uid: int, gid: int,
                      swept: set[tuple[int, int]] | None = None) -> bool:
        """Create ``name`` with its owner and mode already set: built under a temporary name
        and renamed, so a crash never leaves a folder with the wrong mode (the 0700 of a
        half-made folder would stay for ever: an existing folder is left as it is)."""
        dfd = _open_dir(parent)
        try:
            tmp = _tmp_name(name)
            _remove_stale_temporaries(dfd, name, swept)
            os.mkdir(tmp, 0o700, dir_fd=dfd)
            os.chown(tmp, uid, gid, dir_fd=dfd, follow_symlinks=False)
            os.chmod(tmp, mode, dir_fd=dfd)
            try:
                os.rename(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
            except OSError as exc:  # made meanwhile by someone else: theirs stays
                os.rmdir(tmp, dir_fd=dfd)
                if exc.errno in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR):
                    st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
                    if stat.S_ISDIR(st.st_mode):
                        return False
                raise
            return True
        finally:
            os.close(dfd)

    def write_file(
        self,
        path: str,
        data: bytes,
        mode: int = 0o644,
        uid: int = -1,
        gid: int = -1,
        *,
        dir_mode: int = 0o755,
        durable: bool = True,
    ) -> None:
        """Atomically replace ``path`` with ``data``, owned by uid:gid with ``mode``.

        ``durable=False`` skips the fsyncs, for files that do not outlive the boot (``/run``):
        the replacement is still atomic for every reader.

        The file is built as a 0600 temporary beside the destination and renamed over it,
        so readers never see partial content and secrets are never exposed. A symlink at
        the destination is replaced, not written through.
        """
        res = self._destination(path, dir_mode)
        dfd = _open_dir(res.parent)
        try:
            tmp = _tmp_name(res.name)
            _remove_stale_temporaries(dfd, res.name, self._swept)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                         0o600, dir_fd=dfd)
            try:
                view = memoryview(data)
                while view:
                    n = os.write(fd, view)
                    view = view[n:]
                if durable:
                    os.fsync(fd)
                if uid != -1 or gid != -1:
                    os.fchown(fd, uid, gid)
                os.fchmod(fd, mode)
            except BaseException:
                os.close(fd)
                os.unlink(tmp, dir_fd=dfd)
                raise
            os.close(fd)
            os.rename(tmp, res.name, src_dir_fd=dfd, dst_dir_fd=dfd)
            if durable:
                os.fsync(dfd)
        finally:
            os.close(dfd)

    def _destination(self, path: str, dir_mode: int) -> _Resolved:
        """Where an entry replacing ``path`` goes: its parent made, never the root or a folder."""
        res = self._walk(self._split(path), follow_last=False)
        if not res.name:
            raise RootError("cannot replace the root folder")
        self.makedirs(self.rel(res.parent), mode=dir_mode)
        existing = _lstat_or_none(res.host)
        if existing is not None and stat.S_ISDIR(existing.st_mode):
            raise RootError(f"{self.rel(res.host)} is a folder")
        return res

    def readlink(self, path: str) -> str | None:
        """The target text of a symlink inside the root; None when ``path`` is not a symlink."""
        host = self.resolve(path, follow_last=False)
        try:
            return os.readlink(host)
        except (FileNotFoundError, OSError):
            return None

    def symlink(self, path: str, target: str) -> None:
        """Atomically make ``path`` a symlink holding ``target``.

        The link is created under a temporary name beside the destination and renamed over
        it, so ``path`` is the old entry or the new link, never missing. The target text is
        stored as given: readers that go through Root resolve it inside the root. A folder
        at ``path`` is refused.
        """
        if "\0" in target or not target:
            raise RootError("bad symlink target")
        res = self._destination(path, 0o755)
        dfd = _open_dir(res.parent)
        try:
            tmp = _tmp_name(res.name)
            _remove_stale_temporaries(dfd, res.name, self._swept)
            os.symlink(target, tmp, dir_fd=dfd)
            os.rename(tmp, res.name, src_dir_fd=dfd, dst_dir_fd=dfd)
            os.fsync(dfd)
        finally:
            os.close(dfd)

    def chown(self, path: str, uid: int, gid: int) -> None:
        os.chown(self.resolve(path, follow_last=False), uid, gid, follow_symlinks=False)

    def chmod(self, path: str, mode: int) -> None:
        host = self.resolve(path, follow_last=False)
        st = os.lstat(host)
        if stat.S_ISLNK(st.st_mode):
            raise RootError(f"{path} is a symlink: refusing to change its mode")
        os.chmod(host, mode)

    def remove(self, path: str) -> bool:
        """Remove a file or symlink; True when something was removed."""
        host = self.resolve(path, follow_last=False)
        try:
            os.unlink(host)
        except FileNotFoundError:
            return False
        return True

    def remove_tree(self, path: str) -> bool:
        """Remove ``path`` and, for a folder, everything below it, never following a symlink
        (file descriptors all the way down); True when something was removed."""
        import shutil

        res = self._walk(self._split(path), follow_last=False)
        if not res.name:
            raise RootError("cannot remove the root folder")
        pfd = os.open(res.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            try:
                st = os.stat(res.name, dir_fd=pfd, follow_symlinks=False)
            except FileNotFoundError:
                return False
            if stat.S_ISDIR(st.st_mode):
                shutil.rmtree(res.name, dir_fd=pfd)
            else:
                os.unlink(res.name, dir_fd=pfd)
            return True
        finally:
            os.close(pfd)

    def rename(self, src: str, dst: str) -> None:
        """Move ``src`` to ``dst`` atomically (rename(2), both inside the root, the last
        components never followed), then fsync the destination folder."""
        s = self._walk(self._split(src), follow_last=False)
        d = self._walk(self._split(dst), follow_last=False)
        if not s.name or not d.name:
            raise RootError("cannot rename the root folder")
        flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
        sfd = os.open(s.parent, flags)
        try:
            dfd = os.open(d.parent, flags)
            try:
                os.rename(s.name, d.name, src_dir_fd=sfd, dst_dir_fd=dfd)
                os.fsync(dfd)
            finally:
                os.close(dfd)
        finally:
            os.close(sfd)

    def open_lock_file(self, path: str, mode: int = 0o600) -> int:
        """A write descriptor of ``path`` (created ``mode`` when missing, never through a
        symlink), for ``fcntl.lockf``; the caller closes it."""
        res = self._walk(self._split(path), follow_last=False)
        if not res.name:
            raise RootError("cannot lock the root folder")
        pfd = os.open(res.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            return os.open(res.name, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=pfd)
        finally:
            os.close(pfd)


def _open_dir(host: str) -> int:
    """An fd of the folder ``host``, checked to be that very folder: a component swapped
    for a symlink after the walk (a user racing ros-init in their home) is refused."""
    fd = os.open(host, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        _check_opened(fd, host, host)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _check_opened(fd: int, host: str, shown: str) -> None:
    try:
        real = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return  # no /proc: the walk's checks are all there is
    if real != host and not real.startswith("/proc/"):
        raise RootError(f"{shown} changed while being opened (a symlink swapped in): refused")


def _tmp_name(name: str) -> str:
    return f".{name}.ros-init.{os.getpid()}.tmp"


def _remove_stale_temporaries(dfd: int, name: str, swept: set[tuple[int, int]] | None = None) -> None:
    """Remove this name's temporaries left by ros-init processes that are gone (killed or
    powered off mid-write) and our own; those of a live process are its business.

    Without this, a run killed between creating its temporary and renaming it leaves
    ``.name.ros-init.<pid>.tmp`` beside the file for ever (the next run has another pid).
    """
    prefix, me = f".{name}.ros-init.", os.getpid()
    own = f"{prefix}{me}.tmp"
    try:
        os.unlink(own, dir_fd=dfd)
    except IsADirectoryError:
        with contextlib.suppress(OSError):
            os.rmdir(own, dir_fd=dfd)
    except FileNotFoundError:
        pass
    # With ``swept`` (a Root's), the folder is looked through once, for the temporaries of
    # every name: those of dead processes cannot appear meanwhile, and listing /home for each
    # of 10,000 new homes made the users stage quadratic.
    if swept is not None:
        st = os.fstat(dfd)
        if (st.st_dev, st.st_ino) in swept:
            return
        swept.add((st.st_dev, st.st_ino))
    for entry in os.listdir(dfd):
        if swept is None and not entry.startswith(prefix):
            continue
        head, sep, tail = entry.rpartition(".ros-init.")
        if not (sep and head.startswith(".") and tail.endswith(".tmp")):
            continue
        pid = tail[:-4]
        if pid.isdigit() and (int(pid) == me or not _alive(int(pid))):
            try:
                os.unlink(entry, dir_fd=dfd)
            except IsADirectoryError:  # a folder of _mkdir_atomic: empty until renamed
                with contextlib.suppress(OSError):
                    os.rmdir(entry, dir_fd=dfd)
            except FileNotFoundError:
                pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _lstat_or_none(host: str) -> os.stat_result | None:
    try:
        return os.lstat(host)
    except FileNotFoundError:
        return None
