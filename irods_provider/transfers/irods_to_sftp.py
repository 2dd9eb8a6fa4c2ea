"""Stage data objects from iRODS onto an SFTP server chunk by chunk: no local file, verified, atomic."""

from __future__ import annotations

import functools
import posixpath
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from irods_provider.client.transfer import FileResult
from irods_provider.client.transfer._coordinator import TransferSubscriber
from irods_provider.client.transfer._local import PLAN_READ_AHEAD
from irods_provider.client.transfer._sink_download import EarlyReads, download_to_sink
from irods_provider.client.transfer._trees import IrodsTree
from irods_provider.operators._base import check_path
from irods_provider.sftp._resume_store import ResumeStore, task_identity
from irods_provider.sftp._sink import SftpStagingSink, may_resume
from irods_provider.transfers._move import moved_irods_source
from irods_provider.transfers._selection import as_list, safe_join
from irods_provider.transfers._staging import PlannedCopy, SftpPublishingOperator, place_plan

if TYPE_CHECKING:
    from airflow.sdk import Context

    from irods_provider.client import IrodsSession
    from irods_provider.sftp._endpoint import SftpEndpoint

__all__ = ["IrodsToSFTPOperator"]


class IrodsToSFTPOperator(SftpPublishingOperator):
    """Copy data objects from iRODS to an SFTP server, streaming ranged reads straight into pipelined writes.

    Nothing touches the worker's disk and memory per file is flat. Each file is one call of the engine's
    :func:`~irods_provider.client.transfer.download_object` into an
    :class:`~irods_provider.sftp._sink.SftpStagingSink`: a hidden random temporary next to its target (with
    ``resume`` continued from its verified prefix by a retry of the same task instance), the bytes checked
    against the zone's checksum and, when the server runs commands, ``sha256sum`` (counted in the report's
    ``remote_sha256_verified``), then renamed into place. Targets never leave ``destination_path`` (``..``,
    absolute names, symlinks and symlinked directories are refused). Returns the transfer report (XCom).

    A single data object goes to ``destination_path`` itself unless that is an existing directory or ends
    with ``/``; collections, globs and lists go below the directory ``destination_path``, keeping their paths
    relative to the collection (or the glob's literal base). See :class:`SftpStagingOperator` for the common
    arguments and lineage, :class:`SftpPublishingOperator` for ``file_mode`` and ``directory_mode``.

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

    :param remote_checksum: also check the file's SHA-256 on the SFTP server before publishing (up to 1 MiB
        read back, else ``sha256sum`` over SSH): None = when it can, True = required, False = never.
    """

    def __init__(self, *, remote_checksum: bool | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.remote_checksum = remote_checksum

    def run(self, session: IrodsSession, context: Context) -> dict[str, Any]:
        overwrite, skip = self.policies()
        config = self.transfer_config()
        workers = config.max_concurrent_files
        sources = as_list("source_path", self.rendered_sources())
        verified: list[str] = []  # the files published after sha256sum on the server matched
        store, identity = ResumeStore(), task_identity(self, context)
        resumable = functools.partial(may_resume, store, identity) if self.resume else None
        early = EarlyReads(  # the first files' reads, started with the plan (not where a copy may resume)
            session, skip=skip, limit=workers, unless=resumable, config=config, cancel_event=self.cancel_event
        )
        with self.endpoint() as sftp, early:
            plan, root, real_root, progress = self._plan(sftp, session, sources, early=early)
            if not plan and not self.directories and self.fail_if_empty:
                raise self.nothing_matches(sources, operation="irods_to_sftp")
            self.check_unique(plan)
            self.log.info("Staging %d file(s) from iRODS %s to SFTP %s", len(plan), sources, root)
            sink = functools.partial(
                SftpStagingSink,
                root=real_root(),
                store=store,
                identity=identity,
                chunk_size=config.chunk_size,
                remote_checksum=self.remote_checksum,
                verified=verified,
                **self.published_modes(),
            )
            engine = functools.partial(
                download_to_sink,
                config=config,
                overwrite=overwrite,
                skip=skip,
                resume=bool(self.resume),
                subscribers=(progress,),
                cancel_event=self.cancel_event,
                operation="irods_to_sftp",
            )
            one = functools.partial(self._stage, sftp, session, sink=sink, engine=engine, early=early)
            prune = self.pruning_irods(session, plan)
            report = self.run_recorded(plan, one, sftp=sftp, upload=False, context=context, prune=prune)
        result = self.finish(
            report, direction="iRODS -> SFTP", name="irods_to_sftp", destination=root, session=session
        )
        return {**result, "remote_sha256_verified": len(verified)}

    def _plan(
        self, sftp: SftpEndpoint, session: IrodsSession, sources: list[str], *, early: EarlyReads
    ) -> tuple[list[PlannedCopy], str, Callable[[], str], TransferSubscriber]:
        """The one planner's files, the SFTP directory they go to (one object: ``destination_path`` itself
        unless it ends with ``/`` or is a directory), how the server resolves it once made (``target_root``)
        and progress. A tree's directories are made (a file in the way refused) before ``early`` reads."""
        raw = self.sftp_path(sftp, str(self.destination_path).strip(), name="destination_path")
        resolve = functools.partial(check_path, "source_path")
        tree = IrodsTree(session, resolve=resolve, read_ahead=PLAN_READ_AHEAD)
        found = self.widening_ahead(sftp, upload=False)
        plan = self.plan_from(tree, sources, what="iRODS source", operation="irods_to_sftp", on_found=found)
        self.widen_for(sftp, plan.files, upload=False)
        progress = self.plan_progress(plan.files)
        start = functools.partial(early.start, plan.files, tree.stats, (progress,))
        if not plan.directories:  # nothing to check: the reads overlap the SFTP side's setup
            start()
        surviving = functools.partial(self.surviving_sftp, sftp, path=raw)
        made = surviving(lambda: self.target_root(sftp, raw)) if plan.files and not plan.single else None
        target = surviving(lambda: sftp.resolve(raw))
        is_directory = self.is_sftp_directory(sftp)
        files, single = place_plan(plan, target, functools.partial(safe_join, target), is_directory)
        self.place_rest(plan, functools.partial(safe_join, target), session, target)  # left out, directories
        self.make_directories(sftp)  # a file in the way refuses the run before any read starts
        if plan.directories:
            start()
        root = posixpath.dirname(target) if single else target
        if made is not None:
            return files, root, lambda: made, progress
        return files, root, functools.partial(self.target_root, sftp, root), progress

    def _stage(
        self, sftp: SftpEndpoint, session: IrodsSession, item: PlannedCopy, *, early: EarlyReads, **parts: Any
    ) -> FileResult:
        """One file: one engine call (with its early reads) into its SFTP sink on a channel, then ``move``."""
        with early.taking(item.source) as (started, known), sftp.channel() as client:  # a retry reads afresh
            target = parts["sink"](sftp, client, item.destination, source=item.source)
            result: FileResult = parts["engine"](session, item.source, target, early=started, known=known)
        return moved_irods_source(session, result, trash=bool(self.trash)) if self.move else result
