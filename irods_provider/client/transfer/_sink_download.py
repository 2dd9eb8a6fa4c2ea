"""Downloading one data object into a streaming sink (:class:`~._endpoints.DownloadSink`, e.g. a file on an
SFTP server): the one skip/overwrite decision, resume from a verified prefix, read-ahead streamed into the
sink's writer, the zone's checksum and the sink's own check, then an atomic publish.

:func:`~._download.download_object` calls :func:`download_to_sink` when its destination is a sink rather
than a local path. No paramiko here: each sink kind lives with its transport (``irods_provider.sftp``).
"""

from __future__ import annotations

import dataclasses
import functools
import threading
import time
from collections.abc import Callable, Sequence

from ._api import DataObjectStatLike, SessionLike
from ._config import OverwritePolicy, SkipPolicy, TransferConfig
from ._coordinator import TransferCoordinator, TransferSubscriber
from ._copy import (
    CopyResult,
    StreamHasher,
    alongside,
    copy,
    hasher_for,
    learn_checksum_scheme,
    verify_checksum,
)
from ._endpoints import DownloadSink, PrefixCheck, Writer
from ._policy import DestinationState, Refuse, Skip, decide, stored_checksum
from ._reader import ParallelReader, open_reader
from ._report import FileResult, FileStatus
from ._resume import resume_key
from ._writer import _effective_config

__all__ = ["download_to_sink", "irods_prefix_sha256"]


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
) -> FileResult:
    """Stream ``path`` into ``sink``'s temporary, verified, then published (see :class:`DownloadSink`).

    With ``resume`` a temporary an earlier attempt left is continued once its bytes hash like the
    source's first bytes, and a failure keeps the temporary (but for a checksum mismatch or a refused
    final path); without it every failure discards it. Under REFUSE a destination that appeared during
    the copy is refused (and the temporary discarded).
    """
    started = time.monotonic()
    # The destination's one answer (SFTP round trips) while the zone answers for the source (HTTP).
    there, (cfg, st, checksum) = alongside(
        sink.destination_state, lambda: _source_version(session, path, config), name="download-alongside"
    )
    decided = _decide(path, st, checksum, there, skip=skip, overwrite=overwrite, operation=operation)
    if decided is None and dry_run:
        decided = FileResult(source=path, destination=sink.name, status=FileStatus.PLANNED, size=st.size)
    if decided is not None:
        return decided
    key = resume_key("download", path, st.size, checksum)
    prefix = PrefixCheck(
        hasher_for(cfg.checksum_scheme, session, path),
        functools.partial(irods_prefix_sha256, session, path),
    )
    reader = functools.partial(
        _reader, session, path, cfg, size=st.size, subscribers=subscribers, cancel_event=cancel_event
    )
    # Each cleanup (the readers', the temporary's) is registered where it is created; run once on failure.
    coordinator = TransferCoordinator(path=path, cancel_event=cancel_event)
    try:
        writer, offset, source = _open(
            sink, reader, coordinator, size=st.size, key=key, resume=resume, prefix=prefix, config=cfg
        )
        hasher = prefix.hasher
        if offset == 0 and hasher.count:  # a resumable temporary was refused after hashing it: afresh
            hasher = hasher_for(cfg.checksum_scheme, session, path)
        with source:
            result = _stream(source, writer, config=cfg, hasher=hasher, cancel_event=cancel_event)
        checksum = _verified(session, path, writer, sink, result)
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


def _source_version(
    session: SessionLike, path: str, config: TransferConfig | None
) -> tuple[TransferConfig, DataObjectStatLike, str]:
    """The configuration within the server's limits, the data object's stat and its checksum (computed
    by the server when none is stored)."""
    cfg = _effective_config(session, config)
    st = session.data_objects.stat(path)
    checksum = st.checksum or session.data_objects.calculate_checksum(path)
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
) -> tuple[Writer, int, ParallelReader]:
    """The sink's temporary and a reader (``reader(offset=...)``) from the offset it continues at; both
    register their failure cleanups with ``coordinator`` (the reader's close, the temporary's).

    With no temporary to resume, the first ranged reads from byte 0 go out before the temporary opens:
    their latencies overlap. Into a single connection the sink is the slower leg, so the reader keeps
    one chunk per stream (more only holds memory); a parallel writer outruns the iRODS streams, which
    then read ``config.queue_depth`` chunks per stream ahead, as configured.
    """
    primed = None if resume and sink.resumable(key) else _registered(reader(offset=0), coordinator)
    if primed is not None:
        primed.start()
    writer, offset = sink.open_temp(size=size, key=key, resume=resume, prefix=prefix, coordinator=coordinator)
    if primed is None or offset:
        if primed is not None:
            primed.close()
        primed = _registered(reader(offset=offset), coordinator)
    if sink.parallel:
        primed.read_further_ahead(config.queue_depth)
    return writer, offset, primed


def _registered(reader: ParallelReader, coordinator: TransferCoordinator) -> ParallelReader:
    """``reader``, its close registered as a failure cleanup (its read-ahead threads stop)."""
    coordinator.add_failure_cleanup(lambda _cause: reader.close())
    return reader


def _verified(session: SessionLike, path: str, writer: Writer, sink: DownloadSink, result: CopyResult) -> str:
    """The zone's checksum (HTTP), checked against ``result``, while the sink flushes, closes and checks
    its temporary (:func:`_finish`)."""
    checksum, _ = alongside(
        lambda: verify_checksum(session, path, result),
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
) -> FileResult | None:
    """The engine's one policy decision on the sink's one answer: the skip result, None to copy; raises a
    refusal (a link or directory at the final path, or an existing file under REFUSE)."""
    decision = decide(
        skip=skip,
        overwrite=overwrite,
        destination=there,
        source_size=st.size,
        source_checksum=stored_checksum(checksum, lambda: checksum),
        operation=operation,
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
    writer: Writer,
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
