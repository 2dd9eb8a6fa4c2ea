"""One coordinator owns a transfer's fate: status, first error, cancellation, cleanups and subscribers."""

from __future__ import annotations

import enum
import itertools
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from irods_provider.exceptions import IrodsTransferCancelledError

log = logging.getLogger(__name__)

FailureCleanup = Callable[[BaseException | None], object]
"""Undoes one resource of a failed transfer; called with the transfer's error (None when unknown)."""


class TransferStatus(enum.Enum):
    """Lifecycle of one transfer."""

    RUNNING = "running"
    CANCELLED = "cancelled"
    FAILED = "failed"
    SUCCEEDED = "succeeded"


class TransferSubscriber:
    """Receives transfer events; every hook takes ``**kwargs`` so events can grow without breaking
    subscribers.

    ``on_progress`` amounts are bytes handed to the sink; a chunk that is retried reports its amount
    negative first.
    """

    def on_queued(self, *, path: str, size: int | None, **kwargs: Any) -> None:
        """The transfer of ``path`` (``size`` bytes when known) is about to start."""

    def on_progress(self, *, path: str, bytes_transferred: int, **kwargs: Any) -> None:
        """``bytes_transferred`` more bytes (negative on a retry) went through."""

    def on_done(self, *, path: str, error: BaseException | None, **kwargs: Any) -> None:
        """The transfer ended: ``error`` is None on success."""


class TransferCoordinator:
    """Holds the status, the first error, the cancel event and the failure cleanups of one transfer.

    Workers check :meth:`raise_if_failed` before every chunk, so cancellation and the first error stop the
    rest.
    Cleanups are registered where the resource is created (a parallel-write handle, a temporary object, an
    object moved aside to be replaced) and run once, newest first, on failure; success drops them.
    """

    def __init__(
        self,
        *,
        path: str = "",
        subscribers: Sequence[TransferSubscriber] = (),
        cancel_event: threading.Event | None = None,
    ) -> None:
        self.path = path
        self.subscribers = tuple(subscribers)
        self.cancel_event = cancel_event if cancel_event is not None else threading.Event()
        self._lock = threading.Lock()
        self._exception: BaseException | None = None
        self._status = TransferStatus.RUNNING
        self._cleanups: dict[int, FailureCleanup] = {}
        self._cleanup_ids = itertools.count()
        self._wakeups: list[Callable[[], None]] = []

    @property
    def status(self) -> TransferStatus:
        """The current status; a set cancel event turns a running transfer into a cancelled one."""
        with self._lock:
            if self._status is TransferStatus.RUNNING and self.cancel_event.is_set():
                return TransferStatus.CANCELLED
            return self._status

    @property
    def exception(self) -> BaseException | None:
        """The first error (or the cancellation), if any."""
        with self._lock:
            if self._exception is None and self.cancel_event.is_set():
                return IrodsTransferCancelledError("transfer cancelled", path=self.path or None)
            return self._exception

    def set_exception(self, exc: BaseException) -> None:
        """Record the first error; later ones are ignored. Blocked producers are woken up."""
        with self._lock:
            if self._exception is None:
                self._exception = exc
                self._status = TransferStatus.FAILED
            wakeups = list(self._wakeups)
        for wake in wakeups:
            wake()

    def cancel(self) -> None:
        """Ask every worker and producer of this transfer to stop."""
        self.cancel_event.set()
        with self._lock:
            wakeups = list(self._wakeups)
        for wake in wakeups:
            wake()

    def add_wakeup(self, wake: Callable[[], None]) -> None:
        """Register a callback that unblocks waiting producers when the transfer fails or is cancelled."""
        with self._lock:
            self._wakeups.append(wake)

    def raise_if_failed(self) -> None:
        """Raise the first error or the cancellation, if any."""
        exc = self.exception
        if exc is not None:
            raise exc

    def add_failure_cleanup(self, cleanup: FailureCleanup) -> Callable[[], None]:
        """Register ``cleanup`` to run only if the transfer does not succeed; returns a function that
        withdraws it (the resource was released normally, e.g. a handle shut down at close)."""
        with self._lock:
            key = next(self._cleanup_ids)
            self._cleanups[key] = cleanup

        def withdraw() -> None:
            with self._lock:
                self._cleanups.pop(key, None)

        return withdraw

    def run_failure_cleanups(self, cause: BaseException | None = None) -> None:
        """Run the registered cleanups once, newest first, each told the transfer's error ``cause``; a
        cleanup's own error is logged and never masks the transfer's error nor stops the other cleanups."""
        with self._lock:
            cleanups, self._cleanups = list(self._cleanups.values())[::-1], {}
        for cleanup in cleanups:
            try:
                cleanup(cause)
            except Exception as exc:
                log.warning("cleanup after a failed transfer of %s failed: %r", self.path or "?", exc)

    def succeed(self) -> None:
        """Mark the transfer done; pending failure cleanups are dropped."""
        with self._lock:
            self._status = TransferStatus.SUCCEEDED
            self._cleanups = {}

    # subscriber fan-out -----------------------------------------------------------------------------------
    def queued(self, size: int | None) -> None:
        """Tell subscribers the transfer starts."""
        for sub in self.subscribers:
            sub.on_queued(path=self.path, size=size)

    def progress(self, amount: int) -> None:
        """Tell subscribers ``amount`` bytes went through (negative for a retried chunk)."""
        if amount:
            for sub in self.subscribers:
                sub.on_progress(path=self.path, bytes_transferred=amount)

    def done(self, error: BaseException | None) -> None:
        """Tell subscribers the transfer ended."""
        for sub in self.subscribers:
            sub.on_done(path=self.path, error=error)
