"""How many small files run at once: chosen from the plan, then adapted to what the server and the link take.

A small file costs three or four round trips and almost no bytes, so over a WAN its rate is set by how many
run at once. How many the server takes is unknown to the client: the iRODS HTTP API 0.7 answers a request on
one of ``http_server.background_io.threads`` (6) with one of ``irods_client.connection_pool.size`` (6) iRODS
connections; its 3 ``http_server.requests.threads`` only parse and dispatch. Requests beyond those 6 wait in
the server (it never answers 503 for load; a proxy in front may answer 503 or 429), so a lane that is too
wide shows as a latency rise with no gain in files/s, a lane too narrow as latency that stays flat. The client
needs about ``6 + files/s * round trip`` requests in flight; on a 30 ms link that is more than 16.

:class:`AdaptiveLimit` is an AIMD controller over windows of completed files: while the latency stays flat
(within :data:`FLAT_LATENCY` of the best window) or files/s still rises by :data:`GAIN`, it grows (by half
until the first sign of saturation, then by a quarter); when the latency rises past :data:`LATENCY_RISE` of
the best window it shrinks to three quarters; an HTTP 503/429 or a timeout halves it at once. After a cut,
the files already in flight (started under the old limit) judge nothing, neither another cut nor the next
window, so one burst costs one cut. It stays within ``[minimum, maximum]``; ``maximum`` is the user's ceiling
and the connection pool's kept-alive connections (more would reconnect every request).
"""

from __future__ import annotations

import logging
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["AdaptiveLimit", "LimitChange"]

logger = logging.getLogger(__name__)

#: A window's median latency within this factor of the best window's counts as flat (room to grow).
FLAT_LATENCY = 1.25
#: A window's median latency past this factor of the best window's means requests queue: shrink.
LATENCY_RISE = 2.0
#: Files/s must rise by this fraction over the best window for a latency between the two to grow further.
GAIN = 0.05
#: Fewest completed files a window decides on (small windows are noise).
MIN_WINDOW = 8


@dataclass(frozen=True)
class LimitChange:
    """One decision of the controller: when, from what, to what, and why."""

    at: float
    old: int
    new: int
    reason: str


class AdaptiveLimit:
    """A concurrency limit that grows while files/s rises and latency stays flat and backs off on congestion.

    Thread-safe: workers call :meth:`completed` and :meth:`congested`; the runner reads :attr:`limit`.
    ``clock`` is injectable so the decisions can be tested without waiting.
    """

    def __init__(
        self,
        initial: int,
        *,
        minimum: int = 1,
        maximum: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.minimum = max(1, minimum)
        self.maximum = max(self.minimum, maximum)
        self._limit = min(self.maximum, max(self.minimum, initial))
        self._clock = clock
        self._lock = threading.Lock()
        self._slow_start = True
        self._best_latency: float | None = None
        self._best_rate = 0.0
        self._latencies: list[float] = []
        self._window_start = clock()
        self._settling = 0  # files started before the last cut, still to finish: they judge nothing
        self.changes: list[LimitChange] = []

    @property
    def limit(self) -> int:
        """How many small files may run now."""
        return self._limit

    @property
    def window(self) -> int:
        """Completed files a decision waits for: half the limit while growing fast (the ramp costs a short
        run most), the whole limit afterwards (steadier medians, fewer false cuts)."""
        return max(MIN_WINDOW, self._limit // 2 if self._slow_start else self._limit)

    @property
    def settling(self) -> int:
        """Files started before the last cut that have yet to finish; until then nothing is decided."""
        return self._settling

    def completed(self, seconds: float) -> None:
        """A small file finished after ``seconds``; a full window decides whether to grow, hold or shrink."""
        with self._lock:
            if self._settling:
                self._settling -= 1
                if not self._settling:
                    self._restart_window()
                return
            self._latencies.append(seconds)
            if len(self._latencies) >= self.window:
                self._decide()

    def congested(self, reason: str) -> None:
        """The server or a proxy said busy (503/429) or a request timed out: halve, once per window."""
        with self._lock:
            if self._settling:
                return  # said of a request sent before the last cut
            self._cut(max(self.minimum, self._limit // 2), reason)

    def _decide(self) -> None:
        now = self._clock()
        latency = statistics.median(self._latencies)
        rate = len(self._latencies) / max(now - self._window_start, 1e-9)
        best = latency if self._best_latency is None else min(self._best_latency, latency)
        self._best_latency = best
        if latency > best * LATENCY_RISE:
            shrunk = max(self.minimum, self._limit * 3 // 4)
            self._cut(shrunk, f"latency {latency / best:.1f}x the best window")
            return
        if latency <= best * FLAT_LATENCY or rate > self._best_rate * (1 + GAIN):
            step = self._limit // 2 if self._slow_start else self._limit // 4
            grown = self._limit + max(1, step)
            self._set(min(self.maximum, grown), f"{rate:.0f} files/s, latency {latency / best:.1f}x the best")
        else:
            self._slow_start = False  # flat files/s with latency rising: the server's queue is filling
        self._best_rate = max(self._best_rate, rate)
        self._restart_window()

    def _cut(self, new: int, reason: str) -> None:
        """Shrink, end the fast growth, and judge again only on files started after this cut."""
        self._slow_start = False
        self._settling = self._limit  # as many as may be in flight now
        self._set(new, reason)
        self._restart_window()

    def _restart_window(self) -> None:
        self._latencies = []
        self._window_start = self._clock()

    def _set(self, new: int, reason: str) -> None:
        if new == self._limit:
            return
        self.changes.append(LimitChange(self._clock(), self._limit, new, reason))
        logger.info("small files at once: %d -> %d (%s)", self._limit, new, reason)
        self._limit = new
