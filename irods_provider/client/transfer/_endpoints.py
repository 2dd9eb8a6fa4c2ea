"""What the engine needs of a file it copies from (:class:`Source`) and to (:class:`Sink`), and one copy.

A **source** has a name and a size, opens a reader at an offset, and tells its version (:meth:`Source.state`)
so that a file that changed while it was read is never published (:meth:`Source.change`). A **sink** says
whether its final path exists, opens a writer on a hidden temporary (with the offset it resumes at), and
publishes it atomically (or discards it). :func:`copy_file` is the engine's loop over any pair: refuse an
existing destination unless ``overwrite``, write the temporary (resuming where the sink says, the skipped
prefix hashed from the source), check the source did not change, publish; any failure discards.

Implementations: :class:`LocalFile`, :class:`BytesFile` and :class:`IrodsObject` here (each both a source
and a sink), ``irods_provider.sftp._file.SftpFile`` (paramiko stays out of the client) and
``irods_provider.fs._endpoint.FsspecFile`` (any fsspec file system). They are thin: reads, atomic publish
and change checks are the engine's existing pieces (:func:`~._integrity.open_local_source`,
:class:`~._atomic.AtomicWriter`, :func:`~._reader.open_reader`).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import posixpath
import secrets
import stat
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from irods_provider.client._paths import temporary_prefix
from irods_provider.exceptions import (
    IrodsAlreadyExistsError,
    IrodsChecksumMismatchError,
    IrodsInvalidPathError,
    IrodsNotFoundError,
    IrodsSftpFileError,
    IrodsSourceChangedError,
)

from ._alias import source_stat
from ._api import SessionLike
from ._atomic import AtomicWriter
from ._config import MIB, ChecksumScheme, OverwritePolicy, SkipPolicy, TransferConfig
from ._coordinator import TransferCoordinator
from ._copy import CopyResult, StreamHasher, copy
from ._integrity import (
    _BINARY,
    _NOFOLLOW,
    LocalState,
    check_final_destination,
    create_exclusive,
    open_local_source,
    raise_changed,
)
from ._localdir import temp_prefix
from ._policy import DestinationState, Refuse, decide
from ._reader import open_reader
from ._resume import resume_key

__all__ = [
    "BytesFile",
    "ChecksummedSource",
    "DownloadSink",
    "IrodsObject",
    "LocalFile",
    "PrefixCheck",
    "Reader",
    "ResumableSource",
    "Sink",
    "Source",
    "Writer",
    "copy_file",
    "hidden_sibling",
    "register_temporary",
]

#: Bytes of the key in a local temporary's name (a resume key's 16 hex digits; a longer key is digested).
_KEY_LENGTH = 16


@runtime_checkable
class Reader(Protocol):
    """A byte stream the engine reads in chunks and closes."""

    def read(self, n: int = ..., /) -> bytes: ...

    def close(self) -> None: ...


@runtime_checkable
class Writer(Protocol):
    """A byte stream the engine writes in order and closes (closing finishes the temporary)."""

    def write(self, data: bytes, /) -> Any: ...

    def close(self) -> None: ...


@runtime_checkable
class Source(Protocol):
    """A file the engine copies from."""

    @property
    def name(self) -> str:
        """The path (or label) that names it in messages and reports."""
        ...

    def size(self) -> int:
        """Its current size in bytes."""
        ...

    def open(self, offset: int = 0) -> Reader:
        """A reader positioned at ``offset``."""
        ...

    def state(self) -> Hashable:
        """What identifies this version of the file (size, mtime, inode, ...), taken before reading."""
        ...

    def change(self, since: Hashable) -> str | None:
        """What changed since ``since`` (a :meth:`state`), None when nothing: checked before publishing."""
        ...


@runtime_checkable
class ResumableSource(Source, Protocol):
    """A source that names its own resumable uploads (e.g. by the configured server, not a socket's peer)."""

    def resume_key(self, destination: str) -> str:
        """The key of an upload of this version of the source to ``destination``, alike on every attempt."""
        ...


@runtime_checkable
class ChecksummedSource(Source, Protocol):
    """A source that tells its checksum without being streamed here (a server hashing its own file)."""

    def checksum(self, scheme: ChecksumScheme) -> str:
        """The whole source's checksum written as a zone of ``scheme`` stores it (``sha2:...`` or MD5 hex)."""
        ...


@runtime_checkable
class Sink(Protocol):
    """A destination the engine writes through a temporary and publishes atomically."""

    @property
    def name(self) -> str:
        """The final path (or label)."""
        ...

    def exists(self) -> bool:
        """Whether something is at the final path."""
        ...

    def open_temp(self, *, size: int | None = None, resume: bool = True, key: str = "") -> tuple[Writer, int]:
        """A writer on a hidden temporary and the offset it continues at: 0 unless ``resume`` and a
        temporary written for the same ``key`` (the source's version, :func:`source_key`) is there."""
        ...

    def publish(self) -> None:
        """Rename the finished temporary onto the final path atomically (replacing what is there)."""
        ...

    def discard(self) -> None:
        """Remove the temporary, if any. Never raises for a missing one."""
        ...


@dataclass
class PrefixCheck:
    """How a sink checks the temporary it resumes: it feeds the bytes the temporary holds to ``hasher`` (the
    hasher the download then continues) and asks :meth:`matches` whether they are the source's first bytes
    (a dropped connection can leave pipelined writes applied out of order)."""

    hasher: StreamHasher
    source_sha256: Callable[[int], bytes]
    """The SHA-256 of the source's first ``length`` bytes (read again from the source)."""

    def matches(self, length: int) -> bool:
        """Whether the ``length`` bytes fed to :attr:`hasher` hash like the source's first ``length``."""
        return self.hasher.count == length and (
            length == 0 or self.hasher.result().sha256 == self.source_sha256(length)
        )


@runtime_checkable
class DownloadSink(Protocol):
    """A destination :func:`~._download.download_object` streams a data object into (besides a local path):
    a hidden temporary it may resume, an optional check of its own, an atomic publish.

    The engine asks :meth:`destination_state` once for the one skip/overwrite decision, opens the temporary,
    streams into its writer (which must copy or send what it is given before ``write`` returns: the reader
    reuses its buffers), closes the writer, verifies the zone's checksum and calls :meth:`verify`, then
    :meth:`publish` (under REFUSE the publish-time race check is the sink's: right before its rename). The
    sink registers its temporary's failure cleanup with the transfer's coordinator where it creates (or
    reopens) it, by :func:`register_temporary`; the engine runs it once on any failure.
    """

    @property
    def name(self) -> str:
        """The final path (or label)."""
        ...

    @property
    def parallel(self) -> bool:
        """Whether the open writer spreads over several connections (the reader then reads further ahead)."""
        ...

    def destination_state(self) -> DestinationState:
        """What is at the final path, from one question (creating the parent directories it needs)."""
        ...

    def resumable(self, key: str) -> bool:
        """Whether a temporary an earlier attempt left for ``key`` may be there to resume (a local answer,
        no round trip: the engine starts reading from byte 0 while the temporary opens when not)."""
        ...

    def open_temp(
        self,
        *,
        size: int,
        key: str,
        resume: bool,
        prefix: PrefixCheck,
        coordinator: TransferCoordinator,
    ) -> tuple[Writer, int]:
        """A writer on a hidden temporary and the offset it continues at: with ``resume``, the temporary an
        earlier attempt left for ``key`` (the source's version) when its bytes pass ``prefix`` (fed to its
        hasher), else a new one at 0. Registers the temporary with ``coordinator`` as soon as it exists
        (:func:`register_temporary`), and any other cleanup a failed creation needs."""
        ...

    def verify(self, sha256_hex: str) -> bool:
        """An extra check of the finished temporary (e.g. ``sha256sum`` on the server): whether one ran;
        a mismatch raises :class:`~irods_provider.exceptions.IrodsChecksumMismatchError`."""
        ...

    def publish(self, *, replace: bool = True) -> None:
        """Rename the finished temporary onto the final path atomically; without ``replace`` never over
        anything there, e.g. a file that appeared during the copy
        (:class:`~irods_provider.exceptions.IrodsAlreadyExistsError`)."""
        ...

    def abort(self) -> None:
        """Stop writing and close the writer, keeping the temporary for a later attempt. Never raises."""
        ...

    def discard(self) -> None:
        """Remove the temporary (and any record of it). Never raises for a missing one."""
        ...


def keeps_temporary(error: BaseException | None, *, resume: bool) -> bool:
    """Whether a download that failed with ``error`` keeps its sink's temporary (and its resume record) for
    the next attempt: with ``resume``, unless its bytes are wrong (a checksum mismatch, the zone's or the
    sink's, or a source that changed: the next attempt copies another version), the final path was refused
    (a link or directory there, or under REFUSE a file that appeared: the next attempt refuses it too) or
    the SFTP server failed a write (a full disk: the partial temporary would only hold the space the next
    attempt needs)."""
    refused = (
        IrodsChecksumMismatchError,
        IrodsSourceChangedError,
        IrodsInvalidPathError,
        IrodsAlreadyExistsError,
        IrodsSftpFileError,
    )
    return resume and not isinstance(error, refused)


def register_temporary(coordinator: TransferCoordinator, sink: DownloadSink, *, resume: bool) -> None:
    """Register the failure cleanup of ``sink``'s temporary, where the sink creates or reopens it: stop
    writing (:meth:`~DownloadSink.abort`), then :meth:`~DownloadSink.discard` it unless the transfer's
    error leaves it resumable (:func:`keeps_temporary`)."""

    def cleanup(cause: BaseException | None) -> None:
        sink.abort()
        if not keeps_temporary(cause or coordinator.exception, resume=resume):
            sink.discard()

    coordinator.add_failure_cleanup(cleanup)


class _Discard:
    def write(self, data: bytes | bytearray | memoryview) -> int:
        return len(data)


def source_key(source: Source) -> str:
    """What a resumable temporary is written for: the source's name and version (:meth:`Source.state`)."""
    return resume_key("copy-file", source.name, repr(source.state()))


def _hash_prefix(source: Source, length: int, hasher: StreamHasher, chunk_size: int) -> None:
    """Feed the source's first ``length`` bytes to ``hasher`` (what a resumed temporary already holds)."""
    reader = source.open(0)
    try:
        copy(reader, _Discard(), chunk_size=chunk_size, limit=length, hasher=hasher, report_progress=False)
    finally:
        reader.close()


def _write(
    source: Source, sink: Sink, *, resume: bool, chunk_size: int, cancel: threading.Event | None
) -> CopyResult:
    """Write ``source`` into the sink's temporary (closed on return); the digests of all its bytes."""
    size, key = source.size(), source_key(source)
    writer, offset = sink.open_temp(size=size, resume=resume, key=key)
    if offset > size:  # longer than the source: not a prefix of it
        writer.close()
        sink.discard()
        writer, offset = sink.open_temp(size=size, resume=False, key=key)
    hasher = StreamHasher()
    try:
        if offset:
            _hash_prefix(source, offset, hasher, chunk_size)
        reader = source.open(offset)
        try:
            copy(
                reader,
                writer,
                chunk_size=chunk_size,
                hasher=hasher,
                cancel_event=cancel,
                report_progress=False,
            )
        finally:
            reader.close()
    except BaseException:
        with contextlib.suppress(Exception):
            writer.close()
        raise
    writer.close()
    return hasher.result()


def copy_file(
    source: Source,
    sink: Sink,
    *,
    overwrite: bool = False,
    resume: bool = True,
    chunk_size: int = 8 * MIB,
    cancel_event: threading.Event | None = None,
) -> CopyResult:
    """Copy one source onto one sink: temporary, change check, atomic publish; the bytes' digests.

    Refuses an existing destination unless ``overwrite`` (IrodsAlreadyExistsError naming it, before and
    again right before publishing); a source that changed while it was read fails with
    IrodsSourceChangedError naming it and nothing is published. Any failure discards the temporary.
    """
    policy = OverwritePolicy.OVERWRITE if overwrite else OverwritePolicy.REFUSE
    there = DestinationState.file(sink.name, None) if sink.exists() else DestinationState.absent(sink.name)
    decision = decide(skip=SkipPolicy.NEVER, overwrite=policy, destination=there, source_size=None)
    if isinstance(decision, Refuse):
        decision.raise_error()
    before = source.state()
    try:
        result = _write(source, sink, resume=resume, chunk_size=chunk_size, cancel=cancel_event)
        changed = source.change(before)
        if changed is not None:
            raise_changed(source.name, changed, operation="copy")
        if not overwrite and sink.exists():
            raise IrodsAlreadyExistsError("the destination appeared during the copy", path=sink.name)
        sink.publish()
    except BaseException:
        sink.discard()
        raise
    return result


class LocalFile:
    """A local file: read without following a link at its name, written through a hidden exclusive temporary
    sibling named after the source's version (resumed when one is there: a killed attempt's) and published
    with ``os.replace`` (never onto a link or directory). Opening a temporary removes the destination's other
    temporaries (older versions of the source): one writer per destination."""

    def __init__(self, path: str | os.PathLike[str], *, follow_symlinks: bool = False) -> None:
        self.path = os.fspath(path)
        self.follow_symlinks = follow_symlinks
        self._temp: str | None = None

    @property
    def name(self) -> str:
        return self.path

    def size(self) -> int:
        return os.stat(self.path).st_size

    def open(self, offset: int = 0) -> Reader:
        fd, _ = open_local_source(self.path, follow_symlinks=self.follow_symlinks)
        reader = os.fdopen(fd, "rb")
        reader.seek(offset)
        return reader

    def state(self) -> LocalState:
        return LocalState.of(os.stat(self.path) if self.follow_symlinks else os.lstat(self.path))

    def change(self, since: Hashable) -> str | None:
        try:
            now = self.state()
        except FileNotFoundError:
            return "removed"
        return since.differences(now) if isinstance(since, LocalState) else "not a local file's state"

    def exists(self) -> bool:
        return os.path.lexists(self.path)

    def temporary(self, key: str) -> str:
        """The hidden temporary sibling written for ``key``: ``.<name>.irods-part-<key>``, a longer key
        digested and a name too long for one shortened with a digest of it kept (any legal name fits)."""
        head, tail = os.path.split(self.path)
        key = key or "0"
        if len(os.fsencode(key)) > _KEY_LENGTH:
            key = hashlib.sha256(os.fsencode(key)).hexdigest()[:_KEY_LENGTH]
        return os.path.join(head, temp_prefix(tail, key_length=_KEY_LENGTH) + key)

    def open_temp(self, *, size: int | None = None, resume: bool = True, key: str = "") -> tuple[Writer, int]:
        self._temp = self.temporary(key)
        self._remove_others(self._temp)
        if resume:
            try:
                fd = os.open(self._temp, os.O_WRONLY | os.O_APPEND | _NOFOLLOW | _BINARY)
            except FileNotFoundError:
                pass
            else:
                if stat.S_ISREG(os.fstat(fd).st_mode):
                    return os.fdopen(fd, "ab"), os.fstat(fd).st_size
                os.close(fd)
        with contextlib.suppress(FileNotFoundError, IsADirectoryError):
            os.remove(self._temp)
        return os.fdopen(create_exclusive(self._temp), "wb"), 0

    def _remove_others(self, ours: str) -> None:
        """Remove this destination's temporaries written for other keys (stale versions)."""
        head, tail = os.path.split(self.path)
        prefix = temp_prefix(tail, key_length=_KEY_LENGTH)
        with contextlib.suppress(FileNotFoundError), os.scandir(head or ".") as scan:
            stale = [e.path for e in scan if e.name.startswith(prefix) and e.path != ours]
        for path in stale:
            with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                os.remove(path)

    def publish(self) -> None:
        if self._temp is None:
            raise IrodsNotFoundError("nothing was written", path=self.path)
        check_final_destination(self.path, operation="copy")
        os.replace(self._temp, self.path)
        self._temp = None

    def discard(self) -> None:
        temp, self._temp = self._temp, None
        if temp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.remove(temp)


class _Buffer(io.BytesIO):
    """The temporary of a :class:`BytesFile`: its bytes survive ``close``."""

    def close(self) -> None:
        self.value = self.getvalue()
        super().close()


class BytesFile:
    """Bytes in memory as a source, or (``data=None``) a sink that holds what was published."""

    def __init__(self, data: bytes | None = None, *, name: str = "<bytes>") -> None:
        self.data = data
        self._name = name
        self._temp: _Buffer | None = None

    @property
    def name(self) -> str:
        return self._name

    def _bytes(self) -> bytes:
        if self.data is None:
            raise IrodsNotFoundError("no bytes to read", path=self._name)
        return self.data

    def size(self) -> int:
        return len(self._bytes())

    def open(self, offset: int = 0) -> Reader:
        return io.BytesIO(self._bytes()[offset:])

    def state(self) -> Hashable:
        return (len(self._bytes()), id(self.data))

    def change(self, since: Hashable) -> str | None:
        return None if self.state() == since else "replaced"

    def exists(self) -> bool:
        return self.data is not None

    def open_temp(self, *, size: int | None = None, resume: bool = True, key: str = "") -> tuple[Writer, int]:
        self._temp = _Buffer()
        return self._temp, 0

    def publish(self) -> None:
        if self._temp is None:
            raise IrodsNotFoundError("nothing was written", path=self._name)
        self.data, self._temp = self._temp.value, None

    def discard(self) -> None:
        self._temp = None


class IrodsObject:
    """A data object: read with ranged read-ahead (:func:`open_reader`), written through the engine's
    :class:`AtomicWriter` (a recorded temporary sibling, parallel writes) and renamed into place."""

    def __init__(self, session: SessionLike, path: str, *, config: TransferConfig | None = None) -> None:
        self.session = session
        self.path = path
        self.config = config or TransferConfig()
        self._writer: AtomicWriter | None = None

    @property
    def name(self) -> str:
        return self.path

    def size(self) -> int:
        return source_stat(self.session, self.path).size

    def open(self, offset: int = 0) -> Reader:
        return open_reader(self.session, self.path, config=self.config, offset=offset, size=self.size())

    def state(self) -> Hashable:
        st = source_stat(self.session, self.path)  # the catalog's answer for a '+' path
        return (st.size, getattr(st, "modified_at", None), st.checksum)

    def change(self, since: Hashable) -> str | None:
        if not self.session.data_objects.exists(self.path):
            return "removed"
        now = self.state()
        return None if now == since else f"size or modification time {since} -> {now}"

    def exists(self) -> bool:
        return self.session.data_objects.exists(self.path) or self.session.collections.exists(self.path)

    def open_temp(self, *, size: int | None = None, resume: bool = True, key: str = "") -> tuple[Writer, int]:
        # Not guarded (copy_file publishes right after the close); verified (every replica) before publishing.
        self._writer = AtomicWriter(
            self.session, self.path, config=self.config, size=size, publish=False, guard=False
        )
        return self._writer, 0

    def publish(self) -> None:
        if self._writer is None:
            raise IrodsNotFoundError("nothing was written", path=self.path)
        self._writer.publish()
        self._writer = None

    def discard(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.abort()


def hidden_sibling(path: str) -> str:
    """A hidden temporary sibling of a ``/`` path with a random part (what SFTP and fsspec sinks write to);
    the engine's temporary-name rule keeps it out of every listing and plan, and keeps it within 255 bytes.
    Unlike an iRODS temporary it does not end with the extension: a watcher of ``*.fits`` files on such a
    target would take up a file still being written (as local downloads' temporaries, too)."""
    head, tail = posixpath.split(path)
    key = secrets.token_hex(8)
    return posixpath.join(head, temporary_prefix(tail, "part", key_length=len(key)) + key)


if TYPE_CHECKING:  # mypy checks each implementation against the protocols here
    _SOURCES: tuple[type[Source], ...] = (LocalFile, BytesFile, IrodsObject)
    _SINKS: tuple[type[Sink], ...] = (LocalFile, BytesFile, IrodsObject)
