"""An overwrite in a federated zone never drops the replaced object's AVUs silently.

The engine publishes by renaming a verified temporary onto the path and carries the old object's AVUs to
the new one with iRODS's atomic metadata call, which runs on the LOCAL catalog (irods 4.3.4 plugins/api/src/
atomic_apply_metadata_operations.cpp:151-194, :445-470) and so cannot reach an object of another zone; the
HTTP API has no other call that sets AVUs. Such an overwrite failed only at its publish, after every byte
was uploaded. It is refused before any source byte is read (IrodsRemoteMetadataError, naming the zone and
the attributes), unless the caller asks to replace the object without them (``drop_remote_avus``).
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from irods_provider.client import BasicAuth, IrodsSession
from irods_provider.client.transfer import (
    FileStatus,
    OverwritePolicy,
    TransferConfig,
    open_writer,
    parallel_upload,
    upload_files,
    upload_object,
)
from irods_provider.exceptions import IrodsRemoteMetadataError, IrodsUsageError
from irods_provider.testing import EmulatorServer

pytestmark = pytest.mark.timeout(60)

LOCAL, REMOTE = "tempZone", "otherZone"
REMOTE_HOME = f"/{REMOTE}/home/alice#{LOCAL}"
CHUNK = 64 * 1024
SIZE = 3 * CHUNK + 17  # several chunks: a parallel upload with a resume record
CFG = TransferConfig(streams=2, chunk_size=CHUNK, small_file_threshold=CHUNK)
OLD = b"the instrument's first run" * 100


@pytest.fixture
def server(irods_emulator_variants: Callable[..., EmulatorServer]) -> EmulatorServer:
    server = irods_emulator_variants(federated_zones=[REMOTE])
    server.add_user("alice", "alice")
    return server


@pytest.fixture
def alice(server: EmulatorServer) -> Iterator[IrodsSession]:
    with IrodsSession(server.base_url, auth=BasicAuth("alice", "alice")) as session:
        yield session


@pytest.fixture
def annotated(server: EmulatorServer, alice: IrodsSession) -> str:
    """An object in the other zone with AVUs a workflow of that zone set."""
    path = f"{REMOTE_HOME}/run.bin"
    alice.data_objects.write(path, OLD)
    server.add_avu(path, "project", "p-17")
    server.add_avu(path, "instrument", "krios-2", "id")
    return path


class _CountingSource(io.BytesIO):
    """Counts the bytes read from it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.read_bytes = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.read_bytes += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        n = super().readinto(buffer)
        self.read_bytes += n
        return n


def _avus(session: IrodsSession, path: str) -> set[tuple[str, str, str]]:
    return {(a.attribute, a.value, a.units) for a in session.metadata.list(path)}


def _untouched(session: IrodsSession, path: str) -> None:
    assert session.data_objects.read(path) == OLD
    assert _avus(session, path) == {("project", "p-17", ""), ("instrument", "krios-2", "id")}
    names = [e.name for e in session.collections.iterate(REMOTE_HOME, include_temporaries=True)]
    assert names == ["run.bin"]  # no temporary left behind


@pytest.mark.parametrize("size", [SIZE, 100])  # several chunks, and one request's worth
def test_upload_object_refuses_before_reading_a_byte(alice: IrodsSession, annotated: str, size: int) -> None:
    source = _CountingSource(os.urandom(size))
    with pytest.raises(IrodsRemoteMetadataError) as raised:
        upload_object(alice, source, annotated, size=size, config=CFG, overwrite=OverwritePolicy.OVERWRITE)
    assert isinstance(raised.value, IrodsUsageError)
    assert source.read_bytes == 0
    assert raised.value.path == annotated
    assert raised.value.zone == REMOTE
    assert raised.value.attributes == ("instrument", "project")
    assert "drop_remote_avus" in str(raised.value)
    _untouched(alice, annotated)


def test_open_writer_and_parallel_upload_refuse_before_writing(alice: IrodsSession, annotated: str) -> None:
    with pytest.raises(IrodsRemoteMetadataError):
        open_writer(alice, annotated, config=CFG)
    source = _CountingSource(os.urandom(SIZE))
    with pytest.raises(IrodsRemoteMetadataError):
        parallel_upload(alice, source, annotated, config=CFG, size=SIZE)
    assert source.read_bytes == 0
    _untouched(alice, annotated)


def test_drop_remote_avus_replaces_the_object_without_them(alice: IrodsSession, annotated: str) -> None:
    data = os.urandom(SIZE)
    dropping = TransferConfig(streams=2, chunk_size=CHUNK, small_file_threshold=CHUNK, drop_remote_avus=True)
    upload_object(
        alice, io.BytesIO(data), annotated, size=SIZE, config=dropping, overwrite=OverwritePolicy.OVERWRITE
    )
    assert alice.data_objects.read(annotated) == data
    assert _avus(alice, annotated) == set()
    with open_writer(alice, annotated, config=dropping) as writer:
        writer.write(b"again")
    assert alice.data_objects.read(annotated) == b"again"


def test_an_object_without_avus_is_overwritten_as_before(alice: IrodsSession) -> None:
    path = f"{REMOTE_HOME}/plain.bin"
    alice.data_objects.write(path, OLD)
    data = os.urandom(SIZE)
    upload_object(alice, io.BytesIO(data), path, size=SIZE, config=CFG, overwrite=OverwritePolicy.OVERWRITE)
    assert alice.data_objects.read(path) == data
    with open_writer(alice, path, config=CFG) as writer:
        writer.write(b"small")
    assert alice.data_objects.read(path) == b"small"


def test_an_overwrite_there_keeps_the_replaced_objects_grants(
    server: EmulatorServer, alice: IrodsSession
) -> None:
    """Grants go one by one through set_permission, which iRODS routes to the path's zone (irods 4.3.4
    rsModAccessControl.cpp:43-53); the atomic call that carries them in the local zone cannot reach it."""
    server.add_user("bob", "bob")
    path = f"{REMOTE_HOME}/shared.bin"
    alice.data_objects.write(path, OLD)
    alice.data_objects.set_permission(path, f"bob#{LOCAL}", "read_object")
    # bob's read needs read_object on the collection too: the HTTP API's status() is an access-checked
    # GenQuery naming COLL_NAME (irods 4.3.4 rsObjStat.cpp:155-202, general_query.cpp:1683-1689)
    alice.collections.set_permission(REMOTE_HOME, f"bob#{LOCAL}", "read_object")
    data = os.urandom(SIZE)
    upload_object(alice, io.BytesIO(data), path, size=SIZE, config=CFG, overwrite=OverwritePolicy.OVERWRITE)
    assert alice.data_objects.read(path) == data
    grants = {(p.name, p.zone, p.perm) for p in alice.data_objects.permissions(path)}
    assert ("bob", LOCAL, "read_object") in grants
    with IrodsSession(server.base_url, auth=BasicAuth("bob", "bob")) as bob:
        assert bob.data_objects.read(path) == data


def test_the_upload_operator_refuses_or_drops_as_told(
    server: EmulatorServer,
    alice: IrodsSession,
    annotated: str,
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from irods_provider.transfers.local_to_irods import LocalToIrodsOperator

    monkeypatch.setenv(
        "AIRFLOW_CONN_IRODS_FED", f"irods://alice:alice@127.0.0.1:{server.port}/http?zone={LOCAL}"
    )
    local = tmp_path / "run.bin"
    local.write_bytes(os.urandom(SIZE))
    args = {"task_id": "up", "irods_conn_id": "irods_fed", "source_path": str(local)}
    upload = {**args, "destination_path": annotated, "overwrite": True, "chunk_size": CHUNK}
    with pytest.raises(IrodsRemoteMetadataError):
        LocalToIrodsOperator(**upload).execute({})
    _untouched(alice, annotated)
    LocalToIrodsOperator(**upload, drop_remote_avus=True).execute({})
    assert alice.data_objects.read(annotated) == local.read_bytes()
    assert _avus(alice, annotated) == set()


@pytest.mark.parametrize("size", [SIZE, 100])  # the parallel path and the small-file one
def test_a_dry_run_reports_the_refusal_the_real_run_would_meet(
    alice: IrodsSession, annotated: str, size: int
) -> None:
    source = _CountingSource(os.urandom(size))
    overwrite = OverwritePolicy.OVERWRITE
    with pytest.raises(IrodsRemoteMetadataError) as raised:
        upload_object(alice, source, annotated, size=size, config=CFG, overwrite=overwrite, dry_run=True)
    assert raised.value.path == annotated
    assert raised.value.attributes == ("instrument", "project")
    dropping = TransferConfig(streams=2, chunk_size=CHUNK, small_file_threshold=CHUNK, drop_remote_avus=True)
    planned = upload_object(
        alice, source, annotated, size=size, config=dropping, overwrite=overwrite, dry_run=True
    )
    assert (planned.status, planned.reason) == (FileStatus.PLANNED, "overwrite")
    _untouched(alice, annotated)


def test_a_dry_run_of_a_tree_lists_the_refused_file_as_failed(
    alice: IrodsSession, annotated: str, tmp_path: Any
) -> None:
    (tmp_path / "run.bin").write_bytes(os.urandom(SIZE))
    (tmp_path / "new.bin").write_bytes(os.urandom(SIZE))
    report = upload_files(
        alice,
        str(tmp_path),
        REMOTE_HOME,
        config=CFG,
        overwrite=OverwritePolicy.OVERWRITE,
        dry_run=True,
        continue_on_error=True,
    )
    by_name = {os.path.basename(f.destination): f for f in report.files}
    assert by_name["new.bin"].status is FileStatus.PLANNED
    assert by_name["run.bin"].status is FileStatus.FAILED
    assert "IrodsRemoteMetadataError" in (by_name["run.bin"].error or "")
    _untouched_but_plain(alice, annotated)


def _untouched_but_plain(session: IrodsSession, path: str) -> None:
    assert session.data_objects.read(path) == OLD
    assert _avus(session, path) == {("project", "p-17", ""), ("instrument", "krios-2", "id")}
    assert not session.data_objects.exists(f"{REMOTE_HOME}/new.bin")
