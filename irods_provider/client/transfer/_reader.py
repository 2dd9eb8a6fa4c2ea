"""A file-like reader with ranged read-ahead over several threads, delivering bytes in order.

At most ``max_in_flight_chunks`` ranged reads are outstanding or waiting to be consumed, so memory stays
bounded;
a slow consumer simply stops the read-ahead.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from types import TracebackType
from typing import Any

from ._api import SessionLike
from ._config import TransferConfig
from ._coordinator import TransferCoordinator, TransferSubscriber
from ._retry import ChunkRetrier
from ._writer import _effective_config


class ParallelReader:
    """Reads ``[offset, size)`` of one data object with read-ahead; use :func:`open_reader` to build one."""

    def __init__(
        self,
        session: SessionLike,
        path: str,
        *,
        config: TransferConfig,
        size: int,
        offset: int = 0,
        coordinator: TransferCoordinator | None = None,
        executor: Executor | None = None,
        on_fetched: Callable[[int, bytes], object] | None = None,
    ) -> None:
        self._api = session.data_objects
        self._on_fetched = on_fetched
        self.path = path
        self.config = config
        self.size = size
        self.coordinator = coordinator or TransferCoordinator(path=path)
        self._retrier = ChunkRetrier(
            retries=config.retries,
            base_seconds=config.backoff_base_seconds,
            max_seconds=config.backoff_max_seconds,
            coordinator=self.coordinator,
        )
        self._own_executor = executor is None
        self._executor: Executor = executor or ThreadPoolExecutor(
            max_workers=config.streams, thread_name_prefix="irods-read"
        )
        self._window: collections.deque[Future[bytes]] = collections.deque()
        self._next_request = offset
        self._pos = offset
        self._current = memoryview(b"")
        self._closed = False
        self._lock = threading.Lock()

    def readable(self) -> bool:
        """Always true."""
        return True

    @property
    def closed(self) -> bool:
        """Whether close() ran."""
        return self._closed

    def tell(self) -> int:
        """Absolute offset of the next byte returned."""
        return self._pos

    def _fill_window(self) -> None:
        while len(self._window) < self.config.max_in_flight_chunks and self._next_request < self.size:
            count = min(self.config.chunk_size, self.size - self._next_request)
            self._window.append(self._executor.submit(self._fetch, self._next_request, count))
            self._next_request += count

    def _fetch(self, offset: int, count: int) -> bytes:
        self.coordinator.raise_if_failed()

        def get() -> bytes:
            data = self._api.read(self.path, offset=offset, count=count, retry=False)
            if len(data) != count:
                raise ConnectionError(f"short read at offset {offset}: {len(data)} of {count} bytes")
            return data

        data = self._retrier.call(get)
        if self._on_fetched is not None:
            self._on_fetched(offset, data)
        self.coordinator.progress(len(data))
        return data

    def read_chunk(self) -> bytes:
        """Return the next chunk in order (``b""`` at the end); the zero-copy path of :func:`copy`."""
        with self._lock:
            if self._current:
                data, self._current = bytes(self._current), memoryview(b"")
                self._pos += len(data)
                return data
            return self._next_chunk()

    def _next_chunk(self) -> bytes:
        if self._closed:
            raise ValueError("read from a closed ParallelReader")
        self.coordinator.raise_if_failed()
        self._fill_window()
        if not self._window:
            return b""
        future = self._window.popleft()
        try:
            data = future.result()
        except BaseException as exc:
            self.coordinator.set_exception(exc)
            raise
        self._fill_window()
        self._pos += len(data)
        return data

    def read(self, n: int = -1) -> bytes:
        """Read ``n`` bytes (fewer only at the end; all remaining when ``n < 0``); ``b""`` at the end."""
        with self._lock:
            if n < 0:
                parts = [bytes(self._current)]
                self._pos += len(self._current)
                self._current = memoryview(b"")
                while chunk := self._next_chunk():
                    parts.append(chunk)
                return b"".join(parts)
            parts = []
            want = n
            while want > 0:
                if not self._current:
                    chunk = self._next_chunk()
                    if not chunk:
                        break
                    self._pos -= len(chunk)
                    self._current = memoryview(chunk)
                part = bytes(self._current[:want])
                self._current = self._current[want:]
                self._pos += len(part)
                want -= len(part)
                parts.append(part)
            return b"".join(parts)

    def close(self) -> None:
        """Stop the read-ahead and drop buffered chunks."""
        if self._closed:
            return
        self._closed = True
        for future in self._window:
            future.cancel()
        self._window.clear()
        self._current = memoryview(b"")
        if self._own_executor:
            self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> ParallelReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def open_reader(
    session: SessionLike,
    path: str,
    *,
    config: TransferConfig | None = None,
    streams: int | None = None,
    chunk_size: int | None = None,
    offset: int = 0,
    size: int | None = None,
    subscribers: tuple[TransferSubscriber, ...] = (),
    cancel_event: threading.Event | None = None,
    executor: Executor | None = None,
    **config_overrides: Any,
) -> ParallelReader:
    """Open a read-ahead reader on ``path`` (its size is stat'ed unless given); bytes come back in order."""
    cfg = _effective_config(session, config, streams=streams, chunk_size=chunk_size, **config_overrides)
    if size is None:
        size = session.data_objects.stat(path).size
    coordinator = TransferCoordinator(path=path, subscribers=subscribers, cancel_event=cancel_event)
    return ParallelReader(
        session, path, config=cfg, size=size, offset=offset, coordinator=coordinator, executor=executor
    )
