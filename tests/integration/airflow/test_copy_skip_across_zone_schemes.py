"""IrodsCopyOperator(skip="checksum") between zones that hash differently (a SHA-256 zone federated with an
MD5 zone): the copy it finds cannot be compared, and the refusal says so instead of only "already exists".

Each zone's server hashes in its own ``default_hash_scheme`` (irods 4.3.4 rsFileChksum on the replica's
host, server/api/src/rsFileChksum.cpp:46-57), so the source keeps ``sha2:`` and the destination's server
computes MD5: no request can give both sides' checksums in one scheme. The re-run used to fail with
"already exists and the overwrite policy is REFUSE" although the user had asked to skip identical copies.
"""

from __future__ import annotations

from typing import Any

import pytest

from irods_provider.exceptions import IrodsAlreadyExistsError

LOCAL_HOME, REMOTE_HOME = "/tempZone/home/alice", "/otherZone/home/alice#tempZone"


@pytest.fixture
def session(irods_emulator_variants: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    from irods_provider.hooks.irods import IrodsHook

    server = irods_emulator_variants(federated_zones=["otherZone"], zone_hash_schemes={"otherZone": "md5"})
    server.add_user("alice", "alice-pw-123")
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_DEFAULT", server.airflow_connection_uri("alice", "alice-pw-123"))
    with IrodsHook() as hook:
        s = hook.get_conn()
        s.collections.create(f"{LOCAL_HOME}/run #1")
        s.data_objects.write(f"{LOCAL_HOME}/run #1/a é.bin", b"a" * 1000)
        s.data_objects.calculate_checksum(f"{LOCAL_HOME}/run #1/a é.bin")  # the source keeps sha2:
        yield s


def test_checksum_skip_across_schemes_names_why_it_could_not_compare(session: Any) -> None:
    from irods_provider.operators.irods import IrodsCopyOperator

    source, destination = f"{LOCAL_HOME}/run #1", f"{REMOTE_HOME}/run #1"
    IrodsCopyOperator(task_id="cp", source_path=source, destination_path=destination).execute({})
    again = IrodsCopyOperator(task_id="cp", source_path=source, destination_path=destination, skip="checksum")
    with pytest.raises(IrodsAlreadyExistsError, match="could not compare them: the destination keeps a md5"):
        again.execute({})
    # within one zone the same re-run skips, as before
    IrodsCopyOperator(task_id="cp", source_path=source, destination_path=f"{LOCAL_HOME}/copy").execute({})
    same = IrodsCopyOperator(
        task_id="cp", source_path=source, destination_path=f"{LOCAL_HOME}/copy", skip="checksum"
    )
    assert same.execute({})["skipped"] == 1
