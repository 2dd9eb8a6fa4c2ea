"""The directory a download writes into, held open so that nothing is written outside its target.

A plan checks its local paths once (``_local._safe_under``); another user of a shared target directory
can still swap ``target/sub`` for a symlink afterwards. :class:`TargetDir` therefore opens every directory
below the target root at write time, one component at a time, with ``O_DIRECTORY | O_NOFOLLOW`` (creating
missing ones with ``mkdir`` relative to their parent's descriptor), and then does everything else relative
to that descriptor: the ``lstat`` of the destination, the temporary's creation, the rename, the clean-up.
A symlink met on the way is refused (:class:`IrodsSymlinkError` naming it), never followed; a file where a
directory must be is :class:`IrodsNotADirectoryError`.

Temporaries are named ``.<name>.irods-part-<hex>``; a name too long for that (the file system allows 255
bytes) is shortened and keeps a digest of the whole name (:func:`temp_prefix`), so any legal name
downloads and two long names never share a prefix.
"""

from __future__ import annotations

import contextlib
import os
import stat
import uuid
from pathlib import Path
from types import TracebackType

from irods_provider.client._paths import NAME_MAX, is_temporary_name, temporary_prefix
from irods_provider.exceptions import (
    IrodsAlreadyExistsError,
    IrodsError,
    IrodsInvalidPathError,
    IrodsNotADirectoryError,
    IrodsSymlinkError,
)

from ._integrity import _BINARY, _NOFOLLOW, local_error

__all__ = ["NAME_MAX", "TargetDir", "temp_prefix"]

_KEY_LENGTH = 12  # hex digits after the prefix (a uuid4's first 12)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIRECTORY = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _CLOEXEC
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY | _CLOEXEC


def temp_prefix(name: str, *, key_length: int = _KEY_LENGTH) -> str:
    """``.<name>.irods-part-``, with ``name`` shortened and a digest of it added when the prefix plus a key
    of ``key_length`` characters would exceed :data:`NAME_MAX` bytes (deterministic: a resume finds it);
    the one rule of every temporary name (:func:`~irods_provider.client._paths.temporary_prefix`)."""
    return temporary_prefix(name, "part", key_length=key_length)


class TargetDir:
    """The parent directory of one local destination, opened below ``root`` without following links.

    ``root`` is the target directory the caller named (opened as named); None means the destination's
    parent is its own root (``download_object`` on a path the caller vouches for). Use as a context
    manager; :meth:`open` first.
    """

    def __init__(self, local: Path, root: str | os.PathLike[str] | None, *, operation: str) -> None:
        self.local = local
        self.name = local.name
        self.operation = operation
        self.fd: int | None = None
        if root is None:
            self._root, self._parts = str(local.parent), []
            return
        self._root = os.fspath(root)
        relative = os.path.relpath(local.parent, self._root)
        if os.path.isabs(relative) or relative == os.pardir or relative.startswith(os.pardir + os.sep):
            raise IrodsInvalidPathError(
                f"the destination is outside its target directory {self._root}",
                operation=operation,
                path=str(local),
            )
        self._parts = [] if relative == os.curdir else relative.split(os.sep)

    def __enter__(self) -> TargetDir:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def open(self, *, create: bool) -> bool:
        """Open the directory, creating missing parts when ``create``; False when a part is missing (and
        not ``create``: the destination is then absent). Raises typed errors for a link or a file on the
        way."""
        if self.fd is not None:
            return True
        try:
            fd = os.open(self._root, _DIRECTORY)
        except FileNotFoundError:
            if not create:
                return False
            os.makedirs(self._root, exist_ok=True)
            fd = os.open(self._root, _DIRECTORY)
        current = self._root
        for part in self._parts:
            current = os.path.join(current, part)
            try:
                child = self._open_child(fd, part, current, create=create)
            finally:
                os.close(fd)
            if child is None:
                return False
            fd = child
        self.fd = fd
        return True

    def _open_child(self, fd: int, part: str, path: str, *, create: bool) -> int | None:
        """The directory ``part`` of the open directory ``fd``, never through a link (None: missing)."""
        flags = _DIRECTORY | _NOFOLLOW
        try:
            return os.open(part, flags, dir_fd=fd)
        except FileNotFoundError:
            if not create:
                return None
            with contextlib.suppress(FileExistsError):  # another worker made it meanwhile: fine
                os.mkdir(part, 0o777, dir_fd=fd)
        except OSError as exc:
            raise self._refused(fd, part, path, exc) from exc
        try:
            return os.open(part, flags, dir_fd=fd)
        except OSError as exc:
            raise self._refused(fd, part, path, exc) from exc

    def _refused(self, fd: int, part: str, path: str, exc: OSError) -> IrodsError:
        """Why ``part`` cannot be entered: a symlink (never followed), a non-directory, or ``exc`` typed."""
        try:
            mode = os.lstat(part, dir_fd=fd).st_mode
        except OSError:
            mode = 0
        where = f"{path} (on the way to {self.local})"
        if stat.S_ISLNK(mode):
            return IrodsSymlinkError(
                f"a symbolic link is on the way to the destination {self.local}; not followed",
                operation=self.operation,
                path=path,
            )
        if mode and not stat.S_ISDIR(mode):
            return IrodsNotADirectoryError(
                f"{where} is not a directory; the destination cannot be created under it",
                operation=self.operation,
                path=path,
            )
        return local_error(
            exc, path=path, doing=f"cannot open the directory {where}", operation=self.operation
        )

    @property
    def _fd(self) -> int:
        if self.fd is None:
            raise RuntimeError("TargetDir used before open()")
        return self.fd

    def lstat(self, name: str) -> os.stat_result | None:
        """``lstat`` of ``name`` in the directory; None when nothing is there."""
        try:
            return os.lstat(name, dir_fd=self._fd)
        except FileNotFoundError:
            return None

    def create_temp(self) -> tuple[str, int, int]:
        """Create the hidden temporary (``O_EXCL | O_NOFOLLOW``, private while written): its name, its
        descriptor and the mode a new file gets here (``0o666`` less the umask or a default ACL), read
        from the created file itself since the umask cannot be read safely while other threads run."""
        temp = f"{temp_prefix(self.name)}{uuid.uuid4().hex[:_KEY_LENGTH]}"
        try:
            fd = os.open(temp, _TEMP_FLAGS, 0o666, dir_fd=self._fd)
        except FileExistsError:
            if stat.S_ISLNK(getattr(self.lstat(temp), "st_mode", 0)):
                raise IrodsSymlinkError(
                    "a symbolic link was planted at the temporary name",
                    operation=self.operation,
                    path=str(self.local.parent / temp),
                ) from None
            raise
        try:
            mode = stat.S_IMODE(os.fstat(fd).st_mode)
            os.fchmod(fd, 0o600)
        except BaseException:
            os.close(fd)
            self.unlink(temp)
            raise
        return temp, fd, mode

    def publish(self, temp: str, fd: int, *, new_mode: int, replace: bool) -> None:
        """Rename the verified ``temp`` (open as ``fd``) onto the destination name.

        Refuses a symlink, directory or other non-file there and a temporary swapped for another file
        (``lstat`` right before). The published file gets the mode ``open(path, "w")`` would leave: an
        existing file's own permission bits, else ``new_mode``. Without ``replace`` (REFUSE) it publishes
        by a hard link, which never replaces: a file that appeared meanwhile is refused
        (:class:`IrodsAlreadyExistsError`); where there are no hard links the ``lstat`` is the check.
        """
        existing = self.lstat(self.name)
        mode = new_mode
        if existing is not None:
            self._check_replaceable(existing.st_mode)
            mode = stat.S_IMODE(existing.st_mode) & 0o777
        ours, there = os.fstat(fd), self.lstat(temp)
        if there is None or (there.st_dev, there.st_ino) != (ours.st_dev, ours.st_ino):
            raise IrodsSymlinkError(
                "the temporary file was replaced before publishing",
                operation=self.operation,
                path=str(self.local.parent / temp),
            )
        os.fchmod(fd, mode)
        if replace:
            os.replace(temp, self.name, src_dir_fd=self._fd, dst_dir_fd=self._fd)
            return
        try:
            os.link(temp, self.name, src_dir_fd=self._fd, dst_dir_fd=self._fd, follow_symlinks=False)
        except FileExistsError as exc:
            raise IrodsAlreadyExistsError(
                f"{self.local} appeared during the download and the overwrite policy is REFUSE",
                operation=self.operation,
                path=str(self.local),
            ) from exc
        except OSError:  # no hard links here (EPERM, ENOTSUP, EXDEV): checked just above
            os.replace(temp, self.name, src_dir_fd=self._fd, dst_dir_fd=self._fd)
            return
        self.unlink(temp)

    def _check_replaceable(self, mode: int) -> None:
        """Refuse to publish onto a symlink, a directory or another non-file."""
        if stat.S_ISLNK(mode):
            message = "the destination is a symbolic link; refusing to replace it"
            raise IrodsSymlinkError(message, operation=self.operation, path=str(self.local))
        if not stat.S_ISREG(mode):
            message = "the destination is a directory or another non-file; refusing to replace it"
            raise IrodsInvalidPathError(message, operation=self.operation, path=str(self.local))

    def unlink(self, name: str) -> None:
        """Remove ``name`` from the directory if it is there (unlink never follows a link)."""
        if self.fd is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name, dir_fd=self.fd)

    def remove_stale_temporaries(self) -> None:
        """Remove the temporaries of this destination that killed earlier attempts left (``kill -9`` runs
        no cleanup), now that it holds the verified content. Only regular files named
        ``<temp_prefix>…`` go (``lstat``; a link is never followed). A concurrent download onto the same
        destination loses its temporary and fails: it was racing this one anyway."""
        prefix = temp_prefix(self.name)
        try:
            names = [n for n in os.listdir(self._fd) if n.startswith(prefix)]
        except OSError:
            return
        for name in names:
            with contextlib.suppress(OSError):
                if is_temporary_name(name) and stat.S_ISREG(os.lstat(name, dir_fd=self._fd).st_mode):
                    os.unlink(name, dir_fd=self._fd)
