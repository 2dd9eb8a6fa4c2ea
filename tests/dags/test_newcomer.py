"""The README-only DAG (tests/dags/newcomer_readme.py) through ``dag.test()``: emulator, embedded SFTP server,
a run id holding '+', typed AVUs, and a zone left as it was found."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from irods_provider.testing.sftp import EmbeddedSftpServer, airflow_connection_json

DAG_FILE = Path(__file__).resolve().parent / "newcomer_readme.py"
ALICE_PASSWORD = "alice-newcomer-pw"
LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"
OUTPUTS = {
    "a.h5": b"\x89HDF\r\n" + bytes(range(256)) * 300,
    "deep/b.h5": b"\x89HDF\r\n" * 10,
    "log.txt": b"x",
}


def _load_module(folder: Path):
    """Load the DAG from a DAG bundle folder (dag.test() needs its file inside a bundle Airflow knows)."""
    spec = importlib.util.spec_from_file_location("newcomer_readme", folder / DAG_FILE.name)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.timeout(180)
def test_readme_dag_runs_as_written(irods_default, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from irods_provider.client import BasicAuth, IrodsSession
    from irods_provider.templates import irods_safe

    server = irods_default
    server.add_user("alice", ALICE_PASSWORD)
    monkeypatch.setenv(
        "AIRFLOW_CONN_IRODS_DEFAULT",
        f"irods://alice:{ALICE_PASSWORD}@127.0.0.1:{server.port}/http?zone=tempZone",
    )
    run_after = datetime(2026, 12, 4, 18, 0, 0, 123456, tzinfo=UTC)  # the run id holds "+00:00"
    sftp = EmbeddedSftpServer(username="u_cluster_a").start()
    try:
        monkeypatch.setenv("AIRFLOW_CONN_CLUSTER_A", airflow_connection_json(sftp))
        bundle = tmp_path / "bundle"
        bundle.mkdir()
        shutil.copy(DAG_FILE, bundle / DAG_FILE.name)
        bundles = [
            {"name": "dags-folder", "classpath": LOCAL_BUNDLE, "kwargs": {}},
            {"name": "newcomer", "classpath": LOCAL_BUNDLE, "kwargs": {"path": str(bundle)}},
        ]
        monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps(bundles))
        module = _load_module(bundle)
        dag, outputs = module.newcomer_readme_dag, module.OUTPUTS
        with IrodsSession(server.base_url, auth=BasicAuth("alice", ALICE_PASSWORD)) as alice:
            run = dag.test(run_after=run_after, logical_date=None)
            assert "+" in run.run_id
            safe = irods_safe(run.run_id)
            states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
            assert states == dict.fromkeys(
                ("cluster_job", "stage_out", "wait_for_results", "tag", "cleanup"), "success"
            )
            xcoms = _return_values(run)
            staged = {f["destination"]: f for f in xcoms["stage_out"]["files"]}
            base = f"/tempZone/home/alice/results/{safe}"
            assert set(staged) == {f"{base}/a.h5", f"{base}/deep/b.h5"}
            for name in ("a.h5", "deep/b.h5"):
                digest = base64.b64encode(hashlib.sha256(outputs[name]).digest()).decode()
                assert staged[f"{base}/{name}"]["size"] == len(outputs[name])
                assert staged[f"{base}/{name}"]["checksum"] == f"sha2:{digest}"
            assert sorted(m["path"] for m in xcoms["wait_for_results"]) == [f"{base}/a.h5"]
            assert {(a["attribute"], a["value"], a["units"]) for a in xcoms["tag"]["avus"]} == {
                ("status", "complete", ""),
                ("files", "2", ""),
                ("size", "1024", "MiB"),
                ("validated", "true", ""),
            }
            assert not alice.collections.exists(base)  # the DAG cleaned up after itself
    finally:
        sftp.stop()


def _return_values(dag_run) -> dict[str, object]:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    query = XComModel.get_many(run_id=dag_run.run_id, dag_ids=dag_run.dag_id, key="return_value")
    with create_session() as db:
        return {row.task_id: XComModel.deserialize_value(row) for row in db.scalars(query)}
