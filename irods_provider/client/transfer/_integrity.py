"""Local sources and destinations that cannot be swapped, redirected or published while they change.

Sources: ``lstat`` before the open, ``O_NOFOLLOW`` (symlinks refused unless ``follow_symlinks``), the open
handle's ``fstat`` compared with that ``lstat`` (same inode and type) and, after the last read, with the
state at open (size, ``st_mtime_ns``, inode) and the path's ``lstat`` (not replaced): a change raises
:class:`IrodsSourceChangedError` before anything is published. Destinations: temporary files are created
with ``O_CREAT | O_EXCL | O_NOFOLLOW`` and the final path is ``lstat``-ed right before the rename.
Tree walks (the planner's :class:`~._trees.LocalTree`) never follow symlinked directories unless asked, and
then detect loops by ``(st_dev, st_ino)``.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from irods_provider.exceptions import (
    IrodsError,
    IrodsInvalidPathError,
    IrodsLocalFileError,
    IrodsNotADirectoryError,
    IrodsPermissionError,
    IrodsSourceChangedError,
    IrodsSymlinkError,
    IrodsTransferCancelledError,
)

log = logging.getLogger(__name__)

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)
#: How long :func:`wait_until_stable` waits at most, as a multiple of the quiet period (at least 10 min).
STABLE_TIMEOUT_FACTOR = 20
_MIN_STABLE_TIMEOUT = 600.0

T = TypeVar("T")


@dataclass(frozen=True)
class LocalState:
    """What identifies one version of a local file: device, inode, type, size and mtime (ns)."""

    dev: int
    ino: int
    mode: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> LocalState:
        return cls(st.st_dev, st.st_ino, stat.S_IFMT(st.st_mode), st.st_size, st.st_mtime_ns)

    def differences(self, other: LocalState) -> str | None:
        """What changed from ``self`` to ``other`` (``"size 1 -> 2, mtime"``), None when nothing did."""
        changes = []
        if (self.dev, self.ino) != (other.dev, other.ino) or self.mode != other.mode:
            changes.append("replaced (another file at the path)")
        if self.size != other.size:
            changes.append(f"size {self.size} -> {other.size}")
        if self.mtime_ns != other.mtime_ns:
            changes.append("mtime")
        return ", ".join(changes) or None


def local_error(exc: OSError, *, path: str, doing: str, operation: str) -> IrodsError:
    """The typed error for an ``OSError`` of the local file system, naming ``path`` and the cause.

    ``doing`` says what failed (``"cannot write the download of /zone/x"``). Permission, a non-directory
    in the way and a symlink get their own classes; anything else (disk full, quota, read-only, I/O) is an
    :class:`IrodsLocalFileError` carrying the errno. An ``IrodsError`` is returned as it is.
    """
    if isinstance(exc, IrodsError):
        return exc
    code = exc.errno
    message = f"{doing}: {exc.strerror or exc}"
    if code is not None:
        message += f" [{errno.errorcode.get(code, code)}]"
    kind: type[IrodsError]
    if isinstance(exc, PermissionError):
        kind = IrodsPermissionError
    elif isinstance(exc, NotADirectoryError):
        kind = IrodsNotADirectoryError
    elif code == errno.ELOOP:
        kind = IrodsSymlinkError
    elif isinstance(exc, FileNotFoundError | IsADirectoryError) or code == errno.ENAMETOOLONG:
        kind = IrodsInvalidPathError
    else:
        return IrodsLocalFileError(message, errno=code, operation=operation, path=path)
    return kind(message, operation=operation, path=path)


def open_local_source(path: str, *, follow_symlinks: bool = False) -> tuple[int, LocalState]:
    """Open a regular local file for reading without following a symlink at its name (unless asked).

    Returns the descriptor and its state. ``lstat`` and the open handle must agree (same inode, regular
    file), so a file swapped between the two is refused, naming the path. Permission and other local
    errors are typed (:func:`local_error`), naming the path.
    """
    try:
        return _open_local_source(path, follow_symlinks=follow_symlinks)
    except OSError as exc:
        raise local_error(exc, path=path, doing="cannot read the local source", operation="upload") from exc


def _open_local_source(path: str, *, follow_symlinks: bool) -> tuple[int, LocalState]:
    try:
        before = os.stat(path) if follow_symlinks else os.lstat(path)
    except FileNotFoundError:
        raise IrodsInvalidPathError("local source does not exist", operation="upload", path=path) from None
    if stat.S_ISLNK(before.st_mode):
        raise IrodsSymlinkError(
            "local source is a symbolic link (follow_symlinks=False)", operation="upload", path=path
        )
    if not stat.S_ISREG(before.st_mode):
        raise IrodsInvalidPathError("local source is not a regular file", operation="upload", path=path)
    flags = os.O_RDONLY | _BINARY | (0 if follow_symlinks else _NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if not follow_symlinks and os.path.islink(path):
            raise IrodsSymlinkError(
                "local source became a symbolic link before it was opened", operation="upload", path=path
            ) from exc
        raise
    opened = LocalState.of(os.fstat(fd))
    if opened.differences(LocalState.of(before)) is not None or not stat.S_ISREG(opened.mode):
        os.close(fd)
        raise IrodsSourceChangedError(
            "local source was replaced between its lstat and its open",
            changed="replaced",
            operation="upload",
            path=path,
        )
    return fd, opened


def local_source_change(
    fd: int, path: str, opened: LocalState, *, follow_symlinks: bool = False
) -> str | None:
    """What changed in an open local source since it was opened (handle and path), None when nothing."""
    now = LocalState.of(os.fstat(fd))
    change = opened.differences(now)
    if change is not None:
        return change
    try:
        at_path = LocalState.of(os.stat(path) if follow_symlinks else os.lstat(path))
    except FileNotFoundError:
        return "removed"
    return opened.differences(at_path)


def raise_changed(path: str, change: str, *, operation: str = "upload") -> None:
    """Raise the typed error for a source that changed while it was copied."""
    raise IrodsSourceChangedError(
        f"source changed while it was copied ({change}); not published",
        changed=change,
        operation=operation,
        path=path,
    )


class _Quiet(Generic[T]):
    """Tracks how long a polled value has stayed the same."""

    def __init__(self, value: T, now: float) -> None:
        self.value = value
        self.since = now

    def update(self, value: T, now: float) -> float:
        """Record a new poll; the seconds the value has been unchanged."""
        if value != self.value:
            self.value, self.since = value, now
        return now - self.since


def wait_until_stable(
    probe: Callable[[], T],
    quiet_seconds: float,
    *,
    path: str,
    cancel_event: threading.Event | None = None,
    timeout: float | None = None,
    sleep: Callable[[float], object] | None = None,
) -> T:
    """Poll ``probe`` (e.g. size and mtime) until it has not changed for ``quiet_seconds``; its value.

    Useful for job outputs still being written. Gives up with :class:`IrodsSourceChangedError` after
    ``timeout`` (default: 20 quiet periods, at least 10 minutes); a set ``cancel_event`` stops the wait.
    """
    limit = (
        timeout if timeout is not None else max(_MIN_STABLE_TIMEOUT, STABLE_TIMEOUT_FACTOR * quiet_seconds)
    )
    interval = max(0.01, min(1.0, quiet_seconds / 4))
    pause = sleep or (cancel_event.wait if cancel_event is not None else time.sleep)
    started = time.monotonic()
    quiet = _Quiet(probe(), started)
    while True:
        if cancel_event is not None and cancel_event.is_set():
            raise IrodsTransferCancelledError("cancelled while waiting for a stable source", path=path)
        now = time.monotonic()
        if quiet.update(probe(), now) >= quiet_seconds:
            return quiet.value
        if now - started > limit:
            raise IrodsSourceChangedError(
                f"source kept changing for {limit:.0f} s (wait_stable_seconds={quiet_seconds})",
                changed="still growing",
                operation="wait_stable",
                path=path,
            )
        pause(interval)


def local_probe(path: str, *, follow_symlinks: bool = False) -> Callable[[], tuple[int, int, int]]:
    """A stability probe of a local file: (inode, size, mtime in ns)."""

    def probe() -> tuple[int, int, int]:
        st = os.stat(path) if follow_symlinks else os.lstat(path)
        return st.st_ino, st.st_size, st.st_mtime_ns

    return probe


def create_exclusive(path: str, mode: int = 0o600) -> int:
    """Create ``path`` for writing; fails if anything (a symlink included) is already there."""
    try:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY, mode)
    except FileExistsError:
        if os.path.islink(path):
            raise IrodsSymlinkError(
                "a symbolic link was planted at the temporary name", operation="download", path=path
            ) from None
        raise


def check_final_destination(path: str, *, operation: str = "download") -> None:
    """Refuse to publish onto a symlink or a directory (checked right before the rename)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        raise IrodsSymlinkError(
            "the destination is a symbolic link; refusing to replace it", operation=operation, path=path
        )
    if stat.S_ISDIR(st.st_mode):
        raise IrodsInvalidPathError("the destination is a directory", operation=operation, path=path)
