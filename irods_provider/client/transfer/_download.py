"""Downloading one data object to a local file: preallocated, positional writes, verified, atomic rename."""

from __future__ import annotations

import contextlib
import os
import stat
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from irods_provider.client._paths import is_temporary_name
from irods_provider.exceptions import IrodsAlreadyExistsError, IrodsSymlinkError

from ._api import DataObjectStatLike, SessionLike
from ._config import OverwritePolicy, SkipPolicy, TransferConfig
from ._coordinator import TransferCoordinator, TransferSubscriber
from ._copy import (
    CopyResult,
    hasher_for,
    learn_checksum_scheme,
    verify_checksum,
    with_server_checksum,
)
from ._endpoints import DownloadSink
from ._integrity import check_final_destination, create_exclusive
from ._policy import Refuse, Skip, decide, local_destination, stored_checksum
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
    if size is None:
        size = session.data_objects.stat(path).size
    coordinator = TransferCoordinator(path=path, subscribers=subscribers, cancel_event=cancel_event)
    try:
        result = _download_into(
            session,
            path,
            local_path,
            cfg=cfg,
            size=size,
            verify=verify,
            coordinator=coordinator,
            exclusive=exclusive,
        )
    except BaseException as exc:
        coordinator.run_failure_cleanups(exc)
        raise
    coordinator.succeed()
    return result


def _download_into(
    session: SessionLike,
    path: str,
    local_path: str | os.PathLike[str],
    *,
    cfg: TransferConfig,
    size: int,
    verify: bool,
    coordinator: TransferCoordinator,
    exclusive: bool,
) -> CopyResult:
    """:func:`parallel_download`'s body under ``coordinator``: a file created ``exclusive`` registers its
    removal as a failure cleanup there, which the owner of the transfer runs (or drops on success)."""
    coordinator.queued(size)
    hasher = hasher_for(cfg.checksum_scheme, session, path)
    if exclusive:
        fd = create_exclusive(os.fspath(local_path))
        coordinator.add_failure_cleanup(lambda _cause: _unlink(Path(local_path)))
    else:
        fd = os.open(local_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
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
            result = with_server_checksum(result, verify_checksum(session, path, result))
    except BaseException as exc:
        coordinator.done(exc)
        raise
    finally:
        os.close(fd)
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
) -> FileResult:
    """Download ``path`` to ``destination`` via a hidden temporary, verified, then renamed into place.

    A local path (the caller is responsible for it being safe; ``download_files`` checks it) is written by
    positional, preallocated writes of the ranged reads (:func:`parallel_download`). A
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
    config: TransferConfig | None,
    overwrite: OverwritePolicy,
    skip: SkipPolicy,
    dry_run: bool,
    verify: bool,
    subscribers: Sequence[TransferSubscriber],
    cancel_event: threading.Event | None,
) -> FileResult:
    """A local destination: a temporary sibling written at offsets, verified, renamed into place."""
    cfg = _effective_config(session, config, reads=True)
    started = time.monotonic()
    st = session.data_objects.stat(path)
    learn_checksum_scheme(session, path, st.checksum)  # hash only the zone's scheme when it is stored
    decided = _decide_local(
        session, path, st, local, cfg=cfg, skip=skip, overwrite=overwrite, dry_run=dry_run
    )
    if decided is not None:
        return decided
    local.parent.mkdir(parents=True, exist_ok=True)
    temp = local.with_name(f".{local.name}.irods-part-{uuid.uuid4().hex[:12]}")
    # The temporary's removal is registered where it is created (:func:`_download_into`); it runs on
    # any failure up to and including the publish.
    coordinator = TransferCoordinator(path=path, subscribers=subscribers, cancel_event=cancel_event)
    try:
        result = _download_into(
            session,
            path,
            temp,
            cfg=cfg,
            size=st.size,
            verify=verify,
            coordinator=coordinator,
            exclusive=True,
        )
        _publish_local(temp, local, replace=overwrite is not OverwritePolicy.REFUSE)
    except BaseException as exc:
        coordinator.run_failure_cleanups(exc)
        raise
    coordinator.succeed()
    _remove_stale_temporaries(local)
    return FileResult(
        source=path,
        destination=str(local),
        status=FileStatus.TRANSFERRED,
        size=result.size,
        checksum=result.irods_checksum,
        seconds=time.monotonic() - started,
    )


def _decide_local(
    session: SessionLike,
    path: str,
    st: DataObjectStatLike,
    local: Path,
    *,
    cfg: TransferConfig,
    skip: SkipPolicy,
    overwrite: OverwritePolicy,
    dry_run: bool,
) -> FileResult | None:
    """The skip or dry-run result, None to download; refuses a symlinked or directory destination and,
    under REFUSE, an existing one (:func:`~._policy.decide` over one ``lstat`` of ``local``)."""
    decision = decide(
        skip=skip,
        overwrite=overwrite,
        destination=local_destination(local, chunk_size=cfg.chunk_size),
        source_size=st.size,
        source_checksum=stored_checksum(st.checksum, lambda: session.data_objects.calculate_checksum(path)),
        operation="download",
    )
    if isinstance(decision, Refuse):
        decision.raise_error()
    if isinstance(decision, Skip):
        return FileResult(
            source=path,
            destination=str(local),
            status=FileStatus.SKIPPED,
            size=st.size,
            checksum=st.checksum,
            reason=decision.reason,
        )
    if dry_run:
        return FileResult(source=path, destination=str(local), status=FileStatus.PLANNED, size=st.size)
    return None


def _publish_local(temp: Path, local: Path, *, replace: bool = True) -> None:
    """Rename the verified ``temp`` onto ``local``, refusing a symlink or directory planted there and a
    temporary swapped for something else (both checked with ``lstat`` right before the rename).

    Without ``replace`` (REFUSE) it publishes by a hard link, which never replaces: a file that appeared
    during the download is refused (:class:`IrodsAlreadyExistsError`), never overwritten. Where the file
    system has no hard links the ``lstat`` just before is the check.
    """
    check_final_destination(str(local))
    st = os.lstat(temp)
    if not stat.S_ISREG(st.st_mode):
        raise IrodsSymlinkError("the temporary file was replaced before publishing", path=str(temp))
    if replace:
        os.replace(temp, local)
        return
    try:
        os.link(temp, local)
    except FileExistsError as exc:
        raise IrodsAlreadyExistsError(
            f"{local} appeared during the download and the overwrite policy is REFUSE",
            operation="download",
            path=str(local),
        ) from exc
    except OSError:  # no hard links here (EPERM, ENOTSUP, EXDEV): checked just above
        os.replace(temp, local)
        return
    os.unlink(temp)


def _unlink(temp: Path) -> None:
    """Remove the temporary ``temp`` if it is there (unlink never follows a link)."""
    with contextlib.suppress(FileNotFoundError):
        temp.unlink()


def _remove_stale_temporaries(local: Path) -> None:
    """Remove the temporary siblings of ``local`` that killed earlier attempts left (``kill -9`` runs no
    cleanup), now that ``local`` holds the verified content: no partial file survives a successful retry.

    Only regular files named ``.<name>.irods-part-<hex>`` (checked with ``lstat``; a link is never followed)
    go. A concurrent download onto the same ``local`` would lose its temporary and fail: it was racing this
    one for the same destination anyway.
    """
    prefix = f".{local.name}.irods-part-"
    try:
        names = [n for n in os.listdir(local.parent) if n.startswith(prefix)]
    except OSError:
        return
    for name in names:
        stale = local.parent / name
        with contextlib.suppress(OSError):
            if is_temporary_name(name) and stat.S_ISREG(os.lstat(stale).st_mode):
                stale.unlink()
