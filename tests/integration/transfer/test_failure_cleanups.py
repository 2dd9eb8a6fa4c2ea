"""A failed upload undoes what it created, through the cleanups registered with its coordinator: no
parallel-write handle stays open, an object moved aside by an OVERWRITE publish is put back, and the
temporary object is removed, or kept with its recorded checkpoint when a later attempt resumes it.
Checked in the emulator's state (objects, open handles, AVUs)."""

from __future__ import annotations

import io
import re
import threading

import httpx2
import pytest

from irods_provider.client import BasicAuth, EntryKind, IrodsSession, RetryPolicy
from irods_provider.client.transfer import OverwritePolicy, TransferConfig, open_writer, upload_object
from irods_provider.client.transfer._resume import RESUME_ATTRIBUTE, ResumeState, temp_name
from irods_provider.exceptions import IrodsResponseError, IrodsTransferCancelledError

HOME = "/tempZone/home/rods"
CHUNK = 64 * 1024
CFG = TransferConfig(streams=3, chunk_size=CHUNK, small_file_threshold=CHUNK, backoff_base_seconds=0.0)
DATA = (bytes(range(251)) * 2000)[: 6 * CHUNK + 11]
FIELD = re.compile(rb'name="([^"]+)"\r\n\r\n(.*?)\r\n--', re.S)
# CAT_NO_ACCESS_PERMISSION from the iRODS error table; a data-object rename failure is HTTP 200 + the code
# (irods-http-api-0.7.md, data-objects rename). The refusal itself is injected below.
NO_ACCESS = -818000


def _names(irods_emulator, parent: str) -> list[str]:
    with irods_emulator.model.lock:
        return sorted(
            p.rsplit("/", 1)[1] for p in irods_emulator.model.data_objects if p.rsplit("/", 1)[0] == parent
        )


class FailingSource(io.RawIOBase):
    """Gives ``good`` bytes of DATA, then fails the way a vanished disk does; records how many
    parallel-write handles the server had open at that moment (the failure comes after the handle)."""

    def __init__(self, server, good: int, *, cancel: threading.Event | None = None) -> None:
        self.server, self.good, self.pos, self.cancel = server, good, 0, cancel
        self.handles_at_failure: int | None = None

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if self.pos >= self.good:
            self.handles_at_failure = self.server.open_parallel_write_handles()
            if self.cancel is not None:
                self.cancel.set()
                return DATA[self.pos : self.pos + n]
            raise OSError(5, "Input/output error (injected)")
        data = DATA[self.pos : min(self.pos + n, self.good)]
        self.pos += len(data)
        return data


class RefuseRenameOnto(httpx2.HTTPTransport):
    """Answers a rename of a temporary object onto ``target`` with the server's refusal (not forwarded)."""

    def __init__(self, target: str, *, cancel: threading.Event | None = None) -> None:
        super().__init__()
        self.target = target.encode()
        self.refused = 0
        self.cancel = cancel  # set as the refusal is answered: the task is being stopped meanwhile

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method == "POST":
            fields = dict(FIELD.findall(request.read()))
            if (
                fields.get(b"op") == b"rename"
                and fields.get(b"new-lpath") == self.target
                and b".irods-part-" in fields.get(b"old-lpath", b"")
            ):
                self.refused += 1
                if self.cancel is not None:
                    self.cancel.set()
                body = {"irods_response": {"status_code": NO_ACCESS, "status_message": "injected"}}
                return httpx2.Response(200, json=body, request=request)
        return super().handle_request(request)


def _session(server, transport: httpx2.HTTPTransport | None = None) -> IrodsSession:
    retry = RetryPolicy(max_attempts=2, initial_backoff=0.0, max_backoff=0.0, sleep=lambda s: None)
    return IrodsSession(
        server.base_url, auth=BasicAuth("rods", "rods-emulator"), retry=retry, transport=transport
    )


def _resume_states(session, path: str) -> list[ResumeState | None]:
    avus = session.metadata.list(path, kind=EntryKind.DATA_OBJECT)
    return [ResumeState.from_value(a.value) for a in avus if a.attribute == RESUME_ATTRIBUTE]


def test_a_source_failing_after_the_handle_opened_leaves_no_handle_and_no_temporary(session, irods_emulator):
    parent = f"{HOME}/fc-plain"
    session.collections.create(parent)
    source = FailingSource(irods_emulator, 2 * CHUNK)
    with pytest.raises(OSError, match="injected"):
        upload_object(session, source, f"{parent}/data.bin", config=CFG, size=len(DATA), resume=False)
    assert source.handles_at_failure == 1
    assert irods_emulator.open_parallel_write_handles() == 0
    assert _names(irods_emulator, parent) == []


def test_a_resumable_upload_keeps_exactly_its_temporary_with_the_committed_prefix(session, irods_emulator):
    parent = f"{HOME}/fc-resume"
    session.collections.create(parent)
    path = f"{parent}/data.bin"
    source = FailingSource(irods_emulator, 2 * CHUNK)
    with pytest.raises(OSError, match="injected"):
        upload_object(session, source, path, config=CFG, size=len(DATA), resume_key="k1")
    assert source.handles_at_failure == 1
    assert irods_emulator.open_parallel_write_handles() == 0
    temp = temp_name(path, "k1")
    assert _names(irods_emulator, parent) == [temp.rsplit("/", 1)[1]]
    # Both chunks read before the failure were still sent (the sink was fine), then recorded as committed.
    assert _resume_states(session, temp) == [ResumeState(committed=2 * CHUNK, source_size=len(DATA))]
    assert session.data_objects.read(temp) == DATA[: 2 * CHUNK]

    result = upload_object(session, io.BytesIO(DATA), path, config=CFG, size=len(DATA), resume_key="k1")
    assert result.resumed_from == 2 * CHUNK
    assert session.data_objects.read(path) == DATA
    assert _names(irods_emulator, parent) == ["data.bin"]
    assert _resume_states(session, path) == []


def test_a_cancelled_resumable_upload_drops_queued_chunks_and_keeps_its_checkpoint(session, irods_emulator):
    parent = f"{HOME}/fc-cancel"
    session.collections.create(parent)
    path = f"{parent}/data.bin"
    cancel = threading.Event()
    source = FailingSource(irods_emulator, 2 * CHUNK, cancel=cancel)
    with pytest.raises(IrodsTransferCancelledError):
        upload_object(session, source, path, config=CFG, size=len(DATA), resume_key="k2", cancel_event=cancel)
    assert irods_emulator.open_parallel_write_handles() == 0
    temp = temp_name(path, "k2")
    assert _names(irods_emulator, parent) == [temp.rsplit("/", 1)[1]]
    # Nothing after the cancel point was sent; what was acknowledged before it is recorded (when nothing
    # was, there is no record and the next attempt starts from 0).
    held = session.data_objects.read(temp)
    assert len(held) <= 2 * CHUNK
    assert held == DATA[: len(held)]
    states = _resume_states(session, temp)
    assert states in ([], [ResumeState(committed=len(held), source_size=len(DATA))]), states


def test_a_refused_overwrite_puts_the_old_object_back_and_removes_the_temporary(irods_emulator):
    parent = f"{HOME}/fc-refused"
    path = f"{parent}/data.bin"
    transport = RefuseRenameOnto(path)
    with _session(irods_emulator, transport) as session:
        session.collections.create(parent)
        session.data_objects.write(path, b"old content")
        with pytest.raises(IrodsResponseError) as info:
            upload_object(
                session,
                io.BytesIO(DATA),
                path,
                config=CFG,
                size=len(DATA),
                overwrite=OverwritePolicy.OVERWRITE,
                resume=False,
            )
        assert info.value.irods_code == NO_ACCESS
        assert transport.refused == 1
        assert session.data_objects.read(path) == b"old content"
    assert _names(irods_emulator, parent) == ["data.bin"]  # no temporary, nothing left moved aside
    assert irods_emulator.open_parallel_write_handles() == 0


def test_an_old_object_moved_aside_is_put_back_even_when_the_transfer_is_cancelled(irods_emulator):
    parent = f"{HOME}/fc-refused-cancel"
    path = f"{parent}/data.bin"
    cancel = threading.Event()
    with _session(irods_emulator, RefuseRenameOnto(path, cancel=cancel)) as session:
        session.collections.create(parent)
        session.data_objects.write(path, b"old content")
        with pytest.raises(IrodsResponseError) as info:
            upload_object(
                session,
                io.BytesIO(DATA),
                path,
                config=CFG,
                size=len(DATA),
                overwrite=OverwritePolicy.OVERWRITE,
                resume=False,
                cancel_event=cancel,
            )
        assert info.value.irods_code == NO_ACCESS
        assert cancel.is_set()
        assert session.data_objects.read(path) == b"old content"
    assert _names(irods_emulator, parent) == ["data.bin"]


def test_a_refused_overwrite_removes_the_finished_temporary_and_keeps_the_old_object(
    irods_emulator, tmp_path
):
    """Moving the old object aside is refused: it stays as it was, and the finished temporary (its resume
    record dropped as it was finished, so a retry could only write it afresh) is removed, not left behind."""
    local = tmp_path / "data.bin"
    local.write_bytes(DATA)
    parent = f"{HOME}/fc-refused-resume"
    path = f"{parent}/data.bin"
    with _session(irods_emulator, RefuseRenameOnto(path)) as session:
        session.collections.create(parent)
        session.data_objects.write(path, b"old content")
        with pytest.raises(IrodsResponseError):
            upload_object(session, str(local), path, config=CFG, overwrite=OverwritePolicy.OVERWRITE)
        assert session.data_objects.read(path) == b"old content"
    assert _names(irods_emulator, parent) == ["data.bin"]
    with _session(irods_emulator) as session:
        result = upload_object(session, str(local), path, config=CFG, overwrite=OverwritePolicy.OVERWRITE)
        assert session.data_objects.read(path) == DATA
    assert result.size == len(DATA)
    assert _names(irods_emulator, parent) == ["data.bin"]


def test_open_writer_whose_publish_is_refused_leaves_the_old_object_and_no_temporary(irods_emulator):
    parent = f"{HOME}/fc-writer"
    path = f"{parent}/data.bin"
    with _session(irods_emulator, RefuseRenameOnto(path)) as session:
        session.collections.create(parent)
        session.data_objects.write(path, b"old content")
        writer = open_writer(session, path, config=CFG, size=len(DATA))
        writer.write(DATA)
        with pytest.raises(IrodsResponseError) as info:
            writer.close()  # publishes
        assert info.value.irods_code == NO_ACCESS
        assert session.data_objects.read(path) == b"old content"
    assert _names(irods_emulator, parent) == ["data.bin"]
    assert irods_emulator.open_parallel_write_handles() == 0
