"""A file-like reader with ranged read-ahead over several threads, delivering bytes in order.

At most ``max_in_flight_chunks`` ranged reads are outstanding or waiting to be consumed, so memory stays
bounded; a slow consumer simply stops the read-ahead. Before any consumer, :meth:`ParallelReader.prefetch`
bounds them by bytes instead (the ramp's small first requests: as many as fit in its budget). With
``reuse_buffers`` the chunks are read into a pool of ``max_in_flight_chunks + 1`` buffers (more after a
prefetch: one per request it sent; each network piece copied in as it arrives) and handed out as
memoryviews valid until the next read: no chunk-sized allocation per read, so a long download keeps a
flat heap (glibc otherwise serves freed chunk-sized blocks from per-thread arenas that fragment).

Request sizes (:func:`request_size`) ramp up and taper off: the ``2 * streams`` first requests grow linearly
to ``chunk_size`` and the last ones share what is left between the streams. All streams start at once, so
with equal chunks the in-order consumer waits a whole chunk's time for its first byte and then gets the
chunks of every stream together; the ramp hands it bytes after a fraction of that and leaves the streams
finishing their chunks a ``1/streams`` of a chunk's time apart (a chunk every so often, not a burst), and
the taper makes the streams end together instead of one stream carrying the last full chunk alone.
"""

from __future__ import annotations

import collections
import dataclasses
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from types import TracebackType
from typing import Any, cast

from irods_provider.exceptions import IrodsError, IrodsResponseError, IrodsSourceChangedError

from ._alias import ReadAlias, needs_alias, source_stat
from ._api import SessionLike
from ._config import TransferConfig
from ._coordinator import TransferCoordinator, TransferSubscriber
from ._retry import ChunkRetrier
from ._writer import _effective_config

#: The smallest ramp or taper request (a chunk size below it is used as is): one request's round trip and
#: server-side open stay small beside its transfer time.
RAMP_FLOOR = 1024 * 1024
_ALIGN = 64 * 1024


def request_size(index: int, remaining: int, *, chunk_size: int, streams: int) -> int:
    """Bytes of a reader's ``index``-th ranged read (counted from where it started) with ``remaining`` bytes
    left to request: ``chunk_size * (index + 1) / (2 * streams)`` during the ramp, at most
    ``(remaining + chunk_size) / streams`` in the taper (the last requests shrink by ``chunk_size / streams``
    each: streams that became free that much apart finish together), never below :data:`RAMP_FLOOR` (nor a
    runt under it left behind)."""
    floor = min(chunk_size, RAMP_FLOOR)
    steps = 2 * streams
    size = chunk_size if index >= steps else chunk_size * (index + 1) // steps
    size = min(size, -(-(remaining + chunk_size) // max(1, streams)))
    size = min(chunk_size, max(floor, size // _ALIGN * _ALIGN))
    if remaining - size < floor and remaining <= chunk_size:
        return remaining
    return min(size, remaining)


class ParallelReader:
    """Reads ``[offset, size)`` of one data object with read-ahead; use :func:`open_reader` to build one.

    A ``path`` holding ``+`` (no GET can address it) is read through a server-side copy made here
    (:class:`~._alias.ReadAlias`, its removal registered with the coordinator) and removed at close, unless
    ``read_path`` names the object to read instead (an alias the caller owns). Verifying the bytes against
    ``path``'s checksum is the caller's part, as for any read.
    """

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
        reuse_buffers: bool = False,
        read_path: str | None = None,
    ) -> None:
        self._api = session.data_objects
        self._on_fetched = on_fetched
        self.path = path
        self.config = config
        self.size = size
        self.coordinator = coordinator or TransferCoordinator(path=path)
        self._alias: ReadAlias | None = None
        if read_path is None and needs_alias(path) and size > offset:
            self._alias = ReadAlias(session, path, coordinator=self.coordinator, size=size)
            read_path = self._alias.path
        self.read_path = read_path or path
        self._retrier = ChunkRetrier(
            retries=config.retries,
            base_seconds=config.backoff_base_seconds,
            max_seconds=config.backoff_max_seconds,
            coordinator=self.coordinator,
        )
        self._own_executor = executor is None
        self._executor: Executor = executor or ThreadPoolExecutor(
            max_workers=config.stream_count, thread_name_prefix="irods-read"
        )
        self._window: collections.deque[Future[bytes]] = collections.deque()
        self._window_bytes = 0  # bytes requested and not yet handed to the consumer
        # reuse_buffers: free chunk buffers, and the one whose view the caller holds (back on the next read)
        self._pool: queue.SimpleQueue[bytearray] | None = queue.SimpleQueue() if reuse_buffers else None
        self._held: bytearray | None = None
        self._next_request = offset
        self._requests = 0  # ranged reads sent so far (the ramp's index)
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

    def start(self) -> None:
        """Send the first ranged reads now (the window's worth), so that their latency overlaps whatever
        the caller sets up before its first read."""
        with self._lock:
            if not self._closed:
                self._fill_window()

    def prefetch(self, budget: int) -> None:
        """Like :meth:`start` for a reader nobody consumes yet: send ranged reads now, as many (of the
        ramp's sizes) as fit in ``budget`` bytes requested and not yet consumed; from the first read on
        the usual count bound applies again (requests already sent are not recalled)."""
        with self._lock:
            if not self._closed:
                self._fill_window(budget)

    def on_fetched(self, callback: Callable[[int, bytes], object] | None) -> None:
        """Call ``callback(offset, data)`` in the reading thread as each later ranged read completes, before
        the chunk waits for its turn (e.g. to write it at its offset); it must copy what it keeps (with
        ``reuse_buffers`` the data is a pooled buffer's view). Reads that completed before are not given."""
        self._on_fetched = callback

    def read_further_ahead(self, queue_depth: int) -> None:
        """Keep ``streams * queue_depth`` reads in flight from the next read on (a consumer found faster
        than one chunk per stream)."""
        with self._lock:
            self.config = dataclasses.replace(self.config, queue_depth=queue_depth)

    def _fill_window(self, budget: int | None = None) -> None:
        """Send reads while fewer than ``max_in_flight_chunks`` are pending, or (``budget``) while the
        next one still fits in ``budget`` bytes pending (at least one)."""
        while self._next_request < self.size:
            count = request_size(
                self._requests,
                self.size - self._next_request,
                chunk_size=self.config.chunk_size,
                streams=self.config.stream_count,
            )
            if budget is None and len(self._window) >= self.config.max_in_flight_chunks:
                break
            if budget is not None and self._window and self._window_bytes + count > budget:
                break
            self._window.append(self._executor.submit(self._fetch, self._next_request, count))
            self._window_bytes += count
            self._next_request += count
            self._requests += 1

    def _fetch(self, offset: int, count: int) -> bytes:
        self.coordinator.raise_if_failed()
        if self._pool is not None:
            return self._fetch_into(offset, count, self._pool)

        def get() -> bytes:
            data = self._api.read(self.read_path, offset=offset, count=count, retry=False)
            if len(data) != count:
                raise self._shorter(offset, count, len(data))
            return data

        try:
            data = self._retrier.call(get)
        except IrodsResponseError as exc:
            self._raise_if_changed(offset, exc)
            raise
        if self._on_fetched is not None:
            self._on_fetched(offset, data)
        self.coordinator.progress(len(data))
        return data

    def _shorter(self, offset: int, count: int, got: int) -> IrodsSourceChangedError:
        """A read within the planned size answered short: the server reads up to the object's end
        (irods_client_http_api 0.7.0 endpoints/data_objects/src/main.cpp:1003-1011), so the object is
        shorter than planned: it changed (not a dropped connection, which the HTTP layer raises)."""
        return IrodsSourceChangedError(
            f"the data object is shorter than its planned {self.size} bytes: a read at offset {offset} "
            f"answered {got} of {count} bytes",
            changed=f"size {self.size} -> {offset + got}",
            operation="data_objects.read",
            path=self.path,
        )

    def _raise_if_changed(self, offset: int, exc: IrodsResponseError) -> None:
        """A read refused with a bare 500 where the object is now of another size: it was rewritten while
        read (a read past its new end makes the server's buffer size negative, main.cpp:762-789 at 0.7.0,
        answered 500 at :1013-1016): raised as the source that changed, which it is, not a server fault."""
        if exc.http_status != 500 or exc.irods_code is not None:
            return
        try:
            now = self._api.stat(self.read_path).size
        except IrodsError:
            return
        if now != self.size:
            raise IrodsSourceChangedError(
                f"the data object changed while read: a read at offset {offset} was refused (HTTP 500)",
                changed=f"size {self.size} -> {now}",
                operation="data_objects.read",
                path=self.path,
            ) from exc

    def _fetch_into(self, offset: int, count: int, pool: queue.SimpleQueue[bytearray]) -> bytes:
        """Read into a pooled buffer (a new one only while fewer than the window plus one exist)."""
        try:
            buffer = pool.get_nowait()
        except queue.Empty:
            buffer = bytearray(self.config.chunk_size)
        view = memoryview(buffer)[:count]

        def get() -> int:
            got = self._api.read_into(self.read_path, view, offset=offset, retry=False)
            if got != count:
                raise self._shorter(offset, count, got)
            return got

        try:
            self._retrier.call(get)
        except BaseException as exc:
            pool.put(buffer)
            if isinstance(exc, IrodsResponseError):
                self._raise_if_changed(offset, exc)
            raise
        if self._on_fetched is not None:
            self._on_fetched(offset, cast("bytes", view))
        self.coordinator.progress(count)
        return cast("bytes", view)  # a memoryview: valid until the caller's next read

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
        if self._held is not None and self._pool is not None:  # the caller is done with the last chunk
            self._pool.put(self._held)
            self._held = None
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
        self._window_bytes -= len(data)
        if self._pool is not None:
            self._held = cast("bytearray", memoryview(data).obj)
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
                    parts.append(bytes(chunk))  # a pooled chunk's buffer is reused by the next read
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
        """Stop the read-ahead and drop buffered chunks (and remove the alias made to read a ``+`` path)."""
        if self._closed:
            return
        try:
            self._stop()
        finally:
            if self._alias is not None:
                self._alias.close()

    def _stop(self) -> None:
        """Cancel the pending reads, drop the buffers and shut down our own executor."""
        self._closed = True
        for future in self._window:
            future.cancel()
        self._window.clear()
        self._window_bytes = 0
        self._current = memoryview(b"")
        self._held = None
        self._pool = None if self._pool is None else queue.SimpleQueue()
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
    reuse_buffers: bool = False,
    read_path: str | None = None,
    **config_overrides: Any,
) -> ParallelReader:
    """Open a read-ahead reader on ``path`` (its size is stat'ed unless given); bytes come back in order.

    ``reuse_buffers``: chunks come from a fixed pool of buffers as memoryviews that are only valid
    until the next read (for sinks that copy or send what they are given before returning). A ``path``
    holding ``+`` is sized from the catalog and read through a server-side copy removed at close (see
    :class:`ParallelReader`; ``read_path``: an alias the caller made and owns instead).
    """
    cfg = _effective_config(
        session, config, streams=streams, chunk_size=chunk_size, reads=True, **config_overrides
    )
    if size is None:
        size = source_stat(session, path).size
    coordinator = TransferCoordinator(path=path, subscribers=subscribers, cancel_event=cancel_event)
    return ParallelReader(
        session,
        path,
        config=cfg,
        size=size,
        offset=offset,
        coordinator=coordinator,
        executor=executor,
        reuse_buffers=reuse_buffers,
        read_path=read_path,
    )
