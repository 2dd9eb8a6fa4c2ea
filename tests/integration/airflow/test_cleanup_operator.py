"""Abandoned engine temporaries are removed with their resume AVUs; fresh ones and real data stay."""

from __future__ import annotations

import io
import time

import pytest

from irods_provider.client import AVU, EntryKind
from irods_provider.client.transfer import TransferConfig, upload_object
from irods_provider.client.transfer._resume import HANDLE_ATTRIBUTE, RESUME_ATTRIBUTE, temp_name
from irods_provider.exceptions import (
    IrodsConnectionError,
    IrodsInvalidPathError,
    IrodsLockedError,
    IrodsNotACollectionError,
    IrodsNotFoundError,
    IrodsUsageError,
)
from irods_provider.operators.cleanup import IrodsCleanupTemporaryObjectsOperator

HOME = "/tempZone/home/rods"
BASE = f"{HOME}/proj"
CHUNK = 64 * 1024
CFG = TransferConfig(streams=2, chunk_size=CHUNK, small_file_threshold=CHUNK, backoff_base_seconds=0.0)
DATA = (bytes(range(251)) * 1000)[: 4 * CHUNK + 5]
OLD = int(time.time()) - 3 * 24 * 3600


class _Breaks(io.RawIOBase):
    """A source that fails after ``fail_at`` bytes: the engine aborts and keeps a resumable temporary."""

    def __init__(self, fail_at: int) -> None:
        self.buf = io.BytesIO(DATA)
        self.fail_at = fail_at

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if self.buf.tell() >= self.fail_at:
            raise IrodsConnectionError("injected reset")
        return self.buf.read(n)


def _aborted_upload(session, path: str, key: str) -> str:
    """Start an upload through the engine and abort it: its temporary keeps the resume AVU."""
    with pytest.raises(IrodsConnectionError):
        upload_object(session, _Breaks(2 * CHUNK), path, config=CFG, resume_key=key, size=len(DATA))
    temp = temp_name(path, key)
    assert RESUME_ATTRIBUTE in [a.attribute for a in session.metadata.list(temp, kind=EntryKind.DATA_OBJECT)]
    return temp


def _killed_worker(session, temp: str, *, record: bool) -> str:
    """What a worker killed mid-upload leaves: an open handle on the temporary object, maybe recorded."""
    handle = session.data_objects.parallel_write_init(temp, stream_count=2)
    session.data_objects.write(
        temp, DATA[:CHUNK], offset=0, truncate=False, parallel_write_handle=handle, stream_index=0
    )
    if record:
        session.metadata.add(temp, AVU(HANDLE_ATTRIBUTE, handle), kind=EntryKind.DATA_OBJECT)
    return handle


def _age(irods, *paths: str) -> None:
    """Back-date the replicas' modify time (locked objects cannot be touched through the API)."""
    with irods.model.lock:
        for path in paths:
            for replica in irods.model.data_objects[path].replicas:
                replica.modify_time = OLD


def _objects(irods) -> list[str]:
    with irods.model.lock:
        return sorted(p for p in irods.model.data_objects if p.startswith(BASE + "/"))


def _tagged(session) -> list[str]:
    """Data objects anywhere that still carry a resume or handle AVU (GenQuery over the catalog)."""
    rows = session.query.genquery(
        f"select COLL_NAME, DATA_NAME where META_DATA_ATTR_NAME like 'irods_provider::transfer::%' "
        f"and COLL_NAME like '{HOME}%'"
    )
    return sorted(f"{c}/{n}" for c, n in rows)


@pytest.fixture
def zone(irods, session):
    """Real data, old abandoned temporaries of every kind, a fresh one, and look-alike user objects."""
    session.collections.create(f"{BASE}/sub", intermediates=True)
    real = {f"{BASE}/data.csv": b"a,b\n", f"{BASE}/sub/real.bin": b"\x00" * 10, f"{BASE}/.hidden": b"h"}
    real[f"{BASE}/notes.irods-part-abc"] = b"no leading dot: user data"
    for path, data in real.items():
        session.data_objects.write(path, data)
    aborted = _aborted_upload(session, f"{BASE}/big.bin", "ab0000000000a001")
    fresh = _aborted_upload(session, f"{BASE}/sub/new.bin", "f00000000000f001")
    recorded = temp_name(f"{BASE}/sub/killed.bin", "ec0000000000d001")
    handle = _killed_worker(session, recorded, record=True)
    locked = temp_name(f"{BASE}/stuck.bin", "0c0000000000d002")
    _killed_worker(session, locked, record=False)
    parked = f"{BASE}/.data.csv.irods-old-0123456789ab"
    session.data_objects.write(parked, b"previous version")
    _age(irods, aborted, recorded, locked, parked, *real)
    return {
        "real": real,
        "aborted": aborted,
        "fresh": fresh,
        "recorded": recorded,
        "handle": handle,
        "locked": locked,
        "parked": parked,
    }


def test_only_old_temporaries_go_with_their_avus(irods, session, zone) -> None:
    assert irods.open_parallel_write_handles() == 2
    result = IrodsCleanupTemporaryObjectsOperator(task_id="c", path=BASE, min_age_seconds=3600).execute({})
    removed = sorted(e["path"] for e in result["removed"])
    assert removed == sorted([zone["aborted"], zone["recorded"], zone["parked"]])
    assert result["removed_count"] == 3
    sizes = {e["path"]: e["size"] for e in result["removed"]}
    assert sizes[zone["parked"]] == len(b"previous version")
    assert sizes[zone["aborted"]] > 0
    assert result["bytes_removed"] == sum(sizes.values())
    assert [e["handles_released"] for e in result["removed"] if e["path"] == zone["recorded"]] == [1]
    assert [e["path"] for e in result["locked"]] == [zone["locked"]]
    assert "IrodsLockedError" in result["locked"][0]["error"]
    assert (result["locked_count"], result["failed_count"], result["fresh_count"]) == (1, 0, 1)
    assert result["truncated"] is False
    # Real data, the fresh temporary and the locked one stay; the recorded handle was shut down.
    assert _objects(irods) == sorted([*zone["real"], zone["fresh"], zone["locked"]])
    for path, data in zone["real"].items():
        assert session.data_objects.read(path) == data
    assert irods.open_parallel_write_handles() == 1
    # No resume/handle AVU is left on a removed object; the fresh temporary keeps its resume state.
    assert _tagged(session) == [zone["fresh"]]
    # Nothing went to the trash: the quota is freed.
    with irods.model.lock:
        assert not [p for p in irods.model.data_objects if "/trash/" in p]


def test_an_old_version_whose_name_is_empty_is_restored_not_removed(irods, session) -> None:
    """A worker killed between an overwrite's two renames left the old version only at its moved-aside name
    (the new one at its temporary name): the cleanup renames it back onto its empty name, bytes and AVUs
    intact, and removes the temporary; a dry run says so and changes nothing."""
    session.collections.create(BASE, intermediates=True)
    final = f"{BASE}/report.csv"
    parked = f"{BASE}/.report.csv.irods-old-00112233aabb"
    session.data_objects.write(parked, b"the previous, complete version")
    session.metadata.add(parked, AVU("run", "41"), kind=EntryKind.DATA_OBJECT)
    new = temp_name(final, "5e0000000000e001")
    session.data_objects.write(new, b"the new version, written but not published")
    _age(irods, parked, new)

    planned = IrodsCleanupTemporaryObjectsOperator(task_id="p", path=BASE, plan_only=True).execute({})
    assert [e["path"] for e in planned["restored"]] == [parked]
    assert (planned["restored_count"], planned["removed_count"]) == (1, 1)
    assert _objects(irods) == sorted([parked, new])

    result = IrodsCleanupTemporaryObjectsOperator(task_id="c", path=BASE).execute({})
    assert [e["path"] for e in result["restored"]] == [parked]
    assert [e["path"] for e in result["removed"]] == [new]
    assert _objects(irods) == [final]
    assert session.data_objects.read(final) == b"the previous, complete version"
    assert [(a.attribute, a.value) for a in session.metadata.list(final, kind=EntryKind.DATA_OBJECT)] == [
        ("run", "41")
    ]


def test_dry_run_removes_nothing_and_locked_can_fail_the_task(irods, session, zone) -> None:
    before = _objects(irods)
    plan = IrodsCleanupTemporaryObjectsOperator(
        task_id="c", path=BASE, min_age_seconds=3600, plan_only=True
    ).execute({})
    assert plan["dry_run"] is True
    assert sorted(e["path"] for e in plan["removed"]) == sorted(
        [zone["aborted"], zone["recorded"], zone["parked"], zone["locked"]]
    )
    assert _objects(irods) == before
    assert irods.open_parallel_write_handles() == 2
    with pytest.raises(IrodsLockedError, match="locked by parallel-write handles") as err:
        IrodsCleanupTemporaryObjectsOperator(
            task_id="c", path=BASE, min_age_seconds=3600, fail_on_locked=True
        ).execute({})
    assert err.value.path == zone["locked"]


def test_min_age_keeps_everything_younger(irods, session, zone) -> None:
    before = _objects(irods)
    result = IrodsCleanupTemporaryObjectsOperator(
        task_id="c", path=BASE, min_age_seconds=30 * 24 * 3600
    ).execute({})
    assert (result["removed_count"], result["locked_count"], result["fresh_count"]) == (0, 0, 5)
    assert _objects(irods) == before


def test_bounded_report(irods, session) -> None:
    session.collections.create(BASE, intermediates=True)
    temps = [f"{BASE}/.f{i:03d}-{'x' * 60}.irods-part-{i:012x}" for i in range(120)]
    for path in temps:
        session.data_objects.write(path, b"x")
    _age(irods, *temps)
    result = IrodsCleanupTemporaryObjectsOperator(
        task_id="c", path=BASE, min_age_seconds=60, max_report_bytes=2048
    ).execute({})
    assert result["removed_count"] == 120
    assert result["truncated"] is True
    assert 0 < len(result["removed"]) < 120
    import json

    assert len(json.dumps(result["removed"])) <= 2048
    assert _objects(irods) == []


def test_bad_inputs_change_nothing(irods, session, zone) -> None:
    before = _objects(irods)
    with pytest.raises(IrodsNotFoundError) as missing:
        IrodsCleanupTemporaryObjectsOperator(task_id="c", path=f"{HOME}/nope", min_age_seconds=0).execute({})
    assert missing.value.path == f"{HOME}/nope"
    with pytest.raises(IrodsNotACollectionError):
        IrodsCleanupTemporaryObjectsOperator(task_id="c", path=f"{BASE}/data.csv", min_age_seconds=0).execute(
            {}
        )
    with pytest.raises(IrodsUsageError, match="min_age_seconds must be a number >= 0"):
        IrodsCleanupTemporaryObjectsOperator(task_id="c", path=BASE, min_age_seconds=-1).execute({})
    with pytest.raises(IrodsUsageError, match="max_report_bytes"):
        IrodsCleanupTemporaryObjectsOperator(task_id="c", path=BASE, max_report_bytes="big").execute({})
    with pytest.raises(IrodsInvalidPathError):
        IrodsCleanupTemporaryObjectsOperator(task_id="c", path="relative/x").execute({})
    assert _objects(irods) == before
    assert irods.open_parallel_write_handles() == 2
