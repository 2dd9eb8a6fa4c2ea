"""Verifying an object that also has a stale replica: the server's "skipped" note is not a finding.

iRODS verifies only the good replicas and notes how many it skipped as an ``info`` result with error code 0
(irods 4.3.4 server/api/src/rsDataObjChksum.cpp:164-176 ``report_number_of_replicas_skipped``); any result
makes the answer CHECK_VERIFICATION_RESULTS (:377-380), which the HTTP API passes on with the results
(endpoints/data_objects/src/main.cpp op_verify_checksum at 0.7.0). An object rewritten on one resource keeps
a stale replica on the others, so a verification of a healthy zone comes back with such notes: counting
them as mismatches failed `IrodsChecksumOperator(verify=True)` with IrodsIntegrityError for sound data.
"""

from __future__ import annotations

import pytest

from irods_provider.exceptions import IrodsIntegrityError
from irods_provider.operators.catalog import IrodsChecksumOperator

HOME = "/tempZone/home/rods"


@pytest.fixture
def tiered(session) -> str:
    """``tiered/a.bin``: a good, checksummed replica on demoResc and a stale one on archiveResc."""
    path = f"{HOME}/tiered/a.bin"
    session.collections.create(f"{HOME}/tiered")
    session.data_objects.write(path, b"version 1", resource="demoResc")
    session.data_objects.replicate(path, "archiveResc")
    session.data_objects.write(path, b"version 2, longer", resource="demoResc")  # archiveResc goes stale
    session.data_objects.calculate_checksum(path)
    assert [r.status for r in session.data_objects.replicas(path)] == ["1", "0"]
    return path


def test_a_skipped_stale_replica_is_not_a_mismatch(session, tiered) -> None:
    report = session.data_objects.verify_checksum(tiered)
    assert [(f["severity"], f["error_code"]) for f in report.results] == [("info", 0)]
    assert report.ok is True
    result = IrodsChecksumOperator(task_id="v", path=f"{HOME}/tiered", verify=True).execute({})
    assert (result["checked"], result["mismatch_count"], result["mismatches"]) == (1, 0, [])


def test_damage_next_to_a_stale_replica_still_fails(zone, session, tiered) -> None:
    zone.corrupt_replica(tiered, "demoResc")
    report = session.data_objects.verify_checksum(tiered)
    assert report.ok is False
    assert -314000 in [f["error_code"] for f in report.results]  # USER_CHKSUM_MISMATCH
    with pytest.raises(IrodsIntegrityError) as failed:
        IrodsChecksumOperator(task_id="v", path=f"{HOME}/tiered", verify=True).execute({})
    assert failed.value.path == tiered
