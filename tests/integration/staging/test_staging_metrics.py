"""Staging metrics name the cluster: ``sftp_conn_id`` next to the iRODS ``conn_id``, totals per cluster."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from irods_provider.testing.sftp import airflow_connection_json

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))

from statsd_lines import StatsdSocket, total, totals

pytestmark = pytest.mark.timeout(90)

HOME = "/tempZone/home/rods"
SCRIPT = Path(__file__).with_name("statsd_staging_run.py")


@pytest.fixture
def statsd() -> Iterator[StatsdSocket]:
    with StatsdSocket() as sock:
        yield sock


def test_staging_metrics_carry_the_sftp_connection_of_each_cluster(
    remote, session, statsd, sftp_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two clusters (two SFTP connections; one server behind both is enough to tell the tags apart), one iRODS
    # connection: only the sftp_conn_id tag separates their totals.
    for conn_id in ("CLUSTER_A", "CLUSTER_B"):
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id}", airflow_connection_json(sftp_server))
    session.collections.create(f"{HOME}/ds")
    session.collections.create(f"{HOME}/ds/sub")
    data = {"ds/a.bin": os.urandom(3000), "ds/sub/b.bin": os.urandom(70_001), "one.bin": os.urandom(512)}
    for rel, blob in data.items():
        session.data_objects.write(f"{HOME}/{rel}", blob)
    remote.put("results/out.csv", b"x,y\n" * 1000)
    args = {
        "stage_in": [
            ["cluster_a", f"{HOME}/ds", remote.path("a/")],
            ["cluster_b", f"{HOME}/one.bin", remote.path("b/one.bin")],
        ],
        "stage_out": ["cluster_b", remote.path("results"), f"{HOME}/results"],
    }
    env = {**os.environ, **statsd.airflow_config()}
    run = subprocess.run(
        [sys.executable, str(SCRIPT), json.dumps(args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=80,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    reports = json.loads(run.stdout.strip().splitlines()[-1])
    found = totals(statsd.received())

    stage_in = reports["stage_in"]
    assert (stage_in["cluster_a"]["transferred"], stage_in["cluster_a"]["bytes"]) == (2, 73_001)
    assert (stage_in["cluster_b"]["transferred"], stage_in["cluster_b"]["bytes"]) == (1, 512)
    irods = {"conn_id": "irods_default"}
    for cluster, report in stage_in.items():
        tags = {"direction": "stage_in", "sftp_conn_id": cluster, **irods}
        assert total(found, "airflow.irods.transfer.bytes", **tags) == report["bytes"], (cluster, found)
        assert total(found, "airflow.irods.transfer.files", **tags) == report["transferred"], (cluster, found)
    out = reports["stage_out"]
    assert (out["transferred"], out["bytes"]) == (1, 4000)
    tags = {"direction": "stage_out", **irods}
    assert total(found, "airflow.irods.transfer.bytes", sftp_conn_id="cluster_b", **tags) == 4000
    assert total(found, "airflow.irods.transfer.bytes", sftp_conn_id="cluster_a", **tags) == 0
    # Every staging line names its cluster: no transfer counter of these runs lacks the tag.
    untagged = [
        (name, dict(have))
        for (name, have), _ in found.items()
        if name.startswith("airflow.irods.transfer.") and "sftp_conn_id" not in dict(have)
    ]
    assert untagged == []
