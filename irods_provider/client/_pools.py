"""Connection pools in shards: the session's requests spread over several small pools instead of one big one.

httpcore's pool re-examines every connection it holds at each request's start and end, under one lock (is it
closed, expired, idle; an idle one is polled for a server-side close): with the transfer engine's 40-60 small
files in flight that was 100-130 us of client CPU per pass, two passes per request (~0.8 ms per small file),
and every other thread waits for the lock meanwhile. In shards of at most :data:`SHARD_CONNECTIONS`
connections a pass took ~43 us on the same run (~0.26 ms per file) and each lock is shared by fewer threads;
the session's limits still hold in total.

A request goes to the first shard with a free kept-alive slot (fewest requests in flight otherwise), so a
caller that sends one request at a time uses one shard and one connection, and a connection is reused by
whichever request comes next, as in one pool.
"""

from __future__ import annotations

import math
import ssl
import threading
from collections.abc import AsyncIterator, Callable, Iterator

import httpx2

__all__ = ["SHARD_CONNECTIONS", "AsyncShardedTransport", "ShardedTransport", "shard_limits"]

#: Kept-alive connections per shard (what one pool pass examines).
SHARD_CONNECTIONS = 8


def shard_limits(limits: httpx2.Limits) -> tuple[int, httpx2.Limits]:
    """How many shards ``limits`` is split into, and each shard's limits (the totals never exceed
    ``limits``; one shard when no kept-alive limit is set or it is small)."""
    keep, most = limits.max_keepalive_connections, limits.max_connections
    if keep is not None and most is not None:
        keep = min(keep, most)  # as httpcore clamps it
    if keep is None or keep <= SHARD_CONNECTIONS:
        return 1, limits
    shards = math.ceil(keep / SHARD_CONNECTIONS)
    return shards, httpx2.Limits(
        max_connections=None if most is None else max(1, most // shards),
        max_keepalive_connections=max(1, keep // shards),
        keepalive_expiry=limits.keepalive_expiry,
    )


class _Load:
    """Requests in flight per shard; :meth:`take` picks a shard for the next one."""

    def __init__(self, shards: int, slots: int) -> None:
        self.busy = [0] * shards
        self.slots = slots
        self._lock = threading.Lock()

    def take(self) -> int:
        """The first shard with a free kept-alive slot, else the least busy one; counted as busy."""
        with self._lock:
            busy = self.busy
            index = next((i for i, n in enumerate(busy) if n < self.slots), None)
            if index is None:
                index = busy.index(min(busy))
            busy[index] += 1
            return index

    def snapshot(self) -> list[int]:
        with self._lock:
            return list(self.busy)

    def give(self, index: int) -> Callable[[], None]:
        """A callable that marks one request of shard ``index`` done, once however often it is called."""
        done = False

        def release() -> None:
            nonlocal done
            with self._lock:
                if not done:
                    done = True
                    self.busy[index] -= 1

        return release


class _Released(httpx2.SyncByteStream):
    """A response body that frees its shard's slot when it is closed."""

    def __init__(self, stream: httpx2.SyncByteStream, release: Callable[[], None]) -> None:
        self._stream, self._release = stream, release

    def __iter__(self) -> Iterator[bytes]:
        yield from self._stream

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            self._release()


class _AsyncReleased(httpx2.AsyncByteStream):
    """A response body that frees its shard's slot when it is closed."""

    def __init__(self, stream: httpx2.AsyncByteStream, release: Callable[[], None]) -> None:
        self._stream, self._release = stream, release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            self._release()


class ShardedTransport(httpx2.BaseTransport):
    """httpx2's HTTP transport, its pool split into shards of :data:`SHARD_CONNECTIONS` connections."""

    def __init__(self, *, verify: ssl.SSLContext | bool, limits: httpx2.Limits) -> None:
        shards, each = shard_limits(limits)
        self._shards = [httpx2.HTTPTransport(verify=verify, limits=each) for _ in range(shards)]
        self._load = _Load(shards, each.max_keepalive_connections or 1)

    @property
    def in_flight(self) -> list[int]:
        """Requests in flight (sent, their response not yet closed) per shard."""
        return self._load.snapshot()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        index = self._load.take()
        release = self._load.give(index)
        try:
            response = self._shards[index].handle_request(request)
        except BaseException:
            release()
            raise
        assert isinstance(response.stream, httpx2.SyncByteStream)
        response.stream = _Released(response.stream, release)
        return response

    def close(self) -> None:
        for shard in self._shards:
            shard.close()


class AsyncShardedTransport(httpx2.AsyncBaseTransport):
    """httpx2's async HTTP transport, its pool split into shards of :data:`SHARD_CONNECTIONS` connections."""

    def __init__(self, *, verify: ssl.SSLContext | bool, limits: httpx2.Limits) -> None:
        shards, each = shard_limits(limits)
        self._shards = [httpx2.AsyncHTTPTransport(verify=verify, limits=each) for _ in range(shards)]
        self._load = _Load(shards, each.max_keepalive_connections or 1)

    @property
    def in_flight(self) -> list[int]:
        """Requests in flight (sent, their response not yet closed) per shard."""
        return self._load.snapshot()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        index = self._load.take()
        release = self._load.give(index)
        try:
            response = await self._shards[index].handle_async_request(request)
        except BaseException:
            release()
            raise
        assert isinstance(response.stream, httpx2.AsyncByteStream)
        response.stream = _AsyncReleased(response.stream, release)
        return response

    async def aclose(self) -> None:
        for shard in self._shards:
            await shard.aclose()
