"""A default-configured site in miniature: the HTTP API's whole-request deadline and a slow storage.

The iRODS HTTP API cuts every request off ``requests.timeout_in_seconds`` after it started (30 s by default,
core/src/session.cpp:78 at 0.7.0): a handler still running then acts, but the connection closes without a
reply. The client's defaults have the same time scale: a request may be retried for 30 s
(``RetryPolicy.total_timeout``) and a reply waited for 60 s (``Timeouts.read``). Here every time is divided
by 75: a 0.4 s deadline, 0.4 s of retries, 0.8 s of reading, and server-side work at 4 MiB/s, so a 3 MiB
checksum, copy or replication (0.75 s) outlasts the deadline as a 2 GiB one does at 100 MB/s on a site.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx2

from irods_provider.client import BasicAuth, IrodsSession, RetryPolicy, Timeouts
from irods_provider.testing import EmulatorServer

MIB = 1024 * 1024
DEADLINE = 0.4
RATE = 4 * MIB
#: Outlasts the deadline when hashed or copied once (0.75 s).
BIG = 3 * MIB


#: What the site's pace makes outlast the deadline: server-side work on bytes already stored. Anything else
#: (a write or read moving bytes, a query, a login) outlasts 0.4 s only on a loaded machine, where the client
#: resends it as a lost reply: legitimate, but not what a test here is about.
SERVER_WORK = (
    "data-objects calculate_checksum",
    "data-objects verify_checksum",
    "data-objects copy",
    "data-objects replicate",
    "data-objects trim",
    "collections remove",
)


def cut_work(server: EmulatorServer) -> list[str]:
    """The server-side work the deadline cut off, in order (``"endpoint op"``), once every handler ended: a
    cut is recorded when its handler ends, which may be after the client saw its outcome in the catalog."""
    assert server.wait_idle(), "a cut-off request was still being served"
    return [request for request in server.cut_requests() if request in SERVER_WORK]


@contextmanager
def slow_site(server: EmulatorServer) -> Iterator[EmulatorServer]:
    """``server`` with the scaled deadline and storage pace, restored afterwards."""
    server.set_limits(request_timeout_seconds=DEADLINE, server_io_bytes_per_second=RATE)
    try:
        yield server
    finally:
        assert server.wait_idle(), "a cut-off request was still being served"  # before the zone is reset
        server.set_limits(request_timeout_seconds=30.0, server_io_bytes_per_second=0.0)


def scaled_session(
    server: EmulatorServer,
    user: str = "rods",
    password: str = "rods-emulator",
    *,
    transport: httpx2.BaseTransport | None = None,
    **kwargs: Any,
) -> IrodsSession:
    """A session whose retry budget and read timeout keep the defaults' ratio to the deadline."""
    retry = RetryPolicy(total_timeout=DEADLINE, initial_backoff=0.02, max_backoff=0.05)
    timeout = Timeouts(connect=5.0, read=2 * DEADLINE, write=5.0, pool=5.0)
    return IrodsSession(
        server.base_url,
        auth=BasicAuth(user, password),
        retry=retry,
        timeout=timeout,
        transport=transport,
        **kwargs,
    )
