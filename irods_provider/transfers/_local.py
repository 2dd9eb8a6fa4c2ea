"""Upload local files to iRODS and download iRODS data objects to local files, over the transfer engine.

Both operators take one file, a list, a directory (collection) tree or a glob; copy at most
``max_concurrent_files`` files at once, each over parallel streams; verify every file against the server's
checksum; publish atomically; and return the transfer report (files, bytes, skipped, seconds, MB/s,
checksums) to XCom. ``on_kill`` stops every file and shuts down every parallel-write handle.

Lineage: each run reports the files it copied (or skipped as already identical), local files as namespace
``file`` and iRODS objects as namespace ``irods://<zone>``, to OpenLineage
(``get_openlineage_facets_on_complete``) and to Airflow's hook lineage collector. Airflow records asset
events only for declared outlets: to schedule downstream DAGs on the result, declare it, e.g.
``outlets=[Asset("irods://tempZone/home/alice/results")]``; for destinations known only at run time declare
``outlets=[AssetAlias("name")]`` and each run adds an event per written file's asset to the alias.
"""

from __future__ import annotations

import logging
import os
import posixpath
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from irods_provider._lineage import LineageDataset, irods_dataset, local_dataset
from irods_provider._values import literal_list, parse_avus, refuse_unaddressable
from irods_provider.client import AVU
from irods_provider.client.transfer import (
    FileResult,
    FileStatus,
    TransferReport,
    download_files,
    download_object,
    upload_files,
    upload_object,
)
from irods_provider.client.transfer._local import plan_local_sources
from irods_provider.exceptions import IrodsError, IrodsInvalidPathError
from irods_provider.operators._base import check_path, check_paths
from irods_provider.operators._transfer_base import TransferOperatorBase

if TYPE_CHECKING:
    from airflow.sdk import Context

    from irods_provider.client import IrodsSession

__all__ = ["IrodsToLocalOperator", "LocalToIrodsOperator"]

_MAGIC = ("*", "?", "[")


def _local_paths(name: str, value: Any) -> list[str]:
    """One local path or a non-empty list of them (rendered: either, or the string of a list)."""
    value = literal_list(name, value)
    items = [value] if isinstance(value, str | os.PathLike) else value
    if not isinstance(items, Sequence) or isinstance(items, str) or not items:
        raise IrodsInvalidPathError(
            f"{name} must be a local path or a non-empty list of paths, got {value!r}"
        )
    paths = [os.fspath(item) for item in items if isinstance(item, str | os.PathLike)]
    if len(paths) != len(items) or any(not p.strip() or "\x00" in p for p in paths):
        raise IrodsInvalidPathError(
            f"{name} must be a local path or a non-empty list of paths, got {value!r}"
        )
    return paths


def _avus(value: Any) -> list[AVU]:
    """AVUs for every uploaded object, parsed by the one AVU model all operators share."""
    return [AVU(a, v, u) for a, v, u in parse_avus(value, allow_empty=True)]


class _IrodsTransferBaseOperator(TransferOperatorBase):
    """Arguments, policies, cancellation and lineage shared by both directions.

    Lineage and outlets: see the module documentation; users may declare
    ``outlets=[Asset("irods://<zone>/<path>")]`` to schedule downstream DAGs on what the task writes. The
    arguments of :class:`~irods_provider.operators._transfer_base.TransferOperatorBase`, and:

    :param pattern: fnmatch filter on the paths relative to a directory or collection source (or names).
    :param plan_only: a dry run: the report lists the files as ``planned``; nothing is written (named so
        because ``BaseOperator.dry_run()`` is a method).
    """

    template_fields: Sequence[str] = (
        "source_path",
        "destination_path",
        "pattern",
        "manifest_path",
        "irods_conn_id",
    )
    ui_color = "#3d6f8f"

    def __init__(self, *, pattern: str | None = None, plan_only: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pattern = pattern
        self.plan_only = plan_only
        self._logged: TransferReport | None = None

    def finish(self, report: TransferReport, *, destination: str, session: IrodsSession) -> dict[str, Any]:
        """Log the report; fail on an empty selection or failed files; else the XCom value."""
        self._log(report)
        if not report.files and self.fail_if_empty:
            raise FileNotFoundError(f"no file matches {self.source_path!r}")
        if report.failed:
            failed = [f.source for f in report.files if f.status is FileStatus.FAILED]
            error = IrodsError(f"{report.failed} of {len(report.files)} files failed: {failed}")
            error.report = report  # type: ignore[attr-defined]
            raise error
        return {**self.xcom_report(report, session), "direction": self.direction, "destination": destination}

    def engine_options(self) -> dict[str, Any]:
        """The keyword arguments of every engine call: configuration, policies, dry run and cancel."""
        overwrite, skip = self.policies()
        return {
            "config": self.transfer_config(),
            "overwrite": overwrite,
            "skip": skip,
            "dry_run": bool(self.plan_only),
            "cancel_event": self.cancel_event,
        }

    def tree_options(self) -> dict[str, Any]:
        """What ``upload_files`` and ``download_files`` take besides :meth:`engine_options`."""
        return {
            "pattern": self.pattern or None,
            "recursive": bool(self.recursive),
            "continue_on_error": bool(self.continue_on_error),
            "logger": cast("logging.Logger", self.log),
        }

    def timed(self, run: Callable[[], FileResult]) -> TransferReport:
        """The report of one file copied by ``run``."""
        started = time.monotonic()
        result = run()
        return TransferReport(
            files=[result], seconds=time.monotonic() - started, dry_run=bool(self.plan_only)
        )

    def _log(self, report: TransferReport) -> None:
        self._logged = report
        self.log_report(report)

    def run(self, session: IrodsSession, context: Context) -> dict[str, Any]:
        """Run the transfer; a failed or cancelled one logs its partial report before raising.

        Either way the files copied are recorded for lineage.
        """
        self._logged = None
        try:
            return self.transfer(session)
        except IrodsError as exc:
            report = getattr(exc, "report", None)
            if isinstance(report, TransferReport) and report is not self._logged:
                self._log(report)
            raise
        finally:
            if self._logged is not None:
                self.record_done(
                    self._logged.files,
                    lambda f: (self.source_dataset(f.source), self.destination_dataset(f.destination)),
                    context=context,
                )

    def source_dataset(self, path: str) -> LineageDataset:
        """The lineage dataset of one source file."""
        raise NotImplementedError

    def destination_dataset(self, path: str) -> LineageDataset:
        """The lineage dataset of one destination file."""
        raise NotImplementedError

    def transfer(self, session: IrodsSession) -> dict[str, Any]:
        """The direction-specific work."""
        raise NotImplementedError


class LocalToIrodsOperator(_IrodsTransferBaseOperator):
    """Upload local files, directory trees or globs into iRODS: parallel, verified, atomic, resumable.

    Each file is written under a temporary name, compared with the server's checksum, given ``metadata``,
    and only then renamed into place. Directories and globs keep their relative paths under the collection
    ``destination_path`` (created as needed). Returns the transfer report (XCom). See
    :class:`_IrodsTransferBaseOperator` for the common arguments.

    :param metadata: AVUs set on every uploaded object before it is published: a mapping attribute → value,
        or a list of ``{"attribute", "value", "units"}``.
    :param resume: continue an interrupted upload of an unchanged file from its committed bytes.
    :param resource: root resource the objects are written to (default: the connection's
        ``default_resource``, else the server's default).
    :param follow_symlinks: upload files behind symbolic links. Default False: links inside directories
        and globs are skipped (no symlinked directory is walked), a source that is (or is swapped for) a
        link fails with ``IrodsSymlinkError``; when True, directory loops are detected and skipped.
    :param wait_stable_seconds: before uploading a file, wait until it has not changed for this long (job
        outputs still being written). Either way a file that changes while it is uploaded (append, rewrite,
        growth, replacement) is never published: it fails with ``IrodsSourceChangedError`` and its
        temporary object is removed.
    """

    template_fields: Sequence[str] = (*_IrodsTransferBaseOperator.template_fields, "metadata", "resource")
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

    def source_options(self) -> dict[str, Any]:
        """How sources are opened: symlinks and waiting for stability."""
        wait = self.wait_stable_seconds
        return {
            "follow_symlinks": bool(self.follow_symlinks),
            "wait_stable_seconds": float(wait) if wait else None,
        }

    def transfer(self, session: IrodsSession) -> dict[str, Any]:
        """Plan and run the upload."""
        sources = _local_paths("source_path", self.source_path)
        destination = refuse_unaddressable(
            "destination_path", check_path("destination_path", self.destination_path)
        )
        options = self.engine_options()
        avus = _avus(self.metadata)
        self.log.info("Uploading %s to iRODS %s", sources, destination)
        if self._as_object(session, sources, destination):
            report = self.timed(
                lambda: self._one(session, sources[0], destination, avus=avus, options=options)
            )
        else:
            for planned in plan_local_sources(
                sources, destination, pattern=self.pattern or None, recursive=bool(self.recursive)
            ):
                refuse_unaddressable("a planned destination", planned.destination)
            report = upload_files(
                session,
                sources,
                destination,
                metadata=avus,
                resume=bool(self.resume),
                **options,
                **self.tree_options(),
                **self.source_options(),
            )
        return self.finish(report, destination=destination, session=session)

    def _as_object(self, session: IrodsSession, sources: list[str], destination: str) -> bool:
        """One plain file to a path that is neither ``.../`` nor an existing collection: it names the
        object."""
        single = len(sources) == 1 and os.path.isfile(sources[0]) and not any(m in sources[0] for m in _MAGIC)
        return (
            single
            and not str(self.destination_path).rstrip().endswith("/")
            and not session.collections.exists(destination)
        )

    def _one(
        self,
        session: IrodsSession,
        source: str,
        destination: str,
        *,
        avus: list[AVU],
        options: dict[str, Any],
    ) -> FileResult:
        if not self.plan_only:
            parent = posixpath.dirname(destination) or "/"
            session.collections.create(parent, intermediates=True, exist_ok=True)
        return upload_object(
            session,
            source,
            destination,
            metadata=avus,
            resume=bool(self.resume),
            subscribers=(self.progress(os.path.getsize(source)),),
            **options,
            **self.source_options(),
        )


class IrodsToLocalOperator(_IrodsTransferBaseOperator):
    """Download iRODS data objects, collection trees or logical globs to local files, verified and atomic.

    Every file lands in a temporary sibling, is compared with the server's checksum and renamed into place.
    Collections and globs keep their relative paths under the directory ``destination_path``; no name (no
    ``..``, absolute path, backslash or symlink on the way) can make it write outside that directory.
    Returns the transfer report (XCom). See :class:`_IrodsTransferBaseOperator` for the common arguments.
    """

    direction = "iRODS -> local"
    source_dataset = staticmethod(irods_dataset)
    destination_dataset = staticmethod(local_dataset)

    def transfer(self, session: IrodsSession) -> dict[str, Any]:
        """Plan and run the download."""
        sources = check_paths("source_path", self.source_path)
        if not isinstance(self.destination_path, str | os.PathLike):
            raise IrodsInvalidPathError(
                f"destination_path must be a local path, got {self.destination_path!r}"
            )
        destination = _local_paths("destination_path", self.destination_path)[0]
        options = self.engine_options()
        self.log.info("Downloading iRODS %s to %s", sources, destination)
        if self._as_file(session, sources, destination):
            report = self.timed(
                lambda: download_object(
                    session,
                    sources[0],
                    destination,
                    subscribers=(self.progress(session.data_objects.stat(sources[0]).size),),
                    **options,
                )
            )
        else:
            report = download_files(session, sources, destination, **options, **self.tree_options())
        return self.finish(report, destination=destination, session=session)

    def _as_file(self, session: IrodsSession, sources: list[str], destination: str) -> bool:
        """One data object to a path that is neither ``.../`` nor an existing directory: it names the file."""
        return (
            len(sources) == 1
            and not any(m in sources[0] for m in _MAGIC)
            and not destination.rstrip().endswith(("/", os.sep))
            and not os.path.isdir(destination)
            and session.data_objects.exists(sources[0])
        )
