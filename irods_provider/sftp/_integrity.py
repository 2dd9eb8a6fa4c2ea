"""SFTP files that a hostile directory cannot redirect or swap, and sources checked for change.

SFTP v3 attributes carry type, size, mtime (whole seconds), uid, gid and permissions, but no inode: a file is
identified by those. Sources are ``lstat``-ed right before the open (symlinks refused unless
``follow_symlinks``), and the open handle's ``fstat`` must match that ``lstat`` and the listing; after the
last read the handle and the path are checked again. Destinations: temporary files are created with
``CREATE | EXCL`` (which never follows or replaces a link), a resumed temporary is ``lstat``-ed and its open
handle compared with it before a byte is written, and the final path is ``lstat``-ed right before
``posix_rename`` (a rename never follows a link; one planted at the final name is refused, typed).
"""

from __future__ import annotations

import contextlib
import hashlib
import posixpath
import stat
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import paramiko
from paramiko.sftp import (
    CMD_CLOSE,
    CMD_LSTAT,
    CMD_READ,
    CMD_STAT,
    int64,
)

from irods_provider.client.transfer import StreamHasher
from irods_provider.exceptions import (
    IrodsAlreadyExistsError,
    IrodsInvalidPathError,
    IrodsNotFoundError,
    IrodsSourceChangedError,
    IrodsSymlinkError,
)
from irods_provider.sftp import _pipelined
from irods_provider.sftp._endpoint import is_raw_connection_error, sftp_error, sftp_errors
from irods_provider.sftp._io import (
    _ReadPipeline,
    attributes_ahead,
    chmod_request,
    own_write_answers,
    refusal,
    release_handle,
    rename_over,
    wait_for_writes,
)
from irods_provider.sftp._modes import open_with_perm
from irods_provider.sftp._session import read_request_size

__all__ = [
    "ReadBack",
    "SftpState",
    "check_opened",
    "check_publishable",
    "close_reading_back",
    "create_exclusive",
    "hash_prefix",
    "judge_publishable",
    "linked_directory",
    "open_resumed",
    "open_source",
    "publish",
    "real_paths",
    "sftp_probe",
    "source_change",
]


@dataclass(frozen=True)
class SftpState:
    """One version of a remote file as SFTP v3 tells it (no inode): type, size, mtime, owner, mode."""

    kind: int
    size: int | None
    mtime: int | None
    uid: int | None
    gid: int | None
    perm: int | None

    @classmethod
    def of(cls, attrs: paramiko.SFTPAttributes) -> SftpState:
        mode = attrs.st_mode or 0
        return cls(
            stat.S_IFMT(mode), attrs.st_size, attrs.st_mtime, attrs.st_uid, attrs.st_gid, mode & 0o7777
        )

    def differences(self, other: SftpState, *, owner: bool = True) -> str | None:
        """What changed from ``self`` to ``other``, None when nothing (``owner``: uid, gid, mode too)."""
        changes = []
        if self.kind != other.kind:
            changes.append("file type")
        if self.size != other.size:
            changes.append(f"size {self.size} -> {other.size}")
        if self.mtime != other.mtime:
            changes.append(f"mtime {self.mtime} -> {other.mtime}")
        if owner and (self.uid, self.gid, self.perm) != (other.uid, other.gid, other.perm):
            changes.append("owner or permissions")
        return ", ".join(changes) or None


def _lstat(client: paramiko.SFTPClient, path: str, *, follow: bool) -> paramiko.SFTPAttributes:
    return client.stat(path) if follow else client.lstat(path)


def open_source(
    client: paramiko.SFTPClient,
    path: str,
    *,
    listed_size: int | None,
    listed_mtime: int | None,
    follow_symlinks: bool = False,
    check_handle: bool = True,
    base: str | None = None,
) -> tuple[paramiko.SFTPFile, SftpState]:
    """Open a listed remote file for reading, refusing a symlink or a file swapped since the listing.

    The ``lstat`` and the open go out together (one round trip; the listing already said regular file):
    a link or anything but a regular file is refused and the handle closed unread. The open handle's
    ``fstat`` must equal that ``lstat`` (a swap in between shows as another file's size, mtime or owner)
    and the listing's size and mtime: checked here (``check_handle``), else by the caller with
    :func:`check_opened` before any byte read through the handle counts (its ``fstat`` then shares the
    first reads' round trip). ``base``: the tree the file was listed in; unless following links, the
    ``realpath`` of both go out in that round trip too and a directory between them swapped for a link
    since the listing is refused (the open went through it). Returns the handle and the state it must have.
    """
    requests = [_pipelined.stat if follow_symlinks else _pipelined.lstat, _pipelined.read_open]
    below = None if follow_symlinks or base is None else [base, path]
    reals = [_pipelined.realpath(client, p) for p in below or ()]
    found, opening, *real = _pipelined.exchange(client, [r(client, path) for r in requests] + reals)
    handle = None if isinstance(opening, OSError) else _pipelined.opened(client, opening)
    try:
        try:
            before = SftpState.of(_pipelined.attributes(found))
        except FileNotFoundError:
            raise _changed(path, "removed after the listing") from None
        if before.kind == stat.S_IFLNK:
            raise IrodsSymlinkError(
                "SFTP source is a symbolic link (follow_symlinks=False)", operation="sftp_to_irods", path=path
            )
        if before.kind != stat.S_IFREG:
            raise IrodsInvalidPathError(
                "SFTP source is not a regular file", operation="sftp_to_irods", path=path
            )
        if below is not None:
            _refuse_linked_directory(path, base or "", real)
        if handle is None:
            with sftp_errors(path, "cannot open the SFTP source", operation="sftp_to_irods"):
                _pipelined.opened(client, opening)  # raises the open's own error, as client.open does
        assert handle is not None
        if check_handle:
            check_opened(path, before, SftpState.of(handle.stat()), listed=(listed_size, listed_mtime))
    except BaseException:
        if handle is not None:
            handle.close()
        raise
    return handle, before


def real_paths(client: paramiko.SFTPClient, path: str, base: str) -> list[_pipelined.Answer]:
    """Send the ``realpath`` of ``base`` and of ``path`` below it; :func:`linked_directory` reads them."""
    return _pipelined.send(client, [_pipelined.realpath(client, p) for p in (base, path)])


def linked_directory(path: str, base: str, real: list[Any]) -> str | None:
    """What says ``path`` is no longer at its relative path below ``base`` (the ``realpath`` answers of
    both): a directory between them became a symbolic link after the listing; None when it still is."""
    try:
        real_base, real_path = (_pipelined.name(answer) for answer in real)
    except OSError:
        return None  # gone or not reachable: the lstat's and the open's answers say so, typed
    if real_path == posixpath.join(real_base, posixpath.relpath(path, base)):
        return None
    return f"reached through a link: a directory below {base!r} was replaced by a link after the listing"


def _refuse_linked_directory(path: str, base: str, real: list[Any]) -> None:
    """Refuse (IrodsSymlinkError) a source :func:`linked_directory` finds reached through a link."""
    change = linked_directory(path, base, real)
    if change is not None:
        raise IrodsSymlinkError(
            f"SFTP source {change} (follow_symlinks=False); not copied", operation="sftp_to_irods", path=path
        )


def check_opened(
    path: str, before: SftpState, opened: SftpState, *, listed: tuple[int | None, int | None]
) -> None:
    """Raise :class:`IrodsSourceChangedError` unless the open handle's state ``opened`` equals the
    ``lstat`` right before the open and the listing's (size, mtime)."""
    change = before.differences(opened)
    if change is None and listed != (opened.size, opened.mtime):
        change = f"size/mtime since the listing: {listed[0]}/{listed[1]} -> {opened.size}/{opened.mtime}"
    if change is not None:
        raise _changed(path, f"swapped or changed before it was opened ({change})")


def close_unanswered(handle: paramiko.SFTPFile) -> None:
    """Send the close of a read-only ``handle`` without waiting for its answer (paramiko's own way of
    closing a file it collects); a lost connection has nothing left to close."""
    try:
        handle._close(async_=True)  # type: ignore[attr-defined]  # not in the stubs; what __del__ uses
    except Exception as exc:
        if not is_raw_connection_error(exc):
            raise


def source_change(
    client: paramiko.SFTPClient,
    handle: paramiko.SFTPFile,
    path: str,
    opened: SftpState,
    *,
    follow_symlinks: bool = False,
) -> str | None:
    """After the last read: what changed in the open source (handle, then the path), None when nothing. The
    path's ``lstat`` goes out with the handle's ``fstat``: one round trip for both."""
    at_path = _lstat_ahead(client, path, follow=follow_symlinks)
    change = opened.differences(SftpState.of(handle.stat()))
    try:
        attrs = at_path()
    except FileNotFoundError:
        return change or "removed"
    if change is not None:
        return change
    change = opened.differences(SftpState.of(attrs))
    return f"replaced at its path ({change})" if change is not None else None


def sftp_probe(
    client: paramiko.SFTPClient, path: str, *, follow_symlinks: bool = False
) -> Callable[[], tuple[int | None, int | None]]:
    """A stability probe of a remote file: (size, mtime)."""

    def probe() -> tuple[int | None, int | None]:
        attrs = _lstat(client, path, follow=follow_symlinks)
        return attrs.st_size, attrs.st_mtime

    return probe


def _changed(path: str, change: str) -> IrodsSourceChangedError:
    return IrodsSourceChangedError(
        f"SFTP source {change}; not copied", changed=change, operation="sftp_to_irods", path=path
    )


# -- destinations ------------------------------------------------------------------------------------------


def create_exclusive(
    client: paramiko.SFTPClient, path: str, *, read: bool = False, perm: int | None = None
) -> paramiko.SFTPFile:
    """Create ``path`` with ``CREATE | EXCL``: fails (typed) if anything, a symlink included, is there.
    ``read``: the handle reads too (what it wrote, read back in the round trip of its close). ``perm``: the
    permission bits the OPEN asks for (the server's umask still applies), else the server's default."""
    try:
        mode = "w+xb" if read else "wxb"  # [READ |] WRITE | CREATE | TRUNC | EXCL
        if perm is None:
            return client.open(path, mode, bufsize=0)
        return open_with_perm(client, path, mode, perm)
    except OSError as exc:
        attrs = None
        with contextlib.suppress(OSError):
            attrs = client.lstat(path)
        if attrs is not None and stat.S_ISLNK(attrs.st_mode or 0):
            raise IrodsSymlinkError(
                "a symbolic link was planted at the temporary name", operation="irods_to_sftp", path=path
            ) from exc
        if attrs is not None:
            raise IrodsInvalidPathError(
                "the temporary name is already taken", operation="irods_to_sftp", path=path
            ) from exc
        typed = sftp_error(exc, path=path, doing="cannot create the temporary", operation="irods_to_sftp")
        if typed is exc:
            raise
        raise typed from exc


def open_resumed(
    client: paramiko.SFTPClient, path: str, *, uid: int | None, max_size: int
) -> tuple[paramiko.SFTPFile, int, SftpState]:
    """Reopen our temporary ``path`` for appending: ``lstat`` says regular file owned by ``uid`` and at
    most ``max_size`` bytes, and the open handle's ``fstat`` equals that ``lstat`` (nothing swapped in
    between); returns the handle, the size to resume from and that state (the handle's). Raises
    FileNotFoundError when it is gone."""
    before = SftpState.of(client.lstat(path))
    if before.kind == stat.S_IFLNK:
        raise IrodsSymlinkError(
            "the temporary file to resume was replaced by a symbolic link",
            operation="irods_to_sftp",
            path=path,
        )
    if before.kind != stat.S_IFREG or (uid is not None and before.uid != uid):
        raise IrodsInvalidPathError(
            "the temporary file to resume is not the regular file this task created",
            operation="irods_to_sftp",
            path=path,
        )
    if (before.size or 0) > max_size:
        raise IrodsInvalidPathError(
            "the temporary file to resume is longer than its source", operation="irods_to_sftp", path=path
        )
    handle = client.open(path, "r+b", bufsize=0)
    try:
        change = before.differences(SftpState.of(handle.stat()))
        if change is not None:
            raise IrodsSymlinkError(
                f"the temporary file was swapped while it was reopened ({change})",
                operation="irods_to_sftp",
                path=path,
            )
    except BaseException:
        handle.close()
        raise
    return handle, before.size or 0, before


def hash_prefix(handle: paramiko.SFTPFile, length: int, hasher: StreamHasher) -> None:
    """Feed the first ``length`` bytes of an open handle to ``hasher`` (the same handle that is written)."""
    pipeline = _ReadPipeline(handle, offset=0, length=length)
    try:
        while data := pipeline.next_piece():
            hasher.update(data)
    finally:
        pipeline.drain()


def check_publishable(
    client: paramiko.SFTPClient, temp: str, final: str, *, size: int, replace: bool = True
) -> None:
    """Right before the rename: ``temp`` is still our regular file of ``size`` bytes and ``final`` is not a
    symlink or directory, nor (without ``replace``) anything else (both by ``lstat``, sent together: one
    round trip; ``temp``'s answer is judged first)."""
    temp_answer, final_answer = _pipelined.exchange(
        client, [_pipelined.lstat(client, temp), _pipelined.lstat(client, final)]
    )
    judge_publishable(temp, final, temp_answer, final_answer, size=size, replace=replace)


def judge_publishable(
    temp: str,
    final: str,
    temp_answer: _pipelined.Outcome,
    final_answer: _pipelined.Outcome,
    *,
    size: int,
    replace: bool = True,
) -> None:
    """:func:`check_publishable` on the answers of ``lstat(temp)`` and ``lstat(final)``, however sent."""
    if isinstance(temp_answer, FileNotFoundError):
        raise IrodsNotFoundError(
            "the temporary file is gone before publishing (removed, or its directory replaced, e.g. by a "
            "symbolic link)",
            operation="irods_to_sftp",
            path=temp,
        ) from temp_answer
    with sftp_errors(temp, "cannot check the temporary before publishing", operation="irods_to_sftp"):
        attrs = _pipelined.attributes(temp_answer)
    if not stat.S_ISREG(attrs.st_mode or 0) or attrs.st_size != size:
        raise IrodsSymlinkError(
            "the temporary file was replaced before publishing", operation="irods_to_sftp", path=temp
        )
    if isinstance(final_answer, FileNotFoundError):
        return
    with sftp_errors(final, "cannot check the destination before publishing", operation="irods_to_sftp"):
        target = _pipelined.attributes(final_answer)  # raises any other error
    if stat.S_ISLNK(target.st_mode or 0):
        raise IrodsSymlinkError(
            "the destination is a symbolic link; refusing to replace it",
            operation="irods_to_sftp",
            path=final,
        )
    if stat.S_ISDIR(target.st_mode or 0):
        raise IrodsInvalidPathError("the destination is a directory", operation="irods_to_sftp", path=final)
    if not replace:
        raise IrodsAlreadyExistsError(f"{final} appeared during the copy and overwrite is False", path=final)


@dataclass(frozen=True)
class ReadBack:
    """What the round trip of a small temporary's last writes also asked (:func:`close_reading_back`): the
    SHA-256 of its bytes read back (None when an answer was short or missing) and the ``lstat`` answers of
    the temporary and the final path, for :func:`judge_publishable`; the server's refusal of the mode set
    before the close (None: set, or none asked)."""

    sha256: str | None
    temp: _pipelined.Outcome
    final: _pipelined.Outcome
    mode_error: OSError | None = None


def close_reading_back(
    handle: paramiko.SFTPFile, temp: str, final: str, size: int, *, read: bool = True, mode: int | None = None
) -> ReadBack:
    """Close a small temporary's read-write ``handle`` in the round trip of its last writes: right after
    them go reads of its ``size`` bytes through the handle, the close, and ``lstat`` of both names (without
    ``read`` only the close and the ``lstat`` pair). The server serves one session's requests in the order
    sent, so the reads return what the writes stored and the ``lstat`` sees the closed file; every write's
    status is checked as :func:`~._io.close_acknowledged` does. One round trip where the writer's close, a
    read-back's open, its reads and the publish's checks took four. A server that answered out of order
    gives a digest or attributes that do not match: the caller then checks again the slow way before
    refusing anything. ``mode``: permission bits set through the handle before its close, in that round
    trip too (a refusal is kept in :attr:`ReadBack.mode_error`)."""
    client = handle.sftp
    own_write_answers(handle)
    step = read_request_size(client)
    ats = range(0, size if read else 0, step)
    reads = [(CMD_READ, handle.handle, int64(at), min(step, size - at)) for at in ats]
    chmod = chmod_request(handle, mode)
    tail = [(CMD_CLOSE, handle.handle), _pipelined.lstat(client, temp), _pipelined.lstat(client, final)]
    paramiko.file.BufferedFile.close(handle)  # marks it closed (unbuffered: nothing to flush); sends nothing
    try:
        outcomes = _pipelined.exchange(client, [*reads, *chmod, *tail])
        wait_for_writes(handle)
    except BaseException:
        release_handle(handle)
        raise
    answers, chmodded = outcomes[: len(reads)], outcomes[len(reads) : len(reads) + len(chmod)]
    closed, temp_answer, final_answer = outcomes[-3:]
    if not _pipelined.succeeded(closed):
        raise cast("OSError", closed)  # the close's own error (a file system may report a failed write there)
    digest, got = hashlib.sha256(), 0
    for answer in answers:
        try:
            piece = _pipelined.data(answer)
        except (OSError, EOFError, paramiko.SFTPError):  # judged the slow way by the caller
            return ReadBack(None, temp_answer, final_answer, refusal(chmodded))
        digest.update(piece)
        got += len(piece)
    complete = read and got == size
    return ReadBack(digest.hexdigest() if complete else None, temp_answer, final_answer, refusal(chmodded))


def _passes(
    temp: str, final: str, answers: tuple[_pipelined.Outcome, _pipelined.Outcome], *, size: int, replace: bool
) -> bool:
    try:
        judge_publishable(temp, final, *answers, size=size, replace=replace)
    except Exception:
        return False
    return True


def _lstat_ahead(
    client: paramiko.SFTPClient, path: str, *, follow: bool = False
) -> Callable[[], paramiko.SFTPAttributes]:
    """Send ``lstat(path)`` (``stat`` with ``follow``) now, without waiting (:func:`attributes_ahead`)."""
    sftp: Any = client  # paramiko's path handling is not in its stubs
    return attributes_ahead(client, CMD_STAT if follow else CMD_LSTAT, sftp._adjust_cwd(path))


def publish(
    client: paramiko.SFTPClient,
    temp: str,
    final: str,
    *,
    size: int,
    replace: bool = True,
    checked: tuple[_pipelined.Outcome, _pipelined.Outcome] | None = None,
    keeping: Callable[[str | None], None] | None = None,
) -> None:
    """:func:`check_publishable`, then rename ``temp`` onto ``final`` (posix-rename@openssh.com, which
    replaces atomically and never follows a link; else the old file renamed aside, told to ``keeping``, and
    put back if the rename fails: :func:`~._io.replace_keeping_aside`). With ``replace=False`` the plain
    SFTP rename, which refuses an existing target (SFTP v3; OpenSSH links then unlinks), so of two copies
    racing to one path only one publishes; the loser gets :class:`IrodsAlreadyExistsError` (so does a
    file that appeared during the copy, seen by the ``lstat`` right before the rename). ``checked``: the
    ``lstat`` answers of both names sent in the round trip just before (:func:`close_reading_back`); when
    they do not pass, both are asked again and those answers decide."""
    if checked is None or not _passes(temp, final, checked, size=size, replace=replace):
        check_publishable(client, temp, final, size=size, replace=replace)
    with sftp_errors(final, f"cannot rename {temp!r} onto the destination", operation="irods_to_sftp"):
        _rename(client, temp, final, replace=replace, keeping=keeping)


def _rename(
    client: paramiko.SFTPClient,
    temp: str,
    final: str,
    *,
    replace: bool,
    keeping: Callable[[str | None], None] | None = None,
) -> None:
    """The rename of :func:`publish` (its checks done)."""
    if not replace:
        try:
            client.rename(temp, final)
        except OSError as exc:
            try:
                client.lstat(final)
            except OSError:
                raise exc from None
            raise IrodsAlreadyExistsError(
                f"{final} appeared during the copy and overwrite is False", path=final
            ) from exc
        return
    rename_over(client, temp, final, keeping=keeping)
