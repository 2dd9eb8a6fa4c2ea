"""SFTPToIrodsOperator writes to the connection's ``default_resource`` or its ``resource`` argument."""

from __future__ import annotations

import os

import pytest

from irods_provider.client import BasicAuth, IrodsSession
from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

HOME = "/tempZone/home/rods"
CHUNK = 64 * 1024


def test_staging_lands_on_the_chosen_resource(
    remote, irods_emulator_resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = irods_emulator_resources
    base = f"irods://rods:rods-emulator@127.0.0.1:{server.port}/http?zone=tempZone"
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_DEFAULT", base)
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_ARCHIVE", base + "&default_resource=archiveResc")
    small, big = os.urandom(10), os.urandom(3 * CHUNK + 5)
    remote.put("src/small.bin", small)
    remote.put("src/big.bin", big)
    common = {"sftp_conn_id": "cluster", "source_path": remote.path("src"), "chunk_size": CHUNK}
    SFTPToIrodsOperator(
        task_id="a", irods_conn_id="irods_archive", destination_path=f"{HOME}/a", **common
    ).execute({})
    SFTPToIrodsOperator(
        task_id="r",
        irods_conn_id="irods_archive",
        resource="replResc",
        destination_path=f"{HOME}/r",
        **common,
    ).execute({})
    with IrodsSession(server.base_url, auth=BasicAuth("rods", "rods-emulator")) as session:
        for name, data in (("small.bin", small), ("big.bin", big)):
            archived = session.data_objects.replicas(f"{HOME}/a/{name}")
            assert [(r.hierarchy, r.status) for r in archived] == [("archiveResc", "1")]
            replicated = session.data_objects.replicas(f"{HOME}/r/{name}")
            assert [(r.hierarchy, r.status) for r in replicated] == [
                ("replResc;replResc_ufs0", "1"),
                ("replResc;replResc_ufs1", "1"),
            ]
            assert session.data_objects.read(f"{HOME}/r/{name}", replica_number=1) == data
