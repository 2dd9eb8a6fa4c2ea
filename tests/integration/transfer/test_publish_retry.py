"""The final rename is not idempotent: after a failure that hides whether it was applied, the upload reads
the paths back and finishes or renames again, within the engine's retries, without failing the file."""

from __future__ import annotations

import hashlib
import io
import re
import threading

import httpx2
import pytest

from irods_provider.client import BasicAuth, IrodsSession, RetryPolicy
from irods_provider.client.transfer import OverwritePolicy, TransferConfig, upload_object
from irods_provider.exceptions import IrodsResponseError

HOME = "/tempZone/home/rods"
CHUNK = 64 * 1024
DATA = (bytes(range(251)) * 1000)[: 3 * CHUNK + 5]
FIELD = re.compile(rb'name="([^"]+)"\r\n\r\n(.*?)\r\n--', re.S)
CFG = TransferConfig(
    streams=2, chunk_size=CHUNK, small_file_threshold=CHUNK, retries=3, backoff_base_seconds=0.001
)


class FlakyRename(httpx2.HTTPTransport):
    """Breaks the first ``failures`` renames: ``after`` = applied by the server, then the answer is lost
    (500 or a dropped connection); ``before`` = a 500 without reaching the server. Counts renames."""

    def __init__(self, *, when: str, how: str, failures: int) -> None:
        super().__init__()
        self.when, self.how, self.failures = when, how, failures
        self.renames: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        form = _multipart_fields(request.read()) if request.method == "POST" else {}
        if form.get("op") != "rename":
            return super().handle_request(request)
        with self._lock:
            self.renames.append((form["old-lpath"], form["new-lpath"]))
            broken = len(self.renames) <= self.failures
        if not broken:
            return super().handle_request(request)
        if self.when == "after":
            super().handle_request(request).read()
        if self.how == "drop":
            raise httpx2.ReadError("connection dropped", request=request)
        return httpx2.Response(500, content=b"", request=request)


def _multipart_fields(body: bytes) -> dict[str, str]:
    """The text fields of a small multipart/form-data body (the client's POST encoding)."""
    return {k.decode(): v.decode("utf-8", "replace") for k, v in FIELD.findall(body)}


def _session(irods_emulator, transport: httpx2.HTTPTransport) -> IrodsSession:
    retry = RetryPolicy(max_attempts=4, initial_backoff=0.0, max_backoff=0.0, sleep=lambda s: None)
    return IrodsSession(
        irods_emulator.base_url, auth=BasicAuth("rods", "rods-emulator"), retry=retry, transport=transport
    )


def _names(irods_emulator) -> list[str]:
    with irods_emulator.model.lock:
        return sorted(p for p in irods_emulator.model.data_objects if p.startswith(f"{HOME}/"))


@pytest.mark.parametrize("how", ["drop", "error_500"])
@pytest.mark.parametrize("when", ["after", "before"])
def test_an_unclear_rename_failure_is_settled_without_a_task_retry(irods_emulator, when, how) -> None:
    path = f"{HOME}/published.bin"
    transport = FlakyRename(when=when, how=how, failures=1)
    with _session(irods_emulator, transport) as session:
        result = upload_object(session, io.BytesIO(DATA), path, config=CFG, size=len(DATA))
        assert session.data_objects.read(path) == DATA
    assert result.status.value == "transferred"
    assert result.checksum is not None
    assert (
        hashlib.sha256(DATA).digest() == hashlib.sha256(irods_emulator_bytes(irods_emulator, path)).digest()
    )
    # Applied but unanswered: read back, not resent. Never applied: resent once.
    assert len(transport.renames) == (1 if when == "after" else 2)
    assert all(new == path for _, new in transport.renames)
    assert _names(irods_emulator) == [path]


def test_overwrite_with_unclear_renames_keeps_one_object(irods_emulator) -> None:
    path = f"{HOME}/over.bin"
    transport = FlakyRename(when="after", how="drop", failures=2)
    with _session(irods_emulator, transport) as session:
        session.data_objects.write(path, b"old content")
        upload_object(
            session, io.BytesIO(DATA), path, config=CFG, size=len(DATA), overwrite=OverwritePolicy.OVERWRITE
        )
        assert session.data_objects.read(path) == DATA
    # Moving the old object aside and publishing were both applied though unanswered; nothing resent.
    assert len(transport.renames) == 2
    assert _names(irods_emulator) == [path]


def test_a_rename_that_keeps_failing_fails_the_file_after_bounded_attempts(irods_emulator) -> None:
    path = f"{HOME}/never.bin"
    transport = FlakyRename(when="before", how="error_500", failures=100)
    with _session(irods_emulator, transport) as session, pytest.raises(IrodsResponseError) as info:
        upload_object(session, io.BytesIO(DATA), path, config=CFG, size=len(DATA))
    assert info.value.http_status == 500
    assert info.value.operation == "data_objects.rename"
    assert len(transport.renames) == CFG.retries + 1
    assert path not in _names(irods_emulator)


def irods_emulator_bytes(irods_emulator, path: str) -> bytes:
    with irods_emulator.model.lock:
        spool = irods_emulator.model.data_objects[path].replicas[0].spool_file
    return spool.read_bytes()
