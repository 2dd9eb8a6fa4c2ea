"""Atomic metadata and ACL calls on a federated (remote-zone) path are refused before any request.

iRODS runs both atomic APIs on the LOCAL zone's catalog provider and finds the object's id with a GenQuery
that rsGenQuery routes to the path's zone, then checks rights and writes AVUs/ACLs in the LOCAL database by
that id (irods 4.3.4 plugins/api/src/atomic_apply_metadata_operations.cpp:151-194 and :445-558,
atomic_apply_acl_operations.cpp:170-203 and :437-575; rsGenQuery.cpp:667-690; catalog_utilities.cpp:81-175;
the same at 5.0.2). So the remote object never changes: the call is refused (CAT_NO_ACCESS_PERMISSION), or,
when a local object happens to carry the same id and the user may modify it, that unrelated object gets the
AVU or the grant. The client refuses such calls with a typed error naming the path and the zone.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from irods_provider.client import AVU, BasicAuth, IrodsSession, PermissionOperation
from irods_provider.exceptions import IrodsUsageError
from irods_provider.testing import EmulatorServer

pytestmark = pytest.mark.timeout(60)

LOCAL, REMOTE = "tempZone", "otherZone"
REMOTE_HOME = f"/{REMOTE}/home/alice#{LOCAL}"
Variants = Callable[..., EmulatorServer]


@pytest.fixture
def alice(irods_emulator_variants: Variants) -> Iterator[IrodsSession]:
    server = irods_emulator_variants(federated_zones=[REMOTE])
    server.add_user("alice", "alice")
    with IrodsSession(server.base_url, auth=BasicAuth("alice", "alice")) as session:
        session.data_objects.write(f"{REMOTE_HOME}/a.csv", b"1,2")
        session.collections.create(f"{REMOTE_HOME}/d")
        yield session


CALLS: dict[str, tuple[Callable[[IrodsSession], object], str]] = {
    "metadata.add": (lambda s: s.metadata.add(f"{REMOTE_HOME}/a.csv", AVU("k", "v")), f"{REMOTE_HOME}/a.csv"),
    "metadata.set": (lambda s: s.metadata.set(f"{REMOTE_HOME}/d", AVU("k", "v")), f"{REMOTE_HOME}/d"),
    "metadata.remove": (
        lambda s: s.metadata.remove(f"{REMOTE_HOME}/a.csv", AVU("k", "v")),
        f"{REMOTE_HOME}/a.csv",
    ),
    "data_objects.modify_permissions": (
        lambda s: s.data_objects.modify_permissions(
            f"{REMOTE_HOME}/a.csv", [PermissionOperation("rods", "read")]
        ),
        f"{REMOTE_HOME}/a.csv",
    ),
    "collections.modify_permissions": (
        lambda s: s.collections.modify_permissions(f"{REMOTE_HOME}/d", [PermissionOperation("rods", "read")]),
        f"{REMOTE_HOME}/d",
    ),
}


@pytest.mark.parametrize("call", sorted(CALLS))
def test_an_atomic_call_on_a_remote_path_is_refused_typed(alice: IrodsSession, call: str) -> None:
    run, path = CALLS[call]
    with pytest.raises(IrodsUsageError) as caught:
        run(alice)
    assert caught.value.path == path
    assert REMOTE in str(caught.value)
    assert "local" in str(caught.value)
    assert alice.metadata.list(f"{REMOTE_HOME}/a.csv") == []
    assert [p.perm for p in alice.data_objects.permissions(f"{REMOTE_HOME}/a.csv")] == ["own"]


def test_the_local_zone_and_non_atomic_grants_still_work(alice: IrodsSession) -> None:
    local = "/tempZone/home/alice/a.csv"
    alice.data_objects.write(local, b"1")
    alice.metadata.add(local, AVU("k", "v"))
    assert alice.metadata.list(local) == [AVU("k", "v")]
    alice.data_objects.modify_permissions(local, [PermissionOperation("rods", "read")])
    # set_permission goes through rcModAccessControl, which iRODS routes to the path's zone
    alice.data_objects.set_permission(f"{REMOTE_HOME}/a.csv", f"rods#{LOCAL}", "read")
    perms = {(p.name, p.perm) for p in alice.data_objects.permissions(f"{REMOTE_HOME}/a.csv")}
    assert ("rods", "read_object") in perms


class _CountingSource(io.BytesIO):
    """A binary source that counts the bytes read from it."""

    read_bytes = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.read_bytes += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        n = super().readinto(buffer)
        self.read_bytes += n
        return n


@pytest.mark.parametrize("finish", [{"metadata": {"k": "v"}}, {"permissions": {"rods": "read"}}])
def test_an_upload_asking_for_avus_or_grants_there_is_refused_before_reading(
    alice: IrodsSession, finish: dict[str, Any]
) -> None:
    """Its AVUs and grants are set with the atomic calls, which cannot reach the remote zone: refused before a
    byte is read or written (it read and wrote the whole source, then failed at the end)."""
    from irods_provider.client.transfer import TransferConfig, upload_object

    source = _CountingSource(os.urandom(300_000))
    cfg = TransferConfig(streams=2, chunk_size=64 * 1024, small_file_threshold=64 * 1024)
    with pytest.raises(IrodsUsageError, match=REMOTE):
        upload_object(alice, source, f"{REMOTE_HOME}/tagged.bin", size=300_000, config=cfg, **finish)
    assert source.read_bytes == 0
    names = sorted(e.name for e in alice.collections.iterate(REMOTE_HOME, include_temporaries=True))
    assert names == ["a.csv", "d"]
