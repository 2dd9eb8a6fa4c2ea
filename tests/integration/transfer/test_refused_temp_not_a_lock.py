"""A temporary object whose write open is refused with a lock's code (INVALID_HANDLE from the HTTP API 0.7.0,
HIERARCHY_ERROR from one exposing iRODS codes) is written around through a fresh name only when its
replicas prove another write holds it (intermediate or write-locked, none good: irods 4.3.4
rsDataObjOpen.cpp:249, :1040-1042). Every replica on a resource marked down is refused with the same codes
(voting.cpp:21-26 skipped by irods_resource_redirect.cpp:216-218, then HIERARCHY_ERROR at :244-245) but
holds nothing: the upload (and an atomic writer) raises the refusal, naming the temporary, the iRODS code
and the HTTP status, and leaves the temporary, with its resumable bytes, for a later attempt; no fresh
temporary is leaked and nothing is published."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from irods_provider.client import AVU, EntryKind
from irods_provider.client._sync._fs import DataObjects
from irods_provider.client.transfer import TransferConfig, open_writer, upload_object
from irods_provider.client.transfer._resume import RESUME_ATTRIBUTE, ResumeState, resume_key, temp_name
from irods_provider.exceptions import IrodsLockedError, IrodsResponseError

pytestmark = pytest.mark.timeout(120)

HOME = "/tempZone/home/rods"
CHUNK = 64 * 1024
CFG = TransferConfig(streams=2, chunk_size=CHUNK, small_file_threshold=CHUNK, backoff_base_seconds=0.0)
DATA = (bytes(range(251)) * 2000)[: 4 * CHUNK + 9]
KEY = "resourcedown0001"
CODES = {False: ("INVALID_HANDLE", -175000), True: ("HIERARCHY_ERROR", -1803000)}


@pytest.fixture
def admin(irods_emulator_resources) -> Iterator[httpx2.Client]:
    """A raw client of the rodsadmin, to mark resources down and up as an operator does."""
    base = irods_emulator_resources.base_url
    with httpx2.Client(timeout=10) as http:
        token = http.post(f"{base}/authenticate", auth=("rods", "rods-emulator")).text
        http.headers["Authorization"] = f"Bearer {token}"
        yield http


def _mark(admin: httpx2.Client, server, resource: str, status: str) -> None:
    data = {"op": "modify", "name": resource, "property": "status", "value": status}
    reply = admin.post(f"{server.base_url}/resources", data=data)
    assert (reply.status_code, reply.json()["irods_response"]["status_code"]) == (200, 0)


def _objects_under(server, prefix: str) -> list[str]:
    with server.model.lock:
        return sorted(p for p in server.model.data_objects if p.startswith(prefix))


def _left_on_down_resource(session, admin, server, temp: str) -> None:
    """An interrupted attempt's temporary: a resumable prefix on archiveResc, which is then marked down."""
    session.data_objects.write(temp, DATA[:CHUNK], resource="archiveResc")
    state = ResumeState(committed=CHUNK, source_size=len(DATA)).to_value()
    session.metadata.add(temp, AVU(RESUME_ATTRIBUTE, state), kind=EntryKind.DATA_OBJECT)
    _mark(admin, server, "archiveResc", "down")


@pytest.mark.parametrize("exposed", [False, True])
def test_an_upload_refused_by_a_down_resource_raises_and_leaks_no_temporary(
    session, irods_emulator_resources, admin, exposed: bool
) -> None:
    server = irods_emulator_resources
    server.set_limits(dstream_exposes_irods_error_codes=exposed)
    path = f"{HOME}/down-upload.bin"
    temp = temp_name(path, KEY)
    _left_on_down_resource(session, admin, server, temp)
    with pytest.raises(IrodsResponseError) as raised:
        upload_object(session, io.BytesIO(DATA), path, config=CFG, resume_key=KEY, size=len(DATA))
    error = raised.value
    assert not isinstance(error, IrodsLockedError)
    assert (error.irods_name, error.irods_code) == CODES[exposed]
    assert (error.http_status, error.path) == (200, temp)
    assert f"iRODS {CODES[exposed][0]} {CODES[exposed][1]}" in str(error)
    assert "HTTP 200" in str(error)
    assert "0 good on archiveResc" in str(error)
    assert _objects_under(server, f"{HOME}/") == [temp]  # nothing published, no fresh temporary
    _mark(admin, server, "archiveResc", "up")  # the operator brings it back: the next attempt resumes
    result = upload_object(session, io.BytesIO(DATA), path, config=CFG, resume_key=KEY, size=len(DATA))
    assert (result.status.value, result.resumed_from) == ("transferred", CHUNK)
    assert session.data_objects.read(path) == DATA
    assert _objects_under(server, f"{HOME}/") == [path]


def test_an_atomic_writer_refused_by_a_down_resource_raises_before_writing(
    session, irods_emulator_resources, admin
) -> None:
    server = irods_emulator_resources
    target = f"{HOME}/down-writer.bin"
    temp = temp_name(target, resume_key("atomic-writer", target))
    session.data_objects.write(temp, b"an earlier writer's bytes", resource="archiveResc")
    _mark(admin, server, "archiveResc", "down")
    with pytest.raises(IrodsResponseError) as raised:
        open_writer(session, target, config=CFG)
    assert not isinstance(raised.value, IrodsLockedError)
    assert (raised.value.irods_name, raised.value.path) == ("INVALID_HANDLE", temp)
    assert _objects_under(server, f"{HOME}/") == [temp]


def test_a_resource_marked_down_after_the_temporary_was_chosen_is_raised_too(
    session, irods_emulator_resources, admin, monkeypatch
) -> None:
    """The choice's probe found the temporary writable; the resource goes down before the handle opens (the
    refused ``parallel_write_init``, hooked to mark it down right before it is sent)."""
    server = irods_emulator_resources
    path = f"{HOME}/down-later.bin"
    temp = temp_name(path, KEY)
    session.data_objects.write(temp, DATA[:CHUNK], resource="archiveResc")
    state = ResumeState(committed=CHUNK, source_size=len(DATA)).to_value()
    session.metadata.add(temp, AVU(RESUME_ATTRIBUTE, state), kind=EntryKind.DATA_OBJECT)
    real_init = DataObjects.parallel_write_init

    def init(self: DataObjects, lpath: str, *args: Any, **kwargs: Any) -> str:
        if lpath == temp:
            _mark(admin, server, "archiveResc", "down")
        return real_init(self, lpath, *args, **kwargs)

    monkeypatch.setattr(DataObjects, "parallel_write_init", init)
    with pytest.raises(IrodsResponseError) as raised:
        upload_object(session, io.BytesIO(DATA), path, config=CFG, resume_key=KEY, size=len(DATA))
    assert not isinstance(raised.value, IrodsLockedError)
    assert (raised.value.irods_name, raised.value.path) == ("INVALID_HANDLE", temp)
    assert _objects_under(server, f"{HOME}/") == [temp]
