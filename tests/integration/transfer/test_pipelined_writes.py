"""Pipelined parallel writes over real HTTP: two requests on the wire per stream, one write at a time.

A request sent while its stream's previous one is unanswered is a multipart form whose last bytes wait for
that answer: the server reads a form whole before it writes (irods_client_http_api 0.7.0,
core/src/session.cpp: only the header form is streamed), and it does not lock a stream named by
``stream-index`` (data_objects/src/main.cpp: ``streams.at(sindex)``), so two writes at once on one stream
would race on the replica's position. The emulator counts such overlaps; each of its parallel writes is
slowed down here so requests pile up, and the probe counts the write requests in flight inside it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from irods_provider.client import BasicAuth, IrodsSession, RetryPolicy
from irods_provider.client.transfer import ParallelWriter, TransferConfig, upload_object
from irods_provider.testing import _h_write

HOME = "/tempZone/home/rods"
CHUNK = 256 * 1024
DATA = (bytes(range(251)) * (24 * CHUNK // 251 + 1))[: 24 * CHUNK + 77]

pytestmark = pytest.mark.timeout(120)


class Probe:
    """POST data-objects requests in flight inside the emulator, and the form of each write."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.peak = 0
        self.forms: list[str] = []
        self._lock = threading.Lock()


@contextmanager
def probed(server: Any, monkeypatch: pytest.MonkeyPatch, *, pause: float = 0.03) -> Iterator[Probe]:
    probe = Probe()
    app = server.app
    dispatch = app._dispatch
    pwrite_all = _h_write.pwrite_all
    writes = app.endpoints["data-objects"]["POST"]
    form_writes = writes["write"]

    async def counted(request: Any, name: str) -> Any:
        if request.method != "POST" or name != "data-objects":
            return await dispatch(request, name)
        with probe._lock:
            probe.in_flight += 1
            probe.peak = max(probe.peak, probe.in_flight)
            if request.headers.get("irods-api-request-op") == "write":
                probe.forms.append("header")
        try:
            return await dispatch(request, name)
        finally:
            with probe._lock:
                probe.in_flight -= 1

    async def form_write(ctx: Any) -> Any:
        with probe._lock:
            probe.forms.append("multipart")
        return await form_writes(ctx)

    async def slow_pwrite_all(*args: Any, **kwargs: Any) -> int:
        await asyncio.sleep(pause)
        return await pwrite_all(*args, **kwargs)

    monkeypatch.setattr(app, "_dispatch", counted)
    monkeypatch.setattr(_h_write, "pwrite_all", slow_pwrite_all)
    monkeypatch.setitem(writes, "write", form_write)
    yield probe


def session_for(server: Any) -> IrodsSession:
    retry = RetryPolicy(initial_backoff=0.0, max_backoff=0.0, sleep=lambda s: None)
    return IrodsSession(server.base_url, auth=BasicAuth("rods", "rods-emulator"), retry=retry)


def config(**kw: Any) -> TransferConfig:
    return TransferConfig(chunk_size=CHUNK, small_file_threshold=CHUNK, backoff_base_seconds=0.0, **kw)


def upload(server: Any, name: str, cfg: TransferConfig) -> bytes:
    path = f"{HOME}/{name}"
    with session_for(server) as session:
        result = upload_object(session, io.BytesIO(DATA), path, config=cfg, size=len(DATA))
        digest = base64.b64encode(hashlib.sha256(DATA).digest()).decode()
        assert (result.status.value, result.checksum) == ("transferred", f"sha2:{digest}")
        return session.data_objects.read(path)


@pytest.mark.parametrize("version", ["0.4.0", "0.5.0", "0.6.0", "0.7.0"])
def test_two_writes_per_stream_on_the_wire_never_two_at_once(irods_emulator_at, monkeypatch, version):
    server = irods_emulator_at(version)
    with probed(server, monkeypatch) as probe:
        stored = upload(server, "piped.bin", config())
    assert hashlib.sha256(stored).digest() == hashlib.sha256(DATA).digest()
    assert server.parallel_stream_overlaps() == 0
    assert probe.peak >= 5  # 3 streams x 2 requests (6 once all streams are in step)
    # Held requests are forms on every version; the others keep the version's own write form.
    assert "multipart" in probe.forms
    assert ("header" in probe.forms) == (version not in ("0.4.0", "0.5.0"))
    assert server.open_parallel_write_handles() == 0
    assert server.open_parallel_write_streams() == 0


def test_one_request_per_stream_keeps_at_most_three_writes_on_the_wire(irods_emulator, monkeypatch):
    with probed(irods_emulator, monkeypatch) as probe:
        stored = upload(irods_emulator, "one.bin", config(requests_per_stream=1))
    assert stored == DATA
    assert irods_emulator.parallel_stream_overlaps() == 0
    assert probe.peak <= 3
    assert set(probe.forms) == {"header"}


def test_without_the_hold_two_writes_would_run_at_once_on_a_stream(irods_emulator, monkeypatch):
    """The control: sending the second request of a stream unheld makes the emulator see two writes on one
    stream at once (which the real server would race on), so the assertion above can fail."""
    monkeypatch.setattr(ParallelWriter, "_hold", lambda self, index, ticket: None)
    with probed(irods_emulator, monkeypatch):
        upload(irods_emulator, "unheld.bin", config())
    assert irods_emulator.parallel_stream_overlaps() > 0


def test_pipelined_upload_under_http_faults_verifies_every_byte(irods_emulator, monkeypatch):
    """503s, dropped connections and bodies cut off mid-way (held forms among them): every request is
    resent as needed, no stream ever runs two writes, the stored bytes are the source's."""
    irods_emulator.set_faults(error_503=0.08, drop_connection=0.04, drop_mid_body=0.06, seed=17)
    with probed(irods_emulator, monkeypatch, pause=0.01):
        stored = upload(irods_emulator, "faults.bin", config(retries=8))
    injected = irods_emulator.injected_faults()
    irods_emulator.set_faults(error_503=0.0, drop_connection=0.0, drop_mid_body=0.0)
    assert stored == DATA
    assert sum(injected.values()) >= 3
    assert irods_emulator.parallel_stream_overlaps() == 0
    assert irods_emulator.open_parallel_write_handles() == 0
