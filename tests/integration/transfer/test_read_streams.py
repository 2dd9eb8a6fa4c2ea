"""A download reads over 6 streams by default; an upload keeps 3 parallel-write streams.

The real server caps the streams of a parallel-write handle
(``max_number_of_streams_per_parallel_write_handle``, 3 by default, advertised in ``/info``; a larger
``stream-count`` is refused with HTTP 400: irods_client_http_api 0.7.0, data_objects/src/main.cpp). A read is
one GET with its own ``offset`` and ``count`` that opens and closes the replica itself (main.cpp:681-1030): no
handle, no cap. Reads above the server's read buffer are streamed (chunked), so the emulator's chunk
generator runs for as long as the read is in flight; the probe counts them there, server-side, and holds the
first until the expected number are in flight at once (bounded), so the peak does not depend on timing. The
bytes are checked by SHA-256.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from irods_provider.client.transfer import TransferConfig, download_object, open_reader, upload_object
from irods_provider.client.transfer._config import DEFAULT_READ_STREAMS, DEFAULT_WRITE_STREAMS
from irods_provider.testing import _h_data_objects

HOME = "/tempZone/home/rods"
MIB = 1024 * 1024

pytestmark = pytest.mark.timeout(60)


class ReadProbe:
    """Streamed reads in flight at once, counted in the emulator; the first held until ``target`` were."""

    def __init__(self) -> None:
        self.target = 0
        self.in_flight = 0
        self.peak = 0
        self.reads = 0
        self._lock = threading.Lock()

    def wrap(self, chunks: Any) -> Any:
        async def counted(*args: Any, **kwargs: Any) -> AsyncIterator[bytes]:
            with self._lock:
                self.in_flight += 1
                self.reads += 1
                self.peak = max(self.peak, self.in_flight)
            try:
                deadline = time.monotonic() + 2.0
                while self.peak < self.target and time.monotonic() < deadline:
                    await asyncio.sleep(0.005)
                async for piece in chunks(*args, **kwargs):
                    yield piece
            finally:
                with self._lock:
                    self.in_flight -= 1

        return counted


@pytest.fixture
def probe(monkeypatch: pytest.MonkeyPatch) -> ReadProbe:
    recorder = ReadProbe()
    monkeypatch.setattr(_h_data_objects, "_chunks", recorder.wrap(_h_data_objects._chunks))
    return recorder


def stored(session: Any, name: str, size: int) -> tuple[str, bytes]:
    data = os.urandom(size)
    path = f"{HOME}/{name}"
    for at in range(0, size, 4 * MIB):  # one write request each (the body limit is 8 MiB)
        session.data_objects.write(path, data[at : at + 4 * MIB], offset=at, truncate=at == 0)
    return path, data


def test_the_default_reads_over_more_streams_than_the_write_cap(session, probe, tmp_path: Path) -> None:
    path, data = stored(session, "four.bin", 40 * MIB + 5)
    probe.target = DEFAULT_READ_STREAMS
    result = download_object(session, path, tmp_path / "four.bin", config=TransferConfig(chunk_size=4 * MIB))
    assert hashlib.sha256((tmp_path / "four.bin").read_bytes()).digest() == hashlib.sha256(data).digest()
    assert result.size == len(data)
    assert session.limits.max_streams_per_handle == 3  # the server's default write cap, from /info
    assert probe.peak == DEFAULT_READ_STREAMS == 6  # six at once, never a seventh
    assert probe.reads >= 8


def test_a_stream_count_asked_for_is_what_reads_use(session, probe) -> None:
    path, data = stored(session, "two.bin", 24 * MIB + 1)
    probe.target = 2
    with open_reader(session, path, config=TransferConfig(streams=2, chunk_size=2 * MIB)) as reader:
        assert hashlib.sha256(reader.read()).digest() == hashlib.sha256(data).digest()
    assert probe.peak == 2


def test_the_write_cap_does_not_limit_reads(session, irods_emulator, probe) -> None:
    irods_emulator.set_limits(max_streams_per_handle=2)
    path, data = stored(session, "capped.bin", 30 * MIB + 3)
    assert session.limits.max_streams_per_handle == 2  # read from /info
    probe.target = 6
    with open_reader(session, path, config=TransferConfig(streams=6, chunk_size=2 * MIB)) as reader:
        assert hashlib.sha256(reader.read()).digest() == hashlib.sha256(data).digest()
    assert probe.peak == 6


def test_an_upload_keeps_three_write_streams_where_the_server_allows_more(
    session, irods_emulator, monkeypatch, tmp_path
) -> None:
    irods_emulator.set_limits(max_streams_per_handle=8)
    asked: list[int] = []
    init = irods_emulator.model.parallel_write_init

    def recording(*args: Any, stream_count: int, **kwargs: Any) -> Any:
        asked.append(stream_count)
        return init(*args, stream_count=stream_count, **kwargs)

    monkeypatch.setattr(irods_emulator.model, "parallel_write_init", recording)
    data = os.urandom(20 * MIB + 9)
    (tmp_path / "up.bin").write_bytes(data)
    upload_object(
        session, str(tmp_path / "up.bin"), f"{HOME}/up.bin", config=TransferConfig(chunk_size=2 * MIB)
    )
    assert session.limits.max_streams_per_handle == 8  # advertised in /info
    assert asked == [DEFAULT_WRITE_STREAMS] == [3]  # more only when asked for
    assert (
        hashlib.sha256(session.data_objects.read(f"{HOME}/up.bin")).digest() == hashlib.sha256(data).digest()
    )


class _Limits:
    def __init__(self, cap: int) -> None:
        self.max_streams_per_handle = cap
        self.max_request_body_bytes = 8 * MIB


@pytest.mark.parametrize(
    ("asked", "cap", "writes", "reads"),
    [
        (None, 3, DEFAULT_WRITE_STREAMS, DEFAULT_READ_STREAMS),  # the defaults: 3 and 6
        (None, 8, 3, 6),  # a site's higher cap: more only when asked for
        (None, 2, 2, 6),  # a site's lower cap: writes within it, reads untouched
        (8, 3, 3, 8),
        (2, 3, 2, 2),
    ],
)
def test_for_server_settles_streams_per_direction(asked, cap, writes, reads) -> None:
    config = TransferConfig(streams=asked)
    assert config.for_server(_Limits(cap)).streams == writes
    assert config.for_server(_Limits(cap), reads=True).streams == reads
    assert config.for_server(None).streams == (asked or DEFAULT_WRITE_STREAMS)
    assert config.stream_count == (asked or DEFAULT_WRITE_STREAMS)
    assert config.max_in_flight_chunks == config.stream_count * config.queue_depth
