"""The reports of the collection copy, publish, delete-glob and cleanup operators stay under 64 KiB of XCom
however many objects they touched (100,000 here)."""

from __future__ import annotations

import json

from irods_provider.client import TemporaryCleanup, TemporaryObject
from irods_provider.client.transfer import FileResult, FileStatus, TransferReport
from irods_provider.operators._bounded import MAX_REPORT_BYTES, bounded_entries, tree_report
from irods_provider.operators.cleanup import _report

N = 100_000


def test_tree_report_of_100k_objects() -> None:
    files = [
        FileResult(
            source=f"/tempZone/home/alice/staging/run/part-{i:06d}.h5",
            destination=f"/tempZone/home/public/datasets/run/part-{i:06d}.h5",
            status=FileStatus.TRANSFERRED,
            size=i,
            checksum=f"sha2:{i:043d}=",
        )
        for i in range(N)
    ]
    value = tree_report(TransferReport(files=files, seconds=3.0), MAX_REPORT_BYTES)
    assert len(json.dumps(value)) < 64 * 1024
    assert (value["file_count"], value["transferred"], value["files_truncated"]) == (N, N, True)
    assert value["bytes"] == sum(range(N))
    assert value["files"] == [f.to_dict() for f in files[: len(value["files"])]]  # the leading ones, whole


def test_cleanup_report_of_100k_temporaries() -> None:
    removed = [
        TemporaryObject(
            path=f"/tempZone/home/alice/run/.part-{i:06d}.h5.irods-part-{i:016x}", size=7, modified_at=1
        )
        for i in range(N)
    ]
    cleanup = TemporaryCleanup(path="/tempZone/home/alice/run", removed=removed, locked=removed[:3])
    value = _report(cleanup, MAX_REPORT_BYTES)
    assert len(json.dumps(value)) < 64 * 1024
    assert (value["removed_count"], value["bytes_removed"], value["locked_count"]) == (N, 7 * N, 3)
    assert len(value["locked"]) == 3  # what needs attention is listed first
    assert value["truncated"] is True


def test_bounded_entries_keeps_whole_entries_and_the_rest_of_the_budget() -> None:
    kept, left = bounded_entries(({"path": "x" * 10} for _ in range(5)), 60)
    assert kept == [{"path": "x" * 10}] * 2  # each costs 22 bytes of JSON + 2
    assert left == 60 - 2 * 24
