"""IrodsGetMetadataOperator keeps its XCom result bounded, as the listing, delete, copy and transfer operators
do: an object can carry many thousands of AVUs (instrument and pipeline metadata; each value up to 2700
bytes in the catalog), and every one went to XCom. The AVUs kept are the leading ones in sort order, within
``max_report_bytes`` of JSON; ``count`` is always the full number, and ``manifest_path`` keeps them all."""

from __future__ import annotations

import json

import pytest

from irods_provider.client import AVU
from irods_provider.exceptions import IrodsUsageError
from irods_provider.operators.metadata import IrodsGetMetadataOperator

HOME = "/tempZone/home/rods"
N = 300


def avus() -> list[AVU]:
    return [AVU(f"probe.{i:04d}", "v" * 300, "mV") for i in range(N)]


@pytest.fixture
def tagged(session) -> str:
    path = f"{HOME}/instrument.h5"
    session.data_objects.write(path, b"frames")
    session.metadata.add(path, *avus())
    return path


def test_the_xcom_result_stays_under_64_kib_and_counts_every_avu(irods, session, tagged) -> None:
    result = IrodsGetMetadataOperator(task_id="get", path=tagged).execute({})
    assert len(json.dumps(result)) < 64 * 1024
    assert result["count"] == N
    assert result["avus_truncated"] is True
    kept = result["avus"]
    assert 0 < len(kept) < N
    assert kept == [{"attribute": a.attribute, "value": a.value, "units": "mV"} for a in avus()[: len(kept)]]


def test_a_manifest_keeps_every_avu(irods, session, tagged) -> None:
    manifest = f"{HOME}/reports/instrument.avus.jsonl"
    result = IrodsGetMetadataOperator(
        task_id="get", path=tagged, max_report_bytes=1000, manifest_path=manifest
    ).execute({})
    assert result["manifest"] == manifest
    lines = session.data_objects.read(manifest).decode().splitlines()
    assert [json.loads(line)["attribute"] for line in lines] == [a.attribute for a in avus()]


def test_small_results_are_whole_and_the_budget_is_checked(irods, session, tagged) -> None:
    result = IrodsGetMetadataOperator(task_id="get", path=tagged, attribute="probe.0007").execute({})
    assert (result["count"], result["avus_truncated"], len(result["avus"])) == (1, False, 1)
    with pytest.raises(IrodsUsageError, match="max_report_bytes"):
        IrodsGetMetadataOperator(task_id="get", path=tagged, max_report_bytes=-1).execute({})


def test_removing_every_avu_reports_a_bounded_list(irods, session, tagged) -> None:
    from irods_provider.operators.metadata import IrodsRemoveMetadataOperator

    result = IrodsRemoveMetadataOperator(task_id="rm", path=tagged, remove_all=True).execute({})
    assert len(json.dumps(result)) < 64 * 1024
    assert (result["removed_count"], result["removed_truncated"]) == (N, True)
    assert 0 < len(result["removed"]) < N
    assert session.metadata.list(tagged) == []
