"""Only the engine's per-chunk retries apply: the session's own retry policy is switched off underneath."""

from __future__ import annotations

import io
import os
import threading
from collections import Counter

import httpx2
import pytest

from irods_provider.client import BasicAuth, IrodsSession, RetryPolicy
from irods_provider.client.transfer import TransferConfig, parallel_download, parallel_upload
from irods_provider.exceptions import IrodsServerBusyError

HOME = "/tempZone/home/rods"
CHUNK = 64 * 1024
RETRIES = 2


class BusyAtOffset(httpx2.HTTPTransport):
    """Answers 503 to data-object writes or reads at one offset (``failures`` times, or always) and counts
    every such attempt; everything else goes to the emulator."""

    def __init__(self, *, op: str, offset: int, failures: int | None) -> None:
        super().__init__()
        self.op, self.offset, self.failures = op, offset, failures
        self.attempts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def _target(self, request: httpx2.Request) -> bool:
        if self.op == "write":
            headers = request.headers
            return (
                headers.get("irods-api-request-op") == "write"
                and int(headers.get("irods-api-request-offset", "0")) == self.offset
            )
        params = request.url.params
        return params.get("op") == "read" and int(params.get("offset", "0")) == self.offset

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if self._target(request):
            with self._lock:
                self.attempts[self.op] += 1
                busy = self.failures is None or self.attempts[self.op] <= self.failures
            if busy:
                return httpx2.Response(503, content=b"", request=request)
        return super().handle_request(request)


@pytest.fixture
def config() -> TransferConfig:
    return TransferConfig(
        streams=3,
        chunk_size=CHUNK,
        small_file_threshold=CHUNK,
        retries=RETRIES,
        backoff_base_seconds=0.001,
        backoff_max_seconds=0.001,
    )


def _session(irods_emulator, transport: httpx2.HTTPTransport) -> IrodsSession:
    # The session's policy alone would try each idempotent chunk 6 times.
    retry = RetryPolicy(max_attempts=6, initial_backoff=0.0, max_backoff=0.0, sleep=lambda s: None)
    return IrodsSession(
        irods_emulator.base_url, auth=BasicAuth("rods", "rods-emulator"), retry=retry, transport=transport
    )


def test_failing_write_chunk_is_attempted_retries_plus_one_times(irods_emulator, config) -> None:
    transport = BusyAtOffset(op="write", offset=CHUNK, failures=None)
    data = os.urandom(3 * CHUNK)
    with _session(irods_emulator, transport) as session:
        with pytest.raises(IrodsServerBusyError) as info:
            parallel_upload(session, io.BytesIO(data), f"{HOME}/busy.bin", config=config, size=len(data))
        assert info.value.http_status == 503
    assert transport.attempts["write"] == RETRIES + 1
    assert irods_emulator.open_parallel_write_streams() == 0


def test_write_chunk_recovering_within_engine_retries_is_byte_identical(irods_emulator, config) -> None:
    transport = BusyAtOffset(op="write", offset=CHUNK, failures=RETRIES)
    data = os.urandom(3 * CHUNK + 5)
    with _session(irods_emulator, transport) as session:
        result = parallel_upload(session, io.BytesIO(data), f"{HOME}/ok.bin", config=config, size=len(data))
        assert session.data_objects.read(f"{HOME}/ok.bin") == data
    assert result.size == len(data)
    assert transport.attempts["write"] == RETRIES + 1
    assert irods_emulator.open_parallel_write_streams() == 0


def test_failing_read_chunk_is_attempted_retries_plus_one_times(irods_emulator, config, tmp_path) -> None:
    data = os.urandom(3 * CHUNK)
    transport = BusyAtOffset(op="read", offset=2 * CHUNK, failures=None)
    with _session(irods_emulator, transport) as session:
        session.data_objects.write(f"{HOME}/r.bin", data)
        with pytest.raises(IrodsServerBusyError):
            parallel_download(session, f"{HOME}/r.bin", tmp_path / "r.bin", config=config)
        assert transport.attempts["read"] == RETRIES + 1
        transport.attempts.clear()
        transport.failures = RETRIES
        parallel_download(session, f"{HOME}/r.bin", tmp_path / "r.bin", config=config)
    assert transport.attempts["read"] == RETRIES + 1
    assert (tmp_path / "r.bin").read_bytes() == data
