"""The server's whole-request deadline and the pace of its server-side work.

The iRODS HTTP API arms its stream's expiry once per request, when it starts reading the headers
(``stream_.expires_after(timeout_in_secs_)``: core/src/session.cpp:78 at 0.7.0, :63 at 0.5.0; the
``http_server.requests.timeout_in_seconds`` setting, 30 s by default, README.md:334). Nothing re-arms it
while the body is read, the handler runs or the reply is written. Boost.Beast fails a pending read or write
of an expired ``tcp_stream`` with ``error::timeout`` and closes the socket, and fails any operation started
after the expiry the same way at once; no operation is pending while a handler runs, so a handler that
outlasts the deadline finishes its work (the catalog is updated) and only its reply's write fails: the
client sees the connection closed without a response, when the handler ends.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from starlette.types import Message, Receive, Send

from irods_provider.testing._config import EmulatorConfig

__all__ = ["DeadlinePassed", "RequestDeadline", "server_unlink", "server_work", "server_work_blocking"]


class DeadlinePassed(Exception):
    """The request's deadline passed: its connection is closed without any (more) response."""


class RequestDeadline:
    """One request's deadline, ``seconds`` after it started; ``expire`` closes its connection (once)."""

    def __init__(self, seconds: float, expire: Callable[[], None]) -> None:
        self._loop = asyncio.get_running_loop()
        self._end = self._loop.time() + seconds
        self._expire = expire
        self.expired = False

    def remaining(self) -> float:
        """Seconds left (negative once passed)."""
        return self._end - self._loop.time()

    def check(self) -> None:
        """Raise :class:`DeadlinePassed` (closing the connection) once the deadline has passed."""
        if self.remaining() <= 0:
            self._cut()

    def _cut(self) -> None:
        if not self.expired:
            self.expired = True
            self._expire()
        raise DeadlinePassed()

    def receive(self, receive: Receive) -> Receive:
        """``receive`` that fails at the deadline, as a pending body read of an expired stream does."""

        async def guarded() -> Message:
            self.check()
            try:
                return await asyncio.wait_for(receive(), self.remaining())
            except TimeoutError:
                self._cut()
                raise  # unreachable: _cut raises

        return guarded

    def send(self, send: Send) -> Send:
        """``send`` that writes nothing once the deadline has passed (the connection is closed instead)."""

        async def guarded(message: Message) -> None:
            if self.expired:
                return
            if self.remaining() <= 0:
                self.expired = True
                self._expire()
                return
            await send(message)

        return guarded


def server_work_blocking(config: EmulatorConfig, nbytes: int) -> None:
    """:func:`server_work` in a worker thread (a copy or replication, which run there)."""
    rate = config.server_io_bytes_per_second
    if rate > 0 and nbytes > 0:
        time.sleep(nbytes / rate)


async def server_work(config: EmulatorConfig, nbytes: int) -> None:
    """Let server-side work on ``nbytes`` bytes take the time ``config.server_io_bytes_per_second`` gives
    it (none at the default 0); other requests are served meanwhile."""
    rate = config.server_io_bytes_per_second
    if rate > 0 and nbytes > 0:
        await asyncio.sleep(nbytes / rate)


def server_unlink(config: EmulatorConfig) -> None:
    """One file's removal on the server: ``config.server_unlink_seconds`` (in a worker thread)."""
    if config.server_unlink_seconds > 0:
        time.sleep(config.server_unlink_seconds)
