"""Downloading one data object into a streaming sink (:class:`~._endpoints.DownloadSink`, e.g. a file on an
SFTP server): the one skip/overwrite decision, resume from a verified prefix, read-ahead streamed into the
sink's writer, the zone's checksum and the sink's own check, then an atomic publish. A caller that planned
the copy may start its reads earlier (:class:`EarlyRead`, :class:`EarlyReads`: from byte 0, a bounded
number of bytes ahead, while the sink's side is still being set up); the copy adopts them or closes them.

:func:`~._download.download_object` calls :func:`download_to_sink` when its destination is a sink rather
than a local path. No paramiko here: each sink kind lives with its transport (``irods_provider.sftp``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol, TypeVar, cast

from irods_provider.exceptions import IrodsIntegrityError, IrodsOverwriteIncompleteError

from ._alias import source_stat
from ._api import DataObjectStatLike, SessionLike
from ._config import OverwritePolicy, SkipPolicy, TransferConfig
from ._coordinator import TransferCoordinator, TransferSubscriber
from ._copy import (
    CopyResult,
    StreamHasher,
    Writable,
    alongside,
    copy,
    hasher_for,
    learn_checksum_scheme,
    verify_checksum,
)
from ._endpoints import DownloadSink, PrefixCheck, Writer
from ._plan import PlannedFile
from ._policy import DestinationState, Refuse, Skip, decide, stored_checksum
from ._reader import ParallelReader, open_reader
from ._report import FileResult, FileStatus
from ._resume import resume_key
from ._writer import _effective_config

__all__ = ["EarlyRead", "EarlyReads", "download_to_sink", "irods_prefix_sha256"]

log = logging.getLogger(__name__)


class EarlyRead:
    """Ranged reads of the data object ``path`` sent before its destination is decided (e.g. while the SSH
    connection of an SFTP sink comes up), so its first bytes are there when the sink's temporary opens.

    From byte 0 of ``size``; at most ``budget`` bytes (default ``streams * chunk_size``) requested and not
    yet consumed, whatever the size (:meth:`~._reader.ParallelReader.prefetch`: the ramp's sizes, pooled
    chunk buffers). :func:`download_to_sink` adopts the reader when its copy starts at byte 0 of the same
    object and size; every other outcome (a skip, a refusal, a dry run, a resumed temporary, a failure)
    closes it: its threads stop, its buffers go. Start one only where reading cannot be wasted beyond the
    budget: no skip policy, no dry run, no resumable temporary known. ``stat``: the planner's stat of the
    object, taken instead of a second one (its checksum picks the resume key and the skip decision; the
    bytes are verified against the zone's checksum after the copy either way).
    """

    def __init__(
        self,
        session: SessionLike,
        path: str,
        *,
        size: int,
        stat: DataObjectStatLike | None = None,
        config: TransferConfig | None = None,
        subscribers: Sequence[TransferSubscriber] = (),
        cancel_event: threading.Event | None = None,
        budget: int | None = None,
    ) -> None:
        self.path = path
        self.size = size
        self.stat = stat
        cfg = _effective_config(session, config, reads=True)
        self.budget = budget if budget is not None else cfg.stream_count * cfg.chunk_size
        self._lock = threading.Lock()
        reader = _reader(
            session, path, cfg, offset=0, size=size, subscribers=subscribers, cancel_event=cancel_event
        )
        self._reader: ParallelReader | None = reader
        reader.prefetch(self.budget)

    def take(self, size: int) -> ParallelReader | None:
        """The reader, now the caller's, when the copy reads ``size`` bytes as it does; else None (closed)."""
        with self._lock:
            reader, self._reader = self._reader, None
        if reader is not None and size != self.size:
            reader.close()
            return None
        return reader

    def close(self) -> None:
        """Stop the reads and drop their buffers, unless :meth:`take` handed the reader over (idempotent)."""
        with self._lock:
            reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()


class EarlyReads:
    """The :class:`EarlyRead` of the first ``limit`` files of a plan (those a runner starts first), by path:
    each taken once by its copy (:meth:`taking`); the block closes those no copy took (the task failed or
    was cancelled first). None under a skip policy (a file that may be skipped is never read first), nor
    for a file ``unless(path)`` says must not be read from byte 0 (a resumable temporary may be there).
    ``options``: :class:`EarlyRead`'s keywords."""

    def __init__(
        self,
        session: SessionLike,
        *,
        skip: SkipPolicy,
        limit: int,
        unless: Callable[[str], bool] | None = None,
        **options: Any,
    ) -> None:
        self._session = session
        self._wanted = skip is SkipPolicy.NEVER
        self._limit = limit
        self._unless = unless
        self._options = options
        self._reads: dict[str, EarlyRead] = {}
        self._stats: dict[str, DataObjectStatLike] = {}
        self._lock = threading.Lock()

    def start(
        self,
        files: Sequence[PlannedFile],
        stats: Mapping[str, DataObjectStatLike],
        subscribers: Sequence[TransferSubscriber] = (),
    ) -> None:
        """Start reading the first of the planned ``files`` (those with a size); ``stats``: the planner's
        stats by path, reused by the copies (:meth:`taking`)."""
        if self._wanted:
            self._stats = dict(stats)
        for file in files[: self._limit] if self._wanted else ():
            if file.size and not (self._unless is not None and self._unless(file.source)):
                stat = stats.get(file.source)
                options = {**self._options, "stat": stat, "subscribers": subscribers}
                read = EarlyRead(self._session, file.source, size=file.size, **options)
                with self._lock:
                    self._reads[file.source] = read

    @contextlib.contextmanager
    def taking(self, path: str) -> Iterator[tuple[EarlyRead | None, DataObjectStatLike | None]]:
        """``path``'s early read for the block (None when there is none, or it was taken), closed at its
        end unless the copy took its reader over (:meth:`EarlyRead.take`), and the planner's stat of it for
        the copy's first attempt (a retry asks the zone again; None under a skip policy, which decides on
        what the zone says at the copy)."""
        with self._lock:
            read = self._reads.pop(path, None)
            stat = self._stats.pop(path, None)
        try:
            yield read, stat
        finally:
            if read is not None:
                read.close()

    def close(self) -> None:
        """Close every early read not taken."""
        with self._lock:
            reads, self._reads = list(self._reads.values()), {}
        for read in reads:
            read.close()

    def __enter__(self) -> EarlyReads:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def download_to_sink(
    session: SessionLike,
    path: str,
    sink: DownloadSink,
    *,
    config: TransferConfig | None = None,
    overwrite: OverwritePolicy = OverwritePolicy.REFUSE,
    skip: SkipPolicy = SkipPolicy.NEVER,
    dry_run: bool = False,
    resume: bool = True,
    subscribers: Sequence[TransferSubscriber] = (),
    cancel_event: threading.Event | None = None,
    operation: str = "download",
    early: EarlyRead | None = None,
    known: DataObjectStatLike | None = None,
) -> FileResult:
    """Stream ``path`` into ``sink``'s temporary, verified, then published (see :class:`DownloadSink`).

    With ``resume`` a temporary an earlier attempt left is continued once its bytes hash like the
    source's first bytes, and a failure keeps the temporary (but for a checksum mismatch or a refused
    final path); without it every failure discards it. Under REFUSE a destination that appeared during
    the copy is refused (and the temporary discarded). ``early``: reads started before (:class:`EarlyRead`),
    adopted when the copy starts at byte 0, else closed (a registered failure cleanup, like the others).
    ``known``: the planner's stat of ``path`` when there is no ``early`` (:meth:`EarlyReads.taking`): the
    zone is not asked again. The bytes are checked against its checksum after the copy either way, and a
    copy made from the planner's stat that fails that check (the object changed since it was listed) is
    made once more from the zone's answer now.
    """
    copy_once = functools.partial(
        _download_once,
        session,
        path,
        sink,
        config=config,
        overwrite=overwrite,
        skip=skip,
        dry_run=dry_run,
        resume=resume,
        subscribers=subscribers,
        cancel_event=cancel_event,
        operation=operation,
    )
    planned = early.stat if early is not None else known
    try:
        return copy_once(early=early, known=known)
    except IrodsIntegrityError as exc:
        if planned is None or isinstance(
            exc, IrodsOverwriteIncompleteError
        ):  # the destination's, not the source's
            raise
        log.info("%s changed since it was listed (%s); copying it as the zone holds it now", path, exc)
    return copy_once(early=None, known=None)


def _download_once(
    session: SessionLike,
    path: str,
    sink: DownloadSink,
    *,
    config: TransferConfig | None,
    overwrite: OverwritePolicy,
    skip: SkipPolicy,
    dry_run: bool,
    resume: bool,
    subscribers: Sequence[TransferSubscriber],
    cancel_event: threading.Event | None,
    operation: str,
    early: EarlyRead | None,
    known: DataObjectStatLike | None,
) -> FileResult:
    """One attempt of :func:`download_to_sink`."""
    started = time.monotonic()
    # Each cleanup (the readers', the temporary's) is registered where it is created; run once on failure.
    coordinator = TransferCoordinator(path=path, cancel_event=cancel_event)
    early = _kept(early, coordinator, path=path, wanted=skip is SkipPolicy.NEVER and not dry_run)
    try:
        known = early.stat if early is not None else known
        version = _decided(
            session, path, sink, config, skip=skip, overwrite=overwrite, operation=operation, known=known
        )
        if isinstance(version, FileResult) or dry_run:
            if early is not None:
                early.close()
            if isinstance(version, FileResult):
                return version
            return FileResult(source=path, destination=sink.name, status=FileStatus.PLANNED, size=version[1])
        result, checksum, offset = _copy_into(
            session,
            path,
            sink,
            coordinator,
            version,
            early=early,
            resume=resume,
            subscribers=subscribers,
            cancel_event=cancel_event,
        )
        # Under REFUSE the sink checks right before its rename (which itself never replaces).
        sink.publish(replace=overwrite is not OverwritePolicy.REFUSE)
    except BaseException as exc:
        coordinator.set_exception(exc)
        coordinator.run_failure_cleanups(exc)
        raise
    coordinator.succeed()
    return FileResult(
        source=path,
        destination=sink.name,
        status=FileStatus.TRANSFERRED,
        size=result.size,
        checksum=checksum,
        seconds=time.monotonic() - started,
        resumed_from=offset,
    )


def _kept(
    early: EarlyRead | None, coordinator: TransferCoordinator, *, path: str, wanted: bool
) -> EarlyRead | None:
    """``early``, its close registered as a failure cleanup, when it reads ``path`` and the copy may read
    first (``wanted``: no skip policy, no dry run); else closed now, and None."""
    if early is None:
        return None
    _registered(early, coordinator)
    if early.path == path and wanted:
        return early
    early.close()
    return None


def _copy_into(
    session: SessionLike,
    path: str,
    sink: DownloadSink,
    coordinator: TransferCoordinator,
    version: tuple[TransferConfig, int, str],
    *,
    early: EarlyRead | None,
    resume: bool,
    subscribers: Sequence[TransferSubscriber],
    cancel_event: threading.Event | None,
) -> tuple[CopyResult, str, int]:
    """Copy the decided ``version`` (configuration, size, checksum) into the sink's temporary (resumed
    when it may), verified: the copy's result, the zone's checksum and the offset it started at."""
    cfg, size, checksum = version
    key = resume_key("download", path, size, checksum)
    prefix = PrefixCheck(
        hasher_for(cfg.checksum_scheme, session, path, stored=checksum),
        functools.partial(irods_prefix_sha256, session, path),
    )
    reader = functools.partial(
        _reader, session, path, cfg, size=size, subscribers=subscribers, cancel_event=cancel_event
    )
    opened = _open(
        sink, reader, coordinator, size=size, key=key, resume=resume, prefix=prefix, config=cfg, early=early
    )
    writer, offset, source = opened
    hasher = prefix.hasher
    if offset == 0 and hasher.count:  # a resumable temporary was refused after hashing it: afresh
        hasher = hasher_for(cfg.checksum_scheme, session, path, stored=checksum)
    placing = _Placing.of(writer, source, offset=offset) if sink.parallel else None
    with source:  # its close waits for the reading threads: placing stops first
        try:
            into = writer if placing is None else placing
            result = _stream(source, into, config=cfg, hasher=hasher, cancel_event=cancel_event)
        finally:
            if placing is not None:
                placing.stop()
    return result, _verified(session, path, writer, sink, result), offset


class _PositionedWriter(Protocol):
    def write_at(self, offset: int, data: bytes, /, *, stop: threading.Event | None = None) -> Any: ...


#: How long :meth:`_Placing.stop` waits for the placing thread (a stopped write gives up within 0.2 s).
_PLACING_JOIN_SECONDS = 30.0


class _Placing:
    """Each chunk written at its offset as soon as its ranged read completes, by a placing thread, for a
    sink whose writer takes positioned writes (several SFTP connections): a ranged read that lags behind
    the others (a TCP connection that slowed down) no longer stops the writer while the chunks after it
    wait in memory, and a reading thread goes on to its next ranged read at once instead of waiting for
    the sink to take its chunk (the sink's pace no longer idles an iRODS stream). The copy loop still gets
    every chunk in byte order and hashes it; its ``write`` returns once that chunk is placed (its buffer is
    then reused) and only writes itself the chunks read before placing began. Memory is the reader's bound:
    a chunk's buffer waits for its turn in the copy loop either way."""

    def __init__(self, writer: _PositionedWriter, *, offset: int) -> None:
        self._writer = writer
        self._position = offset
        self._queued: dict[int, int] = {}  # offset -> length, handed to the placing thread
        self._placed: set[int] = set()  # offsets written by the placing thread
        self._changed = threading.Condition()
        self._todo: queue.SimpleQueue[tuple[int, bytes] | None] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="irods-sink-placing", daemon=True)
        self._thread.start()

    @classmethod
    def of(cls, writer: Writer, reader: ParallelReader, *, offset: int) -> _Placing | None:
        """Placing for ``writer`` fed by ``reader`` from ``offset``; None for a writer in order only."""
        if not callable(getattr(writer, "write_at", None)):
            return None
        placing = cls(cast("_PositionedWriter", writer), offset=offset)
        reader.on_fetched(placing.fetched)
        return placing

    def fetched(self, offset: int, data: bytes) -> None:
        """A ranged read completed (in its reading thread): hand it to the placing thread."""
        if self._stop.is_set():
            return
        with self._changed:
            self._queued[offset] = len(memoryview(data))
        self._todo.put((offset, data))

    def _run(self) -> None:
        while (item := self._todo.get()) is not None:
            offset, data = item
            try:
                if self._error is None and not self._stop.is_set():
                    self._writer.write_at(offset, data, stop=self._stop)
            except BaseException as exc:  # the copy loop raises it
                self._error = exc
            with self._changed:
                self._placed.add(offset)
                self._changed.notify_all()

    def write(self, data: bytes) -> int:
        """The copy loop's next chunk in order: written by the placing thread (wait for it) or, read
        before placing began, here."""
        size = len(memoryview(data))
        with self._changed:
            queued = self._queued.pop(self._position, None)
            while queued is not None and self._position not in self._placed and self._error is None:
                self._changed.wait()
            self._placed.discard(self._position)
        if self._error is not None:
            raise self._error
        if queued is None:
            self._writer.write_at(self._position, data)
        elif queued != size:  # the loop takes whole chunks (read_chunk): placed whole or not at all
            raise IrodsIntegrityError(
                f"chunk at byte {self._position} was placed with {queued} bytes, the copy has {size}"
            )
        self._position += size
        return size

    def stop(self) -> None:
        """No more placing (the copy ended or failed): a write still waiting for room gives up, and the
        placing thread ends once what it holds is dropped."""
        self._stop.set()
        self._todo.put(None)
        self._thread.join(_PLACING_JOIN_SECONDS)


def _decided(
    session: SessionLike,
    path: str,
    sink: DownloadSink,
    config: TransferConfig | None,
    *,
    skip: SkipPolicy,
    overwrite: OverwritePolicy,
    operation: str,
    known: DataObjectStatLike | None,
) -> FileResult | tuple[TransferConfig, int, str]:
    """The one decision: a skip's result, else the configuration, size and checksum to copy with; raises
    a refusal. The destination's one answer (SFTP round trips) comes while the zone answers for the source
    (HTTP; nothing but a checksum the zone has not stored when ``known`` is the planner's stat)."""
    there, (cfg, st, checksum) = alongside(
        sink.destination_state,
        lambda: _source_version(session, path, config, known),
        name="download-alongside",
    )
    decided = _decide(path, st, checksum, there, skip=skip, overwrite=overwrite, operation=operation, cfg=cfg)
    return decided if decided is not None else (cfg, st.size, checksum)


def _source_version(
    session: SessionLike, path: str, config: TransferConfig | None, known: DataObjectStatLike | None = None
) -> tuple[TransferConfig, DataObjectStatLike, str]:
    """The configuration within the server's limits, the data object's stat (``known``: the planner's, not
    asked again) and its checksum (computed by the server when none is stored)."""
    cfg = _effective_config(session, config, reads=True)
    st = known if known is not None else source_stat(session, path)
    checksum = st.checksum or session.data_objects.calculate_checksum(path)
    if st.checksum is None:  # computed now: the zone's scheme (a stored one may predate a change of it)
        learn_checksum_scheme(session, path, checksum)  # hash only the zone's scheme (MD5 costs 2.4x SHA-256)
    return cfg, st, checksum


def _reader(
    session: SessionLike,
    path: str,
    config: TransferConfig,
    *,
    offset: int,
    size: int,
    subscribers: Sequence[TransferSubscriber],
    cancel_event: threading.Event | None,
) -> ParallelReader:
    """A read-ahead reader from ``offset``, one chunk per stream (see :func:`_open` for more)."""
    return open_reader(
        session,
        path,
        config=dataclasses.replace(config, queue_depth=1),
        offset=offset,
        size=size,
        subscribers=tuple(subscribers),
        cancel_event=cancel_event,
        reuse_buffers=True,  # a sink's writer copies or sends each chunk before write() returns
    )


def _open(
    sink: DownloadSink,
    reader: Callable[..., ParallelReader],
    coordinator: TransferCoordinator,
    *,
    size: int,
    key: str,
    resume: bool,
    prefix: PrefixCheck,
    config: TransferConfig,
    early: EarlyRead | None = None,
) -> tuple[Writer, int, ParallelReader]:
    """The sink's temporary and a reader (``reader(offset=...)``) from the offset it continues at; both
    register their failure cleanups with ``coordinator`` (the reader's close, the temporary's).

    With no temporary to resume, the first ranged reads from byte 0 go out before the temporary opens
    (or went out earlier: ``early``, adopted): their latencies overlap. Into a single connection the sink
    is the slower leg, so the reader keeps one chunk per stream (more only holds memory); a parallel
    writer outruns the iRODS streams, which then read ``config.queue_depth`` chunks per stream ahead.
    """
    resumable = resume and sink.resumable(key)
    adopted = None if resumable or early is None else early.take(size)
    if early is not None and adopted is None:
        early.close()  # a temporary to resume: its reads from byte 0 are not wanted
    primed = None if resumable else _registered(adopted or reader(offset=0), coordinator)
    if primed is not None and adopted is None:
        primed.start()
    writer, offset = sink.open_temp(size=size, key=key, resume=resume, prefix=prefix, coordinator=coordinator)
    if primed is None or offset:
        if primed is not None:
            primed.close()
        primed = _registered(reader(offset=offset), coordinator)
    if sink.parallel:
        primed.read_further_ahead(config.queue_depth)
    return writer, offset, primed


class _Closable(Protocol):
    def close(self) -> None: ...


_Closing = TypeVar("_Closing", bound=_Closable)


def _registered(reader: _Closing, coordinator: TransferCoordinator) -> _Closing:
    """``reader``, its close registered as a failure cleanup (its read-ahead threads stop)."""
    coordinator.add_failure_cleanup(lambda _cause: reader.close())
    return reader


def _verified(session: SessionLike, path: str, writer: Writer, sink: DownloadSink, result: CopyResult) -> str:
    """The zone's checksum (HTTP), checked against ``result``, while the sink flushes, closes and checks
    its temporary (:func:`_finish`)."""
    checksum, _ = alongside(
        lambda: verify_checksum(session, path, result, learn=False),  # the source's checksum taught already
        lambda: _finish(writer, sink, result),
        name="download-alongside",
    )
    return checksum


def _finish(writer: Writer, sink: DownloadSink, result: CopyResult) -> None:
    """Close the writer (every write acknowledged) and let the sink check its temporary."""
    writer.close()
    sink.verify(result.sha256.hex())


def _decide(
    path: str,
    st: DataObjectStatLike,
    checksum: str,
    there: DestinationState,
    *,
    skip: SkipPolicy,
    overwrite: OverwritePolicy,
    operation: str,
    cfg: TransferConfig,
) -> FileResult | None:
    """The engine's one policy decision on the sink's one answer: the skip result, None to copy; raises a
    refusal (a link or directory at the final path, or an existing file under REFUSE that an earlier try of
    the task did not publish from these bytes)."""
    decision = decide(
        skip=skip,
        overwrite=overwrite,
        destination=there,
        source_size=st.size,
        source_checksum=stored_checksum(checksum, lambda: checksum),
        operation=operation,
        earlier=cfg.earlier_copy(there.path),
    )
    if isinstance(decision, Refuse):
        decision.raise_error()
    if not isinstance(decision, Skip):
        return None
    return FileResult(
        source=path,
        destination=there.path,
        status=FileStatus.SKIPPED,
        size=st.size,
        checksum=checksum,
        reason=decision.reason,
    )


def _stream(
    reader: ParallelReader,
    writer: Writable,
    *,
    config: TransferConfig,
    hasher: StreamHasher,
    cancel_event: threading.Event | None,
) -> CopyResult:
    """Copy what ``reader`` reads into ``writer``, hashing what passes (after a resumed prefix)."""
    return copy(
        reader,
        writer,
        chunk_size=config.chunk_size,
        hasher=hasher,
        cancel_event=cancel_event,
        report_progress=False,
    )


class _Discard:
    """A sink that drops what it is given (the bytes only feed a hasher)."""

    def write(self, data: bytes | bytearray | memoryview) -> int:
        return len(data)


def irods_prefix_sha256(session: SessionLike, path: str, length: int) -> bytes:
    """SHA-256 of the first ``length`` bytes of the data object ``path`` (to verify a resumed prefix)."""
    hasher = StreamHasher()
    with open_reader(session, path, offset=0, size=length) as reader:
        copy(reader, _Discard(), hasher=hasher, limit=length, report_progress=False)
    return hasher.result().sha256
