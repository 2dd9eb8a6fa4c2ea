"""Stage files from an SFTP server into iRODS chunk by chunk: no temporary file, verified, atomic."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import posixpath
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from irods_provider._values import parse_avus, refuse_unaddressable
from irods_provider.client import AVU
from irods_provider.client.transfer import (
    FileResult,
    FileStatus,
    LoggingProgressSubscriber,
    OverwritePolicy,
    SkipPolicy,
    StreamHasher,
    TransferConfig,
    upload_object,
)
from irods_provider.client.transfer._integrity import wait_until_stable
from irods_provider.client.transfer._plan import Destination, plan_copies
from irods_provider.client.transfer._policy import (
    DestinationState,
    Refuse,
    Write,
    decide,
    hashed_checksum,
    irods_destination,
)
from irods_provider.exceptions import (
    IrodsNotFoundError,
    IrodsSourceChangedError,
    IrodsUsageError,
)
from irods_provider.operators._base import check_path
from irods_provider.sftp._checksum import hash_sftp_file, sftp_checksum
from irods_provider.sftp._endpoint import SftpEndpoint, close_quietly
from irods_provider.sftp._integrity import SftpState, open_source, sftp_probe, source_change
from irods_provider.sftp._io import ParallelSftpRangeReader, SftpRangeReader
from irods_provider.sftp._tree import SftpTree
from irods_provider.transfers._selection import as_list, safe_relative
from irods_provider.transfers._staging import PlannedCopy, SftpStagingOperator

if TYPE_CHECKING:
    import paramiko
    from airflow.sdk import Context

    from irods_provider.client import IrodsSession

__all__ = ["SFTPToIrodsOperator"]


class _ChunkStream:
    """A readable over an iterator of in-order chunks (what the parallel SFTP range reader yields)."""

    def __init__(self, chunks: Iterator[bytes], name: str = "<sftp>") -> None:
        self._chunks = chunks
        self._rest = b""
        self.name = name

    def read_chunk(self) -> bytes:
        """The next chunk as it came (``b""`` at the end): the engine's zero-copy path."""
        if self._rest:
            data, self._rest = self._rest, b""
            return data
        return next(self._chunks, b"")

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (everything left when negative)."""
        if n < 0:
            return self._rest + b"".join(self._chunks)
        if not self._rest:
            self._rest = next(self._chunks, b"")
        data, self._rest = self._rest[:n], self._rest[n:]
        return data


class SFTPToIrodsOperator(SftpStagingOperator):
    """Copy files from an SFTP server into iRODS, streaming chunks straight into parallel writes.

    Nothing touches the worker's disk: memory stays bounded by streams x chunk size per file. Each object is
    written under a temporary name, its server checksum is compared with the SHA-256 of the bytes read from
    SFTP, ``metadata`` is applied, and only then is it renamed into place. Returns the transfer report (XCom).

    A single file goes to ``destination_path`` itself unless that is an existing collection or ends with
    ``/``; directories, globs and lists go below the collection ``destination_path``, keeping their paths
    relative to the directory (or the glob's literal base). See :class:`SftpStagingOperator` for the common
    arguments and for lineage (OpenLineage facets, hook lineage, ``outlets=[Asset("irods://<zone>/<path>")]``).

    Example:

    ```python
    from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

    ingest = SFTPToIrodsOperator(
        task_id="ingest",
        source_path="/outbox/{{ ds }}/*.csv",
        glob=True,
        destination_path="/tempZone/home/alice/incoming/{{ ds }}/",
        sftp_conn_id="instrument_sftp",
        move=True,
    )
    ```

    :param metadata: AVUs (attribute → value) set on every object before it is published.
    :param sftp_range_readers: SFTP channels reading byte ranges of one file at once (1 = one prefetched
        stream), spread over the ``sftp_connections``; bytes are still hashed in order. Default: one per
        SSH connection.
    :param resource: root resource the objects are written to (default: the connection's
        ``default_resource``, else the server's default).
    :param follow_symlinks: copy files behind symbolic links. Default False: links inside directories and
        globs are skipped, a source that is (or is swapped for) a link fails with ``IrodsSymlinkError``.
    :param wait_stable_seconds: before copying a file, wait until its size and mtime have not changed for
        this long (job outputs still being written). Either way a file that changes while it is copied is
        never published: it fails with ``IrodsSourceChangedError`` and its temporary object is removed.

    Each file is ``lstat``-ed right before it is opened and the open handle's attributes (type, size,
    mtime, owner, permissions) must match that and the listing, so a file swapped after the listing is
    refused; after the last read the handle and the path are checked again. SFTP mtimes have whole-second
    resolution: a same-size rewrite within the second of the listing is not detectable over SFTP.
    """

    template_fields: Sequence[str] = (*SftpStagingOperator.template_fields, "metadata", "resource")
    template_fields_renderers = {"metadata": "json"}
    writes_to_irods = True

    def __init__(
        self,
        *,
        metadata: Mapping[str, str] | None = None,
        sftp_range_readers: int | None = None,
        follow_symlinks: bool = False,
        wait_stable_seconds: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.metadata = metadata
        self.sftp_range_readers = sftp_range_readers
        self.follow_symlinks = follow_symlinks
        self.wait_stable_seconds = wait_stable_seconds

    def run(self, session: IrodsSession, context: Context) -> dict[str, Any]:
        overwrite, skip = self.policies()
        config = self.transfer_config()
        sources = as_list("source_path", self.source_path)
        destination = refuse_unaddressable(
            "destination_path", check_path("destination_path", self.destination_path)
        )
        metadata = [AVU(a, v, u) for a, v, u in parse_avus(self.metadata, allow_empty=True)]
        with self.endpoint() as sftp:
            plan = self._plan(sftp, session, sources, destination)
            if not plan and self.fail_if_empty:
                raise IrodsNotFoundError(f"no SFTP file matches {sources}", operation="sftp_to_irods")
            self.check_unique(plan)
            for planned in plan:
                refuse_unaddressable("a planned destination", planned.destination)
            for collection in sorted({posixpath.dirname(p.destination) for p in plan}):
                session.collections.create(collection, intermediates=True, exist_ok=True)
            self.log.info("Staging %d file(s) from SFTP %s into iRODS %s", len(plan), sources, destination)
            one = functools.partial(
                self._stage,
                sftp,
                session,
                config=config,
                overwrite=overwrite,
                skip=skip,
                metadata=metadata,
                progress=self.plan_progress(plan),
            )
            report = self.run_recorded(
                plan, one, workers=config.max_concurrent_files, sftp=sftp, upload=True, context=context
            )
            with sftp.channel() as client:
                self.prune_moved(report, plan, client.rmdir)
        return self.finish(
            report, direction="SFTP -> iRODS", name="sftp_to_irods", destination=destination, session=session
        )

    # -- planning --------------------------------------------------------------------------------------

    def _plan(
        self, sftp: SftpEndpoint, session: IrodsSession, sources: list[str], destination: str
    ) -> list[PlannedCopy]:
        """The one planner over the SFTP server: a single file goes to ``destination`` itself unless that
        ends with ``/`` or is an existing collection."""

        def missing(raw: str, path: str) -> IrodsNotFoundError:
            message = self.missing_source("SFTP source", raw)
            return IrodsNotFoundError(message, operation="sftp_to_irods", path=path)

        with sftp.channel() as client:
            plan = plan_copies(
                SftpTree(sftp, client),
                sources,
                Destination.of(str(self.destination_path), destination),
                place=lambda relative: f"{destination}/{safe_relative(relative)}",
                missing=missing,
                is_directory=session.collections.exists,
                recursive=bool(self.recursive),
                follow_symlinks=bool(self.follow_symlinks),
                glob=bool(self.glob),
                operation="sftp_to_irods",
            )
        return plan.files

    # -- one file --------------------------------------------------------------------------------------

    def _stage(
        self,
        sftp: SftpEndpoint,
        session: IrodsSession,
        item: PlannedCopy,
        *,
        config: TransferConfig,
        overwrite: OverwritePolicy,
        skip: SkipPolicy,
        metadata: list[AVU],
        progress: LoggingProgressSubscriber,
    ) -> FileResult:
        # A skip policy is decided here, once, before the source is opened: the SFTP server hashes its file
        # itself (upload_object would have to re-read the stream, which cannot seek). upload_object is then
        # told what was found (``known``, no second stat) with NEVER, the verdict (nothing to skip) already
        # in: it only enforces the overwrite policy, and its publishing rename still refuses a destination
        # that appeared meanwhile under REFUSE. Without a skip policy upload_object decides alone.
        known = None
        if skip is not SkipPolicy.NEVER:
            known = irods_destination(session, item.destination)
            skipped = self._skipped(sftp, item, known, skip=skip, overwrite=overwrite)
            if skipped is not None:
                return skipped
            skip = SkipPolicy.NEVER
        with sftp.channel() as client, self._open_source(sftp, client, item, config) as opened:
            source, check, size = opened
            result = upload_object(
                session,
                cast("Any", source),
                item.destination,
                config=config,
                overwrite=overwrite,
                skip=skip,
                metadata=metadata,
                resume=self.resume,
                resume_key=self._resume_key(sftp, item),
                size=size,
                subscribers=(progress,),
                cancel_event=self.cancel_event,
                source_check=check,
                known=known,
            )
            if self.move and result.status is FileStatus.TRANSFERRED:
                change = check()
                if change is None:
                    client.remove(item.source)
                else:  # a newer version (or another file) is there now: never delete what was not copied
                    self.log.warning("Not removing %s after the copy: it changed (%s)", item.source, change)
        return dataclasses.replace(result, source=item.source)

    @contextlib.contextmanager
    def _open_source(
        self, sftp: SftpEndpoint, client: paramiko.SFTPClient, item: PlannedCopy, config: TransferConfig
    ) -> Iterator[tuple[object, Callable[[], str | None], int]]:
        """The source as a stream, its after-the-last-read change check (see :mod:`._sftp_integrity`) and
        its size when opened."""
        chosen = self.sftp_range_readers
        readers = sftp.connections if chosen is None else int(chosen)  # one per SSH connection by default
        if readers < 1:
            raise IrodsUsageError(f"sftp_range_readers must be >= 1, got {readers}")
        listed_size, listed_mtime = item.size, item.mtime
        if self.wait_stable_seconds:
            probe = sftp_probe(client, item.source, follow_symlinks=bool(self.follow_symlinks))
            listed_size, listed_mtime = wait_until_stable(
                probe, float(self.wait_stable_seconds), path=item.source, cancel_event=self.cancel_event
            )
        handle, opened = open_source(
            client,
            item.source,
            listed_size=listed_size,
            listed_mtime=listed_mtime,
            follow_symlinks=bool(self.follow_symlinks),
        )
        follow = bool(self.follow_symlinks)

        def check() -> str | None:
            return source_change(client, handle, item.source, opened, follow_symlinks=follow)

        size = opened.size or 0
        try:
            if readers == 1 or size <= config.chunk_size:
                reader = SftpRangeReader(handle, offset=0, length=size)
                reader.name = item.source
                try:
                    yield reader, check, size
                finally:
                    close_quietly(reader)
                return

            with _ranged_stream(
                sftp, item.source, opened, readers=readers, size=size, chunk_size=config.chunk_size
            ) as stream:
                yield stream, check, size
        finally:
            close_quietly(handle)

    @staticmethod
    def _resume_key(sftp: SftpEndpoint, item: PlannedCopy) -> str:
        # The configured server, not the socket's peer: stable across reconnects, and no call on a socket
        # that may just have dropped.
        hook = sftp.hook
        host, port = getattr(hook, "remote_host", None), getattr(hook, "port", None)
        ident = f"{host}:{port}|{item.source}|{item.size}|{item.mtime}|{item.destination}"
        return hashlib.sha256(ident.encode()).hexdigest()[:16]

    def _skipped(
        self,
        sftp: SftpEndpoint,
        item: PlannedCopy,
        known: DestinationState,
        *,
        skip: SkipPolicy,
        overwrite: OverwritePolicy,
    ) -> FileResult | None:
        """The engine's one policy decision on ``known``: the skip result, None to copy (raises a refusal).

        The source's checksum, only needed when CHECKSUM meets equal sizes, is taken in the zone's scheme
        by ``sha256sum``/``md5sum`` on the SFTP server when it runs commands, else read through SFTP.
        """

        def hash_here(hasher: StreamHasher) -> StreamHasher:
            with sftp.channel() as client:
                return hash_sftp_file(client, item.source, hasher=hasher)

        decision = decide(
            skip=skip,
            overwrite=overwrite,
            destination=known,
            source_size=item.size,
            source_checksum=hashed_checksum(
                lambda scheme: sftp_checksum(sftp, item.source, scheme, hash_here)
            ),
            operation="sftp_to_irods",
        )
        if isinstance(decision, Refuse):
            decision.raise_error()
        if isinstance(decision, Write):
            return None
        return FileResult(
            source=item.source,
            destination=item.destination,
            status=FileStatus.SKIPPED,
            size=item.size,
            reason=decision.reason,
        )


@contextlib.contextmanager
def _ranged_stream(
    sftp: SftpEndpoint, source: str, opened: SftpState, *, readers: int, size: int, chunk_size: int
) -> Iterator[_ChunkStream]:
    """``source`` read by ``readers`` parallel range readers spread over the SSH connections, each handle
    checked to be the file first opened (``opened``)."""

    def same_file(other: paramiko.SFTPFile) -> None:
        change = opened.differences(SftpState.of(other.stat()))
        if change is not None:
            raise IrodsSourceChangedError(
                f"a range reader opened another file ({change})", changed=change, path=source
            )

    def ranges() -> Generator[bytes, None, None]:
        # Channels are opened on the first read: the iRODS side's setup runs meanwhile, and the SSH
        # connections a background widen is still opening get the time to come up.
        clients = sftp.open_channels(readers)
        try:
            with ParallelSftpRangeReader(
                clients, source, chunk_size=chunk_size, length=size, check_handle=same_file
            ) as ranged:
                yield from ranged
        finally:
            sftp.release(clients)

    chunks = ranges()
    try:
        yield _ChunkStream(chunks, source)
    finally:
        chunks.close()
