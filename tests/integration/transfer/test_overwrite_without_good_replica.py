"""Overwriting a data object that has no good replica: one left stale by a failed write, one being written.

A write whose agent died leaves the replica it wrote stale (irods 4.3.4 initServer.cpp
``finalize_replica_opened_for_create_or_write``), so the object has no good replica: the HTTP API's stat
answers SYS_NO_GOOD_REPLICA. ``iput -f`` onto it works (a stale replica votes low for a write, not zero:
voting.cpp:42-93), and so must an upload with ``overwrite``: through the rename publish (the owner) and
through the in-place copy (a user with write but not own), keeping the object's grants and AVUs. Its size
and checksum say nothing, so no skip policy takes it for done. An object another client is writing right
now (intermediate and write-locked replicas) is never overwritten: a typed IrodsLockedError naming the path,
and nothing of ours left behind; a rename of it is refused by the server too (rsDataObjRename.cpp:146-154).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from typing import Any

import pytest

from irods_provider.client import AVU, BasicAuth, IrodsSession, PermissionOperation
from irods_provider.client.transfer import (
    FileStatus,
    OverwritePolicy,
    SkipPolicy,
    TransferConfig,
    upload_object,
)
from irods_provider.exceptions import (
    IrodsAlreadyExistsError,
    IrodsConnectionError,
    IrodsLockedError,
    IrodsOverwriteIncompleteError,
)

pytestmark = pytest.mark.timeout(120)

HOME = "/tempZone/home/rods"
CFG = TransferConfig(chunk_size=1 << 20, small_file_threshold=1 << 20)
SIZES = pytest.mark.parametrize("size", [1000, 3 * (1 << 20) + 5], ids=["small", "parallel"])


def leave_stale(session: IrodsSession, server: Any, path: str, data: bytes) -> None:
    """``path`` rewritten by a writer that died after sending ``data``: its only replica is stale."""
    handle = session.data_objects.parallel_write_init(path, stream_count=1)
    session.data_objects.write(None, data, parallel_write_handle=handle, stream_index=0, offset=0)
    assert server.drop_parallel_writes(path) == 1
    assert [r.status for r in session.data_objects.replicas(path)] == ["0"]


def left_in(server: Any, collection: str = HOME) -> list[str]:
    """Every data object directly in ``collection`` (temporaries and backups included)."""
    with server.model.lock:
        return sorted(p for p in server.model.data_objects if p.rpartition("/")[0] == collection)


def upload(session: IrodsSession, data: bytes, path: str, **kwargs: Any) -> Any:
    return upload_object(session, io.BytesIO(data), path, size=len(data), config=CFG, **kwargs)


@pytest.fixture
def alice(irods_emulator: Any) -> Iterator[IrodsSession]:
    irods_emulator.add_user("alice", "apass")
    with IrodsSession(irods_emulator.base_url, auth=BasicAuth("alice", "apass")) as s:
        yield s


@SIZES
def test_an_object_left_stale_is_overwritten_keeping_its_grants_and_avus(
    session, irods_emulator, alice, size
) -> None:
    path = f"{HOME}/failed-{size}.bin"
    upload(session, b"first version", path)
    session.data_objects.modify_permissions(path, [PermissionOperation("alice", "read")])
    session.metadata.add(path, AVU("project", "p1"))
    leave_stale(session, irods_emulator, path, b"half of the second")

    data = os.urandom(size)
    result = upload(session, data, path, overwrite=OverwritePolicy.OVERWRITE)

    assert result.status is FileStatus.TRANSFERRED
    assert session.data_objects.read(path) == data
    assert [r.status for r in session.data_objects.replicas(path)] == ["1"]
    assert {p.name: p.perm for p in session.data_objects.stat(path).permissions}["alice"] == "read_object"
    assert {(a.attribute, a.value) for a in session.metadata.list(path)} == {("project", "p1")}
    assert left_in(irods_emulator) == [path]


@pytest.mark.parametrize("skip", [SkipPolicy.EXISTS, SkipPolicy.SIZE, SkipPolicy.CHECKSUM])
def test_no_skip_policy_takes_an_object_left_stale_for_done(session, irods_emulator, skip) -> None:
    # The dead writer sent every byte of the source: same size, same bytes, but never closed.
    path = f"{HOME}/{skip.value}.bin"
    data = os.urandom(3 * (1 << 20) + 5)
    leave_stale(session, irods_emulator, path, data)
    result = upload(session, data, path, skip=skip, overwrite=OverwritePolicy.OVERWRITE)
    assert (result.status, result.reason) == (FileStatus.TRANSFERRED, None)
    assert session.data_objects.stat(path).size == len(data)  # good again: the stat answers
    assert session.data_objects.read(path) == data


@SIZES
def test_refuse_refuses_an_object_left_stale(session, irods_emulator, size) -> None:
    path = f"{HOME}/kept-{size}.bin"
    leave_stale(session, irods_emulator, path, b"half")
    with pytest.raises(IrodsAlreadyExistsError) as refused:
        upload(session, os.urandom(size), path, skip=SkipPolicy.SIZE)
    assert refused.value.path == path
    assert left_in(irods_emulator) == [path]


@SIZES
@pytest.mark.parametrize("skip", [SkipPolicy.NEVER, SkipPolicy.EXISTS])
def test_an_object_being_written_is_never_overwritten(session, irods_emulator, size, skip) -> None:
    path = f"{HOME}/busy-{size}.bin"
    handle = session.data_objects.parallel_write_init(path, stream_count=1)  # another client's write
    session.data_objects.write(None, b"theirs", parallel_write_handle=handle, stream_index=0, offset=0)

    with pytest.raises(IrodsLockedError) as caught:
        upload(session, os.urandom(size), path, overwrite=OverwritePolicy.OVERWRITE, skip=skip)
    assert caught.value.path == path
    assert left_in(irods_emulator) == [path]  # no temporary, nothing moved aside

    session.data_objects.parallel_write_shutdown(handle)
    assert session.data_objects.read(path) == b"theirs"  # their write survived


def test_a_write_that_starts_during_the_publish_is_not_overwritten(
    session, irods_emulator, monkeypatch
) -> None:
    """The owner's rename of the object aside is refused once another client opened it for writing."""
    from irods_provider.client.transfer import _upload

    path = f"{HOME}/raced.bin"
    upload(session, b"before", path)
    opened: list[str] = []
    carry_over = _upload.carry_over

    def then_another_client_writes(*args: Any, **kwargs: Any) -> None:
        carry_over(*args, **kwargs)
        opened.append(session.data_objects.parallel_write_init(path, stream_count=1))
        session.data_objects.write(None, b"theirs", parallel_write_handle=opened[0], stream_index=0, offset=0)

    monkeypatch.setattr(_upload, "carry_over", then_another_client_writes)
    with pytest.raises(IrodsLockedError) as caught:
        upload(session, os.urandom(3 * (1 << 20)), path, overwrite=OverwritePolicy.OVERWRITE)
    assert caught.value.path == path
    assert caught.value.irods_name == "LOCKED_DATA_OBJECT_ACCESS"
    assert left_in(irods_emulator) == [path]
    session.data_objects.parallel_write_shutdown(opened[0])
    assert session.data_objects.read(path) == b"theirs"


@SIZES
def test_write_but_not_own_overwrites_an_object_left_stale_in_place(
    session, irods_emulator, alice, size
) -> None:
    path = f"{HOME}/shared-{size}.bin"
    upload(session, b"first version", path)
    session.collections.modify_permissions(HOME, [PermissionOperation("alice", "own")])
    session.data_objects.modify_permissions(path, [PermissionOperation("alice", "write")])
    session.metadata.add(path, AVU("project", "p1"))
    leave_stale(session, irods_emulator, path, b"half of the second")

    data = os.urandom(size)
    upload(alice, data, path, overwrite=OverwritePolicy.OVERWRITE)

    assert session.data_objects.read(path) == data
    assert [r.status for r in session.data_objects.replicas(path)] == ["1"]
    assert {(a.attribute, a.value) for a in session.metadata.list(path)} == {("project", "p1")}
    assert left_in(irods_emulator) == [path]  # no backup of bytes a failed write left


def test_write_but_not_own_is_refused_an_object_being_written(session, irods_emulator, alice) -> None:
    path = f"{HOME}/shared-busy.bin"
    upload(session, b"first version", path)
    session.collections.modify_permissions(HOME, [PermissionOperation("alice", "own")])
    session.data_objects.modify_permissions(path, [PermissionOperation("alice", "write")])
    handle = session.data_objects.parallel_write_init(path, stream_count=1)
    with pytest.raises(IrodsLockedError) as caught:
        upload(alice, os.urandom(3 * (1 << 20)), path, overwrite=OverwritePolicy.OVERWRITE)
    assert caught.value.path == path
    assert left_in(irods_emulator) == [path]
    session.data_objects.write(None, b"theirs", parallel_write_handle=handle, stream_index=0, offset=0)
    session.data_objects.parallel_write_shutdown(handle)
    assert session.data_objects.read(path) == b"theirs"


def test_an_earlier_backup_is_put_back_over_a_path_its_failed_copy_left_stale(
    session, irods_emulator, alice, monkeypatch
) -> None:
    """The case the put-back exists for: an overwrite in place whose copy left the path stale and whose
    restore failed too kept its backup; the next overwrite puts it back first, then proceeds."""
    from irods_provider.client.transfer import _copyover

    path = f"{HOME}/interrupted.bin"
    upload(session, b"old", path)
    session.collections.modify_permissions(HOME, [PermissionOperation("alice", "own")])
    session.data_objects.modify_permissions(path, [PermissionOperation("alice", "write")])
    copy_verified = _copyover._copy_verified

    def connection_lost(s: Any, source: str, target: str, **kwargs: Any) -> None:
        if ".irods-keep-" not in source:  # the new bytes: the copy dies half-way, its replica stale
            leave_stale(session, irods_emulator, target, b"al")
        raise IrodsConnectionError("connection reset", operation="data_objects.copy", path=target)

    monkeypatch.setattr(_copyover, "_copy_verified", connection_lost)
    with pytest.raises(IrodsOverwriteIncompleteError) as kept:
        upload(alice, b"alice 1", path, overwrite=OverwritePolicy.OVERWRITE)
    assert alice.data_objects.read(kept.value.backup) == b"old"

    copied: list[bytes] = []

    def traced(s: Any, source: str, target: str, **kwargs: Any) -> None:
        copied.append(alice.data_objects.read(source))
        copy_verified(s, source, target, **kwargs)

    monkeypatch.setattr(_copyover, "_copy_verified", traced)
    upload(alice, b"alice 2", path, overwrite=OverwritePolicy.OVERWRITE)
    assert copied == [b"old", b"alice 2"]  # put back, then overwritten
    assert session.data_objects.read(path) == b"alice 2"
    assert left_in(irods_emulator) == [path]


@pytest.mark.parametrize("staged", [False, True], ids=["copy", "staged"])
def test_a_tree_copy_overwrites_a_destination_left_stale_rather_than_skipping_it(
    session, irods_emulator, staged
) -> None:
    from irods_provider.client.transfer._tree import copy_collection

    session.collections.create(f"{HOME}/src")
    upload(session, b"same size", f"{HOME}/src/a.bin")
    session.collections.create(f"{HOME}/dst")
    leave_stale(session, irods_emulator, f"{HOME}/dst/a.bin", b"SAME SIZE")  # the listing shows 9 bytes
    report = copy_collection(
        session,
        f"{HOME}/src",
        f"{HOME}/dst",
        skip=SkipPolicy.SIZE,
        overwrite=OverwritePolicy.OVERWRITE,
        after_copy=(lambda _temp: None) if staged else None,
    )
    assert [f.status for f in report.files] == [FileStatus.TRANSFERRED]
    assert session.data_objects.read(f"{HOME}/dst/a.bin") == b"same size"
    assert left_in(irods_emulator, f"{HOME}/dst") == [f"{HOME}/dst/a.bin"]


def test_a_tree_copy_refuses_a_destination_being_written_before_copying_anything(
    session, irods_emulator
) -> None:
    from irods_provider.client.transfer._tree import copy_collection

    session.collections.create(f"{HOME}/src")
    for name in ("a.bin", "b.bin"):
        upload(session, name.encode(), f"{HOME}/src/{name}")
    session.collections.create(f"{HOME}/dst")
    handle = session.data_objects.parallel_write_init(f"{HOME}/dst/b.bin", stream_count=1)
    with pytest.raises(IrodsLockedError) as caught:
        copy_collection(
            session, f"{HOME}/src", f"{HOME}/dst", skip=SkipPolicy.EXISTS, overwrite=OverwritePolicy.OVERWRITE
        )
    assert caught.value.path == f"{HOME}/dst/b.bin"
    assert left_in(irods_emulator, f"{HOME}/dst") == [f"{HOME}/dst/b.bin"]  # a.bin was not copied either
    session.data_objects.parallel_write_shutdown(handle)
