"""An overwrite in place verifies the replicas the server wrote, as an upload published by rename does.

Found by an adversarial run: a user with write but not own on an object of a replication resource overwrote
it in place (a server-side copy onto it), and only the voted replica was checked, whatever
``TransferConfig.verify_replicas`` said. The replication resource's copy onto its other child, damaged or
left stale by a failed replication, was published as the new content. The emulator's ``replResc`` replicates
a closed write onto ``replResc_ufs0`` and ``replResc_ufs1``; ``set_replica_fault`` makes that copy go wrong,
here only while the new bytes are copied onto the object (a transient failure), so the old bytes can be put
back whole.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from irods_provider.client import BasicAuth, IrodsSession, PermissionOperation
from irods_provider.client.transfer import (
    OverwritePolicy,
    ReplicaVerification,
    TransferConfig,
    open_writer,
    upload_object,
)
from irods_provider.exceptions import IrodsChecksumMismatchError, IrodsStaleReplicaError
from irods_provider.testing.pytest_plugin import irods_emulator_resources  # noqa: F401

pytestmark = pytest.mark.timeout(120)

HOME = "/tempZone/home/rods"
PATH = f"{HOME}/shared.bin"
CFG = TransferConfig(chunk_size=1 << 20, small_file_threshold=1 << 20)
OLD = os.urandom(3000)


@pytest.fixture
def pair(irods_emulator_resources: Any) -> Iterator[tuple[Any, IrodsSession, IrodsSession]]:  # noqa: F811
    """rods's object on ``replResc`` (two good replicas), which alice may write but not rename."""
    zone = irods_emulator_resources
    zone.add_user("alice", "apass")
    with (
        IrodsSession(zone.base_url, auth=BasicAuth("rods", "rods-emulator")) as rods,
        IrodsSession(zone.base_url, auth=BasicAuth("alice", "apass")) as alice,
    ):
        rods.data_objects.write(PATH, OLD, resource="replResc")
        rods.collections.modify_permissions(HOME, [PermissionOperation("alice", "write")])
        rods.data_objects.modify_permissions(PATH, [PermissionOperation("alice", "write")])
        yield zone, rods, alice


def _fault_while_copying_new_bytes(zone: Any, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    """The replication onto ``replResc_ufs1`` goes wrong (``kind``) while the verified temporary is copied
    onto the object in place, and only then."""
    model = zone.model
    copy_data_object = model.copy_data_object

    def copy(caller: str, src: str, dst: str, **kwargs: object) -> None:
        new_bytes = dst == PATH and ".irods-part-" in src and ".irods-keep-" not in src
        if new_bytes:
            model.set_replica_fault("replResc_ufs1", kind)
        try:
            copy_data_object(caller, src, dst, **kwargs)
        finally:
            if new_bytes:
                model.set_replica_fault("replResc_ufs1", None)

    monkeypatch.setattr(model, "copy_data_object", copy)


def _replicas(rods: IrodsSession) -> list[tuple[int, str, bytes]]:
    return [
        (r.number, r.status, rods.data_objects.read(PATH, replica_number=r.number))
        for r in rods.data_objects.replicas(PATH)
    ]


def _left(zone: Any) -> list[str]:
    with zone.model.lock:
        return sorted(p for p in zone.model.data_objects if p.startswith(f"{HOME}/"))


@pytest.mark.parametrize("mode", [ReplicaVerification.AUTO, ReplicaVerification.ALL])
def test_a_damaged_replica_of_an_overwrite_in_place_is_caught_and_the_old_bytes_put_back(
    pair, monkeypatch, tmp_path, mode
) -> None:
    zone, rods, alice = pair
    _fault_while_copying_new_bytes(zone, monkeypatch, "corrupt")
    (tmp_path / "src").write_bytes(os.urandom(5000))
    with pytest.raises(IrodsChecksumMismatchError) as caught:
        upload_object(
            alice,
            str(tmp_path / "src"),
            PATH,
            config=TransferConfig(chunk_size=CFG.chunk_size, verify_replicas=mode),
            overwrite=OverwritePolicy.OVERWRITE,
        )
    error = caught.value
    assert (error.path, error.replica_number, error.resource) == (PATH, 1, "replResc;replResc_ufs1")
    assert _replicas(rods) == [(0, "1", OLD), (1, "1", OLD)]  # put back whole, on both
    assert _left(zone) == [PATH]  # no backup or temporary left


def test_a_replica_left_stale_by_an_overwrite_in_place_is_caught(pair, monkeypatch, tmp_path) -> None:
    zone, rods, alice = pair
    _fault_while_copying_new_bytes(zone, monkeypatch, "stale")
    (tmp_path / "src").write_bytes(os.urandom(5000))
    with pytest.raises(IrodsStaleReplicaError) as caught:
        upload_object(alice, str(tmp_path / "src"), PATH, config=CFG, overwrite=OverwritePolicy.OVERWRITE)
    error = caught.value
    assert (error.path, error.replica_number, error.resource, error.status) == (
        PATH,
        1,
        "replResc;replResc_ufs1",
        "0",
    )
    assert _replicas(rods) == [(0, "1", OLD), (1, "1", OLD)]
    assert _left(zone) == [PATH]


def test_default_mode_keeps_the_single_voted_replica_check(pair, monkeypatch, tmp_path) -> None:
    zone, rods, alice = pair
    _fault_while_copying_new_bytes(zone, monkeypatch, "corrupt")
    new = os.urandom(5000)
    (tmp_path / "src").write_bytes(new)
    config = TransferConfig(chunk_size=CFG.chunk_size, verify_replicas=ReplicaVerification.DEFAULT)
    upload_object(alice, str(tmp_path / "src"), PATH, config=config, overwrite=OverwritePolicy.OVERWRITE)
    assert rods.data_objects.read(PATH, replica_number=0) == new


def test_replicas_on_other_resources_go_stale_as_with_iput_f_and_that_is_no_error(pair, tmp_path) -> None:
    """A copy onto an object writes one replica (and its replication resource's siblings); a replica on
    another root resource (irepl'd to ``archiveResc``) is left stale, as ``iput -f`` leaves it: expected,
    not a failed copy.

    Which root the copy writes is the server's vote (irods 4.3.4 server/core/src/irods_resource_redirect.cpp:
    175-243: the roots in a std::map, so in name order, and the first with the highest vote wins, ``>``;
    voting.cpp:42-93: a good replica on the server's host votes high). No keyword is given (the HTTP API's
    copy sets DEST_RESC_NAME_KW only for ``dst-resource``, endpoints/data_objects/src/main.cpp:2343-2349
    at 0.7.0; nothing sets DEF_RESC_NAME_KW, so ``overwrite=1``'s force flag adds none, redirect :417-422),
    so ``archiveResc`` beats ``replResc``: the replication resource's replicas are the ones left stale."""
    zone, rods, alice = pair
    rods.data_objects.replicate(PATH, "archiveResc")
    new = os.urandom(5000)
    (tmp_path / "src").write_bytes(new)
    config = TransferConfig(chunk_size=CFG.chunk_size, verify_replicas=ReplicaVerification.ALL)
    upload_object(alice, str(tmp_path / "src"), PATH, config=config, overwrite=OverwritePolicy.OVERWRITE)
    replicas = rods.data_objects.replicas(PATH)
    layout = {r.hierarchy: r.status for r in replicas}
    assert layout == {"replResc;replResc_ufs0": "0", "replResc;replResc_ufs1": "0", "archiveResc": "1"}
    for replica in replicas:
        assert (rods.data_objects.read(PATH, replica_number=replica.number) == new) is (replica.status == "1")
    assert _left(zone) == [PATH]


def test_the_atomic_writer_verifies_the_replicas_of_an_overwrite_in_place(pair, monkeypatch) -> None:
    """``open_writer`` (and fsspec writes, through the same atomic writer) overwrite in place too when the
    rename is refused: the replication's damaged copy is caught the same way."""
    zone, rods, alice = pair
    _fault_while_copying_new_bytes(zone, monkeypatch, "corrupt")
    new = os.urandom(5000)
    with (
        pytest.raises(IrodsChecksumMismatchError) as caught,
        open_writer(alice, PATH, config=CFG, size=len(new)) as writer,
    ):
        writer.write(new)
    assert (caught.value.path, caught.value.replica_number) == (PATH, 1)
    assert _replicas(rods) == [(0, "1", OLD), (1, "1", OLD)]
    assert _left(zone) == [PATH]
