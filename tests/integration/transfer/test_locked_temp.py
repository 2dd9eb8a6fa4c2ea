"""A worker killed mid-upload leaves its parallel-write handle open (handles never expire) and the
temporary object locked; the retried upload must still complete, with no handle and no leftover besides
what it names in the log."""

from __future__ import annotations

import hashlib
import io
import logging

from irods_provider.client import AVU, EntryKind
from irods_provider.client.transfer import TransferConfig, upload_object
from irods_provider.client.transfer._resume import HANDLE_ATTRIBUTE, RESUME_ATTRIBUTE, ResumeState, temp_name

HOME = "/tempZone/home/rods"
CHUNK = 64 * 1024
CFG = TransferConfig(streams=3, chunk_size=CHUNK, small_file_threshold=CHUNK, backoff_base_seconds=0.0)
DATA = (bytes(range(251)) * 2000)[: 5 * CHUNK + 7]
KEY = "killedworker0001"


def _leak_handle(session, temp: str, *, record: bool) -> str:
    """What a worker killed mid-upload leaves: an open handle on the temporary object, maybe recorded."""
    handle = session.data_objects.parallel_write_init(temp, stream_count=2)
    session.data_objects.write(
        temp, DATA[:CHUNK], offset=0, truncate=False, parallel_write_handle=handle, stream_index=0
    )
    if record:
        session.metadata.add(temp, AVU(HANDLE_ATTRIBUTE, handle), kind=EntryKind.DATA_OBJECT)
    return handle


def _objects_under(irods_emulator, prefix: str) -> list[str]:
    with irods_emulator.model.lock:
        return sorted(p for p in irods_emulator.model.data_objects if p.startswith(prefix))


def test_recorded_handle_of_a_killed_worker_is_shut_down(session, irods_emulator, caplog):
    path = f"{HOME}/killed-recorded.bin"
    temp = temp_name(path, KEY)
    handle = _leak_handle(session, temp, record=True)
    assert irods_emulator.open_parallel_write_handles() == 1
    with caplog.at_level(logging.WARNING):
        result = upload_object(session, io.BytesIO(DATA), path, config=CFG, resume_key=KEY, size=len(DATA))
    assert result.status.value == "transferred"
    assert hashlib.sha256(session.data_objects.read(path)).digest() == hashlib.sha256(DATA).digest()
    assert irods_emulator.open_parallel_write_handles() == 0
    assert irods_emulator.open_parallel_write_streams() == 0
    assert _objects_under(irods_emulator, f"{HOME}/") == [path]
    assert [a.attribute for a in session.metadata.list(path, kind=EntryKind.DATA_OBJECT)] == []
    assert any(handle in m and temp in m for m in caplog.messages)


def test_every_parallel_upload_records_its_handle_and_drops_it_on_publish(session, irods_emulator):
    path = f"{HOME}/recorded.bin"
    seen: list[tuple[str, list[str]]] = []
    api = session.data_objects
    original = api.write

    def spy(p, data, **kwargs):
        if kwargs.get("parallel_write_handle"):
            avus = session.metadata.list(p, kind=EntryKind.DATA_OBJECT)
            seen.append((kwargs["parallel_write_handle"], [a.value for a in avus]))
        return original(p, data, **kwargs)

    api.write = spy
    try:
        upload_object(session, io.BytesIO(DATA), path, config=CFG, resume_key=KEY, size=len(DATA))
    finally:
        del api.write
    assert len(seen) == 6
    # The handle, and the upload's lease on its temporary (writer and renewal: transfer/_upload_lease).
    assert all(handle in avus and len(avus) == 3 for handle, avus in seen), seen
    assert session.data_objects.read(path) == DATA
    assert session.metadata.list(path, kind=EntryKind.DATA_OBJECT) == []


def test_unrecorded_lock_falls_back_to_a_fresh_temporary_name(session, irods_emulator, caplog):
    path = f"{HOME}/killed-unrecorded.bin"
    temp = temp_name(path, KEY)
    handle = _leak_handle(session, temp, record=False)
    with caplog.at_level(logging.WARNING):
        result = upload_object(session, io.BytesIO(DATA), path, config=CFG, resume_key=KEY, size=len(DATA))
    assert result.status.value == "transferred"
    assert session.data_objects.read(path) == DATA
    # Only the locked leftover remains, named in the log for an operator; the fresh temporary is gone.
    assert _objects_under(irods_emulator, f"{HOME}/") == sorted([path, temp])
    assert any(f"Remove {temp} once it is unlocked" in m for m in caplog.messages)
    assert irods_emulator.open_parallel_write_handles() == 1
    session.data_objects.parallel_write_shutdown(handle)


def test_unrecorded_lock_with_resume_state_is_probed_before_writing(session, irods_emulator, caplog):
    path = f"{HOME}/killed-resumed.bin"
    temp = temp_name(path, KEY)
    handle = _leak_handle(session, temp, record=False)
    state = ResumeState(committed=CHUNK, source_size=len(DATA)).to_value()
    session.metadata.add(temp, AVU(RESUME_ATTRIBUTE, state), kind=EntryKind.DATA_OBJECT)
    with caplog.at_level(logging.WARNING):
        result = upload_object(session, io.BytesIO(DATA), path, config=CFG, resume_key=KEY, size=len(DATA))
    assert (result.status.value, result.resumed_from) == ("transferred", 0)
    assert session.data_objects.read(path) == DATA
    assert any(f"Remove {temp} once it is unlocked" in m for m in caplog.messages)
    session.data_objects.parallel_write_shutdown(handle)
