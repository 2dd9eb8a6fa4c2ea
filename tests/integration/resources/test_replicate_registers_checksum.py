"""A replication registers the new replica's checksum when its source replica has one.

iRODS computes the destination's checksum after copying from a source replica that has a checksum and is
not stale, stores it in the catalog and fails the replication on a difference (irods 4.3.4
server/api/src/rsDataObjRepl.cpp:106-153 ``calculate_checksum``: ``_dataObjChksum`` then ``rst::update``;
the same at 5.0.2). So ``ichksum -K`` after ``irepl`` finds every replica checksummed; a replica without
one is reported as a warning (rsDataObjChksum.cpp:178-191 ``report_replicas_without_checksums``), which the
checksum operator counts as a mismatch. The emulator left the new replica without a checksum: a DAG that
replicates and then verifies passed on a real zone and failed on the emulator.
"""

from __future__ import annotations

import base64
import hashlib

from irods_provider.operators.catalog import IrodsChecksumOperator
from irods_provider.operators.replicas import IrodsReplicateOperator

HOME = "/tempZone/home/rods"
DATA = b"bytes to keep twice" * 1000


def sha2(data: bytes) -> str:
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_replicate_then_verify_passes_when_the_source_is_checksummed(session) -> None:
    path = f"{HOME}/tiered/a.bin"
    session.collections.create(f"{HOME}/tiered")
    session.data_objects.write(path, DATA)
    assert session.data_objects.calculate_checksum(path) == sha2(DATA)
    IrodsReplicateOperator(task_id="r", path=path, resource="archiveResc").execute({})
    assert [(r.hierarchy, r.checksum) for r in session.data_objects.replicas(path)] == [
        ("demoResc", sha2(DATA)),
        ("archiveResc", sha2(DATA)),
    ]
    report = IrodsChecksumOperator(task_id="v", path=f"{HOME}/tiered", verify=True).execute({})
    assert (report["checked"], report["mismatch_count"]) == (1, 0)


def test_a_source_without_a_checksum_gives_a_replica_without_one(session) -> None:
    """No checksum on the source: the server computes none (rsDataObjRepl.cpp:155-158 returns early)."""
    path = f"{HOME}/plain.bin"
    session.data_objects.write(path, DATA)
    session.data_objects.replicate(path, "replResc")
    assert [r.checksum for r in session.data_objects.replicas(path)] == [None, None, None]
