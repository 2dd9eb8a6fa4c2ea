"""A file on an SFTP server as the target of a download (:class:`~irods_provider.client.transfer.
_endpoints.DownloadSink`): hidden random temporary, resumable through a private record, parallel writes
over every SSH connection, ``sha256sum`` on the server, atomic publish.

A directory others can write into cannot redirect the copy: the temporary name has a random part and is
created with ``CREATE | EXCL`` (never through a planted symlink); with ``resume`` its name is recorded in
the task's private :class:`~._resume_store.ResumeStore`, and a resumed temporary is checked with ``lstat``
and against its open handle (:func:`~._integrity.open_resumed`) and its prefix hashed through that handle
before a byte is written. The final path's directory must resolve inside the target directory, and the
final name is ``lstat``-ed right before the rename (:func:`~._integrity.publish`).

The temporary is private (``0600``) while written; its handle sets the published mode in its close's round
trip: the replaced file's, else what a plain create gives on the server. That default is learned once per
task by :func:`target_root` (a hidden directory's ``mkdir``, ``lstat`` and ``rmdir`` sent with its own
requests: 3 requests, no round trip); per file it costs one ``FSETSTAT`` in the close's round trip.
A chosen ``file_mode`` replaces both (new files and overwrites), set the same way; a chosen
``directory_mode`` goes with each ``mkdir`` (and an ``lsetstat``, which follows no link, when the umask
masked it).
"""

from __future__ import annotations

import functools
import logging
import posixpath
import secrets
import stat
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import paramiko

from irods_provider.client._events import emit
from irods_provider.client.transfer._coordinator import TransferCoordinator
from irods_provider.client.transfer._endpoints import (
    DownloadSink,
    PrefixCheck,
    Writer,
    register_temporary,
)
from irods_provider.client.transfer._policy import DestinationState
from irods_provider.exceptions import (
    IrodsChecksumMismatchError,
    IrodsConfigurationError,
    IrodsInvalidPathError,
    IrodsNotFoundError,
    IrodsPermissionError,
    IrodsSftpFileError,
)

from . import _pipelined as pipelined
from ._checksum import read_back_sha256
from ._destination import destination_of, replace_refused
from ._directories import create_sftp_directories, ensure_directory, target_root
from ._endpoint import is_raw_connection_error, sftp_errors
from ._integrity import (
    ReadBack,
    SftpState,
    close_reading_back,
    create_exclusive,
    publish,
)
from ._io import WRITE_FAILED, SftpWriter, release_handle
from ._kept_aside import KeptAside
from ._modes import private_modes
from ._parallel import ParallelSftpWriter, Reopening, reopen_further, widen_writer
from ._resume_record import (
    _KEY_BYTES,
    CHECKPOINT_CHUNKS,
    ResumeRecord,
    _temp_prefix,
    _writer,
    may_resume,
)
from ._resume_store import ResumeStore

if TYPE_CHECKING:
    from ._endpoint import SftpEndpoint

__all__ = ["CHECKPOINT_CHUNKS", "SftpStagingSink", "create_sftp_directories", "may_resume", "target_root"]

log = logging.getLogger(__name__)
#: Temporaries up to this size are checked by reading them back over SFTP on the file's own channel instead of
#: ``sha256sum`` over an exec session of their own (a channel, the command, its output and exit status: four
#: round trips or more): a file of one write through its own read-write handle in its close's round trip
#: (:class:`_ClosingWriter`), a longer one by an open and its reads. All read the bytes the server stored.
READ_BACK_BYTES = 1024 * 1024


class SftpStagingSink(ResumeRecord, KeptAside):
    """``final`` on the SFTP server, written through ``client`` (a channel the caller holds for the file).

    ``root`` is the target directory as the server resolves it (``normalize``): the final path's directory
    must resolve inside it. ``identity`` (the Airflow task instance) keys the resume record with the
    endpoint and ``final`` (the source's version is kept in it). ``remote_checksum``: the temporary's
    SHA-256 on the server (read back up to :data:`READ_BACK_BYTES`, else ``sha256sum`` when the server runs
    commands) checked when it can (None), required (True) or never (False); :attr:`remote_verified` says
    whether it ran, and the final path is appended to ``verified`` (shared by the task's sinks) once
    published after it.
    ``source`` (the data object read): kept with the record as a hint (:func:`may_resume`), a key known
    before the SSH connection is up, so the task does not read its first bytes early for nothing.
    ``file_mode``: the published file's permission bits (a new file and an overwrite alike; None: the
    replaced file's, else the server's default), ``directory_mode`` those of directories it creates
    (:func:`~._modes.parse_mode` checks both).
    """

    def __init__(
        self,
        sftp: SftpEndpoint,
        client: paramiko.SFTPClient,
        final: str,
        *,
        root: str,
        store: ResumeStore,
        identity: tuple[str, ...] = (),
        chunk_size: int,
        remote_checksum: bool | None = None,
        verified: list[str] | None = None,
        source: str | None = None,
        file_mode: int | None = None,
        directory_mode: int | None = None,
    ) -> None:
        self.sftp = sftp
        self.file_mode = file_mode
        self.directory_mode = directory_mode
        self.source = source
        self.client = client
        self.final = final
        self.root = root
        self.store = store
        self.identity = identity
        self.chunk_size = chunk_size
        self.remote_checksum = remote_checksum
        self.remote_verified = False
        self.verified = verified
        self._writer: SftpWriter | ParallelSftpWriter | None = None
        self._record: str | None = None
        self._kept: dict[str, Any] | None = None  # the record's body while the temporary is resumable
        self._checkpointed = 0
        self._size = 0
        self._version = ""  # the source version (resume key) the temporary is written for
        # The permission bits of the file an overwrite replaces: the temporary gets them (see _create).
        self._replaced_mode: int | None = None
        # Why the server will refuse to replace the file there (another user's, in a sticky directory).
        self._refused: IrodsPermissionError | None = None
        self._aside: str | None = None  # where publish keeps the replaced file until the new one is in place

    @property
    def name(self) -> str:
        return self.final

    @property
    def parallel(self) -> bool:
        return isinstance(self._writer, ParallelSftpWriter)

    @property
    def temp(self) -> str | None:
        """The temporary being written, None before :meth:`open_temp` and after publish or discard."""
        return None if self._writer is None else self._writer.path

    def destination_state(self) -> DestinationState:
        """Create the final path's directory (it must resolve inside ``root``) and ``lstat`` the final path:
        one round trip (:func:`ensure_directory`); for another user's file there, one more to learn whether
        the server will refuse to replace it (:func:`~._destination.replace_refused`)."""
        parent = posixpath.dirname(self.final)
        client = self.client
        real_parent, (there,) = ensure_directory(
            self.sftp, client, parent, also=[pipelined.lstat(client, self.final)], mode=self.directory_mode
        )
        if real_parent != self.root and not real_parent.startswith(self.root.rstrip("/") + "/"):
            raise IrodsInvalidPathError(f"{parent!r} resolves outside the target directory", path=self.final)
        there = self._settle_kept(there)
        if isinstance(there, FileNotFoundError):
            return destination_of(self.sftp, client, self.final, None)
        attributes = pipelined.attributes(there)
        if stat.S_ISREG(attributes.st_mode or 0):
            self._replaced_mode = stat.S_IMODE(attributes.st_mode or 0) & 0o777
            self._refused = replace_refused(self.sftp.login_uid, client, attributes, path=self.final)
        return destination_of(self.sftp, client, self.final, attributes)

    def open_temp(
        self,
        *,
        size: int,
        key: str,
        resume: bool,
        prefix: PrefixCheck,
        coordinator: TransferCoordinator,
    ) -> tuple[Writer, int]:
        """A writer on this task's resumable temporary (checked, its prefix verified) or a new one, spread
        over one session per SSH connection when more than a chunk is left (:func:`widen_writer`). The
        temporary's failure cleanup (:func:`register_temporary`) is registered as soon as it is open. An
        overwrite the server will refuse (:func:`~._destination.replace_refused`) fails before any byte."""
        if self._refused is not None:
            raise self._refused
        self._record = self._record_key()
        self._version = key
        self._size = size
        resume = resume and size > self.chunk_size  # a file of one write restarts: nothing to record or ask
        writer, offset, widened = self._open(size=size, resume=resume, prefix=prefix, coordinator=coordinator)
        self._writer = writer
        register_temporary(coordinator, self, resume=resume)
        self._writer = widened()
        if isinstance(self._writer, ParallelSftpWriter) and self._kept is not None:
            self._checkpointed = offset
            self._writer.on_commit = self._checkpoint
        return self._writer, offset

    def _open(
        self, *, size: int, resume: bool, prefix: PrefixCheck, coordinator: TransferCoordinator
    ) -> tuple[SftpWriter, int, Callable[[], SftpWriter | ParallelSftpWriter]]:
        """This task's recorded temporary when ``resume`` and it passes its checks, else a new one created
        exclusively with a random name (recorded); and how to widen the writer on it (:func:`widen_writer`).
        A raw connection error while creating it registers its removal once reconnected."""
        assert self._record is not None
        head, name = posixpath.split(self.final)
        record = self.store.load(self._record) or {}
        resumed = self._recorded(record, head, name, size=size, resume=resume, prefix=prefix)
        perm, at_close = self._modes()
        if resumed is not None:
            writer, offset, state = resumed
            writer.mode_at_close = at_close
            widen = functools.partial(
                widen_writer, self.sftp, writer, remaining=size - offset, chunk_size=self.chunk_size
            )
            return writer, offset, functools.partial(widen, expected=state)
        temp = posixpath.join(head, f"{_temp_prefix(name)}{secrets.token_hex(_KEY_BYTES)}")
        one_write = size <= self.chunk_size
        read = one_write and self._reads_back(size)
        handle, join = self._create(
            temp, size=size, resume=resume, coordinator=coordinator, read=read, perm=perm
        )
        if one_write and join is None:  # its close, read-back and publish checks in one round trip
            closing = _ClosingWriter(
                self.client, temp, handle, final=self.final, read_back=self._reads_back(size)
            )
            closing.mode_at_close = at_close
            return closing, 0, lambda: closing
        fresh = _writer(self.client, temp, handle, offset=0)
        fresh.mode_at_close = at_close
        return fresh, 0, (lambda: fresh) if join is None else (lambda: join(fresh))

    def _modes(self) -> tuple[int | None, int | None]:
        """The permission bits the temporary is created with, and those its handle sets in its close's round
        trip (:func:`~._modes.private_modes`: the replaced file's mode, else what a plain create gives on
        the server, which :func:`target_root` learned; a chosen ``file_mode`` before both)."""
        refused, chosen = self.sftp.modes_refused, self.file_mode
        return private_modes(self._replaced_mode, self.sftp.new_file_mode, refused=refused, chosen=chosen)

    def _reads_back(self, size: int) -> bool:
        """Whether the finished temporary is checked by reading it back over SFTP (:meth:`verify`)."""
        return self.remote_checksum is not False and size <= READ_BACK_BYTES

    def _create(
        self,
        temp: str,
        *,
        size: int,
        resume: bool,
        coordinator: TransferCoordinator,
        read: bool = False,
        perm: int | None = None,
    ) -> tuple[paramiko.SFTPFile, Callable[[SftpWriter], ParallelSftpWriter] | None]:
        """Create ``temp`` exclusively and record it: its name before it exists, so a ``kill -9`` right after
        the create leaves a record the next attempt finds it by, then (``resume``) its owner, from its
        ``fstat``. Meanwhile the further handles of a parallel writer open on the other connections (their
        checks against that ``fstat`` are the returned call, None for one session). A raw connection error
        registers its removal once reconnected (created or not); any other failure removes what was created
        and forgets the name. ``read``: the handle reads too (:class:`_ClosingWriter`); ``perm``: the
        permission bits its OPEN asks for (:meth:`_modes`)."""
        assert self._record is not None
        further: Reopening | None = None
        handle: paramiko.SFTPFile | None = None
        if resume:
            self._save_hint()
        # Named before it exists (also without resume: the next attempt then removes it), so a kill -9
        # right after the create leaves a record to find it by.
        self.store.save(self._record, {"temp": posixpath.basename(temp), "version": self._version})
        try:
            handle = create_exclusive(self.client, temp, read=read, perm=perm)
            further = reopen_further(self.sftp, temp, remaining=size, chunk_size=self.chunk_size)
            state = SftpState.of(handle.stat()) if resume or further is not None else None
            if resume and state is not None:
                self._kept = {"temp": posixpath.basename(temp), "uid": state.uid, "version": self._version}
                # Written out of order over several sessions: only what a checkpoint recorded is trusted.
                committed = {} if further is None else {"committed": 0}
                self.store.save(self._record, {**self._kept, **committed})
        except Exception as exc:
            if further is not None:
                further.cancel()
            if is_raw_connection_error(exc):  # created or not: remove it once reconnected
                coordinator.add_failure_cleanup(lambda _cause: self.sftp.remove_later(temp))
            else:  # refused (a name taken, no permission), or a check after the create failed
                if handle is not None:
                    release_handle(handle)
                    self.sftp.discard(self.client, temp)
                self.store.drop(self._record)
            raise
        if further is None or state is None:
            return handle, None
        checked = further
        return handle, lambda first: checked.join(first, state)

    def verify(self, sha256_hex: str) -> bool:
        """Compare the temporary's SHA-256 on the server with ``sha256_hex`` (read back over SFTP up to
        :data:`READ_BACK_BYTES`, else ``sha256sum``): whether it ran."""
        temp = self.temp
        if self.remote_checksum is False or temp is None:
            return False
        read_back = self._size <= READ_BACK_BYTES
        closing = self._writer if isinstance(self._writer, _ClosingWriter) else None
        if read_back:
            digest = None if closing is None or closing.read_back is None else closing.read_back.sha256
            if digest != sha256_hex:  # not read at the close, short, or a server answering out of order
                with sftp_errors(temp, "cannot read the temporary back", operation="irods_to_sftp"):
                    digest = read_back_sha256(self.client, temp, self._size)
        else:
            if closing is not None:
                closing.read_back = None  # its lstat answers are older than this command: asked again
            digest = self.sftp.sha256sum(temp)
        if digest is None:
            if self.remote_checksum:
                raise IrodsConfigurationError(
                    "remote_checksum=True but the SFTP connection cannot run sha256sum", path=temp
                )
            return False
        if digest != sha256_hex:
            emit("checksum_mismatch")
            raise IrodsChecksumMismatchError(
                "the temporary file read back from the SFTP server differs from the bytes sent"
                if read_back
                else "sha256sum on the SFTP server differs from the bytes sent",
                expected=sha256_hex,
                actual=digest,
                operation="irods_to_sftp",
                path=temp,
            )
        self.remote_verified = True
        return True

    def publish(self, *, replace: bool = True) -> None:
        """``posix-rename`` onto the final path (without ``replace`` a plain rename, which never replaces,
        after refusing anything there), after ``lstat`` checks of both names; then forget the record."""
        temp = self.temp
        if temp is None:
            raise IrodsNotFoundError("nothing was written", path=self.final)
        self._note_mode_refused()
        closing = self._writer if isinstance(self._writer, _ClosingWriter) else None
        early = None if closing is None or closing.read_back is None else closing.read_back
        checked = None if early is None else (early.temp, early.final)
        publish(
            self.client,
            temp,
            self.final,
            size=self._size,
            replace=replace,
            checked=checked,
            keeping=self._keeping,
        )
        self._writer = None
        self._forget()
        if self.remote_verified and self.verified is not None:
            self.verified.append(self.final)

    def _note_mode_refused(self) -> None:
        """Warn (once per endpoint) when the server refused the mode set at the close: the file stays
        private, and later files are created as before (:meth:`_modes`). A chosen ``file_mode`` refused
        fails the file before it is published (IrodsSftpFileError naming it): it asked for that mode."""
        error = getattr(self._writer, "mode_error", None)
        if error is not None and self.file_mode is not None:
            raise IrodsSftpFileError(
                f"the SFTP server refused to set file_mode {self.file_mode:#o}",
                server_message=str(error),
                operation="irods_to_sftp",
                path=self.final,
            )
        if error is None or self.sftp.modes_refused:
            return
        self.sftp.modes_refused = True
        log.warning(
            "The SFTP server refused to set the mode of %s (%s): it stays private (0600)", self.final, error
        )

    def abort(self) -> None:
        """Close the writer without verifying (a parallel one keeps its acknowledged prefix, and records it
        for the next attempt)."""
        if self._writer is not None:
            self._writer.abort()
            if isinstance(self._writer, ParallelSftpWriter):
                self._checkpoint(self._writer.committed, always=True)

    def discard(self) -> None:
        """Remove the temporary (on a lost connection once reconnected) and forget its record. One the server
        refuses to remove (its directory made read-only meanwhile) is said and kept on record as never to
        be resumed: the next attempt removes it (:meth:`_recorded`) instead of leaving a hidden orphan."""
        self.abort()
        writer, self._writer = self._writer, None
        refused = None if writer is None else self.sftp.discard(self.client, writer.path)  # follows no link
        self._forget()
        if writer is None or refused is None or self._record is None:
            return
        log.warning("Could not remove %s (%s): the next attempt removes it", writer.path, refused)
        try:  # a version no source has: never resumed, removed by the next attempt
            kept = {} if self._aside is None else {"aside": posixpath.basename(self._aside)}
            self.store.save(self._record, {"temp": posixpath.basename(writer.path), "version": "", **kept})
        except OSError as exc:
            log.warning("Could not record the temporary %s for removal: %s", writer.path, exc)


class _ClosingWriter(SftpWriter):
    """The writer of a temporary of one write: its close goes out with its last writes, with (``read_back``)
    its bytes read back through its read-write handle and both names ``lstat``-ed for the publish
    (:func:`~._integrity.close_reading_back`): one round trip where the close, the read-back's open and
    reads and the publish's checks took four. :attr:`read_back` keeps those answers for
    :meth:`SftpStagingSink.verify` and :meth:`SftpStagingSink.publish`, which ask again the slow way
    whenever they do not pass."""

    def __init__(
        self,
        client: paramiko.SFTPClient,
        temp: str,
        handle: paramiko.SFTPFile,
        *,
        final: str,
        read_back: bool,
    ) -> None:
        super().__init__(client, temp, handle, check_size=False)
        handle.set_pipelined(True)
        self.final = final
        self.reads = read_back
        self.read_back: ReadBack | None = None

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        with sftp_errors(self.path, WRITE_FAILED):
            self.read_back = close_reading_back(
                self._handle,
                self.path,
                self.final,
                self.bytes_written,
                read=self.reads,
                mode=self.mode_at_close,
            )
        self.mode_error = self.read_back.mode_error


if TYPE_CHECKING:  # mypy checks the implementation against the protocol here
    _SINK: type[DownloadSink] = SftpStagingSink
