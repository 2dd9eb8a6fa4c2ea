"""A backup left by an interrupted overwrite in place never reverts content written after it.

Found by an adversarial run: the next overwrite in place put a leftover backup back onto the path whenever
the path held neither checksum the backup recorded, taking that for a partial copy. On a real server a copy
that fails leaves the replica it was writing stale (rsDataObjCopy closes the destination with the copy's
error, rsDataObjCopy.cpp:351-373, and the close marks it stale, rsDataObjClose.cpp:545-553 and :622-623 at
irods 4.3.2), so a good replica holding other bytes is content someone wrote since (the owner re-uploading,
say). That content was overwritten with the backup's older bytes and never backed up itself: when the
overwrite then failed, the path was left with the bytes of two versions ago and the newer ones were gone.
Now such a backup is obsolete and removed; it is put back only over a path with no good replica.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from irods_provider.client import BasicAuth, IrodsSession, PermissionOperation
from irods_provider.client.transfer import OverwritePolicy, TransferConfig, upload_object
from irods_provider.exceptions import IrodsChecksumMismatchError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from claim_lease import lapse

pytestmark = pytest.mark.timeout(120)

HOME = "/tempZone/home/rods"
PATH = f"{HOME}/shared.bin"
CFG = TransferConfig(chunk_size=1 << 20, small_file_threshold=1 << 20)


@pytest.fixture
def pair(irods_emulator: Any) -> Iterator[tuple[IrodsSession, IrodsSession]]:
    """rods's object, which alice may write but not rename; alice's interrupted overwrite in place left its
    backup (of b"old", recording b"old" and b"alice 1"), and then rods, the owner, uploaded b"rods 2"."""
    from irods_provider.client.transfer import _copyover

    irods_emulator.add_user("alice", "apass")
    with (
        IrodsSession(irods_emulator.base_url, auth=BasicAuth("rods", "rods-emulator")) as rods,
        IrodsSession(irods_emulator.base_url, auth=BasicAuth("alice", "apass")) as alice,
    ):
        rods.data_objects.write(PATH, b"old")
        rods.collections.modify_permissions(HOME, [PermissionOperation("alice", "own")])
        rods.data_objects.modify_permissions(PATH, [PermissionOperation("alice", "write")])
        keep_backup = _copyover._remove_quietly

        def killed_before_removing_the_backup(session: Any, leftover: str) -> None:
            if ".irods-keep-" not in leftover:
                keep_backup(session, leftover)

        _copyover._remove_quietly = killed_before_removing_the_backup
        try:
            upload(alice, b"alice 1")
        finally:
            _copyover._remove_quietly = keep_backup
        assert alice.data_objects.read(_copyover.backup_name(PATH)) == b"old"  # left behind
        lapse(alice, _copyover.backup_name(PATH))  # killed a lease ago: its claim is no longer renewed
        upload(rods, b"rods 2")  # the owner replaces the object (by a rename: a new catalog entry)
        yield rods, alice


def upload(session: IrodsSession, data: bytes) -> None:
    import io

    upload_object(
        session, io.BytesIO(data), PATH, size=len(data), config=CFG, overwrite=OverwritePolicy.OVERWRITE
    )


def _copies_onto_path(irods_emulator: Any, monkeypatch: pytest.MonkeyPatch, *, fail_new: bool) -> list[bytes]:
    """What is copied onto the path, in order; ``fail_new``: the copy of the new bytes loses its last byte."""
    model = irods_emulator.model
    copy_data_object = model.copy_data_object
    copied: list[bytes] = []

    def traced(caller: str, src: str, dst: str, **kwargs: object) -> None:
        if dst == PATH:
            copied.append(model.data_objects[src].replicas[0].spool_file.read_bytes())
        copy_data_object(caller, src, dst, **kwargs)
        if fail_new and dst == PATH and copied[-1] == b"alice 3":
            replica = model.data_objects[dst].replicas[0]
            replica.spool_file.write_bytes(replica.spool_file.read_bytes()[:-1])

    monkeypatch.setattr(model, "copy_data_object", traced)
    return copied


def _left(irods_emulator: Any) -> list[str]:
    with irods_emulator.model.lock:
        return sorted(p for p in irods_emulator.model.data_objects if p.startswith(f"{HOME}/"))


def test_a_failed_overwrite_leaves_the_content_written_since_not_the_obsolete_backup(
    irods_emulator, pair, monkeypatch
) -> None:
    rods, alice = pair
    copied = _copies_onto_path(irods_emulator, monkeypatch, fail_new=True)
    with pytest.raises(IrodsChecksumMismatchError):
        upload(alice, b"alice 3")
    assert rods.data_objects.read(PATH) == b"rods 2"  # what the path held before this overwrite
    assert b"old" not in copied  # the obsolete backup never went onto the path
    assert _left(irods_emulator) == [PATH]


def test_an_obsolete_backup_is_removed_and_the_overwrite_proceeds(irods_emulator, pair, monkeypatch) -> None:
    rods, alice = pair
    copied = _copies_onto_path(irods_emulator, monkeypatch, fail_new=False)
    upload(alice, b"alice 3")
    assert copied == [b"alice 3"]
    assert rods.data_objects.read(PATH) == b"alice 3"
    assert _left(irods_emulator) == [PATH]
