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
from collections.abc import Callable, Sequence
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
from irods_provider.client.transfer._localdir import temp_prefix
from irods_provider.client.transfer._policy import DestinationState
from irods_provider.exceptions import (
    IrodsChecksumMismatchError,
    IrodsConfigurationError,
    IrodsInvalidPathError,
    IrodsNotFoundError,
    IrodsPermissionError,
    IrodsSftpFileError,
    IrodsSymlinkError,
)

from . import _pipelined as pipelined
from ._checksum import read_back_sha256
from ._destination import destination_of, replace_refused
from ._endpoint import is_raw_connection_error, sftp_error, sftp_errors
from ._integrity import (
    ReadBack,
    SftpState,
    close_reading_back,
    create_exclusive,
    hash_prefix,
    open_resumed,
    publish,
)
from ._io import WRITE_FAILED, SftpWriter, release_handle
from ._modes import mode_probe, private_modes, probed_facts, settle_directory_mode
from ._parallel import ParallelSftpWriter, Reopening, reopen_further, widen_writer
from ._resume_store import ResumeStore

if TYPE_CHECKING:
    from ._endpoint import SftpEndpoint

__all__ = ["SftpStagingSink", "may_resume", "target_root"]

log = logging.getLogger(__name__)
#: A parallel writer's acknowledged prefix is recorded each time it grew by this many chunks.
CHECKPOINT_CHUNKS = 8
#: Temporaries up to this size are checked by reading them back over SFTP on the file's own channel instead of
#: ``sha256sum`` over an exec session of their own (a channel, the command, its output and exit status: four
#: round trips or more): a file of one write through its own read-write handle in its close's round trip
#: (:class:`_ClosingWriter`), a longer one by an open and its reads. All read the bytes the server stored.
READ_BACK_BYTES = 1024 * 1024
_KEY_BYTES = 8  # random bytes of a temporary's name (16 hex digits)


class SftpStagingSink:
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

    def _settle_kept(self, there: pipelined.Outcome) -> pipelined.Outcome:
        """The replaced file an earlier attempt recorded as kept aside (its publish failed, or died, before
        it was back or removed): put back when the final name is free, else removed (the name holds a whole
        newer file, which this task was asked to replace). Returns the final name's ``lstat`` answer then.
        Without such a record (nearly always) it costs one local file lookup, no request."""
        record = self.store.load(key := self._record_key()) or {}
        head, name = posixpath.split(self.final)
        kept = record.get("aside")
        if not isinstance(kept, str):
            return there
        aside = posixpath.join(head, kept)
        ours = posixpath.dirname(aside) == head and kept.startswith(f".{name}.") and kept.endswith(".keep")
        if ours and isinstance(there, FileNotFoundError):
            self._put_back_kept(aside)
            (there,) = pipelined.exchange(self.client, [pipelined.lstat(self.client, self.final)])
        elif ours and (refused := self.sftp.discard(self.client, aside)) is not None:  # follows no link
            log.warning(
                "Could not remove %s, an earlier attempt's old copy of %s: %s", aside, self.final, refused
            )
            return there
        rest = {k: v for k, v in record.items() if k != "aside"}
        if rest:
            self.store.save(key, rest)
        else:
            self.store.drop(key)
        return there

    def _put_back_kept(self, aside: str) -> None:
        """Rename the regular file at ``aside`` onto the free final name (anything else there, a link
        planted since included, is left alone); a refusal is a typed error naming both."""
        doing = f"cannot put back the old file kept at {aside!r}"
        with sftp_errors(self.final, doing, operation="irods_to_sftp"):
            try:
                if not stat.S_ISREG(self.client.lstat(aside).st_mode or 0):
                    return
                self.client.rename(aside, self.final)
            except FileNotFoundError:
                return
        log.warning("Put back %s from %s, kept there by an earlier attempt", self.final, aside)

    def _keeping(self, aside: str | None) -> None:
        """Record where :func:`~._io.replace_keeping_aside` keeps the replaced file (None: it no longer does),
        for the next attempt to put it back (:meth:`_settle_kept`). A record that cannot be written fails the
        publish before the old file is moved."""
        self._aside = aside
        if self._record is None:
            return
        record = {k: v for k, v in (self.store.load(self._record) or {}).items() if k != "aside"}
        try:
            self.store.save(
                self._record, record if aside is None else {**record, "aside": posixpath.basename(aside)}
            )
        except OSError:
            if aside is not None:
                raise

    def _record_key(self) -> str:
        """The resume record's name: task identity, endpoint and final path. Not the source's version: that
        is kept inside the record, so a temporary of an older version is found again and removed."""
        host, port = self.sftp.transport.getpeername()[:2]
        return ResumeStore.key(*self.identity, f"{host}:{port}", self.final)

    def resumable(self, key: str) -> bool:
        """Whether this task recorded a temporary of ``final`` for the source version ``key`` (the local
        record only)."""
        record = self.store.load(self._record_key())
        return record is not None and record.get("version") == key

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

    def _checkpoint(self, committed: int, *, always: bool = False) -> None:
        """Record the acknowledged prefix of a parallel writer every ``CHECKPOINT_CHUNKS`` chunks: its
        chunks land out of order, so after a ``kill -9`` (no abort truncated the temporary) the file may
        have holes past that prefix, and the next attempt resumes from the recorded prefix, not its size."""
        if self._record is None or self._kept is None:
            return
        if not always and committed - self._checkpointed < CHECKPOINT_CHUNKS * self.chunk_size:
            return
        self._checkpointed = committed
        try:
            self.store.save(self._record, {**self._kept, "committed": committed})
        except OSError as exc:  # the next attempt then resumes from an older prefix: never wrong
            log.warning("Could not record the acknowledged prefix of %s: %s", self.temp, exc)

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

    def _recorded(
        self, record: dict[str, Any], head: str, name: str, *, size: int, resume: bool, prefix: PrefixCheck
    ) -> tuple[SftpWriter, int, SftpState] | None:
        """The temporary an earlier attempt recorded, continued when ``resume`` and it passes its checks;
        without ``resume``, or when written for another version of the source (replaced since), removed
        (never following a link) and None. A planted or swapped file raises, typed, and its record is
        forgotten."""
        assert self._record is not None
        temp = posixpath.join(head, str(record.get("temp", "")))  # none recorded: not a temporary's name
        if posixpath.dirname(temp) != head or not posixpath.basename(temp).startswith(_temp_prefix(name)):
            return None
        if not resume or record.get("version") != self._version:  # killed, or of a replaced source
            self._remove_recorded(temp)  # never follows a link
            self.store.drop(self._record)
            return None
        try:
            return self._reopen(temp, record, size=size, prefix=prefix)
        except IrodsInvalidPathError:  # swapped, planted or not ours (IrodsSymlinkError too)
            self.store.drop(self._record)  # never trusted again: the next attempt starts afresh
            raise

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

    def _reopen(
        self, temp: str, record: dict[str, Any], *, size: int, prefix: PrefixCheck
    ) -> tuple[SftpWriter, int, SftpState] | None:
        """The recorded temporary, checked and reopened after its prefix (hashed through the same handle
        into ``prefix.hasher``) matched the source's, with its handle's state (only read since); removed
        and None when it does not, None if gone."""
        try:
            handle, offset, state = open_resumed(self.client, temp, uid=record.get("uid"), max_size=size)
        except FileNotFoundError:
            return None
        except PermissionError as exc:  # ours, but its mode no longer lets us open it: never resumable
            log.warning("Not resuming %s: the SFTP server refused to reopen it (%s); removing it", temp, exc)
            self._remove_recorded(temp)
            return None
        committed = record.get("committed")
        if isinstance(committed, int) and 0 <= committed < offset:
            offset = committed  # chunks past it may have landed out of order, with holes between them
        # A record written before its create (killed right after it) has no owner yet: the file's own.
        self._kept = {"temp": record.get("temp"), "uid": state.uid, "version": self._version}
        try:
            hash_prefix(handle, offset, prefix.hasher)
            if not prefix.matches(offset):
                log.warning("Not resuming %s: its %d bytes differ from the source's", temp, offset)
                handle.close()
                self.client.remove(temp)
                return None
        except BaseException:
            handle.close()
            raise
        log.info("Resuming %s at byte %d", temp, offset)
        return _writer(self.client, temp, handle, offset=offset), offset, state

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

    def _remove_recorded(self, temp: str) -> None:
        """Remove the temporary ``temp`` an earlier attempt recorded (never following a link). One the server
        refuses to remove is a typed error naming it; its record stays, for an attempt that can."""
        refused = self.sftp.discard(self.client, temp)
        if refused is None:
            return
        typed = sftp_error(refused, path=temp, doing="cannot remove the temporary an earlier attempt left")
        if typed is refused:
            raise refused
        raise typed from refused

    def _forget(self) -> None:
        self._kept = None
        if self._record is not None and self._aside is not None:  # the next attempt settles it
            self.store.save(self._record, {"aside": posixpath.basename(self._aside)})
        elif self._record is not None:
            self.store.drop(self._record)
        if self.source is not None:
            self.store.drop(_hint_key(self.identity, self.source))

    def _save_hint(self) -> None:
        """Note that this task may leave a temporary of ``source`` (before its record, dropped after it)."""
        if self.source is not None:
            self.store.save(_hint_key(self.identity, self.source), {})


def _temp_prefix(name: str) -> str:
    """``.<name>.irods-part-`` (before the random key), shortened with a digest of ``name`` when the
    temporary's name would exceed 255 bytes (as local downloads do): a final name of up to 255 bytes works."""
    return temp_prefix(name, key_length=2 * _KEY_BYTES)


def may_resume(store: ResumeStore, identity: Sequence[str], source: str) -> bool:
    """Whether the task ``identity`` may have left a resumable temporary of the data object ``source`` (a
    local answer, before the SSH connection is up: the record's own key needs the endpoint and the final
    path). False only when none was recorded since the last publish or discard of one."""
    return store.load(_hint_key(identity, source)) is not None


def _hint_key(identity: Sequence[str], source: str) -> str:
    return ResumeStore.key(*identity, "irods-source", source)


def target_root(sftp: SftpEndpoint, path: str, *, directory_mode: int | None = None) -> str:
    """Create the target directory ``path`` (and its parents); how the server resolves it (``normalize``),
    the ``root`` every :class:`SftpStagingSink` of the task must stay inside. One round trip when ``path``
    or its parent exists (:func:`ensure_directory`), the login directory (:attr:`~._endpoint.SftpEndpoint.
    home`) asked in it when ``path`` is relative and it is not known yet, and the server's default file
    mode learned in it too (:func:`_mode_probe`). Directories it creates get ``directory_mode`` (None: the
    server's default)."""
    with sftp.channel() as client:
        if "\x00" in path or path.startswith("/") or sftp.home_known:
            directory = sftp.resolve(path)
            probe = _mode_probe(sftp, client, directory)
            real, probed = ensure_directory(sftp, client, directory, also=probe, mode=directory_mode)
            _learn_mode(sftp, probed)
            return real
        # Relative to the login directory: sent as it is, the login directory asked in the same round trip.
        relative = posixpath.normpath(path)
        also = [pipelined.realpath(client, "."), *_mode_probe(sftp, client, relative)]
        real, (home, *probed) = ensure_directory(sftp, client, relative, also=also, mode=directory_mode)
        _learn_mode(sftp, probed)
        sftp.home = pipelined.name(home)
        if sftp.knows_directory(relative):
            sftp.note_directory(sftp.resolve(relative))
        return real


def _mode_probe(sftp: SftpEndpoint, client: paramiko.SFTPClient, directory: str) -> list[pipelined.Request]:
    """:func:`~._modes.mode_probe` in ``directory``, sent with :func:`target_root`'s own requests (no round
    trip of their own); none once the endpoint knows the mode."""
    return [] if sftp.new_file_mode is not None else mode_probe(client, directory)


def _learn_mode(sftp: SftpEndpoint, probed: Sequence[pipelined.Outcome]) -> None:
    """Note what :func:`_mode_probe`'s answers tell: the plain-create mode and the login user's uid (nothing
    when its ``mkdir`` or ``lstat`` failed)."""
    mode, uid = probed_facts(probed)
    if mode is not None:
        sftp.new_file_mode = mode
        sftp.login_uid = uid


def create_sftp_directories(
    sftp: SftpEndpoint, target: str, directories: Sequence[str], *, mode: int | None = None
) -> None:
    """Create a tree's ``directories`` below the SFTP directory ``target``, an existing one fine: parents
    first, one round trip each (:func:`ensure_directory`, how the server resolves ``target`` asked with it).
    Each must resolve inside ``target`` before anything is created in it, as a file's directory must
    (:meth:`SftpStagingSink.destination_state`): a link leading out is IrodsSymlinkError, a file in the way
    IrodsNotADirectoryError, both naming the path. The directories it creates get ``mode`` (None: the
    server's default); existing ones are left as they are."""
    if not directories:
        return
    with sftp.channel() as client:
        for leaf in sorted(set(directories) - {target}):
            also = [pipelined.realpath(client, target)]
            real, (root,) = ensure_directory(sftp, client, leaf, also=also, mode=mode)
            if not real.startswith(pipelined.name(root).rstrip("/") + "/"):
                raise IrodsSymlinkError(f"{leaf!r} resolves outside the target directory", path=leaf)


def ensure_directory(
    sftp: SftpEndpoint,
    client: paramiko.SFTPClient,
    directory: str,
    *,
    also: Sequence[pipelined.Request] = (),
    mode: int | None = None,
) -> tuple[str, list[pipelined.Outcome]]:
    """:meth:`~._endpoint.SftpEndpoint.makedirs` ``directory``, then how the server resolves it (``realpath``)
    and the answers to ``also``, in one round trip: ``stat``, ``mkdir``, ``realpath`` and ``also`` sent
    together (``stat`` and ``mkdir`` only for a directory the endpoint has not settled yet). Unless the
    directory was there or that ``mkdir`` created it (its parent exists), ``makedirs`` goes step by step,
    then ``realpath`` and ``also`` are asked again (a second round trip): a ``mkdir`` that finds something
    in place changes nothing. ``mode``: the ``mkdir``'s permission bits, an ``lstat`` right after it in
    the same round trip, and an ``lsetstat`` (a round trip) only when the umask masked them."""
    settled = sftp.knows_directory(directory)
    made_mode = 0o777 if mode is None else mode
    mkdir = pipelined.mkdir(client, directory, made_mode)
    head = [] if settled else [pipelined.stat(client, directory), mkdir]
    if head and mode is not None:
        head.append(pipelined.lstat(client, directory))
    tail = [pipelined.realpath(client, directory), *also]
    outcomes = pipelined.exchange(client, [*head, *tail])
    if not settled:
        (found, made, *after), outcomes = outcomes[: len(head)], outcomes[len(head) :]
        if _is_directory(found):
            sftp.note_directory(directory)
        elif isinstance(found, FileNotFoundError) and pipelined.succeeded(made):
            sftp.note_directory(directory)
            if mode is not None:
                settle_directory_mode(client, directory, mode, after[0])
        else:
            sftp.makedirs(client, directory, mode=mode)  # parents, a race with another worker, a file there
            outcomes = pipelined.exchange(client, tail)
    return pipelined.name(outcomes[0]), outcomes[1:]


def _is_directory(outcome: pipelined.Outcome) -> bool:
    return not isinstance(outcome, OSError) and stat.S_ISDIR(pipelined.attributes(outcome).st_mode or 0)


def _writer(client: paramiko.SFTPClient, temp: str, handle: paramiko.SFTPFile, *, offset: int) -> SftpWriter:
    """A pipelined writer over an open handle, positioned at ``offset``."""
    handle.seek(offset)
    handle.set_pipelined(True)
    # Its size is checked by the publish's lstat right before the rename (and by the read-back or sha256sum).
    writer = SftpWriter(client, temp, handle, check_size=False)
    writer.bytes_written = offset
    return writer


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
