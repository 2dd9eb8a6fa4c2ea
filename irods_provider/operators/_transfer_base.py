"""What every transfer operator shares (local and SFTP, both directions): arguments, policies, engine
configuration, cancellation, the report in the task log and the lineage of the files copied."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, cast

from irods_provider._lineage import LineageDataset, TransferLineageMixin
from irods_provider._metrics import record_transfer
from irods_provider.client._patterns import PathPattern, compile_pattern, literal_hint
from irods_provider.client.transfer import (
    ChecksumScheme,
    FileResult,
    FileStatus,
    LoggingProgressSubscriber,
    OverwritePolicy,
    SkipPolicy,
    TransferConfig,
    TransferReport,
)
from irods_provider.exceptions import IrodsUsageError
from irods_provider.operators._base import (
    CancellableMixin,
    IrodsBaseOperator,
    check_choice,
    refuse_empty_segment,
)
from irods_provider.operators._bounded import bounded_entries
from irods_provider.operators._earlier import EarlierTries

if TYPE_CHECKING:
    from airflow.sdk import Context

    from irods_provider.client import IrodsSession

#: Default bound on the JSON size of the per-file entries and checksums a report puts in XCom; with the
#: totals the whole report stays under 64 KiB however many files were planned.
MAX_REPORT_BYTES = 48 * 1024

__all__ = ["TransferOperatorBase"]

_SKIPS = tuple(policy.value for policy in SkipPolicy)
_SCHEMES = tuple(scheme.value for scheme in ChecksumScheme)
# Files whose destination holds the source's bytes after the run: lineage inputs and outputs.
_DONE = (FileStatus.TRANSFERRED, FileStatus.SKIPPED)


class TransferOperatorBase(CancellableMixin, TransferLineageMixin, IrodsBaseOperator):
    """Arguments and machinery common to every transfer operator.

    :param source_path: a path or a list of paths, taken literally (``data[1].csv`` is that file) unless
        ``glob``. With ``move``, one with an empty segment (a trailing ``/`` or ``//``: a template part
        that rendered empty) is refused before anything is copied.
    :param glob: treat ``source_path`` as patterns: ``*``, ``?``, ``[..]`` within one segment, a ``**``
        segment for any depth, ``[[]``/``[*]``/``[?]`` for a literal ``[``/``*``/``?`` (the provider's one
        pattern rule, the same as the sensors' and the delete operator's).
    :param destination_path: a directory / collection; or, for one file, the target itself unless it ends
        with ``/`` or is an existing collection / directory.
    :param recursive: descend into sub-directories / sub-collections.
    :param overwrite: replace existing destinations (atomically); False refuses, naming the path.
    :param skip: ``never``, ``exists``, ``size`` or ``checksum``: when an existing destination counts as done.
    :param streams: parallel iRODS streams per file (default: 3 parallel-write streams for an upload, 4
        ranged reads for a download; writes are capped by the server's per-handle limit, reads are not).
    :param chunk_size: bytes per iRODS request (default: the engine's, capped by the server's limits).
    :param max_concurrent_files: files copied at once (files above 1 MiB).
    :param max_concurrent_small_files: files of at most 1 MiB copied at once beside those (default: adaptive,
        16 at first; staging also stays within the SSH connections' channels).
    :param continue_on_error: copy the other files after one fails (the task still fails at the end).
    :param fail_if_empty: fail when the sources select no file at all (a tree of empty directories is not
        empty: its directories are copied).
    :param progress_interval_seconds: how often a progress line (bytes, %, MB/s, ETA) is logged.
    :param report_files: which per-file entries the XCom report lists: ``all`` (default), ``failed`` or
        ``none``; the totals are always complete. A tree copy's directories (``directories``, each with
        ``source``, ``destination`` and ``status``: ``present`` or, in a dry run, ``planned``) are listed
        with ``all``, within what the files left of ``max_report_bytes``; ``directory_count`` counts them.
    :param max_report_bytes: the per-file entries and checksums in XCom stop at this JSON size (default
        48 KiB, about 100 files; the whole report stays under 64 KiB); beyond it ``files_truncated: true``.
    :param manifest_path: an iRODS path where the full per-file report is written as JSON lines (atomic,
        verified) when the XCom report is truncated; its path is then in the report as ``manifest``.
    :param checksum_scheme: ``sha256``, ``md5``, ``sha512``, ``sha1`` or ``adler32`` pins the zone's checksum
        scheme; None (default) uses the connection's ``checksum_scheme`` extra, else learns it from the
        server's answers.
    :param resource: the root resource objects written to iRODS land on (templated in the operators that
        write to iRODS); default: the connection's ``default_resource`` extra, else the server's default.
    :param drop_remote_avus: with ``overwrite``, replace an object of a federated zone that carries AVUs
        without them (iRODS cannot set AVUs there through the HTTP API); default False refuses such a file
        before reading it (``IrodsRemoteMetadataError``). Operators writing to iRODS only.

    Airflow retries: with ``overwrite=False`` and ``skip='never'`` a later try of the task skips (reason
    "published by an earlier try of this task") each destination its earlier tries published, while it and
    its source still hold the same bytes (size and checksum), instead of refusing it; a file anyone else
    wrote is refused as before. The record is kept on the worker
    (:mod:`irods_provider.operators._earlier`): a retry on another worker refuses as before.
    """

    direction = ""
    """Names the transfer in the task log (the report's total line and the cancel message)."""
    log_errors: ClassVar[bool] = True
    """Whether a failed file's line in the report shows its error (else only a skip's reason)."""
    writes_to_irods: ClassVar[bool] = False
    """Whether the operator writes data objects (then ``resource``/``default_resource`` apply)."""
    move: bool = False
    """Whether sources are removed after their verified copies (the operators' ``move`` argument)."""

    def __init__(
        self,
        *,
        source_path: str | list[str],
        destination_path: str,
        recursive: bool = True,
        overwrite: bool = False,
        skip: str = "never",
        streams: int | None = None,
        chunk_size: int | None = None,
        max_concurrent_files: int = 4,
        max_concurrent_small_files: int | None = None,
        continue_on_error: bool = False,
        fail_if_empty: bool = True,
        progress_interval_seconds: float = 10.0,
        report_files: str = "all",
        max_report_bytes: int = MAX_REPORT_BYTES,
        manifest_path: str | None = None,
        checksum_scheme: str | None = None,
        resource: str | None = None,
        glob: bool = False,
        drop_remote_avus: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.drop_remote_avus = drop_remote_avus
        if not isinstance(glob, bool):
            raise IrodsUsageError(f"glob must be True or False, got {glob!r}")
        self.glob = glob
        self.report_files = report_files
        self.max_report_bytes = max_report_bytes
        self.manifest_path = manifest_path
        self.resource = resource
        self.source_path = source_path
        self.destination_path = destination_path
        self.recursive = recursive
        self.overwrite = overwrite
        self.skip = skip
        self.streams = streams
        self.chunk_size = chunk_size
        self.max_concurrent_files = max_concurrent_files
        self.max_concurrent_small_files = max_concurrent_small_files
        self.continue_on_error = continue_on_error
        self.fail_if_empty = fail_if_empty
        self.progress_interval_seconds = progress_interval_seconds
        self.checksum_scheme = checksum_scheme
        self._cancel_event = None
        self._tries_context: Context | None = None
        self._earlier: EarlierTries | None = None

    def execute(self, context: Context) -> Any:
        """Run the transfer; a success drops the record kept for retries (:meth:`earlier_tries`)."""
        self._tries_context, self._earlier = context, None
        result = super().execute(context)
        if self._earlier is not None:
            self._earlier.succeeded()
        return result

    def earlier_tries(self) -> EarlierTries:
        """What earlier tries of this task published (for the engine), and where this try records its own."""
        if self._earlier is None:
            overwrite, skip = self.policies()
            applies = EarlierTries.applies(overwrite, skip, plan_only=bool(getattr(self, "plan_only", False)))
            self._earlier = EarlierTries(type(self).__name__, self._tries_context, applies=applies)
        return self._earlier

    def rendered_sources(self) -> Any:
        """``source_path`` as rendered; with ``move`` one with an empty segment (a template part rendered
        empty) is refused, as the delete operator refuses it: the move would take the parent's whole tree."""
        return refuse_empty_segment(self.source_path, "source_path") if self.move else self.source_path

    def source_pattern(self, source: str) -> PathPattern | None:
        """``source`` as a pattern when ``glob`` is set and it holds a wildcard; None for a literal path."""
        if not self.glob:
            return None
        compiled = compile_pattern(source)
        return None if compiled.literal else compiled

    def literal_source(self, source: str) -> str:
        """The path a literal source names (with ``glob``, its ``[[]`` escapes resolved)."""
        return compile_pattern(source).base if self.glob else source

    def missing_source(self, what: str, source: str) -> str:
        """The message for a literal source that is not there, with the ``glob=True`` hint when it fits."""
        return f"{what} {source!r} does not exist{'' if self.glob else literal_hint(source)}"

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
        if self.max_concurrent_small_files is not None:
            values["max_concurrent_small_files"] = int(self.max_concurrent_small_files)
        if self.streams is not None:
            values["streams"] = int(self.streams)
        if self.chunk_size is not None:
            values["chunk_size"] = int(self.chunk_size)
            values["small_file_threshold"] = min(int(self.chunk_size), TransferConfig().small_file_threshold)
        if self.checksum_scheme is not None:
            values["checksum_scheme"] = ChecksumScheme(
                check_choice("checksum_scheme", self.checksum_scheme, _SCHEMES)
            )
        if self.writes_to_irods:
            values["resource"] = self.write_resource(self.resource)
            values["drop_remote_avus"] = bool(self.drop_remote_avus)
        elif self.resource:
            raise IrodsUsageError(f"{type(self).__name__} does not write to iRODS: resource is not used")
        if earlier := self.earlier_tries().copies:
            values["earlier_copies"] = earlier
        return TransferConfig(**values)

    def progress(self, total: int | None) -> LoggingProgressSubscriber:
        """A progress logger on the task log."""
        logger = cast("logging.Logger", self.log)
        return LoggingProgressSubscriber(logger, total=total, interval=float(self.progress_interval_seconds))

    def metrics_sftp_conn_id(self) -> str | None:
        """The ``sftp_conn_id`` tag of the transfer metrics: none here, the cluster's SFTP one in staging."""
        return None

    def log_report(self, report: TransferReport, *, direction: str | None = None) -> None:
        """One line per file and a total, in the task log; the totals also go to the metrics."""
        record_transfer(
            report,
            direction=direction or self.direction,
            conn_id=str(self.irods_conn_id),
            sftp_conn_id=self.metrics_sftp_conn_id(),
        )
        for f in report.files:
            note = (f.reason or f.error) if self.log_errors else f.reason
            self.log.info(
                "%s %s -> %s (%s bytes, %s)%s",
                f.status.value,
                f.source,
                f.destination,
                f.size,
                f.checksum or "-",
                f" [{note}]" if note else "",
            )
        self.log.info(
            "%s: %d transferred, %d skipped, %d failed, %d bytes in %.2f s (%.1f MB/s)%s",
            direction or self.direction,
            report.transferred,
            report.skipped,
            report.failed,
            report.bytes,
            report.seconds,
            report.mb_per_second,
            " (dry run)" if report.dry_run else "",
        )

    def xcom_report(self, report: TransferReport, session: IrodsSession | None = None) -> dict[str, Any]:
        """The report for XCom with bounded per-file entries; the full list goes to ``manifest_path``."""
        import json

        which = check_choice("report_files", self.report_files, ("all", "failed", "none"))
        listed = {
            "all": report.files,
            "failed": [f for f in report.files if f.status is FileStatus.FAILED],
            "none": [],
        }[which]
        result = report.to_dict()
        checksums: dict[str, str] = result["checksums"]
        files: list[dict[str, Any]] = []
        kept: dict[str, str] = {}
        budget = int(self.max_report_bytes)
        for f in listed:
            entry = f.to_dict()
            cost = len(json.dumps(entry)) + (len(f.destination) + len(f.checksum or "") + 8)
            if cost > budget:
                break
            budget -= cost
            files.append(entry)
            if f.destination in checksums:
                kept[f.destination] = checksums[f.destination]
        truncated = len(files) < len(listed)
        result.update(files=files, checksums=kept, files_truncated=truncated, file_count=len(report.files))
        result["directories"] = bounded_entries(result["directories"] if which == "all" else [], budget)[0]
        if truncated and self.manifest_path and session is not None:
            result["manifest"] = self._write_manifest(session, report)
        elif truncated:
            self.log.warning(
                "the XCom report lists %d of %d files; set manifest_path to keep the full list in iRODS",
                len(files),
                len(listed),
            )
        return result

    def _write_manifest(self, session: IrodsSession, report: TransferReport) -> str:
        from irods_provider.operators._bounded import check_manifest_path, write_manifest

        path = check_manifest_path(self.manifest_path)
        assert path is not None  # called only with a manifest_path
        write_manifest(session, path, (f.to_dict() for f in report.files))
        self.log.info("Wrote the report of %d files to %s", len(report.files), path)
        return path

    def record_done(
        self,
        files: Sequence[FileResult],
        datasets: Callable[[FileResult], tuple[LineageDataset, LineageDataset]],
        *,
        context: Mapping[str, Any],
    ) -> None:
        """Record the lineage (source, destination) of the files copied or found already identical.

        A lineage problem is logged, never raised: the files are already where they belong. What they
        published is recorded for a retry of the task (:meth:`earlier_tries`), also when the try failed (any
        exception, Airflow's execution_timeout too): a problem recording it never replaces that failure.
        """
        try:
            self.earlier_tries().record(files)
        except Exception as error:  # a retry then refuses these files, as without a record
            self.log.warning("files published not recorded for a retry: %s: %s", type(error).__name__, error)
        try:
            pairs = [datasets(f) for f in files if f.status in _DONE]
        except Exception as error:  # lineage is best effort by design
            self.log.warning("lineage not recorded: %s: %s", type(error).__name__, error)
            return
        self.record_transfer_lineage(pairs, hook=self.hook, context=context)
