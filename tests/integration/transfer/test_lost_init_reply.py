"""A ``parallel_write_init`` whose reply is lost after the server acted has opened a handle nobody learned
(handles never expire, so the object stays locked). The init is never resent on such an unclear failure
(the second would find the object locked); the upload goes on through a fresh temporary instead."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Callable
from pathlib import Path

import httpx2
import pytest

from irods_provider.client import BasicAuth, IrodsSession, RetryPolicy
from irods_provider.client.transfer import TransferConfig, parallel_upload, upload_object
from irods_provider.client.transfer._resume import temp_name
from irods_provider.exceptions import IrodsTimeoutError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from lost_reply import LoseFirstReply

HOME = "/tempZone/home/rods"
CHUNK = 64 * 1024
CFG = TransferConfig(streams=3, chunk_size=CHUNK, small_file_threshold=CHUNK, backoff_base_seconds=0.0)
DATA = (bytes(range(251)) * 2000)[: 5 * CHUNK + 7]


@pytest.fixture
def lossy(irods_emulator):
    transport = LoseFirstReply(lambda _request, body: b"parallel_write_init" in body)
    retry = RetryPolicy(initial_backoff=0.0, max_backoff=0.0)
    auth = BasicAuth("rods", "rods-emulator")
    with IrodsSession(irods_emulator.base_url, auth=auth, retry=retry, transport=transport) as session:
        yield session, transport


def test_parallel_upload_surfaces_the_lost_init_and_its_retry_succeeds(lossy, irods_emulator, caplog):
    session, transport = lossy
    path = f"{HOME}/lost-init.bin"
    with pytest.raises(IrodsTimeoutError) as caught:
        parallel_upload(session, io.BytesIO(DATA), path, config=CFG, size=len(DATA))
    assert caught.value.operation == "data_objects.parallel_write_init"
    assert transport.count == 1  # never resent behind the caller's back
    with caplog.at_level(logging.WARNING):
        parallel_upload(session, io.BytesIO(DATA), path, config=CFG, size=len(DATA))
    assert session.data_objects.read(path) == DATA
    # Only the handle whose reply was lost stays open (nobody learned it); the locked temporary is named.
    assert irods_emulator.open_parallel_write_handles() == 1
    assert any("locked by a parallel-write handle" in m for m in caplog.messages)


def test_upload_object_goes_on_through_a_fresh_temporary(lossy, irods_emulator):
    session, transport = lossy
    path = f"{HOME}/lost-init-object.bin"
    result = upload_object(session, io.BytesIO(DATA), path, config=CFG, resume_key="lostinit", size=len(DATA))
    assert result.status.value == "transferred"
    assert session.data_objects.read(path) == DATA
    assert transport.count == 2  # the second on a fresh temporary, not the locked one
    assert irods_emulator.open_parallel_write_handles() == 1


class FirstInitFails(httpx2.HTTPTransport):
    """The first ``parallel_write_init`` never reaches the server: ``fail`` answers it (a bare 500, which the
    client cannot tell from a reply lost after the server acted) or raises (a dropped connection)."""

    def __init__(self, fail: Callable[[httpx2.Request], httpx2.Response]) -> None:
        super().__init__()
        self._fail = fail
        self.count = 0

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if b"parallel_write_init" in request.read():
            self.count += 1
            if self.count == 1:
                return self._fail(request)
        return super().handle_request(request)


def bare_500(request: httpx2.Request) -> httpx2.Response:
    return httpx2.Response(500, text="Internal Server Error", request=request)


def stale_keep_alive(request: httpx2.Request) -> httpx2.Response:
    """What a pooled keep-alive connection the server (or a proxy) closed while idle gives."""
    raise httpx2.RemoteProtocolError("Server disconnected without sending a response.")


def test_a_temporary_the_unclear_init_never_touched_is_resumed_not_left(irods_emulator):
    """A killed attempt's temporary (its handle recorded, its prefix resumable) whose next init fails
    unclearly but was never acted on is unlocked: the upload goes on through it, leaving nothing behind."""
    path = f"{HOME}/unclear-init.bin"
    key = "unclearinit0001"
    auth = BasicAuth("rods", "rods-emulator")
    retry = RetryPolicy(initial_backoff=0.0, max_backoff=0.0, max_attempts=1)
    source = FailingAfter(DATA, 3 * CHUNK)
    with (
        IrodsSession(irods_emulator.base_url, auth=auth, retry=retry) as session,
        pytest.raises(OSError, match="source lost"),
    ):
        upload_object(session, source, path, config=CFG, resume_key=key, size=len(DATA))
    temp = temp_name(path, key)
    assert session_exists(irods_emulator, temp)  # the killed attempt's resumable prefix
    transport = FirstInitFails(bare_500)
    with IrodsSession(irods_emulator.base_url, auth=auth, retry=retry, transport=transport) as session:
        result = upload_object(session, io.BytesIO(DATA), path, config=CFG, resume_key=key, size=len(DATA))
        assert result.status.value == "transferred"
        assert session.data_objects.read(path) == DATA
    assert transport.count == 2  # sent again on the same temporary, found unlocked
    assert result.resumed_from > 0
    with irods_emulator.model.lock:
        left = sorted(p for p in irods_emulator.model.data_objects if p.startswith(f"{HOME}/unclear-init"))
    assert left == [path]
    assert irods_emulator.open_parallel_write_handles() == 0


class FailingAfter(io.BytesIO):
    """A source whose reads fail once ``limit`` bytes were read (a worker dying mid-upload)."""

    def __init__(self, data: bytes, limit: int) -> None:
        super().__init__(data)
        self._limit = limit

    def read(self, size: int | None = -1) -> bytes:
        if self.tell() >= self._limit:
            raise OSError("source lost")
        return super().read(size)


def session_exists(irods_emulator, path: str) -> bool:
    with irods_emulator.model.lock:
        return path in irods_emulator.model.data_objects


@pytest.mark.parametrize("name", ["dropped-init.bin", "dropped+init #1.bin"])
@pytest.mark.parametrize("source", ["path", "stream"])
def test_an_init_dropped_before_the_server_acted_is_sent_again(irods_emulator, tmp_path, name, source):
    """The temporary does not exist afterwards, so nothing can hold it: the same init goes once more and
    the upload succeeds (one stale pooled connection used to fail the whole file, on every release)."""
    path = f"{HOME}/{name}"
    (tmp_path / "src").write_bytes(DATA)
    transport = FirstInitFails(stale_keep_alive)
    auth = BasicAuth("rods", "rods-emulator")
    retry = RetryPolicy(initial_backoff=0.0, max_backoff=0.0)
    with IrodsSession(irods_emulator.base_url, auth=auth, retry=retry, transport=transport) as session:
        src = str(tmp_path / "src") if source == "path" else io.BytesIO(DATA)
        size = None if source == "path" else len(DATA)
        result = upload_object(session, src, path, config=CFG, size=size)
        assert result.status.value == "transferred"
    assert transport.count == 2
    with irods_emulator.model.lock:
        left = sorted(p for p in irods_emulator.model.data_objects if p.startswith(f"{HOME}/"))
        assert left == [path]
        assert irods_emulator.model.data_objects[path].replicas[0].spool_file.read_bytes() == DATA
    assert irods_emulator.open_parallel_write_handles() == 0


def test_the_streaming_writer_sends_a_dropped_init_again(irods_emulator):
    """``parallel_upload`` (the atomic writer of fsspec writes and the IT4I calls) on a stale connection:
    its temporary does not exist after the drop, so the server never acted and the init goes once more."""
    path = f"{HOME}/dropped-init-stream.bin"
    transport = FirstInitFails(stale_keep_alive)
    auth = BasicAuth("rods", "rods-emulator")
    retry = RetryPolicy(initial_backoff=0.0, max_backoff=0.0)
    with IrodsSession(irods_emulator.base_url, auth=auth, retry=retry, transport=transport) as session:
        parallel_upload(session, io.BytesIO(DATA), path, config=CFG, size=len(DATA))
        assert session.data_objects.read(path) == DATA
    assert transport.count == 2
    assert irods_emulator.open_parallel_write_handles() == 0
