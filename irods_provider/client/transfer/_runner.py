"""The one multi-file runner: bounded concurrency in two lanes, the first error, cancellation, the report.

Every multi-file transfer of the provider runs through :func:`run_files`: local ⇄ iRODS (``upload_files``,
``download_files``), server-side tree copies and SFTP ⇄ iRODS staging. Each file's own retries live in
``one`` (chunk retries, SSH reconnects); the runner decides what a file's failure does to the others.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, Literal, Protocol, TypeVar

from irods_provider.exceptions import IrodsTransferCancelledError

from ._report import FileResult, FileStatus, TransferReport

__all__ = ["Lanes", "OnError", "PlannedItem", "run_files"]

#: What a file's failure does to the others: ``stop`` cancels the running ones and starts no more (the
#: first error is raised); ``drain`` starts no more but lets the running ones finish (the first error is
#: raised); ``continue`` runs every file and reports the failures (``raise_failures`` raises the first one
#: after all have run).
OnError = Literal["stop", "drain", "continue"]


class PlannedItem(Protocol):
    """What the runner reads from a planned file."""

    @property
    def source(self) -> str: ...

    @property
    def destination(self) -> str: ...

    @property
    def size(self) -> int | None: ...


T = TypeVar("T", bound=PlannedItem)


@dataclass(frozen=True)
class Lanes:
    """Files of at most ``small_bytes`` run ``small`` at once beside ``large`` bigger ones (0: one lane)."""

    large: int
    small: int = 0
    small_bytes: int = 1024 * 1024

    def of(self, size: int | None) -> str:
        """The lane of a file of ``size`` bytes."""
        return "small" if self.small and size is not None and size <= self.small_bytes else "large"


def run_files(
    plan: Sequence[T],
    one: Callable[[T, threading.Event], FileResult],
    *,
    lanes: Lanes,
    on_error: OnError,
    cancel_event: threading.Event | None = None,
    dry_run: bool = False,
    raise_failures: bool = False,
    what: str = "transfer",
) -> TransferReport:
    """Run ``one(item, cancel)`` per planned file within ``lanes``; returns the report in plan order.

    A failed file is reported as FAILED with its error. A cancellation (``cancel_event`` set from outside)
    raises :class:`IrodsTransferCancelledError`; a raised error carries the report as ``error.report``.
    """
    started = time.monotonic()
    run = _Run(one, on_error, cancel_event if cancel_event is not None else threading.Event())
    slots = {"large": threading.BoundedSemaphore(max(1, lanes.large))}
    if lanes.small:
        slots["small"] = threading.BoundedSemaphore(lanes.small)
    with ThreadPoolExecutor(max_workers=max(1, lanes.large) + lanes.small, thread_name_prefix=what) as pool:
        for index, item in enumerate(plan):
            lane = slots[lanes.of(item.size)]
            lane.acquire()
            if run.stopped():
                lane.release()
                break
            pool.submit(run.task, index, item, lane)
    report = TransferReport(
        files=[run.results[i] for i in sorted(run.results)],
        seconds=time.monotonic() - started,
        dry_run=dry_run,
    )
    error = run.error(report, len(plan), what=what, raise_failures=raise_failures)
    if error is None:
        return report
    if hasattr(error, "__dict__"):
        error.report = report  # type: ignore[attr-defined]
    raise error


class _Run(Generic[T]):
    """The shared state of one run: results by plan index, errors in the order they happened, the cancel."""

    def __init__(
        self, one: Callable[[T, threading.Event], FileResult], on_error: OnError, cancel: threading.Event
    ) -> None:
        self.one, self.on_error, self.cancel = one, on_error, cancel
        self.results: dict[int, FileResult] = {}
        self.errors: list[BaseException] = []
        self.cancelled_from_outside = False
        self._lock = threading.Lock()

    def stopped(self) -> bool:
        """Whether no more files may start."""
        return self.cancel.is_set() or (bool(self.errors) and self.on_error != "continue")

    def task(self, index: int, item: T, lane: threading.BoundedSemaphore) -> None:
        try:
            if self.stopped():
                return
            result = self.one(item, self.cancel)
        except BaseException as exc:
            result = FileResult(
                source=item.source,
                destination=item.destination,
                status=FileStatus.FAILED,
                size=item.size,
                error=f"{type(exc).__name__}: {exc}",
            )
            with self._lock:
                if not self.errors and self.cancel.is_set():
                    self.cancelled_from_outside = True
                self.errors.append(exc)
            if self.on_error == "stop":
                self.cancel.set()
        finally:
            lane.release()
        with self._lock:
            self.results[index] = result

    def error(
        self, report: TransferReport, planned: int, *, what: str, raise_failures: bool
    ) -> BaseException | None:
        """What the run raises: the cancellation, the first error, or nothing."""
        if self.cancel.is_set() and (not self.errors or self.cancelled_from_outside):
            return IrodsTransferCancelledError(
                f"{what} cancelled after {report.transferred} of {planned} files", operation="transfer"
            )
        if self.errors and (self.on_error != "continue" or raise_failures):
            return self.errors[0]
        return None
