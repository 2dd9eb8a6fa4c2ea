"""A site that raises the server's per-handle stream cap gets more parallel streams, never more than that.

The real server's ``max_number_of_streams_per_parallel_write_handle`` is 3 by default and advertised in
``/info`` (irods_client_http_api 0.7.0, README and information/src/main.cpp); ``parallel_write_init`` with a
larger ``stream-count`` is refused with HTTP 400 (data_objects/src/main.cpp at 0.7.0). Sites raise it for
long fat links. The client reads the advertised cap and uses ``min(TransferConfig.streams, cap)`` streams,
and runs one request per stream index at a time (a write with ``stream-index`` is not checked for a busy
stream by the server). The emulator is configured like such a site; a wrapper around its parallel-write
model records, server-side, how many streams each handle was opened with and how many were busy at once.
Each write waits in the server (bounded) until the target concurrency is reached, so the concurrency seen
does not depend on timing.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import os
import time
from typing import Any

import pytest

from irods_provider.client.transfer import FileStatus, TransferConfig, parallel_upload, upload_object
from irods_provider.testing import _h_write

HOME = "/tempZone/home/rods"
KIB = 1024
SITE_CAP = 8

pytestmark = pytest.mark.timeout(60)


class StreamProbe:
    """Server-side record of parallel-write handles: streams per handle, busy streams at once, overlaps."""

    def __init__(self, model: Any, target: int) -> None:
        self.model = model
        self.stream_counts: list[int] = []
        self.peak_busy = 0
        self.same_index_overlaps = 0
        self.target = target
        self.deadline = 0.0
        self._init = model.parallel_write_init
        self._acquire = model.acquire_stream

    def parallel_write_init(self, *args: Any, stream_count: int, **kwargs: Any) -> str:
        self.stream_counts.append(stream_count)
        self.deadline = time.monotonic() + 3.0  # the bounded wait below starts with the handle
        return str(self._init(*args, stream_count=stream_count, **kwargs))

    def acquire_stream(self, handle_id: str, stream_index: int | None) -> tuple[int, int, int]:
        with self.model.lock:
            handle = self.model.handles.get(handle_id)
            if handle is not None and stream_index is not None and 0 <= stream_index < len(handle.busy):
                self.same_index_overlaps += handle.busy[stream_index]
        got = self._acquire(handle_id, stream_index)
        with self.model.lock:
            handle = self.model.handles.get(handle_id)
            if handle is not None:
                self.peak_busy = max(self.peak_busy, sum(handle.busy))
        return got

    async def hold(self) -> None:
        """Keep a write open until ``target`` streams were busy at once (or the shared deadline passed)."""
        while self.peak_busy < self.target and time.monotonic() < self.deadline:
            await asyncio.sleep(0.005)


@pytest.fixture
def probe(irods_emulator, monkeypatch):
    irods_emulator.set_limits(max_streams_per_handle=SITE_CAP)
    recorder = StreamProbe(irods_emulator.model, SITE_CAP)
    monkeypatch.setattr(irods_emulator.model, "parallel_write_init", recorder.parallel_write_init)
    monkeypatch.setattr(irods_emulator.model, "acquire_stream", recorder.acquire_stream)
    original = _h_write.pwrite_all

    async def held(*args: Any, **kwargs: Any) -> int:
        await recorder.hold()
        return await original(*args, **kwargs)

    monkeypatch.setattr(_h_write, "pwrite_all", held)
    return recorder


def _sha2(data: bytes) -> str:
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_streams_above_the_default_cap_run_at_once_when_the_server_allows_them(session, probe):
    data = os.urandom(40 * 64 * KIB + 13)  # 41 chunks: every stream gets several
    path = f"{HOME}/site-streams.bin"
    parallel_upload(session, io.BytesIO(data), path, size=len(data), streams=SITE_CAP, chunk_size=64 * KIB)
    assert session.limits.max_streams_per_handle == SITE_CAP  # read from /info
    assert probe.stream_counts == [SITE_CAP]
    assert probe.peak_busy > 3  # more than the default server allows, at the same time
    assert probe.peak_busy <= SITE_CAP
    assert probe.same_index_overlaps == 0  # never two writes on one stream index at once
    assert session.data_objects.read(path) == data
    assert session.data_objects.calculate_checksum(path) == _sha2(data)


def test_asking_for_more_streams_than_the_server_advertises_uses_its_cap(session, probe, tmp_path):
    data = os.urandom(40 * 64 * KIB + 7)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    config = TransferConfig(streams=32, chunk_size=64 * KIB)
    result = upload_object(session, str(source), f"{HOME}/capped.bin", config=config, resume=False)
    assert (result.status, result.size) == (FileStatus.TRANSFERRED, len(data))
    assert probe.stream_counts == [SITE_CAP]  # 32 asked, 8 advertised: a 400 from the real server otherwise
    assert 3 < probe.peak_busy <= SITE_CAP
    assert probe.same_index_overlaps == 0
    assert session.data_objects.read(f"{HOME}/capped.bin") == data
    assert session.data_objects.calculate_checksum(f"{HOME}/capped.bin") == _sha2(data)
