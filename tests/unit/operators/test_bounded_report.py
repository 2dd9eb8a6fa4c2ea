"""Transfer reports in XCom stay bounded however many files were planned."""

from __future__ import annotations

import json

from irods_provider.client.transfer import FileResult, FileStatus, TransferReport
from irods_provider.operators.transfer import LocalToIrodsOperator


def _report(n: int, failed_every: int = 1000) -> TransferReport:
    files = [
        FileResult(
            source=f"/scratch/project/run/output/part-{i:06d}.h5",
            destination=f"/tempZone/home/alice/results/run/part-{i:06d}.h5",
            status=FileStatus.FAILED if i % failed_every == 0 else FileStatus.TRANSFERRED,
            size=1024 * i,
            checksum=f"sha2:{i:043d}=",
            error="IrodsServerBusyError: HTTP 503" if i % failed_every == 0 else None,
        )
        for i in range(n)
    ]
    return TransferReport(files=files, seconds=12.5)


def test_100k_files_keep_xcom_under_64_kib() -> None:
    op = LocalToIrodsOperator(task_id="u", source_path="/scratch", destination_path="/tempZone/home/alice")
    report = _report(100_000)
    value = op.xcom_report(report)
    size = len(json.dumps(value))
    assert size < 64 * 1024, size
    assert value["file_count"] == 100_000
    assert (value["transferred"], value["failed"]) == (99_900, 100)
    assert value["files_truncated"] is True
    assert 50 < len(value["files"]) < 200  # as many as fit the 48 KiB budget
    assert value["files"][0]["source"] == "/scratch/project/run/output/part-000000.h5"
    assert set(value["checksums"]) == {f["destination"] for f in value["files"]}


def test_failed_only_and_none() -> None:
    report = _report(3000, failed_every=100)
    failed = LocalToIrodsOperator(task_id="u", source_path="/s", destination_path="/z", report_files="failed")
    value = failed.xcom_report(report)
    assert [f["status"] for f in value["files"]] == ["failed"] * 30
    assert value["files_truncated"] is False
    none = LocalToIrodsOperator(task_id="u", source_path="/s", destination_path="/z", report_files="none")
    value = none.xcom_report(report)
    assert (value["files"], value["checksums"], value["files_truncated"]) == ([], {}, False)
    assert value["failed"] == 30


def test_small_reports_are_complete() -> None:
    op = LocalToIrodsOperator(task_id="u", source_path="/s", destination_path="/z")
    value = op.xcom_report(_report(20))
    assert len(value["files"]) == 20
    assert len(value["checksums"]) == 20
    assert value["files_truncated"] is False
