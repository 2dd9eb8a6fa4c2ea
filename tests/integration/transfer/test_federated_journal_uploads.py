"""Uploads into a federated zone write over parallel streams and resume, their records kept in a journal
object in the local zone (transfer/_journal).

iRODS's atomic metadata call runs on the LOCAL catalog (irods 4.3.4 atomic_apply_metadata_operations.cpp:
151-194, :445-470), so a temporary of another zone cannot carry its handles, lease or resume state. Nothing
in the HTTP API keeps a parallel write off a remote object: each stream opens the path through a connection
to the local server (data_objects main.cpp:90-162 at 0.7.0, :72-122 at 0.5.0), which forwards the open, its
replica token, the seeks, writes and the replica close to the path's zone (irods 4.3.4 rsDataObjOpen.cpp:
882-903; rsDataObjLseek.cpp:33-36; rsDataObjWrite.cpp:87-92; plugins/api/src/get_file_descriptor_info.cpp:
283-291; replica_close.cpp:363-372).
"""

from __future__ import annotations

import io
import logging
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from irods_provider.client import BasicAuth, IrodsSession, PermissionOperation, StaticToken
from irods_provider.client._temporaries import (
    HANDLE_ATTRIBUTE,
    JOURNAL_COLLECTION,
    LEASE_ATTRIBUTE,
    RESUME_ATTRIBUTE,
    WRITER_ATTRIBUTE,
    journal_path,
)
from irods_provider.client.transfer import TransferConfig, open_writer, upload_object
from irods_provider.client.transfer._resume import ResumeState, temp_name
from irods_provider.testing import EmulatorServer

pytestmark = pytest.mark.timeout(60)

LOCAL, REMOTE = "tempZone", "otherZone"
REMOTE_HOME = f"/{REMOTE}/home/alice#{LOCAL}"
LOCAL_HOME = f"/{LOCAL}/home/alice"
JOURNALS = f"{LOCAL_HOME}/{JOURNAL_COLLECTION}"
CHUNK = 64 * 1024
SIZE = 7 * CHUNK + 1234  # eight chunks over three streams
CFG = TransferConfig(streams=3, chunk_size=CHUNK, small_file_threshold=CHUNK, resume_checkpoint_bytes=CHUNK)
Variants = Callable[..., EmulatorServer]


@pytest.fixture
def server(irods_emulator_variants: Variants) -> EmulatorServer:
    server = irods_emulator_variants(federated_zones=[REMOTE])
    server.add_user("alice", "alice")
    return server


@pytest.fixture
def alice(server: EmulatorServer) -> Iterator[IrodsSession]:
    with IrodsSession(server.base_url, auth=BasicAuth("alice", "alice")) as session:
        yield session


@pytest.fixture
def inits(server: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """The (path, stream count) of every parallel_write_init the server handled."""
    seen: list[tuple[str, int]] = []
    original = server.model.parallel_write_init

    def counted(caller: str, path: str, **kwargs: Any) -> str:
        seen.append((path, kwargs["stream_count"]))
        return original(caller, path, **kwargs)

    monkeypatch.setattr(server.model, "parallel_write_init", counted)
    return seen


def _left(session: IrodsSession) -> list[str]:
    """Temporaries beside the uploads and journals in the local home."""
    names = [e.name for e in session.collections.iterate(REMOTE_HOME, include_temporaries=True)]
    left = [n for n in names if n.startswith(".")]
    if session.collections.exists(JOURNALS):
        left += [e.path for e in session.collections.iterate(JOURNALS, include_temporaries=True)]
    return left


def test_an_upload_into_a_federated_zone_uses_every_stream(
    alice: IrodsSession, inits: list[tuple[str, int]]
) -> None:
    data = os.urandom(SIZE)
    path = f"{REMOTE_HOME}/run.bin"
    result = upload_object(alice, io.BytesIO(data), path, size=SIZE, config=CFG, resume_key="run-1")
    assert alice.data_objects.read(path) == data
    assert result.checksum == alice.data_objects.stat(path).checksum
    assert [count for _, count in inits] == [3]  # was: no handle, one stream of offset writes
    assert inits[0][0].startswith(f"{REMOTE_HOME}/.run.bin.irods-part-")
    assert _left(alice) == []  # the temporary and its journal are gone once published


class _FailingSource(io.BytesIO):
    """Fails the upload (an I/O error) once ``fail_after`` bytes were read."""

    def __init__(self, data: bytes, fail_after: int) -> None:
        super().__init__(data)
        self.fail_after = fail_after

    def readinto(self, buffer: Any) -> int:
        if self.tell() >= self.fail_after:
            raise OSError("the source's disk went away")
        return super().readinto(buffer)

    def read(self, size: int | None = -1) -> bytes:
        if self.tell() >= self.fail_after:
            raise OSError("the source's disk went away")
        return super().read(size)


def test_a_failed_upload_there_resumes_from_its_journal(
    alice: IrodsSession, inits: list[tuple[str, int]]
) -> None:
    data = os.urandom(SIZE)
    path = f"{REMOTE_HOME}/big.bin"
    with pytest.raises(OSError, match="went away"):
        upload_object(alice, _FailingSource(data, 5 * CHUNK), path, size=SIZE, config=CFG, resume_key="k")
    temp = temp_name(path, "k")
    journal = journal_path(LOCAL_HOME, temp)
    records = {a.attribute: a.value for a in alice.metadata.list(journal)}
    state = ResumeState.from_value(records[RESUME_ATTRIBUTE])
    assert state is not None
    assert CHUNK <= state.committed <= 5 * CHUNK
    assert alice.data_objects.stat(temp).size >= state.committed
    assert alice.metadata.list(temp) == []  # the remote temporary itself carries nothing

    result = upload_object(alice, io.BytesIO(data), path, size=SIZE, config=CFG, resume_key="k")
    assert result.resumed_from == state.committed  # was 0: a retry restarted from zero
    assert alice.data_objects.read(path) == data
    assert [count for _, count in inits] == [3, 3]
    assert _left(alice) == []


def test_open_writer_there_records_its_handle_and_lease_in_the_journal(
    alice: IrodsSession, inits: list[tuple[str, int]]
) -> None:
    data = os.urandom(SIZE)
    path = f"{REMOTE_HOME}/stream.bin"
    with open_writer(alice, path, config=CFG, size=SIZE) as writer:
        writer.write(data[: 4 * CHUNK])
        recorded = {a.attribute for a in alice.metadata.list(journal_path(LOCAL_HOME, writer.path))}
        writer.write(data[4 * CHUNK :])
    assert {HANDLE_ATTRIBUTE, WRITER_ATTRIBUTE, LEASE_ATTRIBUTE} <= recorded
    assert [count for _, count in inits] == [3]
    assert alice.data_objects.read(path) == data
    assert _left(alice) == []


def test_without_a_writable_local_home_it_falls_back_to_one_stream(
    alice: IrodsSession, inits: list[tuple[str, int]], caplog: pytest.LogCaptureFixture
) -> None:
    alice.collections.modify_permissions(LOCAL_HOME, [PermissionOperation("alice", "read")])
    data = os.urandom(SIZE)
    path = f"{REMOTE_HOME}/fallback.bin"
    with caplog.at_level(logging.WARNING, logger="irods_provider.client.transfer._journal"):
        result = upload_object(alice, io.BytesIO(data), path, size=SIZE, config=CFG, resume_key="f")
    assert alice.data_objects.read(path) == data
    assert result.resumed_from == 0
    assert inits == []  # one stream of offset writes: no handle could be recorded
    assert any("one stream" in r.getMessage() and LOCAL_HOME in r.getMessage() for r in caplog.records)
    assert not alice.collections.exists(JOURNALS)


def test_the_cleanup_releases_an_abandoned_remote_temporary_by_its_journal(
    alice: IrodsSession, inits: list[tuple[str, int]]
) -> None:
    """A worker killed mid-write leaves the remote temporary locked by a handle recorded on its journal:
    the cleanup of abandoned temporaries shuts it down from there, removes the temporary and the journal."""
    path = f"{REMOTE_HOME}/abandoned.bin"
    writer = open_writer(alice, path, config=CFG, size=SIZE)
    try:
        writer.write(os.urandom(4 * CHUNK))
        writer.flush()
        temp, journal = writer.path, journal_path(LOCAL_HOME, writer.path)
        assert any(a.attribute == HANDLE_ATTRIBUTE for a in alice.metadata.list(journal))
        # Killed an hour ago: its lease (renewed by a live writer, which a sweep leaves alone) has lapsed.
        report = alice.collections.remove_temporaries(REMOTE_HOME, min_age=0, now=time.time() + 3600)
    finally:
        writer.abort()
    assert [(t.path, t.handles_released) for t in report.removed] == [(temp, 1)]  # was: locked, kept
    assert report.locked == []
    assert _left(alice) == []


def test_a_session_naming_no_user_falls_back_to_one_stream(
    server: EmulatorServer, inits: list[tuple[str, int]], caplog: pytest.LogCaptureFixture
) -> None:
    """A static bearer token names no user, so no local home is known to keep a journal in: one stream of
    offset writes without resume, as before, and the log says why."""
    with IrodsSession(server.base_url, auth=BasicAuth("alice", "alice")) as login:
        login.collections.exists(LOCAL_HOME)
        assert login.auth is not None
        token = login.auth.get_token()
    data = os.urandom(SIZE)
    path = f"{REMOTE_HOME}/token.bin"
    with (
        IrodsSession(server.base_url, auth=StaticToken(token)) as session,
        caplog.at_level(logging.WARNING, logger="irods_provider.client.transfer._journal"),
    ):
        result = upload_object(session, io.BytesIO(data), path, size=SIZE, config=CFG, resume_key="t")
        assert session.data_objects.read(path) == data
    assert result.resumed_from == 0
    assert inits == []
    assert any("the credentials name no user" in r.getMessage() for r in caplog.records)
