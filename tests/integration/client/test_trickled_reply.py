"""A server that trickles its reply (a byte at a time, each within the read timeout) cannot hold a request
forever: the read timeout bounds the whole body once the headers arrived."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from irods_provider.client import AsyncIrodsSession, IrodsSession, RetryPolicy, StaticToken, Timeouts
from irods_provider.exceptions import IrodsTimeoutError

BODY = (
    b'{"irods_response": {"status_code": 0}, "type": "collection", "inheritance_enabled": true, '
    b'"permissions": [], "registered": true, "modified_at": 1700000000}'
) + b" " * 150

#: The read timeout of the trickled cases: 30 of the trickle's 0.05 s gaps, so only the body's bound can end
#: them; with 0.5 s a gap stretched by a starved CPU (nice 19, load 20) ended one as a plain read timeout.
TRICKLE_READ_TIMEOUT = 1.5


def _trickle(listener: socket.socket, stop: threading.Event, gap: float) -> None:
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        except OSError:
            return
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                piece = conn.recv(65536)
                if not piece:
                    break
                request += piece
            head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(BODY)}\r\n\r\n"
            try:
                conn.sendall(head.encode())
                for i in range(len(BODY)):
                    if stop.wait(gap):
                        return
                    conn.sendall(BODY[i : i + 1])
            except OSError:
                continue  # the client gave up


@pytest.fixture
def trickling(request: pytest.FixtureRequest) -> Iterator[str]:
    """A server sending each byte of its reply ``request.param`` seconds after the last."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()
    thread = threading.Thread(target=_trickle, args=(listener, stop, request.param), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/irods-http-api/0.7.0"
    stop.set()
    listener.close()
    thread.join(5)


@pytest.mark.parametrize("trickling", [0.05], indirect=True)
def test_a_trickled_reply_fails_once_the_read_timeout_passes(trickling: str) -> None:
    # Each byte comes 0.05 s after the last (no read times out); a JSON reply may take up to 16 MiB, two
    # read timeouts' worth. The read timeout is 30 gaps long, so a CPU-starved test process (a busy CI
    # machine) still sees every byte inside it and meets the whole-body bound, not a single read's.
    timeout = Timeouts(connect=5.0, read=TRICKLE_READ_TIMEOUT)
    retry = RetryPolicy(max_attempts=1)
    started = time.monotonic()
    with (
        IrodsSession(trickling, auth=StaticToken("t0ken"), timeout=timeout, retry=retry) as session,
        pytest.raises(IrodsTimeoutError, match=r"still arriving 3 s after its headers") as caught,
    ):
        session.collections.stat("/tempZone/home/rods")
    elapsed = time.monotonic() - started
    assert caught.value.operation == "collections.stat"
    assert caught.value.path == "/tempZone/home/rods"
    assert 3.0 <= elapsed < 14.0  # the whole body would take 15 s


@pytest.mark.parametrize("trickling", [0.001], indirect=True)
def test_a_slow_reply_within_the_read_timeout_is_read(trickling: str) -> None:
    timeout = Timeouts(connect=5.0, read=10.0)  # the body takes ~0.3 s
    with IrodsSession(
        trickling, auth=StaticToken("t0ken"), timeout=timeout, retry=RetryPolicy(max_attempts=1)
    ) as s:
        stat = s.collections.stat("/tempZone/home/rods")
    assert (stat.path, stat.inheritance_enabled, stat.modified_at) == (
        "/tempZone/home/rods",
        True,
        1700000000,
    )


@pytest.mark.parametrize("trickling", [0.05], indirect=True)
def test_a_trickled_chunk_of_a_transfer_read_fails_too(trickling: str) -> None:
    """The transfer engine's reads stream a bounded range: the same bound applies to that body."""
    timeout = Timeouts(connect=5.0, read=TRICKLE_READ_TIMEOUT)
    retry = RetryPolicy(max_attempts=1)
    with (
        IrodsSession(trickling, auth=StaticToken("t0ken"), timeout=timeout, retry=retry) as session,
        pytest.raises(IrodsTimeoutError, match=r"data_objects\.read was still arriving 1\.5 s") as caught,
    ):
        session.data_objects.read_into("/tempZone/home/rods/f", bytearray(len(BODY)), offset=0)
    assert caught.value.path == "/tempZone/home/rods/f"


@pytest.mark.parametrize("trickling", [0.05], indirect=True)
def test_the_async_session_bounds_a_trickled_reply(trickling: str) -> None:
    async def stat() -> None:
        timeout = Timeouts(connect=5.0, read=TRICKLE_READ_TIMEOUT)
        retry = RetryPolicy(max_attempts=1)
        async with AsyncIrodsSession(trickling, auth=StaticToken("t0ken"), timeout=timeout, retry=retry) as s:
            await s.collections.stat("/tempZone/home/rods")

    with pytest.raises(IrodsTimeoutError, match="still arriving"):
        asyncio.run(stat())


@pytest.mark.parametrize("trickling", [0.003], indirect=True)
def test_a_whole_object_read_without_count_has_no_body_deadline(trickling: str) -> None:
    """Its size is unknown beforehand, so only each wait for bytes is bounded (the body takes ~0.9 s)."""
    timeout = Timeouts(connect=5.0, read=0.3)
    with IrodsSession(
        trickling, auth=StaticToken("t0ken"), timeout=timeout, retry=RetryPolicy(max_attempts=1)
    ) as s:
        assert s.data_objects.read("/tempZone/home/rods/f") == BODY
