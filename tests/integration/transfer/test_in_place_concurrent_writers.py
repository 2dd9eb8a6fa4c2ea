"""Two writers overwriting one path in place at once (write but not own on it: transfer/_copyover).

Each writer's backup copy has its own name, and the backup is claimed under the path's backup name by a
rename, which the catalog grants to one writer only (chlRenameObject refuses an existing name,
db_plugin.cpp:10775-10786 at irods 4.3.4, and R_DATA_MAIN's unique index idx_data_main2 on coll_id and
data_name, icatSysTables.sql.pp.in:202-204, settles two renames at once). The interleavings are forced
with the emulator's write holds: a held copy keeps its destination locked, as a real server does while
bytes move.
"""

from __future__ import annotations

import io
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from irods_provider.client import AVU, IrodsSession, MetadataOperation
from irods_provider.client._temporaries import KEEP_ATTRIBUTE, WRITER_ATTRIBUTE
from irods_provider.client.transfer import OverwritePolicy, TransferConfig, _claim, _copyover, upload_object
from irods_provider.exceptions import IrodsLockedError, IrodsPathClaimedError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from claim_lease import in_thread, left, shared_object

pytestmark = pytest.mark.timeout(120)

HOME = "/tempZone/home/rods"
PATH = f"{HOME}/shared.bin"
PARTS = f"{HOME}/.shared.bin.irods-part-"
CFG = TransferConfig(chunk_size=1 << 20, small_file_threshold=1 << 20)
WAIT = 20.0


@pytest.fixture
def writers(irods_emulator: Any) -> Iterator[list[IrodsSession]]:
    """rods's ``shared.bin`` (b"old"), which alice and bob may modify but not rename: (rods, alice, bob)."""
    with shared_object(irods_emulator, PATH, ("alice", "apass"), ("bob", "bpass")) as sessions:
        yield sessions


def upload(session: IrodsSession, data: bytes) -> None:
    upload_object(
        session, io.BytesIO(data), PATH, size=len(data), config=CFG, overwrite=OverwritePolicy.OVERWRITE
    )


def test_a_writer_backing_up_while_another_overwrites_succeeds_in_turn(irods_emulator, writers) -> None:
    """alice's backup copy is held; bob overwrites the path meanwhile and succeeds; alice then finds the
    path changed under her backup, backs it up again and overwrites it: hers are the final bytes, whole,
    and nothing is left beside the path (before: bob removed alice's backup part or failed on its name)."""
    rods, alice, bob = writers
    hold = irods_emulator.hold_writes(PARTS, prefix=True, operation="copy")
    thread, outcome = in_thread(lambda: upload(alice, b"alice's bytes"))
    try:
        assert hold.wait_reached(WAIT), "alice's backup copy never started"
        upload(bob, b"bob's bytes")
        assert rods.data_objects.read(PATH) == b"bob's bytes"
    finally:
        hold.release()
        thread.join(WAIT)
    assert outcome == [None]
    assert rods.data_objects.read(PATH) == b"alice's bytes"
    assert left(irods_emulator, HOME) == [PATH]


def test_a_writer_arriving_while_the_path_is_copied_onto_fails_typed_and_harmless(
    irods_emulator, writers
) -> None:
    """alice's copy onto the path is held (the path is locked); bob fails at once with a lock error naming
    the path and changes nothing; alice's bytes are published whole and nothing is left."""
    rods, alice, bob = writers
    hold = irods_emulator.hold_writes(PATH, operation="copy")
    thread, outcome = in_thread(lambda: upload(alice, b"alice's bytes"))
    try:
        assert hold.wait_reached(WAIT), f"alice's copy onto the path never started: {outcome}"
        with pytest.raises(IrodsLockedError) as caught:
            upload(bob, b"bob's bytes")
        assert caught.value.path == PATH
    finally:
        hold.release()
        thread.join(WAIT)
    assert outcome == [None]
    assert rods.data_objects.read(PATH) == b"alice's bytes"
    assert left(irods_emulator, HOME) == [PATH]


def _claimed_by_another(session: IrodsSession, *, since: float, content: bytes = b"old") -> str:
    """A backup claimed under the path's backup name by another live writer (as an overwrite leaves it
    between its claim and its copy): ``content``, its checksum and the writer's record."""
    claim = _copyover.backup_name(PATH)
    session.data_objects.write(claim, content)
    old = session.data_objects.calculate_checksum(claim, force=True)
    record = [
        AVU(KEEP_ATTRIBUTE, f"old {old}"),
        AVU(KEEP_ATTRIBUTE, "new sha2:somethingelse"),
        AVU(WRITER_ATTRIBUTE, f"0123456789abcdef another-writer {int(since)}"),
    ]
    session.metadata.apply(claim, [MetadataOperation("add", a) for a in record])
    return claim


def test_a_path_claimed_by_another_live_writer_is_refused_with_a_typed_error(irods_emulator, writers) -> None:
    rods, alice, bob = writers
    claim = _claimed_by_another(alice, since=time.time())
    with pytest.raises(IrodsPathClaimedError) as caught:
        upload(bob, b"bob's bytes")
    assert caught.value.path == PATH
    assert caught.value.claim == claim
    assert "another writer" in str(caught.value)
    assert rods.data_objects.read(PATH) == b"old"  # untouched
    assert alice.data_objects.read(claim) == b"old"  # the other writer's backup is left to it
    assert left(irods_emulator, HOME) == sorted([PATH, claim])


def test_a_claim_older_than_the_lease_is_taken_over(irods_emulator, writers) -> None:
    """A writer killed after it claimed the path: once its claim is older than the lease the next writer
    resolves it (the path holds the old bytes whole: the backup has served) and overwrites. The record
    has no lease (written by a version that did not renew its claim): its lease is a day."""
    rods, _alice, bob = writers
    _claimed_by_another(bob, since=time.time() - _claim.LEGACY_LEASE_SECONDS - 60)
    upload(bob, b"bob's bytes")
    assert rods.data_objects.read(PATH) == b"bob's bytes"
    assert left(irods_emulator, HOME) == [PATH]


def test_a_writer_taken_over_never_puts_back_a_backup_over_the_newer_claim(
    irods_emulator, writers, monkeypatch
) -> None:
    """A zombie: alice's copy onto the path is held while her claim is taken from her (her backup resolved
    and another writer's claim in its place); her copy then lands damaged. She must not copy a backup back
    (the one under the backup name is the other writer's, of other bytes): she fails with a typed error
    naming the claim and leaves it to its writer."""
    rods, alice, _bob = writers
    model = irods_emulator.model
    copy_data_object = model.copy_data_object

    def damaged(caller: str, src: str, dst: str, **kwargs: object) -> None:
        copy_data_object(caller, src, dst, **kwargs)
        if dst == PATH and caller == "alice":
            spool = model.data_objects[dst].replicas[0].spool_file
            spool.write_bytes(spool.read_bytes()[:-1])

    monkeypatch.setattr(model, "copy_data_object", damaged)
    hold = irods_emulator.hold_writes(PATH, operation="copy")
    thread, outcome = in_thread(lambda: upload(alice, b"alice's bytes"))
    try:
        assert hold.wait_reached(WAIT), f"alice's copy onto the path never started: {outcome}"
        claim = _copyover.backup_name(PATH)
        assert alice.data_objects.read(claim) == b"old"  # alice's backup, claimed
        alice.data_objects.remove(claim, no_trash=True)
        _claimed_by_another(rods, since=time.time(), content=b"other")
    finally:
        hold.release()
        thread.join(WAIT)
    assert len(outcome) == 1
    assert isinstance(outcome[0], IrodsPathClaimedError), outcome
    assert rods.data_objects.read(PATH) == b"alice's byte"  # left for the claim's writer, not reverted
    assert rods.data_objects.read(claim) == b"other"
    assert left(irods_emulator, HOME) == sorted([PATH, claim])


def _temporaries(irods_emulator: Any) -> list[str]:
    return [p for p in left(irods_emulator, HOME) if p.startswith(f"{HOME}/.shared.bin.irods-part-")]


def _upload_file(session: IrodsSession, source: Any) -> None:
    upload_object(session, str(source), PATH, config=CFG, overwrite=OverwritePolicy.OVERWRITE)


def _killed_after_claiming(irods_emulator: Any, writers: Any, source: Any) -> str:
    """What kill -9 leaves of alice's upload of ``source`` killed after it claimed the path, before its copy
    onto it: the path's old bytes and her claim, its record as her upload made it. Its temporary's name."""
    rods, alice, _bob = writers
    hold = irods_emulator.hold_writes(PATH, operation="copy")
    thread, outcome = in_thread(lambda: _upload_file(alice, source))
    try:
        assert hold.wait_reached(WAIT), f"the copy onto the path never started: {outcome}"
        claim = _copyover.backup_name(PATH)
        record = [(a.attribute, a.value) for a in alice.metadata.list(claim)]
        (temp,) = _temporaries(irods_emulator)
    finally:
        hold.release()
        thread.join(WAIT)
    assert outcome == [None]
    rods.data_objects.write(PATH, b"old")
    alice.data_objects.write(claim, b"old")
    alice.metadata.apply(claim, [MetadataOperation("add", AVU(a, v)) for a, v in record])
    return temp


def test_a_retry_writing_through_a_fresh_temporary_recognises_its_killed_attempts_claim(
    irods_emulator, writers, tmp_path
) -> None:
    """Attempt 1 claimed the path and was killed before copying onto it (its claim stays); attempt 2 was
    killed while writing its temporary (in parallel: larger than a request), locked by a handle it never
    recorded; attempt 3 must write through a fresh temporary name and still know the claim as its own
    transfer's (the same source and path), not wait a day for another writer's lease (before: the owner
    came from the temporary's name)."""
    rods, alice, _bob = writers
    source = tmp_path / "src.bin"
    data = random.Random(7).randbytes(2 * CFG.chunk_size + 5)
    source.write_bytes(data)
    temp = _killed_after_claiming(irods_emulator, writers, source)
    alice.data_objects.write(temp, b"alice's")
    alice.data_objects.parallel_write_init(temp, stream_count=1)  # attempt 2's, never recorded

    _upload_file(alice, source)
    assert rods.data_objects.read(PATH) == data
    assert left(irods_emulator, HOME) == sorted([PATH, temp])  # the locked leftover, named in the log


def test_another_transfer_of_the_path_is_refused_by_a_killed_attempts_claim(
    irods_emulator, writers, tmp_path
) -> None:
    """A claim left by a killed upload of one file is that transfer's: an upload of another file to the
    path (or of a changed one) is refused while the lease lasts, the path and claim untouched; the retry of
    the killed upload itself resolves it."""
    rods, alice, bob = writers
    source, other = tmp_path / "src.bin", tmp_path / "other.bin"
    source.write_bytes(b"alice's bytes")
    other.write_bytes(b"bob's bytes")
    _killed_after_claiming(irods_emulator, writers, source)
    claim = _copyover.backup_name(PATH)
    with pytest.raises(IrodsPathClaimedError) as caught:
        _upload_file(bob, other)
    assert caught.value.claim == claim
    assert rods.data_objects.read(PATH) == b"old"
    assert alice.data_objects.read(claim) == b"old"

    _upload_file(alice, source)
    assert rods.data_objects.read(PATH) == b"alice's bytes"
    assert left(irods_emulator, HOME) == [PATH]
