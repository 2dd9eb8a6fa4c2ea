"""Upload local files, directory trees or globs into iRODS over the transfer engine."""

from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from irods_provider._lineage import irods_dataset, local_dataset
from irods_provider._values import refuse_unaddressable
from irods_provider.client.transfer import FileResult, upload_files, upload_object
from irods_provider.operators._base import check_path
from irods_provider.transfers._local import LocalTransferOperator, local_paths, parse_transfer_avus
from irods_provider.transfers._selection import refuse_unstorable

if TYPE_CHECKING:
    from irods_provider.client import IrodsSession

__all__ = ["LocalToIrodsOperator"]


class LocalToIrodsOperator(LocalTransferOperator):
    """Upload local files, directory trees or globs into iRODS: parallel, verified, atomic, resumable.

    Each file is written under a temporary name, compared with the server's checksum, given ``metadata``,
    and only then renamed into place. Directories and globs keep their relative paths under the collection
    ``destination_path`` (created as needed). Returns the transfer report (XCom). See
    :class:`LocalTransferOperator` for the common arguments.

    Example:

    ```python
    from irods_provider.transfers.local_to_irods import LocalToIrodsOperator

    upload = LocalToIrodsOperator(
        task_id="upload",
        source_path="/data/outgoing/{{ ds }}/**/*.parquet",
        glob=True,
        destination_path="/tempZone/home/alice/incoming/{{ ds }}/",
        metadata={"source": "lab-a"},
        overwrite=True,
    )
    ```

    :param metadata: AVUs set on every uploaded object before it is published: a mapping attribute → value,
        or a list of ``{"attribute", "value", "units"}``.
    :param resume: continue an interrupted upload of an unchanged file from its committed bytes.
    :param follow_symlinks: upload files behind symbolic links. Default False: links inside directories
        and globs are skipped (no symlinked directory is walked), a source that is (or is swapped for) a
        link fails with ``IrodsSymlinkError``; when True, directory loops are detected and skipped.
    :param wait_stable_seconds: before uploading a file, wait until it has not changed for this long (job
        outputs still being written). Either way a file that changes while it is uploaded (append, rewrite,
        growth, replacement) is never published: it fails with ``IrodsSourceChangedError`` and its
        temporary object is removed.
    """

    template_fields: Sequence[str] = (*LocalTransferOperator.template_fields, "metadata", "resource")
    template_fields_renderers = {"metadata": "json"}
    direction = "local -> iRODS"
    writes_to_irods = True
    source_dataset = staticmethod(local_dataset)
    destination_dataset = staticmethod(irods_dataset)

    def __init__(
        self,
        *,
        metadata: Mapping[str, str] | list[Any] | None = None,
        resume: bool = True,
        follow_symlinks: bool = False,
        wait_stable_seconds: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.metadata = metadata
        self.resume = resume
        self.follow_symlinks = follow_symlinks
        self.wait_stable_seconds = wait_stable_seconds

    def transfer(self, session: IrodsSession) -> dict[str, Any]:
        """Plan and run the upload: one file named by ``destination_path`` in one engine call, else the
        engine's multi-file upload; then ``move``."""
        sources = local_paths("source_path", self.rendered_sources())
        destination = check_path("destination_path", self.destination_path)
        refuse_unaddressable("destination_path", destination)
        wait = float(self.wait_stable_seconds or 0) or None
        options = {**self.engine_options(), "follow_symlinks": bool(self.follow_symlinks)}
        options |= {"wait_stable_seconds": wait, "resume": bool(self.resume)}
        options["metadata"] = parse_transfer_avus(self.metadata)
        self.log.info("Uploading %s to iRODS %s", sources, destination)
        if self._as_object(session, sources, destination):
            report = self.timed(
                lambda: self._one(session, self.literal_source(sources[0]), destination, options)
            )
        else:  # names iRODS cannot store refused on the plan the upload runs (the tree listed once)
            options["check_plan"] = lambda plan: refuse_unstorable([*plan.directories, *plan.files])
            report = upload_files(session, sources, destination, **options, **self.tree_options())
        self.move_local_sources(report, sources)
        return self.finish(report, destination=destination, session=session)

    def _as_object(self, session: IrodsSession, sources: list[str], destination: str) -> bool:
        """One plain file to a path that is neither ``.../`` nor an existing collection: it names the
        object."""
        single = (
            len(sources) == 1
            and self.source_pattern(sources[0]) is None
            and os.path.isfile(self.literal_source(sources[0]))
        )
        return (
            single
            and not str(self.destination_path).rstrip().endswith("/")
            and not session.collections.exists(destination)
        )

    def _one(
        self, session: IrodsSession, source: str, destination: str, options: dict[str, Any]
    ) -> FileResult:
        """The one engine call for a file named by ``destination_path`` (its collection created first)."""
        if not self.plan_only:
            session.collections.create(
                posixpath.dirname(destination) or "/", intermediates=True, exist_ok=True
            )
        progress = self.progress(os.path.getsize(source))
        return upload_object(session, source, destination, subscribers=(progress,), **options)
