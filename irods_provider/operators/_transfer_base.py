"""What every transfer operator shares (local and SFTP, both directions): arguments, policies, engine
configuration, cancellation, the report in the task log and the lineage of the files copied."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, cast

from irods_provider._lineage import LineageDataset, TransferLineageMixin
from irods_provider.client.transfer import (
    FileResult,
    FileStatus,
    LoggingProgressSubscriber,
    OverwritePolicy,
    SkipPolicy,
    TransferConfig,
    TransferReport,
)
from irods_provider.exceptions import IrodsUsageError
from irods_provider.operators._base import IrodsBaseOperator, check_choice

__all__ = ["TransferOperatorBase"]

_SKIPS = tuple(policy.value for policy in SkipPolicy)
# Files whose destination holds the source's bytes after the run: lineage inputs and outputs.
_DONE = (FileStatus.TRANSFERRED, FileStatus.SKIPPED)


class TransferOperatorBase(TransferLineageMixin, IrodsBaseOperator):
    """Arguments and machinery common to every transfer operator.

    :param source_path: a path, a glob (``*``, ``?``, ``[..]``, ``**`` for any depth) or a list of them.
    :param destination_path: a directory / collection; or, for one file, the target itself unless it ends
        with ``/`` or is an existing collection / directory.
    :param recursive: descend into sub-directories / sub-collections.
    :param overwrite: replace existing destinations (atomically); False refuses, naming the path.
    :param skip: ``never``, ``exists``, ``size`` or ``checksum``: when an existing destination counts as done.
    :param streams: parallel iRODS streams per file (default: the engine's, capped by the server).
    :param chunk_size: bytes per iRODS request (default: the engine's, capped by the server's limits).
    :param max_concurrent_files: files copied at once.
    :param continue_on_error: copy the other files after one fails (the task still fails at the end).
    :param fail_if_empty: fail when the sources select no file at all.
    :param progress_interval_seconds: how often a progress line (bytes, %, MB/s, ETA) is logged.
    :param resource: the root resource objects written to iRODS land on (templated in the operators that
        write to iRODS); default: the connection's ``default_resource`` extra, else the server's default.
    """

    direction = ""
    """Names the transfer in the task log (the report's total line and the cancel message)."""
    log_errors: ClassVar[bool] = True
    """Whether a failed file's line in the report shows its error (else only a skip's reason)."""
    writes_to_irods: ClassVar[bool] = False
    """Whether the operator writes data objects (then ``resource``/``default_resource`` apply)."""

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
        continue_on_error: bool = False,
        fail_if_empty: bool = True,
        progress_interval_seconds: float = 10.0,
        resource: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.resource = resource
        self.source_path = source_path
        self.destination_path = destination_path
        self.recursive = recursive
        self.overwrite = overwrite
        self.skip = skip
        self.streams = streams
        self.chunk_size = chunk_size
        self.max_concurrent_files = max_concurrent_files
        self.continue_on_error = continue_on_error
        self.fail_if_empty = fail_if_empty
        self.progress_interval_seconds = progress_interval_seconds
        self._cancel_event: threading.Event | None = None

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
        if self.writes_to_irods:
            values["resource"] = self.write_resource(self.resource)
        elif self.resource:
            raise IrodsUsageError(f"{type(self).__name__} does not write to iRODS: resource is not used")
        return TransferConfig(**values)

    def progress(self, total: int | None) -> LoggingProgressSubscriber:
        """A progress logger on the task log."""
        logger = cast("logging.Logger", self.log)
        return LoggingProgressSubscriber(logger, total=total, interval=float(self.progress_interval_seconds))

    def log_report(self, report: TransferReport, *, direction: str | None = None) -> None:
        """One line per file and a total, in the task log."""
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

    def record_done(
        self,
        files: Sequence[FileResult],
        datasets: Callable[[FileResult], tuple[LineageDataset, LineageDataset]],
        *,
        context: Mapping[str, Any],
    ) -> None:
        """Record the lineage (source, destination) of the files copied or found already identical."""
        pairs = [datasets(f) for f in files if f.status in _DONE]
        self.record_transfer_lineage(pairs, hook=self.hook, context=context)
