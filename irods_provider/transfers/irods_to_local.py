"""Download iRODS data objects, collection trees or globs to local files over the transfer engine."""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, Any

from irods_provider._lineage import irods_dataset, local_dataset
from irods_provider.client.transfer import download_files, download_object
from irods_provider.client.transfer._alias import source_stat
from irods_provider.exceptions import IrodsInvalidPathError
from irods_provider.operators._base import check_paths
from irods_provider.transfers._local import LocalTransferOperator, local_paths
from irods_provider.transfers._move import irods_source_unchanged, tree_base

if TYPE_CHECKING:
    from irods_provider.client import IrodsSession

__all__ = ["IrodsToLocalOperator"]


class IrodsToLocalOperator(LocalTransferOperator):
    """Download iRODS data objects, collection trees or logical globs to local files, verified and atomic.

    Every file lands in a temporary sibling, is compared with the server's checksum and renamed into place.
    Collections and globs keep their relative paths under the directory ``destination_path``; no name (no
    ``..``, absolute path, backslash or symlink on the way) can make it write outside that directory.
    Returns the transfer report (XCom). See :class:`LocalTransferOperator` for the common arguments.

    Example:

    ```python
    from irods_provider.transfers.irods_to_local import IrodsToLocalOperator

    fetch = IrodsToLocalOperator(
        task_id="fetch",
        source_path="/tempZone/home/alice/runs/{{ ds }}",
        destination_path="/data/runs/{{ ds }}/",
        pattern="*.fastq.gz",
        skip="checksum",
    )
    ```
    """

    direction = "iRODS -> local"
    source_dataset = staticmethod(irods_dataset)
    destination_dataset = staticmethod(local_dataset)

    def transfer(self, session: IrodsSession) -> dict[str, Any]:
        """Plan and run the download."""
        sources = check_paths("source_path", self.rendered_sources())
        if not isinstance(self.destination_path, str | os.PathLike):
            raise IrodsInvalidPathError(
                f"destination_path must be a local path, got {self.destination_path!r}"
            )
        destination = local_paths("destination_path", self.destination_path)[0]
        options = self.engine_options()
        self.log.info("Downloading iRODS %s to %s", sources, destination)
        if self._as_file(session, sources, destination):
            report = self.timed(
                lambda: download_object(
                    session,
                    self.literal_source(sources[0]),
                    destination,
                    subscribers=(self.progress(source_stat(session, self.literal_source(sources[0])).size),),
                    **options,
                )
            )
        else:
            report = download_files(session, sources, destination, **options, **self.tree_options())
        no_trash = not self.trash
        self.move_sources(
            report,
            [
                b
                for src in sources
                if (
                    b := tree_base(
                        src, is_tree=session.collections.exists(self.literal_source(src)), glob=self.glob
                    )
                )
            ],
            unchanged=functools.partial(irods_source_unchanged, session),
            remove=functools.partial(session.data_objects.remove, no_trash=no_trash),
            remove_dir=functools.partial(session.collections.remove, no_trash=no_trash),
        )
        return self.finish(report, destination=destination, session=session)

    def _as_file(self, session: IrodsSession, sources: list[str], destination: str) -> bool:
        """One data object to a path that is neither ``.../`` nor an existing directory: it names the file."""
        return (
            len(sources) == 1
            and self.source_pattern(sources[0]) is None
            and not destination.rstrip().endswith(("/", os.sep))
            and not os.path.isdir(destination)
            and session.data_objects.exists(self.literal_source(sources[0]))
        )
