"""Downloading one data object to a local file: preallocated, positional writes, verified, atomic rename."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from irods_provider.exceptions import IrodsError

from ._alias import source_stat
from ._api import DataObjectStatLike, SessionLike
from ._config import OverwritePolicy, SkipPolicy, TransferConfig
from ._coordinator import TransferCoordinator, TransferSubscriber
from ._copy import (
    CopyResult,
    hasher_for,
    verify_checksum,
    with_server_checksum,
)
from ._endpoints import DownloadSink
from ._integrity import create_exclusive, local_error
from ._localdir import TargetDir
from ._policy import (
    SAME_CHECKSUM,
    DestinationState,
    Refuse,
    Skip,
    decide,
    local_destination,
    stored_checksum,
)
from ._reader import ParallelReader
from ._report import FileResult, FileStatus
from ._sink_download import download_to_sink
from ._writer import _effective_config


def parallel_download(
    session: SessionLike,
    path: str,
    local_path: str | os.PathLike[str],
    *,
    config: TransferConfig | None = None,
    streams: int | None = None,
    chunk_size: int | None = None,
    size: int | None = None,
    verify: bool = True,
    subscribers: Sequence[TransferSubscriber] = (),
    cancel_event: threading.Event | None = None,
    exclusive: bool = False,
) -> CopyResult:
    """Download ``path`` into ``local_path`` (preallocated; ranged reads written at their offsets by the
    workers). ``exclusive`` creates ``local_path`` with ``O_EXCL | O_NOFOLLOW`` (a temporary file: nothing,
    a planted symlink included, may be there).

    Bytes are hashed in order as chunks complete and compared with the server's checksum when ``verify``.
    Writes ``local_path`` directly: :func:`download_object` adds policies and an atomic rename. A file
    created ``exclusive`` is removed if the download fails.
    """
    cfg = _effective_config(session, config, streams=streams, chunk_size=chunk_size, reads=True)
    stored: str | None = None
    learn = False  # a checksum the server computes now teaches the zone's scheme, a stored one does not
    if size is None:
        st = source_stat(session, path)
        size, stored, learn = st.size, st.checksum, st.checksum is None
    coordinator = TransferCoordinator(path=path, subscribers=subscribers, cancel_event=cancel_event)
    try:
        if exclusive:
            fd = create_exclusive(os.fspath(local_path))
            coordinator.add_failure_cleanup(lambda _cause: _unlink(Path(local_path)))
        else:
            fd = os.open(local_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            result = _download_into(
                session,
                path,
                fd,
                cfg=cfg,
                size=size,
                verify=verify,
                coordinator=coordinator,
                stored=stored,
                learn=learn,
            )
        finally:
            os.close(fd)
    except BaseException as exc:
        coordinator.run_failure_cleanups(exc)
        raise
    coordinator.succeed()
    return result


def _download_into(
    session: SessionLike,
    path: str,
    fd: int,
    *,
    cfg: TransferConfig,
    size: int,
    verify: bool,
    coordinator: TransferCoordinator,
    stored: str | None,
    learn: bool,
) -> CopyResult:
    """:func:`parallel_download`'s body under ``coordinator``: ``path`` written into the open ``fd``
    (which the caller closes), hashed in order (in the scheme of ``stored``, the source's stored checksum,
    when there is one) and verified (``learn``: the answer teaches the zone's scheme)."""
    coordinator.queued(size)
    hasher = hasher_for(cfg.checksum_scheme, session, path, stored=stored)
    try:
        os.ftruncate(fd, size)

        def put(offset: int, data: bytes) -> None:
            os.pwrite(fd, data, offset)

        with ParallelReader(
            session, path, config=cfg, size=size, coordinator=coordinator, on_fetched=put
        ) as reader:
            while chunk := reader.read_chunk():
                hasher.update(chunk)
                if coordinator.cancel_event.is_set():
                    coordinator.raise_if_failed()
        result = hasher.result()
        if verify:
            result = with_server_checksum(result, verify_checksum(session, path, result, learn=learn))
    except BaseException as exc:
        coordinator.done(exc)
        raise
    coordinator.done(None)
    return result


def download_object(
    session: SessionLike,
    path: str,
    destination: str | os.PathLike[str] | DownloadSink,
    *,
    config: TransferConfig | None = None,
    overwrite: OverwritePolicy = OverwritePolicy.REFUSE,
    skip: SkipPolicy = SkipPolicy.NEVER,
    dry_run: bool = False,
    verify: bool = True,
    resume: bool = True,
    subscribers: Sequence[TransferSubscriber] = (),
    cancel_event: threading.Event | None = None,
    operation: str = "download",
    local_root: str | os.PathLike[str] | None = None,
) -> FileResult:
    """Download ``path`` to ``destination`` via a hidden temporary, verified, then renamed into place.

    A local path (the caller is responsible for it being safe; ``download_files`` checks it) is written by
    positional, preallocated writes of the ranged reads (:func:`parallel_download`). With ``local_root``
    (the target directory ``destination`` lies in) every directory below it is opened at write time
    without following links (:class:`~._localdir.TargetDir`): a symlink swapped in after the plan is
    refused, never written through. Local errors (disk full, permission, a file in the way) are typed,
    naming the local path and ``path``. A
    :class:`~._endpoints.DownloadSink` (an SFTP file, ...) is streamed into in order, resumed from its
    verified prefix with ``resume`` (see :func:`~._sink_download.download_to_sink`; ``verify`` is always on
    there). Either way the skip and overwrite policies are decided once, in :func:`~._policy.decide`.
    """
    if not isinstance(destination, str | os.PathLike):
        return download_to_sink(
            session,
            path,
            destination,
            config=config,
            overwrite=overwrite,
            skip=skip,
            dry_run=dry_run,
            resume=resume,
            subscribers=subscribers,
            cancel_event=cancel_event,
            operation=operation,
        )
    return _download_local(
        session,
        path,
        Path(destination),
        root=local_root,
        config=config,
        overwrite=overwrite,
        skip=skip,
        dry_run=dry_run,
        verify=verify,
        subscribers=subscribers,
        cancel_event=cancel_event,
    )


def _download_local(
    session: SessionLike,
    path: str,
    local: Path,
    *,
    root: str | os.PathLike[str] | None,
    config: TransferConfig | None,
    overwrite: OverwritePolicy,
    skip: SkipPolicy,
    dry_run: bool,
    verify: bool,
    subscribers: Sequence[TransferSubscriber],
    cancel_event: threading.Event | None,
) -> FileResult:
    """A local destination: a temporary sibling written at offsets, verified, renamed into place, all
    relative to its parent directory held open (:class:`~._localdir.TargetDir`)."""
    cfg = _effective_config(session, config, reads=True)
    started = time.monotonic()
    st = source_stat(session, path)  # the catalog's answer for a '+' path (no GET can address it)
    try:
        with TargetDir(local, root, operation="download") as target:
            decided = _decide_local(
                session, path, st, target, cfg=cfg, skip=skip, overwrite=overwrite, dry_run=dry_run
            )
            if decided is not None:
                return decided
            target.open(create=True)
            result = _write_local(
                session,
                path,
                st,
                target,
                cfg=cfg,
                verify=verify,
                overwrite=overwrite,
                subscribers=subscribers,
                cancel_event=cancel_event,
            )
    except OSError as exc:
        if isinstance(exc, IrodsError):
            raise
        doing = f"cannot download {path} to {local}"
        raise local_error(exc, path=str(local), doing=doing, operation="download") from exc
    return FileResult(
        source=path,
        destination=str(local),
        status=FileStatus.TRANSFERRED,
        size=result.size,
        checksum=result.irods_checksum,
        seconds=time.monotonic() - started,
    )


def _write_local(
    session: SessionLike,
    path: str,
    st: DataObjectStatLike,
    target: TargetDir,
    *,
    cfg: TransferConfig,
    verify: bool,
    overwrite: OverwritePolicy,
    subscribers: Sequence[TransferSubscriber],
    cancel_event: threading.Event | None,
) -> CopyResult:
    """Write ``path`` (``st``: its size and stored checksum) into a new temporary in ``target``, verify it,
    publish it, drop stale temporaries.

    The temporary's removal is registered where it is created; it runs on any failure up to and
    including the publish.
    """
    coordinator = TransferCoordinator(path=path, subscribers=subscribers, cancel_event=cancel_event)
    try:
        temp, fd, new_mode = target.create_temp()
        coordinator.add_failure_cleanup(lambda _cause: target.unlink(temp))
        try:
            result = _download_into(
                session,
                path,
                fd,
                cfg=cfg,
                size=st.size,
                verify=verify,
                coordinator=coordinator,
                stored=st.checksum,
                learn=st.checksum is None,
            )
            replace = overwrite is not OverwritePolicy.REFUSE
            target.publish(temp, fd, new_mode=new_mode, replace=replace)
        finally:
            os.close(fd)
    except BaseException as exc:
        coordinator.run_failure_cleanups(exc)
        raise
    coordinator.succeed()
    target.remove_stale_temporaries()
    return result


def _decide_local(
    session: SessionLike,
    path: str,
    st: DataObjectStatLike,
    target: TargetDir,
    *,
    cfg: TransferConfig,
    skip: SkipPolicy,
    overwrite: OverwritePolicy,
    dry_run: bool,
) -> FileResult | None:
    """The skip or dry-run result, None to download; refuses a symlinked, directory or other non-file
    destination and, under REFUSE, an existing one (:func:`~._policy.decide` over one ``lstat`` in the
    opened parent; a parent not there yet means nothing is there, and nothing is created)."""
    local = target.local
    if target.open(create=False):
        state = local_destination(local, chunk_size=cfg.chunk_size, dir_fd=target.fd)
    else:
        state = DestinationState.absent(str(local))
    source = stored_checksum(st.checksum, lambda: session.data_objects.calculate_checksum(path))
    decision = decide(
        skip=skip,
        overwrite=overwrite,
        destination=state,
        source_size=st.size,
        source_checksum=source,
        operation="download",
        earlier=cfg.earlier_copy(str(local)),
    )
    if isinstance(decision, Refuse):
        decision.raise_error()
    if isinstance(decision, Skip):
        return FileResult(
            source=path,
            destination=str(local),
            status=FileStatus.SKIPPED,
            size=st.size,
            checksum=decision.checksum or (source(None) if decision.reason == SAME_CHECKSUM else st.checksum),
            reason=decision.reason,
        )
    if dry_run:
        return FileResult(source=path, destination=str(local), status=FileStatus.PLANNED, size=st.size)
    return None


def _unlink(temp: Path) -> None:
    """Remove the temporary ``temp`` if it is there (unlink never follows a link)."""
    with contextlib.suppress(FileNotFoundError):
        temp.unlink()
