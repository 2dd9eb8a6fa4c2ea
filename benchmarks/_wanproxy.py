"""A small asyncio TCP proxy that models a WAN link: round-trip latency, a TCP window and bandwidth.

Each direction of each connection is delayed by ``rtt / 2`` and paced to ``bandwidth`` bytes per second, so N
parallel connections get N times the bandwidth (as with a per-flow limit on a real path). With ``window``,
each direction of each connection also has at most ``window`` bytes in flight: bytes count from the moment
the proxy takes them from the sender until one round trip later than they were delivered (the ACK's way
back), and the proxy reads nothing more from that sender meanwhile. One connection then carries at most
``window / rtt`` bytes per second, like a TCP flow whose window does not grow past ``window`` on a long fat
path; ``link_bandwidth`` caps all connections of one direction together (the link itself). Runs its own
event loop in a background thread:
``with WanProxy("127.0.0.1", port, rtt=0.03, window=512 * 1024) as proxy: proxy.port``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from types import TracebackType


class WanProxy:
    """Forward 127.0.0.1:<port> to ``target`` with ``rtt`` seconds of round trip and ``bandwidth`` B/s."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        rtt: float = 0.02,
        bandwidth: float = 25e6,
        window: int | None = None,
        link_bandwidth: float | None = None,
    ) -> None:
        self.target = (host, port)
        self.one_way = rtt / 2
        self.bandwidth = bandwidth
        self.window = window
        self.link_bandwidth = link_bandwidth
        self._link_free = {True: 0.0, False: 0.0}  # per direction (upstream?): when the shared link is idle
        self.connections = 0  # accepted so far
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wanproxy", daemon=True)
        self._server: asyncio.base_events.Server | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: bool) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        window = self.window
        inflight = 0
        room = asyncio.Event()

        def acked(size: int) -> None:
            nonlocal inflight
            inflight -= size
            room.set()

        async def receive() -> None:
            nonlocal inflight
            while True:
                limit = 256 * 1024
                if window is not None:
                    while inflight >= window:
                        room.clear()
                        await room.wait()
                    limit = min(limit, window - inflight)
                data = await reader.read(limit)
                if not data:
                    break
                inflight += len(data)
                await queue.put((time.monotonic() + self.one_way, data))
            await queue.put((time.monotonic() + self.one_way, b""))

        async def send() -> None:
            link_free = 0.0
            while True:
                due, data = await queue.get()
                start = max(due, link_free)
                seconds = len(data) / self.bandwidth
                if self.link_bandwidth is not None:  # the shared link: one segment at a time per direction
                    start = max(start, self._link_free[upstream])
                    seconds = max(seconds, len(data) / self.link_bandwidth)
                    self._link_free[upstream] = start + len(data) / self.link_bandwidth
                link_free = start + seconds
                # The last byte arrives when the link has carried the whole segment.
                delay = max(start - time.monotonic(), 0) + seconds
                if delay > 0:
                    await asyncio.sleep(delay)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
                if window is not None:  # the ACK travels back one way before the sender may reuse the room
                    loop.call_later(self.one_way, acked, len(data))
            writer.close()

        try:
            await asyncio.gather(receive(), send())
        except (ConnectionError, OSError, asyncio.CancelledError):
            writer.close()

    def _opened(self, upstream: asyncio.StreamWriter) -> None:
        """Called with each new connection to the target (a subclass may log it)."""

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            upstream_r, upstream_w = await asyncio.open_connection(*self.target)
        except OSError:
            client_w.close()
            return
        self.connections += 1
        self._opened(upstream_w)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(
                self._pipe(client_r, upstream_w, True),
                self._pipe(upstream_r, client_w, False),
                return_exceptions=True,
            )

    def start(self) -> WanProxy:
        """Start the proxy thread and wait until it listens."""
        self._thread.start()
        self._ready.wait(10)
        return self

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def stop(self) -> None:
        """Stop listening, cancel the open connections and end the loop."""
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def __enter__(self) -> WanProxy:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
