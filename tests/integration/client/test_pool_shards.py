"""The session's connection pool in shards: many requests in flight fill one shard of 8 connections after
another, a caller sending one request at a time keeps to one connection, and every slot comes back when its
response closes (also after errors and abandoned streams), over real sockets to the emulator."""

from __future__ import annotations

import asyncio
import hashlib

import httpx2
import psutil
import pytest

from irods_provider.client import AsyncIrodsSession, BasicAuth, IrodsSession, RetryPolicy
from irods_provider.client._pools import SHARD_CONNECTIONS, shard_limits
from irods_provider.exceptions import IrodsConnectionError, IrodsResponseError

HOME = "/tempZone/home/rods"
AUTH = ("rods", "rods-emulator")
DATA = bytes(range(256)) * 1024  # 256 KiB: several chunks of 64 KiB


def _server_connections(server) -> set[int]:
    """Local ports of this process's open TCP connections to the emulator."""
    return {
        c.laddr.port
        for c in psutil.Process().net_connections(kind="tcp")
        if c.raddr and c.raddr.port == server.port and c.status == psutil.CONN_ESTABLISHED
    }


def test_the_default_limits_make_eight_shards_within_the_totals() -> None:
    shards, each = shard_limits(httpx2.Limits(max_connections=100, max_keepalive_connections=64))
    assert (shards, each.max_connections, each.max_keepalive_connections) == (8, 12, 8)
    assert shards * each.max_connections <= 100
    assert shard_limits(httpx2.Limits(max_connections=10, max_keepalive_connections=8))[0] == 1
    assert shard_limits(httpx2.Limits(max_connections=10, max_keepalive_connections=None))[0] == 1
    shards, each = shard_limits(httpx2.Limits(max_connections=None, max_keepalive_connections=20))
    assert (shards, each.max_connections, each.max_keepalive_connections) == (3, None, 6)
    # More kept alive than allowed at all: the total decides (as in httpcore).
    shards, each = shard_limits(httpx2.Limits(max_connections=20, max_keepalive_connections=64))
    assert (shards, each.max_connections, each.max_keepalive_connections) == (3, 6, 6)


def test_requests_in_flight_fill_one_shard_after_another_and_reuse_their_connections(irods_emulator) -> None:
    path = f"{HOME}/shards.bin"
    with IrodsSession(irods_emulator.base_url, auth=BasicAuth(*AUTH)) as session:
        session.data_objects.write(path, DATA)
        transport = session._client._transport
        assert transport.in_flight == [0] * 8

        for _batch in range(2):
            # 20 reads each hold their response (and its connection) after the first chunk.
            streams = [session.data_objects.iter_read(path, chunk_size=64 * 1024) for _ in range(20)]
            firsts = [next(s) for s in streams]
            assert transport.in_flight == [SHARD_CONNECTIONS, SHARD_CONNECTIONS, 4, 0, 0, 0, 0, 0]
            held = _server_connections(irods_emulator)
            assert len(held) == 20
            rests = [b"".join(s) for s in streams]
            assert all(f + r == DATA for f, r in zip(firsts, rests, strict=True))
            assert transport.in_flight == [0] * 8
        # The second batch ran on the first batch's kept-alive connections: no connection was opened for it.
        assert _server_connections(irods_emulator) == held


def test_one_request_at_a_time_keeps_to_one_connection(irods_emulator) -> None:
    with IrodsSession(irods_emulator.base_url, auth=BasicAuth(*AUTH)) as session:
        for i in range(12):
            session.data_objects.write(f"{HOME}/one-{i}.bin", DATA[: 1000 + i])
        assert len(_server_connections(irods_emulator)) == 1
        assert session.data_objects.read(f"{HOME}/one-11.bin") == DATA[:1011]
        assert session._client._transport.in_flight == [0] * 8


def test_errors_and_abandoned_streams_give_their_slots_back(irods_emulator) -> None:
    path = f"{HOME}/abandoned.bin"
    with IrodsSession(irods_emulator.base_url, auth=BasicAuth(*AUTH)) as session:
        session.data_objects.write(path, DATA)
        for _ in range(10):
            with pytest.raises(IrodsResponseError):  # an error reply: its response closes too
                session.data_objects.stat(f"{HOME}/missing.bin")
            stream = session.data_objects.iter_read(path, chunk_size=64 * 1024)
            assert next(stream) == DATA[: 64 * 1024]
            stream.close()  # abandoned after its first chunk
        assert session._client._transport.in_flight == [0] * 8
    with socket_closed() as port:
        url = irods_emulator.base_url.replace(f":{irods_emulator.port}/", f":{port}/")
        with IrodsSession(url, auth=None, retry=RetryPolicy(max_attempts=1)) as session:
            for _ in range(3):
                with pytest.raises(IrodsConnectionError):
                    session.data_objects.stat(path)
            assert session._client._transport.in_flight == [0] * 8


class socket_closed:
    """A loopback port nothing listens on (bound, then closed)."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        return None


def test_the_async_session_shards_alike(irods_emulator) -> None:
    async def run() -> tuple[list[bytes], list[int], list[int]]:
        async with AsyncIrodsSession(irods_emulator.base_url, auth=BasicAuth(*AUTH)) as session:
            transport = session._client._transport
            paths = [f"{HOME}/async-{i}.bin" for i in range(24)]
            await asyncio.gather(
                *(session.data_objects.write(p, DATA[: 4096 + i]) for i, p in enumerate(paths))
            )
            streams = [session.data_objects.iter_read(p, chunk_size=1024) for p in paths[:12]]
            firsts = [await anext(s) for s in streams]
            during = transport.in_flight
            for s in streams:
                await s.aclose()
            bodies = await asyncio.gather(*(session.data_objects.read(p) for p in paths))
            return [f[:16] for f in firsts] + bodies, during, transport.in_flight

    got, during, after = asyncio.run(run())
    assert during == [SHARD_CONNECTIONS, 4, 0, 0, 0, 0, 0, 0]
    assert after == [0] * 8
    bodies = got[12:]
    assert [hashlib.sha256(b).hexdigest() for b in bodies] == [
        hashlib.sha256(DATA[: 4096 + i]).hexdigest() for i in range(24)
    ]
