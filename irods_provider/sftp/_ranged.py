"""A planned SFTP file as the engine's upload :class:`~irods_provider.client.transfer._endpoints.Source`:
checked against its listing, read by parallel range readers, checked again after the last read.

Guarantees (what :class:`~irods_provider.transfers.sftp_to_irods.SFTPToIrodsOperator` documents): the file
is ``lstat``-ed right before it is opened and the open handle's attributes (type, size, mtime, owner,
permissions) must match that and the listing, so a file swapped after the listing is refused; every range
reader's handle must be that same file; after the last read the handle and the path are checked again
(:meth:`SftpRangedSource.change`), so a changed source is never published. SFTP mtimes have whole-second
resolution: a same-size rewrite within the second of the listing is not detectable over SFTP.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Callable, Generator, Hashable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from paramiko.sftp import CMD_FSTAT

from irods_provider.client.transfer import ChecksumScheme, StreamHasher
from irods_provider.client.transfer._integrity import wait_until_stable
from irods_provider.exceptions import IrodsSourceChangedError, IrodsUsageError

from . import _pipelined
from ._checksum import hash_sftp_file, sftp_checksum
from ._endpoint import SftpEndpoint
from ._integrity import (
    SftpState,
    check_opened,
    close_unanswered,
    linked_directory,
    open_source,
    real_paths,
    sftp_probe,
    source_change,
)
from ._io import DEFAULT_CHUNK_SIZE, ParallelSftpRangeReader, SftpRangeReader, attributes_ahead
from ._status import SftpEndOfFile

#: Leading chunks a ranged source hands on piece by piece: the upload writer's first requests (one small
#: one per stream, then doubling; see ``irods_provider.client.transfer._writer.RAMP_UNIT_SHARE``) end
#: within two chunks for up to eight streams, and leave as soon as their bytes are read.
_RAMP_CHUNKS = 2
#: Chunks an upload's range readers may read ahead of the one the writer holds: the parallel writer takes
#: chunks in pairs (a stream's held request is answered right after the one before it), so one chunk read
#: ahead left it waiting for the source; over the WAN model staging 256 MiB went from 37.1 to 40.1 MB/s
#: (6 rounds each, interleaved) for one more chunk buffered.
UPLOAD_READ_AHEAD_CHUNKS = 3

if TYPE_CHECKING:
    import paramiko

    from irods_provider.client.transfer._endpoints import ChecksummedSource, Reader, ResumableSource
    from irods_provider.client.transfer._plan import PlannedFile

__all__ = ["SftpRangedSource", "SftpReadOptions"]


@dataclass(frozen=True)
class SftpReadOptions:
    """How a task reads its SFTP sources: ``range_readers`` channels per file (default: one per SSH
    connection), chunks of ``chunk_size``, after waiting ``wait_stable_seconds`` for a quiet file,
    ``follow_symlinks`` or not; ``cancel_event`` stops the wait."""

    range_readers: int | None = None
    chunk_size: int = DEFAULT_CHUNK_SIZE
    wait_stable_seconds: float | None = None
    follow_symlinks: bool = False
    cancel_event: threading.Event | None = None


class _ChunkStream:
    """A readable over an iterator of in-order chunks (what the parallel SFTP range reader yields)."""

    def __init__(self, chunks: Generator[bytes, None, None], name: str) -> None:
        self._chunks = chunks
        self._rest = b""
        self.name = name

    def read_chunk(self) -> bytes:
        """The next chunk as it came (``b""`` at the end): the engine's zero-copy path."""
        if self._rest:
            data, self._rest = self._rest, b""
            return data
        return next(self._chunks, b"")

    def read(self, n: int = -1, /) -> bytes:
        """Up to ``n`` bytes (everything left when negative)."""
        if n < 0:
            return self._rest + b"".join(self._chunks)
        if not self._rest:
            self._rest = next(self._chunks, b"")
        data, self._rest = self._rest[:n], self._rest[n:]
        return data

    def close(self) -> None:
        """Stop the range readers and give their channels back."""
        self._chunks.close()


@contextlib.contextmanager
def _ended_early(path: str) -> Iterator[None]:
    """A read the live server answered with end-of-file before the size the file was opened with: the file
    was truncated while read, a changed source (never a lost connection retried, nor a temporary kept)."""
    try:
        yield
    except SftpEndOfFile as exc:
        said = f" ({exc})" if str(exc) else ""
        raise IrodsSourceChangedError(
            f"the file ended before the size it was opened with (truncated while read?){said}",
            changed="truncated",
            path=path,
        ) from exc


class _HandleRange(SftpRangeReader):
    """A range of the source's own handle, which stays open: it is checked after the last read. ``check``
    (the handle's ``fstat``, sent before the reads: one round trip for both) runs before any byte counts."""

    def __init__(
        self, handle: paramiko.SFTPFile, *, offset: int, length: int, check: Callable[[], None]
    ) -> None:
        self._check: Callable[[], None] | None = check
        super().__init__(handle, offset=offset, length=length)

    def read_chunk(self) -> bytes:
        check, self._check = self._check, None
        if check is not None:
            self._pipeline.fill()  # the first reads go out before the fstat's answer is awaited
            check()
        with _ended_early(self.name):
            return super().read_chunk()

    def close(self) -> None:
        self._pipeline.drain()


class _Opening:
    """``open_source`` running on a helper thread; :meth:`result` waits for it and returns or raises."""

    def __init__(self, run: Callable[[], tuple[paramiko.SFTPFile, SftpState]]) -> None:
        self._run = run
        self._outcome: tuple[paramiko.SFTPFile, SftpState] | BaseException | None = None
        self._thread = threading.Thread(target=self._open, name="sftp-open-ahead", daemon=True)
        self._thread.start()

    def _open(self) -> None:
        try:
            self._outcome = self._run()
        except BaseException as exc:  # raised by result(), in the caller's thread
            self._outcome = exc

    def result(self) -> tuple[paramiko.SFTPFile, SftpState]:
        self._thread.join()
        outcome = self._outcome
        if isinstance(outcome, BaseException):
            raise outcome
        assert outcome is not None
        return outcome


class SftpRangedSource:
    """One listed SFTP file (``size``/``mtime`` as the listing saw them), read as ``options`` say (range
    readers spread over the endpoint's SSH connections) by ``upload_object``. Use it as a context manager:
    the handle it opens stays open until the ``with`` ends, so a ``move`` can check the file once more
    before removing it. With ``wait_stable_seconds`` its :meth:`state` first waits until size and mtime
    have not changed for that long (job outputs still being written)."""

    def __init__(
        self,
        sftp: SftpEndpoint,
        client: paramiko.SFTPClient,
        path: str,
        *,
        size: int | None,
        mtime: int | None,
        options: SftpReadOptions | None = None,
        base: str | None = None,
    ) -> None:
        options = options or SftpReadOptions()
        readers = sftp.connections if options.range_readers is None else int(options.range_readers)
        if readers < 1:
            raise IrodsUsageError(f"sftp_range_readers must be >= 1, got {readers}")
        self.sftp, self.client, self.path = sftp, client, path
        self.listed, self.base = (size, mtime), base  # base: the tree it was listed in (None: named alone)
        self.readers, self.chunk_size = readers, options.chunk_size
        self.wait_stable_seconds = options.wait_stable_seconds
        self.follow_symlinks = options.follow_symlinks
        self.cancel_event = options.cancel_event
        self._version: tuple[int | None, int | None] | None = None
        self._handle: paramiko.SFTPFile | None = None
        self._opened: SftpState | None = None
        self._ahead: _Opening | None = None

    @classmethod
    def planned(
        cls, sftp: SftpEndpoint, client: paramiko.SFTPClient, item: PlannedFile, options: SftpReadOptions
    ) -> SftpRangedSource:
        """The source of one planned file (its listed size and mtime), read through ``client``."""
        return cls(
            sftp, client, item.source, size=item.size, mtime=item.mtime, options=options, base=item.base
        )

    @property
    def name(self) -> str:
        return self.path

    def state(self) -> tuple[int | None, int | None]:
        """The version to copy, (size, mtime): the listing's, or once quiet for ``wait_stable_seconds``."""
        if self._version is None:
            self._version = self.listed
            probe = sftp_probe(self.client, self.path, follow_symlinks=self.follow_symlinks)
            if self.wait_stable_seconds:
                self._version = wait_until_stable(
                    probe, float(self.wait_stable_seconds), path=self.path, cancel_event=self.cancel_event
                )
            elif None in self.listed:  # not listed with its size and mtime: as it is now (when it is there;
                with contextlib.suppress(FileNotFoundError):  # else opening it says so, typed)
                    self._version = probe()
        return self._version

    def size(self) -> int:
        """The size of the open file, else of the version to copy."""
        if self._opened is not None:
            return self._opened.size or 0
        return self.state()[0] or 0

    def open_ahead(self) -> None:
        """Start opening the file on a helper thread (its ``lstat`` and open in one round trip: what
        :meth:`open` does first, with the same checks), so that round trip overlaps the engine's first
        requests to the zone; :meth:`open` takes the outcome. For a caller that opens the file whatever the
        zone says (no skip policy); only a file listed with size and mtime, longer than a chunk, not waited
        for to be quiet, so that :meth:`state` asks the server nothing meanwhile (the channel has one user at
        once)."""
        size, mtime = self.listed
        if self._ahead is not None or self._handle is not None or self.wait_stable_seconds:
            return
        if size is None or mtime is None or size <= self.chunk_size:
            return
        self._ahead = _Opening(lambda: self._open_source(size, mtime))

    def open(self, offset: int = 0) -> Reader:
        """Open the file (refused when it is a link or not the version to copy) and read it from
        ``offset``: one pipelined reader on the handle, or parallel range readers for a file longer than a
        chunk (that handle's among them), each checked to have opened that same file."""
        size, mtime = self.state()
        ahead, self._ahead = self._ahead, None
        handle, opened = ahead.result() if ahead is not None else self._open_source(size, mtime)
        self.close()
        self._handle, self._opened = handle, opened
        total = opened.size or 0
        if not self._ranged(size):
            fstat = attributes_ahead(self.client, CMD_FSTAT, handle.handle)
            listed = self.state()

            def check() -> None:
                check_opened(self.path, opened, SftpState.of(fstat()), listed=listed)

            reader = _HandleRange(handle, offset=offset, length=max(0, total - offset), check=check)
            reader.name = self.path
            return reader
        chunks = self._ranges(handle, opened, offset=offset, length=max(0, total - offset))
        return _ChunkStream(chunks, self.path)

    def _ranged(self, size: int | None) -> bool:
        """Whether a file of ``size`` (as listed) is read by range readers (else by its handle alone)."""
        return self.readers > 1 and (size or 0) > self.chunk_size

    def _open_source(self, size: int | None, mtime: int | None) -> tuple[paramiko.SFTPFile, SftpState]:
        """``open_source`` (its ``lstat`` and open in one round trip); the handle's ``fstat`` is checked with
        its first reads (:meth:`open`, :meth:`_ranges`): none of its bytes count before."""
        return open_source(
            self.client,
            self.path,
            listed_size=size,
            listed_mtime=mtime,
            follow_symlinks=self.follow_symlinks,
            check_handle=False,
            base=self.base,
        )

    def _ranges(
        self, handle: paramiko.SFTPFile, opened: SftpState, *, offset: int, length: int
    ) -> Generator[bytes, None, None]:
        """The file's bytes by ``readers`` range readers: the source's own handle (open, on this channel)
        reads from the first read on (its ``fstat`` with those reads: none of its bytes count before that
        matched the ``lstat`` of the open and the listing), and the others join on channels of the other
        connections as those are up (each checked to have opened that same file before its bytes count), so
        the first bytes do not wait for connections still being opened nor for a channel of their own."""

        def same_file(attributes: paramiko.SFTPAttributes) -> None:
            change = opened.differences(SftpState.of(attributes))
            if change is not None:
                raise IrodsSourceChangedError(
                    f"a range reader opened another file ({change})", changed=change, path=self.path
                )

        def opened_file(attributes: paramiko.SFTPAttributes) -> None:
            check_opened(self.path, opened, SftpState.of(attributes), listed=self.state())

        more, this_run = self.readers - 1, self.sftp.this_run()

        def joining() -> Iterator[paramiko.SFTPClient]:
            with this_run():  # on the reader's thread: the channels count for this file's retries
                yield from self.sftp.channels_as_up(more)

        reader = ParallelSftpRangeReader(
            [],
            self.path,
            chunk_size=self.chunk_size,
            offset=offset,
            length=length,
            check_file=same_file,
            handle=handle,
            check_handle=opened_file,
            joining=joining,
            sessions=self.readers,
            in_pieces=_RAMP_CHUNKS,  # the upload's first (smaller) requests leave as their bytes come
            read_ahead=UPLOAD_READ_AHEAD_CHUNKS,
        )
        try:
            with _ended_early(self.path), reader:
                yield from reader
        finally:
            self.sftp.release(reader.joined)

    def change(self, since: Hashable) -> str | None:
        """What changed after the last read: the open handle, then the path (reached through a directory
        swapped for a link included), against what was opened (and that against ``since``); None when
        nothing."""
        if self._handle is None or self._opened is None:
            return "never opened"
        reals = self._real_paths()
        change = source_change(
            self.client, self._handle, self.path, self._opened, follow_symlinks=self.follow_symlinks
        )
        linked = self._linked(reals)
        if change is None and since != (self._opened.size, self._opened.mtime):
            change = f"size/mtime {since} -> {self._opened.size}/{self._opened.mtime}"
        return change or linked

    def remove_if_unchanged(self) -> str | None:
        """A ``move``: remove the file only when it is still the version copied (:meth:`change`); else
        what changed (a newer version, or another file, is there now: never delete what was not copied).
        Never opened (skipped: its destination holds its bytes, checksums compared), the path's ``lstat``
        must still show the version listed, reached through no link below its tree."""
        since = self.state()
        if self._handle is None:
            reals = self._real_paths()
            now = sftp_probe(self.client, self.path, follow_symlinks=self.follow_symlinks)()
            change = None if now == since else f"size/mtime {since} -> {now[0]}/{now[1]}"
            change = self._linked(reals) or change
        else:
            change = self.change(since)
        if change is None:
            self.client.remove(self.path)
        return change

    def _real_paths(self) -> list[_pipelined.Answer] | None:
        """The ``realpath`` requests of the tree and the file, sent so that the next check's round trip
        answers them too (None when following links or for a file named alone)."""
        if self.follow_symlinks or self.base is None:
            return None
        return real_paths(self.client, self.path, self.base)

    def _linked(self, reals: list[_pipelined.Answer] | None) -> str | None:
        """What :func:`linked_directory` says of the answers :meth:`_real_paths` sent for (read now)."""
        if reals is None or self.base is None:
            return None
        return linked_directory(self.path, self.base, _pipelined.collect(self.client, reals))

    def resume_key(self, destination: str) -> str:
        """The configured server (not the socket's peer: stable across reconnects, and no call on a socket
        that may just have dropped), the path, the listed size and mtime, and the destination."""
        hook = self.sftp.hook
        host, port = getattr(hook, "remote_host", None), getattr(hook, "port", None)
        size, mtime = self.listed
        ident = f"{host}:{port}|{self.path}|{size}|{mtime}|{destination}"
        return hashlib.sha256(ident.encode()).hexdigest()[:16]

    def checksum(self, scheme: ChecksumScheme) -> str:
        """The file's checksum in the zone's ``scheme``: by its coreutils tool (``sha256sum``...) on the SFTP
        server when it runs commands, else read through SFTP (for the CHECKSUM skip policy)."""

        def hash_here(hasher: StreamHasher) -> StreamHasher:
            with self.sftp.channel() as client:
                return hash_sftp_file(client, self.path, hasher=hasher)

        return sftp_checksum(self.sftp, self.path, scheme, hash_here)

    def close(self) -> None:
        """Close the handle (idempotent) without waiting for the answer: nothing depends on closing a file
        that was only read, and the close is on the wire before the channel carries anything else (the
        channel's next request reads its answer past). The file's last round trip leaves its critical path."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None:  # opened ahead, never read: wait for it, then close what it opened
            with contextlib.suppress(Exception):
                close_unanswered(ahead.result()[0])
        handle, self._handle = self._handle, None
        if handle is not None:
            close_unanswered(handle)

    def __enter__(self) -> SftpRangedSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


if TYPE_CHECKING:  # mypy checks the implementation against the protocols here
    _SOURCE: type[ResumableSource] = SftpRangedSource
    _CHECKSUMMED: type[ChecksummedSource] = SftpRangedSource
