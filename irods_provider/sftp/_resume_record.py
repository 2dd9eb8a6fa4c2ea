"""The resume record of :class:`~._sink.SftpStagingSink`: the temporary's name, owner and source version
kept in the task's private :class:`~._resume_store.ResumeStore`, a recorded temporary checked and reopened
(or removed) by the next attempt, a parallel writer's acknowledged prefix checkpointed. Split out of
``_sink`` (a mixin of the sink's methods, moved unchanged)."""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import paramiko

from irods_provider.client.transfer._endpoints import PrefixCheck
from irods_provider.client.transfer._localdir import temp_prefix
from irods_provider.exceptions import IrodsInvalidPathError

from ._endpoint import sftp_error
from ._integrity import SftpState, hash_prefix, open_resumed
from ._io import SftpWriter
from ._resume_store import ResumeStore

if TYPE_CHECKING:
    from ._endpoint import SftpEndpoint

log = logging.getLogger("irods_provider.sftp._sink")  # the sink's logger, as before the split
#: A parallel writer's acknowledged prefix is recorded each time it grew by this many chunks.
CHECKPOINT_CHUNKS = 8
_KEY_BYTES = 8  # random bytes of a temporary's name (16 hex digits)


class ResumeRecord:
    """The resume-record methods of :class:`~._sink.SftpStagingSink` (which sets these attributes)."""

    sftp: SftpEndpoint
    client: paramiko.SFTPClient
    final: str
    store: ResumeStore
    identity: tuple[str, ...]
    source: str | None
    chunk_size: int
    _record: str | None
    _kept: dict[str, Any] | None
    _checkpointed: int
    _version: str
    _aside: str | None

    if TYPE_CHECKING:

        @property
        def temp(self) -> str | None: ...

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


def _writer(client: paramiko.SFTPClient, temp: str, handle: paramiko.SFTPFile, *, offset: int) -> SftpWriter:
    """A pipelined writer over an open handle, positioned at ``offset``."""
    handle.seek(offset)
    handle.set_pipelined(True)
    # Its size is checked by the publish's lstat right before the rename (and by the read-back or sha256sum).
    writer = SftpWriter(client, temp, handle, check_size=False)
    writer.bytes_written = offset
    return writer
