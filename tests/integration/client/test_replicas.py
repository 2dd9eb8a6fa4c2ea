"""Client replica calls over real HTTP: replicate, trim, modify_replica, register, replica listings.

Error expectations come from the 0.7.0 server source (endpoints/data_objects/src/main.cpp: replicate
passes ``dst-resource`` as DEST_RESC_NAME_KW to rcDataObjRepl, trim passes ``replica-number`` as
REPL_NUM_KW with COPIES_KW=1, modify_replica always sets ADMIN_KW) and the error table of the notes.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator

import pytest

from irods_provider.client import AsyncIrodsSession, BasicAuth, IrodsSession, Kinds, RetryPolicy
from irods_provider.exceptions import (
    IrodsBadRequestError,
    IrodsLockedError,
    IrodsNotADataObjectError,
    IrodsNotFoundError,
    IrodsPermissionError,
    IrodsResponseError,
    IrodsUsageError,
)
from irods_provider.testing import EmulatorServer

HOME = "/tempZone/home/rods"


def fast_retry() -> RetryPolicy:
    # Local (not from conftest): another directory's conftest may be the one imported as ``conftest``.
    return RetryPolicy(sleep=lambda s: None, initial_backoff=0.0)


def sha2(data: bytes) -> str:
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


@pytest.fixture
def rsession(irods_emulator_resources: EmulatorServer) -> Iterator[IrodsSession]:
    with IrodsSession(
        irods_emulator_resources.base_url, auth=BasicAuth("rods", "rods-emulator"), retry=fast_retry()
    ) as s:
        yield s


def layout(session: IrodsSession, path: str) -> list[tuple[int, str, str]]:
    return [(r.number, r.hierarchy, r.status) for r in session.data_objects.replicas(path)]


def test_replicate_write_stale_replicate_trim(rsession: IrodsSession) -> None:
    path = f"{HOME}/tiered.bin"
    rsession.data_objects.write(path, b"version-1")
    rsession.data_objects.replicate(path, "archiveResc")
    rsession.data_objects.replicate(path, "replResc", src_replica_number=0)
    assert layout(rsession, path) == [
        (0, "demoResc", "1"),
        (1, "archiveResc", "1"),
        (2, "replResc;replResc_ufs0", "1"),
        (3, "replResc;replResc_ufs1", "1"),
    ]
    rsession.data_objects.write(path, b"version-2!", resource="archiveResc")
    replicas = rsession.data_objects.replicas(path)
    assert [(r.resource, r.root, r.good) for r in replicas] == [
        ("demoResc", "demoResc", False),
        ("archiveResc", "archiveResc", True),
        ("replResc_ufs0", "replResc", False),
        ("replResc_ufs1", "replResc", False),
    ]
    assert rsession.data_objects.read(path, replica_number=0) == b"version-1"
    assert rsession.data_objects.read(path, resource="archiveResc") == b"version-2!"
    rsession.data_objects.replicate(path, "replResc", src_resource="archiveResc")
    assert [r.good for r in rsession.data_objects.replicas(path)] == [False, True, True, True]
    assert rsession.data_objects.read(path, replica_number=3) == b"version-2!"
    rsession.data_objects.trim(path, 0)
    assert [r.number for r in rsession.data_objects.replicas(path)] == [1, 2, 3]
    # Per-replica checksums.
    assert rsession.data_objects.calculate_checksum(path, replica_number=2) == sha2(b"version-2!")
    assert {r.number: r.checksum for r in rsession.data_objects.replicas(path)} == {
        1: None,
        2: sha2(b"version-2!"),
        3: None,
    }


def test_listing_with_stat_carries_replicas(rsession: IrodsSession) -> None:
    coll = f"{HOME}/listing"
    rsession.collections.create(coll)
    rsession.data_objects.write(f"{coll}/a", b"aaa", resource="replResc")
    rsession.data_objects.write(f"{coll}/b", b"bbbb")
    rsession.data_objects.replicate(f"{coll}/b", "archiveResc")
    rsession.data_objects.write(f"{coll}/b", b"bb", resource="demoResc")
    entries = {
        e.name: e for e in rsession.collections.iterate(coll, kinds=Kinds.DATA_OBJECTS, with_stat=True)
    }
    assert [(r.number, r.resource, r.status, r.size) for r in entries["a"].replicas] == [
        (0, "replResc_ufs0", "1", 3),
        (1, "replResc_ufs1", "1", 3),
    ]
    assert [(r.resource, r.good, r.size) for r in entries["b"].replicas] == [
        ("demoResc", True, 2),
        ("archiveResc", False, 4),
    ]
    assert entries["b"].size == 2  # the newest good replica
    plain = list(rsession.collections.iterate(coll, kinds=Kinds.DATA_OBJECTS))
    assert all(e.replicas == () for e in plain)


def test_typed_errors_name_the_irods_codes(
    irods_emulator_resources: EmulatorServer, rsession: IrodsSession
) -> None:
    path = f"{HOME}/errors.bin"
    rsession.data_objects.write(path, b"x")
    with pytest.raises(IrodsNotFoundError) as missing:
        rsession.data_objects.replicate(path, "noSuchResc")
    assert missing.value.irods_name == "SYS_RESC_DOES_NOT_EXIST"
    assert missing.value.irods_code == -78000
    with pytest.raises(IrodsResponseError) as child:
        rsession.data_objects.replicate(path, "replResc_ufs0")
    assert child.value.irods_name == "DIRECT_CHILD_ACCESS"
    # Trimming an object's only replica: the server's trim (COPIES_KW "1" from the HTTP API) leaves it alone
    # and reports success (irods 4.3.4 rsDataObjTrim.cpp:163-167); the replica stays.
    rsession.data_objects.trim(path, 0)
    assert [r.number for r in rsession.data_objects.replicas(path)] == [0]
    # The server answers a read that cannot open the replica with an empty HTTP 400.
    with pytest.raises(IrodsBadRequestError) as no_replica:
        rsession.data_objects.read(path, replica_number=7)
    assert no_replica.value.http_status == 400
    with pytest.raises(IrodsNotADataObjectError):
        rsession.data_objects.replicas(f"{HOME}/nothing-here")
    irods_emulator_resources.add_user("alice", "alice")
    with IrodsSession(irods_emulator_resources.base_url, auth=BasicAuth("alice", "alice")) as alice:
        alice.data_objects.write("/tempZone/home/alice/mine", b"m")
        with pytest.raises(IrodsPermissionError) as denied:
            alice.data_objects.modify_replica(
                "/tempZone/home/alice/mine", {"replica_status": 0}, replica_number=0
            )
        assert denied.value.irods_name == "CAT_INSUFFICIENT_PRIVILEGE_LEVEL"
    assert layout(rsession, path) == [(0, "demoResc", "1")]


def test_modify_replica_as_rodsadmin(rsession: IrodsSession) -> None:
    path = f"{HOME}/modify.bin"
    rsession.data_objects.write(path, b"12345")
    rsession.data_objects.replicate(path, "archiveResc")
    rsession.data_objects.modify_replica(
        path, {"replica_status": 0, "comments": "stale on purpose"}, replica_number=1
    )
    assert layout(rsession, path) == [(0, "demoResc", "1"), (1, "archiveResc", "0")]
    rsession.data_objects.modify_replica(path, {"replica-status": "1"}, resource_hierarchy="archiveResc")
    assert layout(rsession, path) == [(0, "demoResc", "1"), (1, "archiveResc", "1")]


def test_register_a_file_and_an_additional_replica(
    rsession: IrodsSession, irods_emulator_resources: EmulatorServer
) -> None:
    root = irods_emulator_resources.config.register_root  # register is confined to it (issue 18)
    assert root is not None
    first, second = root / "first.dat", root / "second.dat"
    first.write_bytes(b"on disk")
    second.write_bytes(b"on disk")
    path = f"{HOME}/registered.dat"
    rsession.data_objects.register(path, str(first), "demoResc", checksum=True)
    assert rsession.data_objects.read(path) == b"on disk"
    rsession.data_objects.register(path, str(second), "archiveResc", as_additional_replica=True)
    replicas = rsession.data_objects.replicas(path)
    assert [(r.number, r.resource, r.status) for r in replicas] == [
        (0, "demoResc", "0"),
        (1, "archiveResc", "1"),
    ]
    assert replicas[0].checksum == sha2(b"on disk")
    with pytest.raises(IrodsNotFoundError) as bad:
        rsession.data_objects.register(f"{HOME}/other.dat", str(first), "noSuchResc")
    assert bad.value.irods_name == "SYS_RESC_DOES_NOT_EXIST"


def test_usage_errors_are_refused_before_any_request(rsession: IrodsSession) -> None:
    path = f"{HOME}/usage"
    cases = [
        lambda: rsession.data_objects.modify_replica(path, {"size": 1}),
        lambda: rsession.data_objects.modify_replica(
            path, {"size": 1}, replica_number=0, resource_hierarchy="a"
        ),
        lambda: rsession.data_objects.modify_replica(path, {"colour": "red"}, replica_number=0),
        lambda: rsession.data_objects.modify_replica(path, {}, replica_number=0),
        lambda: rsession.data_objects.trim(path, -1),
        lambda: rsession.data_objects.replicate(path, "a;b"),
        lambda: rsession.data_objects.write(path, b"x", resource=""),
        lambda: rsession.data_objects.register(path, "relative/file", "demoResc"),
    ]
    for case in cases:
        with pytest.raises(IrodsUsageError):
            case()
    assert not rsession.data_objects.exists(path)


def test_parallel_write_init_targets_a_resource(rsession: IrodsSession) -> None:
    path = f"{HOME}/pwrite.bin"
    handle = rsession.data_objects.parallel_write_init(path, stream_count=1, resource="replResc")
    try:
        rsession.data_objects.write(None, b"parallel", parallel_write_handle=handle, stream_index=0)
    finally:
        rsession.data_objects.parallel_write_shutdown(handle)
    assert layout(rsession, path) == [(0, "replResc;replResc_ufs0", "1"), (1, "replResc;replResc_ufs1", "1")]
    assert rsession.data_objects.read(path, replica_number=1) == b"parallel"


async def test_async_replicate_and_trim(irods_emulator_resources: EmulatorServer) -> None:
    async def no_sleep(seconds: float) -> None:
        return None

    retry = RetryPolicy(asleep=no_sleep, initial_backoff=0.0)
    base = irods_emulator_resources.base_url
    async with AsyncIrodsSession(base, auth=BasicAuth("rods", "rods-emulator"), retry=retry) as s:
        path = f"{HOME}/async.bin"
        await s.data_objects.write(path, b"async")
        await s.data_objects.replicate(path, "archiveResc")
        await s.data_objects.trim(path, 0)
        replicas = await s.data_objects.replicas(path)
        assert [(r.number, r.resource, r.good) for r in replicas] == [(1, "archiveResc", True)]
        assert await s.data_objects.read(path) == b"async"


def test_copy_overwrite_onto_a_resource_without_a_replica_is_not_a_lock(rsession: IrodsSession) -> None:
    # rsDataObjCopy answers HIERARCHY_ERROR when the existing destination has no replica in dst_resource
    # (irods 4.3.4 rsDataObjCopy.cpp:247-273): the client says so instead of raising IrodsLockedError.
    src, dst = f"{HOME}/copy-src.bin", f"{HOME}/copy-dst.bin"
    rsession.data_objects.write(src, b"new")
    rsession.data_objects.write(dst, b"old")
    with pytest.raises(IrodsResponseError, match="has no replica there") as refused:
        rsession.data_objects.copy(src, dst, overwrite=True, dst_resource="archiveResc")
    assert not isinstance(refused.value, IrodsLockedError)
    assert refused.value.irods_name == "HIERARCHY_ERROR"
    assert rsession.data_objects.read(dst) == b"old"
    rsession.data_objects.replicate(dst, "archiveResc")
    rsession.data_objects.copy(src, dst, overwrite=True, dst_resource="archiveResc")
    assert rsession.data_objects.read(dst, resource="archiveResc") == b"new"
