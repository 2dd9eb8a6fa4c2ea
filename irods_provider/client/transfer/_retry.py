"""Per-chunk retries with full-jitter exponential backoff, on errors that a retry can cure."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import TypeVar

from irods_provider.client._events import emit, retry_cause
from irods_provider.client._retry import is_unsent
from irods_provider.exceptions import (
    IrodsConnectionError,
    IrodsError,
    IrodsResponseError,
    IrodsServerBusyError,
    IrodsTimeoutError,
)

from ._coordinator import TransferCoordinator

T = TypeVar("T")

_RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


def is_retryable(exc: BaseException) -> bool:
    """Whether a chunk request that failed with ``exc`` may succeed when sent again (same offset, same
    bytes)."""
    if isinstance(exc, IrodsServerBusyError | IrodsConnectionError | IrodsTimeoutError):
        return True
    if isinstance(exc, IrodsResponseError) and exc.sent_status is not None:
        return exc.sent_status in _RETRYABLE_STATUS  # an older release's ambiguous 5xx, as it was sent
    if isinstance(exc, IrodsResponseError):
        # A mid-body failure of a header-form write is an empty 500; iRODS-level refusals carry a code.
        return exc.http_status in _RETRYABLE_STATUS and not exc.irods_code
    return isinstance(exc, ConnectionError | TimeoutError)


class ChunkRetrier:
    """Runs one chunk request with up to ``retries`` extra attempts; sleeping wakes up on cancellation."""

    def __init__(
        self,
        *,
        retries: int,
        base_seconds: float,
        max_seconds: float,
        coordinator: TransferCoordinator,
        rng: random.Random | None = None,
        sleep: Callable[[float], object] | None = None,
        retry_on: Callable[[BaseException], bool] = is_retryable,
    ) -> None:
        self.retry_on = retry_on
        self.retries = retries
        self.base_seconds = base_seconds
        self.max_seconds = max_seconds
        self.coordinator = coordinator
        self._rng = rng  # made at the first retry: seeding one costs a getrandom call, and most never retry
        self._rng_lock = threading.Lock()
        self._sleep = sleep or coordinator.cancel_event.wait
        self.retried = 0

    def delay(self, attempt: int) -> float:
        """Full-jitter backoff for the given retry number (0-based)."""
        cap = min(self.max_seconds, self.base_seconds * (2**attempt))
        with self._rng_lock:
            if self._rng is None:
                self._rng = random.Random()
            return self._rng.uniform(0, cap)

    def call(
        self,
        fn: Callable[[], T],
        *,
        on_retry: Callable[[], object] | None = None,
        retry_on: Callable[[BaseException], bool] | None = None,
    ) -> T:
        """Call ``fn``; on a retryable error back off and call again, at most ``retries`` more times
        (``retry_on`` narrows what is retryable for this call)."""
        retry_on = retry_on or self.retry_on
        attempt = 0
        while True:
            self.coordinator.raise_if_failed()
            try:
                return fn()
            except Exception as exc:
                if attempt >= self.retries or not retry_on(exc):
                    raise
                if on_retry is not None:
                    on_retry()
                emit("retry", cause=retry_cause(exc))
                self.retried += 1
                self._sleep(self.wait(exc, attempt))
                attempt += 1

    def wait(self, exc: BaseException, attempt: int) -> float:
        """The backoff before retry ``attempt`` after ``exc``, lengthened to a 429/503 reply's
        ``Retry-After`` within the longest backoff (a busy server says when it will have room)."""
        delay = self.delay(attempt)
        asked = exc.retry_after if isinstance(exc, IrodsServerBusyError) else None
        if asked is not None:
            delay = max(delay, min(asked, self.max_seconds))
        return delay


def is_busy(exc: BaseException) -> bool:
    """HTTP 429/503: the server refused before acting, so even a non-idempotent request may be resent."""
    return isinstance(exc, IrodsServerBusyError)


def did_not_act(exc: BaseException) -> bool:
    """The server provably did not act on the request: it was busy (429/503), or the request never left
    (no connection, or none free in the pool)."""
    return is_busy(exc) or (isinstance(exc, IrodsError) and is_unsent(exc))


def is_unclear(exc: BaseException) -> bool:
    """A failure that does not say whether the server acted (timeout, dropped connection, bare 5xx)."""
    return is_retryable(exc) and not did_not_act(exc)
