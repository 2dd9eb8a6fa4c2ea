"""IrodsChecksumOperator over a collection leaves out the objects another client is writing, and says so.

While a write holds an object its replica is intermediate and its siblings write-locked, none good; the
server answers a verification or checksum of such an object SYS_NO_GOOD_REPLICA, or SYS_REPLICA_INACCESSIBLE
for the replica it picks (irods 4.3.4 rsDataObjChksum.cpp:134-147, :285, :330, :419, :444). The tree copies
and downloads leave such objects for a later run (transfer/_leftout.py); a verification of the tree failed
the whole task on them. Damage still fails it: bytes that do not match, a failed write (all replicas stale).
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest

from irods_provider.client import IrodsSession
from irods_provider.client._locks import NO_GOOD_REPLICA
from irods_provider.exceptions import IrodsIntegrityError, IrodsResponseError
from irods_provider.operators.catalog import IrodsChecksumOperator

pytestmark = pytest.mark.timeout(120)

HOME = "/tempZone/home/rods"
TREE = f"{HOME}/run7"


def _sha(data: bytes) -> str:
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


@pytest.fixture
def tree(irods: Any, session: IrodsSession) -> dict[str, bytes]:
    """Two complete objects, one being rewritten (it had a good replica) and one being created."""
    session.collections.create(f"{TREE}/sub", intermediates=True)
    done = {f"{TREE}/a.csv": b"alpha", f"{TREE}/sub/b.csv": b"beta"}
    for path, data in done.items():
        session.data_objects.write(path, data)
        session.data_objects.calculate_checksum(path)
    session.data_objects.write(f"{TREE}/sub/c.h5", b"first version")
    session.data_objects.calculate_checksum(f"{TREE}/sub/c.h5")
    return done


def _being_written(session: IrodsSession, path: str) -> str:
    handle = session.data_objects.parallel_write_init(path, stream_count=1)
    session.data_objects.write(None, b"half", parallel_write_handle=handle, stream_index=0, offset=0)
    return handle


def _run(**kwargs: Any) -> dict[str, Any]:
    result: dict[str, Any] = IrodsChecksumOperator(task_id="k", path=TREE, **kwargs).execute(context={})
    return result


@pytest.mark.parametrize("verify", [True, False])
def test_objects_being_written_are_reported_not_failed(
    session: IrodsSession, tree: dict[str, bytes], verify: bool
) -> None:
    handles = [_being_written(session, f"{TREE}/sub/c.h5"), _being_written(session, f"{TREE}/d.h5")]
    try:
        result = _run(verify=verify)
        assert result["in_progress"] == [f"{TREE}/d.h5", f"{TREE}/sub/c.h5"]
        assert result["in_progress_count"] == 2
        assert result["checked"] == 2  # the complete ones, each really verified or checksummed
        assert result["mismatch_count"] == 0
        if not verify:
            assert result["checksums"] == {p: _sha(d) for p, d in tree.items()}
        # The bound holds for the new list as for the others.
        bounded = _run(verify=verify, max_entries=1)
        assert (len(bounded["in_progress"]), bounded["in_progress_count"], bounded["truncated"]) == (
            1,
            2,
            True,
        )
    finally:
        for handle in handles:
            session.data_objects.parallel_write_shutdown(handle)
    # Once the writes closed, the objects are checked like the others.
    assert _run(verify=False)["in_progress_count"] == 0


def test_damage_still_fails_beside_an_object_being_written(
    irods: Any, session: IrodsSession, tree: dict[str, bytes]
) -> None:
    handle = _being_written(session, f"{TREE}/d.h5")
    try:
        irods.model.data_objects[f"{TREE}/a.csv"].replicas[0].spool_file.write_bytes(b"alphx")
        with pytest.raises(IrodsIntegrityError, match=r"1 of 3 object\(s\) under .*run7 failed") as raised:
            _run(verify=True)
        assert raised.value.path == f"{TREE}/a.csv"
    finally:
        session.data_objects.parallel_write_shutdown(handle)


def test_an_object_whose_write_failed_still_fails_the_task(
    irods: Any, session: IrodsSession, tree: dict[str, bytes]
) -> None:
    _being_written(session, f"{TREE}/sub/c.h5")
    assert irods.drop_parallel_writes(f"{TREE}/sub/c.h5") == 1  # its writer died: every replica stale
    with pytest.raises(IrodsResponseError) as raised:
        _run(verify=True)
    assert raised.value.irods_code == NO_GOOD_REPLICA
    assert raised.value.path == f"{TREE}/sub/c.h5"


def test_an_object_named_by_itself_being_written_still_raises(
    session: IrodsSession, tree: dict[str, bytes]
) -> None:
    handle = _being_written(session, f"{TREE}/d.h5")
    try:
        with pytest.raises(IrodsResponseError):
            IrodsChecksumOperator(task_id="k", path=f"{TREE}/d.h5", verify=True).execute(context={})
    finally:
        session.data_objects.parallel_write_shutdown(handle)
