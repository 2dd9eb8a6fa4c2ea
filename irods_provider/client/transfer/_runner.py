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

from irods_provider.client._events import add_listener
from irods_provider.exceptions import IrodsServerBusyError, IrodsTimeoutError, IrodsTransferCancelledError

from ._adaptive import AdaptiveLimit
from ._config import TransferConfig
from ._report import FileResult, FileStatus, TransferReport

__all__ = ["SMALL_LANE_BYTES", "Lanes", "OnError", "PlannedItem", "plan_lanes", "run_files"]

#: Files up to this size run in the small-file lane (``TransferConfig.max_concurrent_small_files``).
SMALL_LANE_BYTES = 1024 * 1024
#: Small files at once when a run starts, before the adaptive lane has measured anything.
INITIAL_SMALL_FILES = 16

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
    """Files of at most ``small_bytes`` run ``small`` at once beside ``large`` bigger ones (0: one lane).

    With ``adaptive`` the small lane runs ``adaptive.limit`` files at once instead, a limit the controller
    moves while the files run (``small`` is then ignored).
    """

    large: int
    small: int = 0
    small_bytes: int = 1024 * 1024
    adaptive: AdaptiveLimit | None = None

    def of(self, size: int | None) -> str:
        """The lane of a file of ``size`` bytes."""
        wide = self.small or self.adaptive is not None
        return "small" if wide and size is not None and size <= self.small_bytes else "large"


class _Slots:
    """A lane's admission: a fixed count, or the adaptive controller's current limit (read at each start).

    Small files report their latency to the controller when they finish; a failure by a busy server or a
    timeout counts as congestion.
    """

    def __init__(self, fixed: int, adaptive: AdaptiveLimit | None = None) -> None:
        self.fixed, self.adaptive = max(1, fixed), adaptive
        self.busy = 0
        self._cond = threading.Condition()

    @property
    def limit(self) -> int:
        return self.adaptive.limit if self.adaptive is not None else self.fixed

    def acquire(self) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self.busy < self.limit)
            self.busy += 1

    def release(self, seconds: float | None = None, error: BaseException | None = None) -> None:
        if self.adaptive is not None:
            if error is not None and _is_congestion(error):
                self.adaptive.congested(f"{type(error).__name__}")
            elif error is None and seconds is not None:
                self.adaptive.completed(seconds)
        with self._cond:
            self.busy -= 1
            self._cond.notify_all()


def _is_congestion(error: BaseException) -> bool:
    return isinstance(error, IrodsServerBusyError | IrodsTimeoutError | TimeoutError)


# Retries inside a file (the session's and the engine's) are reported as events from the thread that made
# the request; a worker of an adaptive lane names its controller here, so a 503, a 429 or a timeout it
# meets slows its lane down even when the retry then succeeds.
_worker = threading.local()
_CONGESTION_STATUS = frozenset({"429", "503"})


def _on_event(event: str, _value: float, tags: dict[str, str]) -> None:
    adaptive: AdaptiveLimit | None = getattr(_worker, "adaptive", None)
    if adaptive is None:
        return
    if event == "request" and tags.get("status") in _CONGESTION_STATUS:
        adaptive.congested(f"HTTP {tags['status']}")
    elif event == "retry" and tags.get("cause") == "timeout":
        adaptive.congested("timeout")


add_listener(_on_event)


def plan_lanes(
    sizes: Sequence[int | None],
    config: TransferConfig,
    session: object = None,
    *,
    capacity: int | None = None,
) -> Lanes:
    """The lanes of a plan of files of ``sizes`` bytes: small files (at most :data:`SMALL_LANE_BYTES`) wait
    on round trips, not bytes, so they get their own wider lane (its memory stays under its width times
    :data:`SMALL_LANE_BYTES`).

    The width is the pinned ``max_concurrent_small_files``, or picked from the plan and adapted while the
    files run, never above ``max_adaptive_small_files``, the session's kept-alive connections, nor
    ``capacity`` less the large files running at once (``capacity``: the files the caller can carry at once,
    e.g. an SFTP endpoint's channels).
    """
    if config.max_concurrent_small_files is not None:
        return Lanes(config.max_concurrent_files, config.max_concurrent_small_files, SMALL_LANE_BYTES)
    small = sum(1 for size in sizes if size is not None and size <= SMALL_LANE_BYTES)
    large = min(config.max_concurrent_files, len(sizes) - small)
    pool = getattr(getattr(session, "pool_limits", None), "max_keepalive_connections", None)
    room = config.max_adaptive_small_files if capacity is None else max(1, capacity - large)
    ceiling = min(config.max_adaptive_small_files, small, pool or config.max_adaptive_small_files, room)
    initial = min(INITIAL_SMALL_FILES, ceiling)
    if ceiling <= initial:  # every small file starts at once anyway: nothing to adapt
        return Lanes(config.max_concurrent_files, max(1, ceiling), SMALL_LANE_BYTES)
    adaptive = AdaptiveLimit(initial, maximum=ceiling)
    return Lanes(config.max_concurrent_files, 0, SMALL_LANE_BYTES, adaptive=adaptive)


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
    slots = {"large": _Slots(lanes.large)}
    if lanes.small or lanes.adaptive is not None:
        slots["small"] = _Slots(lanes.small, lanes.adaptive)
    small_max = lanes.adaptive.maximum if lanes.adaptive is not None else lanes.small
    try:
        with ThreadPoolExecutor(max_workers=max(1, lanes.large) + small_max, thread_name_prefix=what) as pool:
            for index, item in enumerate(plan):
                lane = slots[lanes.of(item.size)]
                lane.acquire()
                if run.stopped():
                    lane.release()
                    break
                pool.submit(run.task, index, item, lane)
    except BaseException as exc:  # raised in this thread (Airflow's execution_timeout): report the files done
        if hasattr(exc, "__dict__") and not hasattr(exc, "report"):
            exc.report = run.report(started, dry_run)  # type: ignore[attr-defined]
        raise
    report = run.report(started, dry_run)
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

    def report(self, started: float, dry_run: bool) -> TransferReport:
        """The report of the files done so far, in plan order."""
        with self._lock:
            files = [self.results[i] for i in sorted(self.results)]
        return TransferReport(files=files, seconds=time.monotonic() - started, dry_run=dry_run)

    def stopped(self) -> bool:
        """Whether no more files may start."""
        return self.cancel.is_set() or (bool(self.errors) and self.on_error != "continue")

    def task(self, index: int, item: T, lane: _Slots) -> None:
        started, seconds, failure = time.monotonic(), None, None
        _worker.adaptive = lane.adaptive
        try:
            if self.stopped():
                return
            result = self.one(item, self.cancel)
            if result.status is FileStatus.TRANSFERRED:  # a skip's round trips say little of the lane
                seconds = time.monotonic() - started
        except BaseException as exc:
            failure = exc
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
            _worker.adaptive = None
            lane.release(seconds, failure)
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
