"""Stage data objects from iRODS onto an SFTP server chunk by chunk: no local file, verified, atomic."""

from __future__ import annotations

import dataclasses
import functools
import posixpath
import secrets
import stat
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from irods_provider.client._events import emit
from irods_provider.client.transfer import (
    CopyResult,
    FileResult,
    FileStatus,
    LoggingProgressSubscriber,
    OverwritePolicy,
    SkipPolicy,
    StreamHasher,
    TransferConfig,
    copy,
    hasher_for,
    open_reader,
    verify_checksum,
)
from irods_provider.client.transfer._local import PLAN_READ_AHEAD
from irods_provider.client.transfer._plan import Destination, plan_copies
from irods_provider.client.transfer._policy import Refuse, Skip, decide, stored_checksum
from irods_provider.client.transfer._trees import IrodsTree
from irods_provider.exceptions import (
    IrodsAlreadyExistsError,
    IrodsChecksumMismatchError,
    IrodsConfigurationError,
    IrodsInvalidPathError,
    IrodsNotFoundError,
)
from irods_provider.operators._base import check_path
from irods_provider.sftp._destination import sftp_destination
from irods_provider.sftp._endpoint import SftpEndpoint, is_raw_connection_error
from irods_provider.sftp._integrity import create_exclusive, hash_prefix, open_resumed, publish
from irods_provider.sftp._io import FAST_REQUEST_SIZE, SftpWriter
from irods_provider.sftp._parallel import ParallelSftpWriter, widen_writer
from irods_provider.transfers._move import irods_source_unchanged
from irods_provider.transfers._resume_store import ResumeStore
from irods_provider.transfers._selection import as_list, safe_join
from irods_provider.transfers._staging import PlannedCopy, SftpStagingOperator

if TYPE_CHECKING:
    import paramiko
    from airflow.sdk import Context

    from irods_provider.client import IrodsSession

__all__ = ["IrodsToSFTPOperator"]


class IrodsToSFTPOperator(SftpStagingOperator):
    """Copy data objects from iRODS to an SFTP server, streaming ranged reads straight into pipelined writes.

    Nothing touches the worker's disk, and memory per file is flat whatever its size: the iRODS read-ahead
    reads into a fixed pool of chunk buffers (``streams * queue_depth + 1``; one chunk per stream over a
    single SSH connection) and the SFTP writer holds two pieces per SSH connection (two chunks in all).
    Each file is written under a hidden temporary name next to its target, the SHA-256 of the bytes read is
    compared with the zone's checksum and, when the connection may run commands, with ``sha256sum`` of the
    written file on the server; then it is renamed into place. Targets
    can never leave ``destination_path`` (``..``, absolute names and symlinked directories are refused).
    Returns the transfer report (XCom).

    A directory others can write into cannot redirect the copy: the temporary name has a random part and is
    created with ``CREATE | EXCL`` (never through a planted symlink); with ``resume`` its name is recorded
    in a private local state directory keyed by the Airflow task identity (see
    :mod:`irods_provider.transfers._resume_store`), and a resumed temporary is checked with ``lstat`` and
    against its open handle before a byte is written; a symlink at the final name is refused, typed
    (:class:`~irods_provider.exceptions.IrodsSymlinkError`), right before the rename.

    A single data object goes to ``destination_path`` itself unless that is an existing directory or ends
    with ``/``; collections, globs and lists go below the directory ``destination_path``, keeping their paths
    relative to the collection (or the glob's literal base). See :class:`SftpStagingOperator` for the common
    arguments and for lineage (OpenLineage facets, hook lineage, ``outlets=[Asset("irods://<zone>/<path>")]``).

    Example:

    ```python
    from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator

    deliver = IrodsToSFTPOperator(
        task_id="deliver",
        source_path="/tempZone/home/alice/results/{{ ds }}",
        destination_path="/upload/results/{{ ds }}/",
        sftp_conn_id="partner_sftp",
    )
    ```

    :param remote_checksum: also check ``sha256sum`` over SSH: None = when the server runs commands,
        True = required, False = never.
    """

    def __init__(self, *, remote_checksum: bool | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.remote_checksum = remote_checksum
        self._identity: tuple[str, ...] = (str(self.task_id),)
        self._store = ResumeStore()

    def run(self, session: IrodsSession, context: Context) -> dict[str, Any]:
        overwrite, skip = self.policies()
        config = self.transfer_config()
        sources = as_list("source_path", self.source_path)
        remote_verified = _Counter()
        self._identity = _task_identity(self, context)
        self._store = ResumeStore()
        with self.endpoint() as sftp:
            plan, root = self._plan(sftp, session, sources)
            if not plan and self.fail_if_empty:
                raise IrodsNotFoundError(f"no data object matches {sources}", operation="irods_to_sftp")
            self.check_unique(plan)
            with sftp.channel() as client:
                sftp.makedirs(client, root)
                real_root = client.normalize(root)
            self.log.info("Staging %d file(s) from iRODS %s to SFTP %s", len(plan), sources, root)
            one = functools.partial(
                self._stage,
                sftp,
                session,
                config=config,
                overwrite=overwrite,
                skip=skip,
                progress=self.plan_progress(plan),
                real_root=real_root,
                remote_verified=remote_verified,
            )
            report = self.run_recorded(
                plan, one, workers=config.max_concurrent_files, sftp=sftp, upload=False, context=context
            )
            self.prune_moved(
                report, plan, functools.partial(session.collections.remove, no_trash=not self.trash)
            )
        result = self.finish(
            report, direction="iRODS -> SFTP", name="irods_to_sftp", destination=root, session=session
        )
        return {**result, "remote_sha256_verified": remote_verified.value}

    # -- planning --------------------------------------------------------------------------------------

    def _plan(
        self, sftp: SftpEndpoint, session: IrodsSession, sources: list[str]
    ) -> tuple[list[PlannedCopy], str]:
        """The one planner over the zone, and the SFTP directory the plan writes into: a single data object
        goes to ``destination_path`` itself unless that ends with ``/`` or is an existing directory."""
        target = sftp.resolve(str(self.destination_path).strip())

        def missing(raw: str, path: str) -> IrodsNotFoundError:
            message = self.missing_source("iRODS source", raw)
            return IrodsNotFoundError(message, operation="irods_to_sftp", path=path)

        def is_directory(path: str) -> bool:
            with sftp.channel() as client:
                existing = sftp.stat(client, path)
            return existing is not None and stat.S_ISDIR(existing.st_mode or 0)

        plan = plan_copies(
            IrodsTree(
                session,
                resolve=functools.partial(check_path, "source_path"),
                read_ahead=PLAN_READ_AHEAD,
            ),
            sources,
            Destination.of(str(self.destination_path), target),
            place=functools.partial(safe_join, target),
            missing=missing,
            is_directory=is_directory,
            recursive=bool(self.recursive),
            glob=bool(self.glob),
            operation="irods_to_sftp",
        )
        return plan.files, posixpath.dirname(target) if plan.single else target

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
        progress: LoggingProgressSubscriber,
        real_root: str,
        remote_verified: _Counter,
    ) -> FileResult:
        st = session.data_objects.stat(item.source)
        checksum = st.checksum or session.data_objects.calculate_checksum(item.source)
        final = item.destination
        with sftp.channel() as client:
            parent = posixpath.dirname(final)
            sftp.makedirs(client, parent)
            real_parent = client.normalize(parent)
            if real_parent != real_root and not real_parent.startswith(real_root.rstrip("/") + "/"):
                raise IrodsInvalidPathError(f"{parent!r} resolves outside the target directory", path=final)
            skipped = self._decide(
                sftp, client, item, final, size=st.size, checksum=checksum, skip=skip, overwrite=overwrite
            )
            if skipped is not None:
                return skipped
            key = self._resume_key(sftp, item, final, size=st.size, checksum=checksum)
            result, temp, verified_there = self._copy_to_temp(
                sftp, client, session, item, key, size=st.size, config=config, progress=progress
            )
            if overwrite is OverwritePolicy.REFUSE and sftp.stat(client, final) is not None:
                sftp.discard(client, temp)
                self._store.drop(key)
                raise IrodsAlreadyExistsError(
                    f"{final} appeared during the copy and overwrite is False", path=final
                )
            try:
                # REFUSE publishes with a non-replacing rename: of two copies racing to one path, one wins.
                publish(client, temp, final, size=st.size, replace=overwrite is not OverwritePolicy.REFUSE)
            except (IrodsInvalidPathError, IrodsAlreadyExistsError):  # planted link/dir, or lost the race
                sftp.discard(client, temp)  # removing never follows a link
                self._store.drop(key)
                raise
            self._store.drop(key)
        if verified_there:
            remote_verified.add()  # counted once the file is published (a retried attempt counts once)
        if self.move:
            if irods_source_unchanged(session, result):
                session.data_objects.remove(item.source, no_trash=not self.trash)
            else:  # a newer version is there now: never delete what was not copied
                self.log.warning("Not removing %s after the copy: it changed since", item.source)
        return result

    def _decide(
        self,
        sftp: SftpEndpoint,
        client: paramiko.SFTPClient,
        item: PlannedCopy,
        final: str,
        *,
        size: int,
        checksum: str,
        skip: SkipPolicy,
        overwrite: OverwritePolicy,
    ) -> FileResult | None:
        """The engine's one policy decision on ``final`` (one ``lstat``: a link or directory is refused):
        the skip result, None to copy; raises a refusal. The zone's checksum sets the scheme ``final`` is
        hashed in (``sha256sum``/``md5sum`` on the server when it runs commands)."""
        decision = decide(
            skip=skip,
            overwrite=overwrite,
            destination=sftp_destination(sftp, client, final),
            source_size=size,
            source_checksum=stored_checksum(checksum, lambda: checksum),
            operation="irods_to_sftp",
        )
        if isinstance(decision, Refuse):
            decision.raise_error()
        if not isinstance(decision, Skip):
            return None
        return FileResult(
            source=item.source,
            destination=final,
            status=FileStatus.SKIPPED,
            size=size,
            checksum=checksum,
            reason=decision.reason,
        )

    def _resume_key(
        self, sftp: SftpEndpoint, item: PlannedCopy, final: str, *, size: int, checksum: str
    ) -> str:
        """Where this task's resume record of ``final`` lives (task identity, endpoint, source version)."""
        host, port = sftp.transport.getpeername()[:2]
        return ResumeStore.key(*self._identity, f"{host}:{port}", item.source, size, checksum, final)

    def _copy_to_temp(
        self,
        sftp: SftpEndpoint,
        client: paramiko.SFTPClient,
        session: IrodsSession,
        item: PlannedCopy,
        key: str,
        *,
        size: int,
        config: TransferConfig,
        progress: LoggingProgressSubscriber,
    ) -> tuple[FileResult, str, bool]:
        """Copy into a hidden temporary (this task's resumable one, else a new one); result, path and
        whether ``sha256sum`` on the server verified it."""
        import time

        started = time.monotonic()
        hasher = hasher_for(config.checksum_scheme, session, item.source)
        prefix = functools.partial(_irods_prefix_sha256, session, item.source)
        writer, offset = self._open_temp(
            client, item.destination, key, size=size, hasher=hasher, prefix=prefix, sftp=sftp
        )
        if offset == 0 and hasher.count:  # a resumable temporary was refused after hashing it: start afresh
            hasher = hasher_for(config.checksum_scheme, session, item.source)
        temp = writer.path
        sink: SftpWriter | ParallelSftpWriter = writer
        try:
            # One session per SSH connection (sftp_connections), each writing its share of the chunks.
            sink = widen_writer(sftp, writer, remaining=size - offset, chunk_size=config.chunk_size)
            result = self._stream(
                session,
                item.source,
                sink,
                offset=offset,
                size=size,
                config=config,
                progress=progress,
                hasher=hasher,
            )
            sink.close()
            checksum = verify_checksum(session, item.source, result)
            verified_there = self._verify_remote(sftp, temp, result.sha256.hex())
        except BaseException as exc:
            sink.abort()
            if not self.resume or isinstance(exc, IrodsChecksumMismatchError):
                sftp.discard(client, temp)
                self._store.drop(key)
            raise
        result_file = FileResult(
            source=item.source,
            destination=item.destination,
            status=FileStatus.TRANSFERRED,
            size=result.size,
            checksum=checksum,
            seconds=time.monotonic() - started,
            resumed_from=offset,
        )
        return result_file, temp, verified_there

    def _stream(
        self,
        session: IrodsSession,
        source: str,
        sink: SftpWriter | ParallelSftpWriter,
        *,
        offset: int,
        size: int,
        config: TransferConfig,
        progress: LoggingProgressSubscriber,
        hasher: StreamHasher,
    ) -> CopyResult:
        """Read ``source`` from ``offset`` into ``sink``, hashing what passes."""
        # Over one SSH connection the SFTP side is the slower leg: read-ahead past one chunk per stream only
        # holds memory. Over several it outruns the iRODS streams, which then must never wait for the
        # caller to take a chunk before requesting the next (the configured read-ahead).
        depth = config.queue_depth if isinstance(sink, ParallelSftpWriter) else 1
        with open_reader(
            session,
            source,
            config=dataclasses.replace(config, queue_depth=depth),
            offset=offset,
            size=size,
            subscribers=(progress,),
            cancel_event=self.cancel_event,
            reuse_buffers=True,  # the SFTP writers copy or send each chunk before write() returns
        ) as reader:
            return copy(
                reader,
                sink,
                chunk_size=config.chunk_size,
                hasher=hasher,
                cancel_event=self.cancel_event,
                report_progress=False,
            )

    def _open_temp(
        self,
        client: paramiko.SFTPClient,
        final: str,
        key: str,
        *,
        size: int,
        hasher: StreamHasher,
        prefix: Callable[[int], bytes],
        sftp: SftpEndpoint,
    ) -> tuple[SftpWriter, int]:
        """A writer on a hidden temporary sibling of ``final``.

        With ``resume``, the temporary this task recorded is reopened after ``lstat`` and ``fstat`` checks
        and its prefix hashed through the same handle; otherwise (or when none is recorded) a new one with a
        random name is created exclusively (``CREATE | EXCL``: never through a planted symlink) and recorded.
        """
        head, name = posixpath.split(final)
        record = self._store.load(key) if self.resume else None
        if record is not None:
            temp = posixpath.join(head, str(record.get("temp", "")))
            if posixpath.dirname(temp) == head and posixpath.basename(temp).startswith(
                f".{name}.irods-part-"
            ):
                try:
                    resumed = self._reopen(client, temp, record, size=size, hasher=hasher, prefix=prefix)
                except IrodsInvalidPathError:  # swapped, planted or not ours (IrodsSymlinkError too)
                    self._store.drop(key)  # never trusted again: the next attempt starts afresh
                    raise
                if resumed is not None:
                    return resumed
        temp = posixpath.join(head, f".{name}.irods-part-{secrets.token_hex(8)}")
        try:
            handle = create_exclusive(client, temp)
            if self.resume:
                self._store.save(key, {"temp": posixpath.basename(temp), "uid": handle.stat().st_uid})
        except Exception as exc:
            if is_raw_connection_error(exc):  # created or not, unrecorded: remove it once reconnected
                sftp.remove_later(temp)
            raise
        return _writer(client, temp, handle, offset=0), 0

    def _reopen(
        self,
        client: paramiko.SFTPClient,
        temp: str,
        record: dict[str, Any],
        *,
        size: int,
        hasher: StreamHasher,
        prefix: Callable[[int], bytes],
    ) -> tuple[SftpWriter, int] | None:
        """This task's recorded temporary, checked and reopened after its hashed prefix; None if gone.

        The prefix must hash like the source's first bytes (``prefix(offset)``: a dropped connection can
        leave pipelined writes applied out of order); otherwise the temporary is removed and None returned.
        """
        try:
            handle, offset = open_resumed(client, temp, uid=record.get("uid"), max_size=size)
        except FileNotFoundError:
            return None
        try:
            hash_prefix(handle, offset, hasher)
            if offset and hasher.result().sha256 != prefix(offset):
                self.log.warning("Not resuming %s: its %d bytes differ from the source's", temp, offset)
                handle.close()
                client.remove(temp)
                return None
        except BaseException:
            handle.close()
            raise
        self.log.info("Resuming %s at byte %d", temp, offset)
        return _writer(client, temp, handle, offset=offset), offset

    def _verify_remote(self, sftp: SftpEndpoint, temp: str, expected: str) -> bool:
        """Compare ``sha256sum`` of ``temp`` on the server with ``expected``: whether it could be run."""
        if self.remote_checksum is False:
            return False
        digest = sftp.sha256sum(temp)
        if digest is None:
            if self.remote_checksum:
                raise IrodsConfigurationError(
                    "remote_checksum=True but the SFTP connection cannot run sha256sum", path=temp
                )
            return False
        if digest != expected:
            emit("checksum_mismatch")
            raise IrodsChecksumMismatchError(
                "sha256sum on the SFTP server differs from the bytes sent",
                expected=expected,
                actual=digest,
                operation="irods_to_sftp",
                path=temp,
            )
        return True


class _Counter:
    """A thread-safe count of files verified with ``sha256sum`` on the server."""

    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def add(self) -> None:
        with self._lock:
            self.value += 1


def _irods_prefix_sha256(session: IrodsSession, path: str, length: int) -> bytes:
    """SHA-256 of the first ``length`` bytes of the data object ``path`` (to verify a resumed prefix)."""
    hasher = StreamHasher()
    with open_reader(session, path, offset=0, size=length) as reader:
        copy(reader, _Discard(), hasher=hasher, limit=length, report_progress=False)
    return hasher.result().sha256


class _Discard:
    """A sink that drops what it is given (the bytes only feed a hasher)."""

    def write(self, data: bytes | bytearray | memoryview) -> int:
        return len(data)


def _writer(client: paramiko.SFTPClient, temp: str, handle: paramiko.SFTPFile, *, offset: int) -> SftpWriter:
    """A pipelined writer over an open handle, positioned at ``offset``."""
    handle.seek(offset)
    handle.set_pipelined(True)
    handle.MAX_REQUEST_SIZE = FAST_REQUEST_SIZE
    writer = SftpWriter(client, temp, handle)
    writer.bytes_written = offset
    return writer


def _task_identity(operator: Any, context: Any) -> tuple[str, ...]:
    """The Airflow task instance (dag, task, run, map index) when running in one, else the task id."""
    ti = context.get("ti") if hasattr(context, "get") else None
    if ti is None:
        return (str(getattr(operator, "task_id", "")),)
    return tuple(str(getattr(ti, a, "")) for a in ("dag_id", "task_id", "run_id", "map_index"))
