"""Stage files from an SFTP server into iRODS chunk by chunk: no temporary file, verified, atomic."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from irods_provider._values import refuse_unaddressable
from irods_provider.client.transfer import FileResult, OverwritePolicy, SkipPolicy, upload_object
from irods_provider.client.transfer._upload import parked_among
from irods_provider.exceptions import IrodsNotFoundError
from irods_provider.operators._base import check_path
from irods_provider.sftp._endpoint import SftpEndpoint
from irods_provider.sftp._ranged import SftpRangedSource, SftpReadOptions
from irods_provider.transfers._local import parse_transfer_avus
from irods_provider.transfers._move import movable
from irods_provider.transfers._selection import as_list
from irods_provider.transfers._staging import PlannedCopy, SftpStagingOperator
from irods_provider.transfers._zone_ahead import ZoneAhead, zone_ahead

if TYPE_CHECKING:
    from airflow.sdk import Context

    from irods_provider.client import IrodsSession

__all__ = ["SFTPToIrodsOperator"]

OP = "sftp_to_irods"


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
    :param sftp_range_readers: SFTP channels reading byte ranges of one file at once, spread over the
        ``sftp_connections`` (default: one per SSH connection; 1 = one prefetched stream); hashed in order.
    :param follow_symlinks: copy files behind symbolic links. Default False: links inside directories and
        globs are skipped, a source that is (or is swapped for) a link fails with ``IrodsSymlinkError``.
    :param wait_stable_seconds: before copying a file, wait until its size and mtime have not changed for
        this long (job outputs still being written). Either way a file that changes while it is copied is
        never published: it fails with ``IrodsSourceChangedError`` and its temporary object is removed.

    Each file is ``lstat``-ed right before it is opened; the open handle (and every range reader's) must
    match that and the listing in type, size, mtime, owner and permissions, so a file swapped after the
    listing is refused; after the last read the handle and the path are checked again, and ``move`` removes
    the file only while they still match. SFTP mtimes have whole seconds: a same-size rewrite within the
    second of the listing is not detectable over SFTP (see :class:`~irods_provider.sftp.SftpRangedSource`).
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
        self.metadata, self.sftp_range_readers = metadata, sftp_range_readers
        self.follow_symlinks, self.wait_stable_seconds = follow_symlinks, wait_stable_seconds

    def run(self, session: IrodsSession, context: Context) -> dict[str, Any]:
        config, (overwrite, skip) = self.transfer_config(), self.policies()
        sources = as_list("source_path", self.rendered_sources())
        destination = check_path("destination_path", self.destination_path)
        refuse_unaddressable("destination_path", destination)
        wait, follow = float(self.wait_stable_seconds or 0) or None, bool(self.follow_symlinks)
        reading = SftpReadOptions(self.sftp_range_readers, config.chunk_size, wait, follow, self.cancel_event)
        into = str(self.destination_path).endswith("/")  # never the target itself: its parent is not asked
        with (
            self.logging_in(session),
            self.endpoint() as sftp,
            zone_ahead(session, destination, ahead=len(sources) == 1, parent=not into) as ahead,
        ):
            plan = self._plan(sftp, session, sources, destination, ahead)
            self.log.info("Staging %d file(s) from SFTP %s into iRODS %s", len(plan), sources, destination)
            options: dict[str, Any] = {"config": config, "overwrite": overwrite, "skip": skip}
            options |= {"metadata": parse_transfer_avus(self.metadata), "resume": self.resume}
            options |= {"cancel_event": self.cancel_event, "subscribers": (self.plan_progress(plan),)}
            settling = overwrite is OverwritePolicy.OVERWRITE  # one listing for every skip and publish
            options["parked"] = parked_among(session, [p.destination for p in plan]) if settling else None
            one = functools.partial(self._stage, sftp, session, reading=reading, **options)
            prune = self.pruning_sftp(sftp, plan)
            report = self.run_recorded(plan, one, sftp=sftp, upload=True, context=context, prune=prune)
        return self.finish(
            report, direction="SFTP -> iRODS", name=OP, destination=destination, session=session
        )

    def _plan(
        self,
        sftp: SftpEndpoint,
        session: IrodsSession,
        sources: list[str],
        destination: str,
        ahead: ZoneAhead,
    ) -> list[PlannedCopy]:
        """The one planner over SFTP, checked, collections created (the zone asked while SSH connected)."""
        follow = bool(self.follow_symlinks)
        found = self.plan_sftp(sftp, sources, what="SFTP source", operation=OP, follow_symlinks=follow)
        if not found.files and not found.directories and self.fail_if_empty:
            raise IrodsNotFoundError(f"no SFTP file matches {sources}", operation=OP)
        self.widen_for(sftp, found.files, upload=True, range_readers=self.sftp_range_readers or 0)
        return self.place_upload(session, found, destination, is_collection=ahead.is_collection)

    def _stage(
        self, sftp: SftpEndpoint, session: IrodsSession, item: PlannedCopy, **options: Any
    ) -> FileResult:
        """One file, one engine call (policies decided there, the destination asked once), then ``move``."""
        reading: SftpReadOptions = options.pop("reading")
        options["parked"] = None if (parked := options["parked"]) is None else item.destination in parked
        with sftp.channel() as client, SftpRangedSource.planned(sftp, client, item, reading) as source:
            if options["skip"] is SkipPolicy.NEVER:  # opened whatever the zone says: open it meanwhile
                source.open_ahead()
            result = upload_object(session, source, item.destination, **options)
            return self.moved_sftp_source(source, result) if self.move and movable(result) else result
