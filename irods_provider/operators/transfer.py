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
import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from irods_provider._lineage import LineageDataset, TransferLineageMixin, irods_dataset, local_dataset
from irods_provider.client import AVU
from irods_provider.client.transfer import (
    FileStatus,
    LoggingProgressSubscriber,
    OverwritePolicy,
    SkipPolicy,
    TransferConfig,
    TransferReport,
    download_files,
    download_object,
    upload_files,
    upload_object,
)
from irods_provider.exceptions import IrodsError, IrodsInvalidPathError, IrodsUsageError
from irods_provider.operators._base import IrodsBaseOperator, check_choice, check_path, check_paths

if TYPE_CHECKING:
    from airflow.sdk import Context

    from irods_provider.client import IrodsSession

__all__ = ["IrodsToLocalOperator", "LocalToIrodsOperator"]

_SKIPS = tuple(policy.value for policy in SkipPolicy)
# Files whose destination holds the source's bytes after the run: lineage inputs and outputs.
_DONE = (FileStatus.TRANSFERRED, FileStatus.SKIPPED)
_MAGIC = ("*", "?", "[")


def _local_paths(name: str, value: Any) -> list[str]:
    """One local path or a non-empty list of them (a rendered template may give either)."""
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
    """AVUs from a mapping (attribute → value) or a list of ``{"attribute", "value", "units"}`` objects."""
    if not value:
        return []
    if isinstance(value, Mapping):
        return [AVU(str(k), str(v)) for k, v in value.items()]
    if isinstance(value, Sequence) and not isinstance(value, str):
        avus = []
        for item in value:
            if isinstance(item, AVU):
                avus.append(item)
            elif isinstance(item, Mapping) and "attribute" in item and "value" in item:
                avus.append(AVU(str(item["attribute"]), str(item["value"]), str(item.get("units") or "")))
            else:
                raise IrodsUsageError(f"metadata entries need 'attribute' and 'value', got {item!r}")
        return avus
    raise IrodsUsageError(f"metadata must be a mapping or a list of AVUs, got {value!r}")


class _IrodsTransferBaseOperator(TransferLineageMixin, IrodsBaseOperator):
    """Arguments, policies, cancellation and lineage shared by both directions.

    Lineage and outlets: see the module documentation; users may declare
    ``outlets=[Asset("irods://<zone>/<path>")]`` to schedule downstream DAGs on what the task writes.

    :param source_path: a path, a glob (``*``, ``?``, ``[..]``, ``**``) or a list of them.
    :param destination_path: a collection / directory; or, for one file, the target itself unless it ends
        with ``/`` or is an existing collection / directory.
    :param pattern: fnmatch filter on the paths relative to a directory or collection source (or names).
    :param recursive: descend into sub-directories / sub-collections.
    :param overwrite: replace existing destinations (atomically); False refuses, naming the path.
    :param skip: ``never``, ``exists``, ``size`` or ``checksum``: when an existing destination counts as done.
    :param plan_only: a dry run: the report lists the files as ``planned``; nothing is written (named so
        because ``BaseOperator.dry_run()`` is a method).
    :param streams: parallel streams per file (default: the engine's, capped by the server).
    :param chunk_size: bytes per request (default: the engine's, capped by the server's limits).
    :param max_concurrent_files: files copied at once.
    :param continue_on_error: copy the other files after one fails (the task still fails at the end).
    :param fail_if_empty: fail when the sources select no file at all.
    :param progress_interval_seconds: how often a progress line (bytes, %, MB/s, ETA) is logged.
    """

    template_fields: Sequence[str] = ("source_path", "destination_path", "pattern", "irods_conn_id")
    ui_color = "#3d6f8f"
    direction = ""

    def __init__(
        self,
        *,
        source_path: str | list[str],
        destination_path: str,
        pattern: str | None = None,
        recursive: bool = True,
        overwrite: bool = False,
        skip: str = "never",
        plan_only: bool = False,
        streams: int | None = None,
        chunk_size: int | None = None,
        max_concurrent_files: int = 4,
        continue_on_error: bool = False,
        fail_if_empty: bool = True,
        progress_interval_seconds: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.source_path = source_path
        self.destination_path = destination_path
        self.pattern = pattern
        self.recursive = recursive
        self.overwrite = overwrite
        self.skip = skip
        self.plan_only = plan_only
        self.streams = streams
        self.chunk_size = chunk_size
        self.max_concurrent_files = max_concurrent_files
        self.continue_on_error = continue_on_error
        self.fail_if_empty = fail_if_empty
        self.progress_interval_seconds = progress_interval_seconds
        self._cancel_event: threading.Event | None = None
        self._logged: TransferReport | None = None

    @property
    def cancel_event(self) -> threading.Event:
        """Set by :meth:`on_kill`; every reader, writer and parallel-write handle of the engine stops."""
        if self._cancel_event is None:
            self._cancel_event = threading.Event()
        return self._cancel_event

    def on_kill(self) -> None:
        """Stop every file: parallel-write handles are shut down and nothing unverified is published."""
        self.log.info("Cancelling the %s transfer", self.direction)
        self.cancel_event.set()

    def policies(self) -> tuple[OverwritePolicy, SkipPolicy]:
        """The rendered overwrite flag and skip name as engine policies."""
        skip = SkipPolicy(check_choice("skip", self.skip, _SKIPS))
        return (OverwritePolicy.OVERWRITE if self.overwrite else OverwritePolicy.REFUSE), skip

    def transfer_config(self) -> TransferConfig:
        """The engine configuration from the operator's arguments (the engine caps it by server limits)."""
        values: dict[str, Any] = {
            "max_concurrent_files": int(self.max_concurrent_files),
            "progress_interval_seconds": float(self.progress_interval_seconds),
        }
        if self.streams is not None:
            values["streams"] = int(self.streams)
        if self.chunk_size is not None:
            values["chunk_size"] = int(self.chunk_size)
            values["small_file_threshold"] = min(int(self.chunk_size), TransferConfig().small_file_threshold)
        return TransferConfig(**values)

    def progress(self, total: int | None) -> LoggingProgressSubscriber:
        """A progress logger on the task log."""
        logger = cast("logging.Logger", self.log)
        return LoggingProgressSubscriber(logger, total=total, interval=float(self.progress_interval_seconds))

    def finish(self, report: TransferReport, *, destination: str) -> dict[str, Any]:
        """Log the report; fail on an empty selection or failed files; else the XCom value."""
        self.log_report(report)
        if not report.files and self.fail_if_empty:
            raise FileNotFoundError(f"no file matches {self.source_path!r}")
        if report.failed:
            failed = [f.source for f in report.files if f.status is FileStatus.FAILED]
            error = IrodsError(f"{report.failed} of {len(report.files)} files failed: {failed}")
            error.report = report  # type: ignore[attr-defined]
            raise error
        return {**report.to_dict(), "direction": self.direction, "destination": destination}

    def log_report(self, report: TransferReport) -> None:
        """One line per file and a total, in the task log."""
        self._logged = report
        for f in report.files:
            self.log.info(
                "%s %s -> %s (%s bytes, %s)%s",
                f.status.value,
                f.source,
                f.destination,
                f.size,
                f.checksum or "-",
                f" [{f.reason or f.error}]" if f.reason or f.error else "",
            )
        self.log.info(
            "%s: %d transferred, %d skipped, %d failed, %d bytes in %.2f s (%.1f MB/s)%s",
            self.direction,
            report.transferred,
            report.skipped,
            report.failed,
            report.bytes,
            report.seconds,
            report.mb_per_second,
            " (dry run)" if report.dry_run else "",
        )

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
                self.log_report(report)
            raise
        finally:
            if self._logged is not None:
                done = [f for f in self._logged.files if f.status in _DONE]
                self.record_transfer_lineage(
                    [(self.source_dataset(f.source), self.destination_dataset(f.destination)) for f in done],
                    hook=self.hook,
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
    """

    template_fields: Sequence[str] = (*_IrodsTransferBaseOperator.template_fields, "metadata")
    template_fields_renderers = {"metadata": "json"}
    direction = "local -> iRODS"
    source_dataset = staticmethod(local_dataset)
    destination_dataset = staticmethod(irods_dataset)

    def __init__(
        self, *, metadata: Mapping[str, str] | list[Any] | None = None, resume: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.metadata = metadata
        self.resume = resume

    def transfer(self, session: IrodsSession) -> dict[str, Any]:
        """Plan and run the upload."""
        sources = _local_paths("source_path", self.source_path)
        destination = check_path("destination_path", self.destination_path)
        overwrite, skip = self.policies()
        config = self.transfer_config()
        avus = _avus(self.metadata)
        self.log.info("Uploading %s to iRODS %s", sources, destination)
        if self._as_object(session, sources, destination):
            report = self._one(
                session,
                source=sources[0],
                destination=destination,
                config=config,
                overwrite=overwrite,
                skip=skip,
                avus=avus,
            )
        else:
            report = upload_files(
                session,
                sources,
                destination,
                pattern=self.pattern or None,
                recursive=bool(self.recursive),
                config=config,
                overwrite=overwrite,
                skip=skip,
                metadata=avus,
                dry_run=bool(self.plan_only),
                resume=bool(self.resume),
                continue_on_error=bool(self.continue_on_error),
                logger=cast("logging.Logger", self.log),
                cancel_event=self.cancel_event,
            )
        return self.finish(report, destination=destination)

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
        *,
        source: str,
        destination: str,
        config: TransferConfig,
        overwrite: OverwritePolicy,
        skip: SkipPolicy,
        avus: list[AVU],
    ) -> TransferReport:
        started = time.monotonic()
        if not self.plan_only:
            parent = posixpath.dirname(destination) or "/"
            session.collections.create(parent, intermediates=True, exist_ok=True)
        result = upload_object(
            session,
            source,
            destination,
            config=config,
            overwrite=overwrite,
            skip=skip,
            metadata=avus,
            dry_run=bool(self.plan_only),
            resume=bool(self.resume),
            subscribers=(self.progress(os.path.getsize(source)),),
            cancel_event=self.cancel_event,
        )
        return TransferReport(
            files=[result], seconds=time.monotonic() - started, dry_run=bool(self.plan_only)
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
        overwrite, skip = self.policies()
        config = self.transfer_config()
        self.log.info("Downloading iRODS %s to %s", sources, destination)
        if self._as_file(session, sources, destination):
            started = time.monotonic()
            size = session.data_objects.stat(sources[0]).size
            result = download_object(
                session,
                sources[0],
                destination,
                config=config,
                overwrite=overwrite,
                skip=skip,
                dry_run=bool(self.plan_only),
                subscribers=(self.progress(size),),
                cancel_event=self.cancel_event,
            )
            elapsed = time.monotonic() - started
            report = TransferReport(files=[result], seconds=elapsed, dry_run=bool(self.plan_only))
        else:
            report = download_files(
                session,
                sources,
                destination,
                pattern=self.pattern or None,
                recursive=bool(self.recursive),
                config=config,
                overwrite=overwrite,
                skip=skip,
                dry_run=bool(self.plan_only),
                continue_on_error=bool(self.continue_on_error),
                logger=cast("logging.Logger", self.log),
                cancel_event=self.cancel_event,
            )
        return self.finish(report, destination=destination)

    def _as_file(self, session: IrodsSession, sources: list[str], destination: str) -> bool:
        """One data object to a path that is neither ``.../`` nor an existing directory: it names the file."""
        return (
            len(sources) == 1
            and not any(m in sources[0] for m in _MAGIC)
            and not destination.rstrip().endswith(("/", os.sep))
            and not os.path.isdir(destination)
            and session.data_objects.exists(sources[0])
        )
