"""A progress subscriber that writes one log line at a steady interval: bytes, percent, MB/s, ETA."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from ._coordinator import TransferSubscriber


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


class LoggingProgressSubscriber(TransferSubscriber):
    """Aggregates progress over every file of a transfer and logs at most once per ``interval`` seconds."""

    def __init__(
        self,
        logger: logging.Logger,
        *,
        total: int | None = None,
        interval: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.total = total
        self._known_total = total is not None
        self.interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self.done_bytes = 0
        self._start = clock()
        self._last_log = self._start
        self.lines = 0

    def on_queued(self, *, path: str, size: int | None, **kwargs: Any) -> None:
        """Add the file's size to the total unless the total was given up front."""
        if not self._known_total and size is not None:
            with self._lock:
                self.total = (self.total or 0) + size

    def on_progress(self, *, path: str, bytes_transferred: int, **kwargs: Any) -> None:
        """Count the bytes; log when the interval has passed."""
        with self._lock:
            self.done_bytes += bytes_transferred
            now = self._clock()
            if now - self._last_log < self.interval:
                return
            self._last_log = now
            line = self.format_line(now)
        self.lines += 1
        self.logger.info("%s", line)

    def format_line(self, now: float | None = None) -> str:
        """The progress line for the current totals."""
        now = self._clock() if now is None else now
        elapsed = max(now - self._start, 1e-9)
        rate = self.done_bytes / elapsed
        parts = [f"transferred {_fmt_bytes(self.done_bytes)}"]
        if self.total:
            pct = 100.0 * self.done_bytes / self.total
            parts[0] += f" of {_fmt_bytes(self.total)} ({pct:.1f}%)"
        parts.append(f"{rate / 1e6:.2f} MB/s")
        if self.total and rate > 0:
            eta = max(self.total - self.done_bytes, 0) / rate
            parts.append(f"ETA {eta:.0f} s")
        return ", ".join(parts)
