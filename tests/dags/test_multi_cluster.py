"""The multi-cluster example DAG through ``dag.test()``: two embedded SSH/SFTP clusters and the emulator."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

from irods_provider.testing.sftp import EmbeddedSftpServer, airflow_connection_json

DAG_FILE = Path(__file__).resolve().parents[2] / "example_dags" / "multi_cluster_workflow.py"
DATASET = "/tempZone/home/rods/lexis/datasets/texts"
RESULTS = "/tempZone/home/rods/lexis/results"
INPUT = {
    "a.txt": b"one two three\nfour five\n",
    "empty.txt": b"",
    "deep/b.txt": b"x\n" * 100_000,
}


@pytest.fixture
def clusters(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    names = ["cluster_x", "cluster_y"]
    servers = [EmbeddedSftpServer(username=f"u_{name}").start() for name in names]
    try:
        for name, server in zip(names, servers, strict=True):
            monkeypatch.setenv(f"AIRFLOW_CONN_{name.upper()}", airflow_connection_json(server))
        yield names
    finally:
        for server in servers:
            server.stop()


def load_dag():
    spec = importlib.util.spec_from_file_location("example_dag_multi_cluster", DAG_FILE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.multi_cluster_dag


@pytest.mark.timeout(180)
def test_multi_cluster_workflow(irods_default, clusters) -> None:
    from irods_provider.client import AVU, EntryKind
    from irods_provider.hooks.irods import IrodsHook

    with IrodsHook() as hook:
        session = hook.get_conn()
        for name, data in INPUT.items():
            path = f"{DATASET}/{name}"
            session.collections.create(path.rsplit("/", 1)[0], intermediates=True, exist_ok=True)
            session.data_objects.write(path, data)

        dag = load_dag()
        assert {t.task_id for t in dag.tasks} == {
            "list_clusters",
            "stage_in",
            "run_job",
            "stage_out",
            "record_cluster",
            "verify_run",
        }
        run = dag.test(run_conf={"clusters": clusters, "dataset": DATASET, "results_collection": RESULTS})
        assert str(run.state) == "success"

        (run_collection,) = [
            e.path for e in session.collections.iterate(RESULTS) if e.kind is EntryKind.COLLECTION
        ]
        tags = set(session.metadata.list(run_collection))
        assert AVU("lexis.run.status", "verified") in tags
        assert AVU("lexis.run.clusters", ",".join(clusters)) in tags
        total = sum(len(d) for d in INPUT.values())
        expected_sums = "".join(
            f"{hashlib.sha256(INPUT[n]).hexdigest()}  {n}\n" for n in sorted(INPUT)
        ).encode()
        for cluster in clusters:
            collection = f"{run_collection}/{cluster}"
            avus = {a.attribute: a.value for a in session.metadata.list(collection)}
            assert avus["lexis.cluster"] == cluster
            assert int(avus["lexis.stage_in.bytes"]) == total
            assert int(avus["lexis.job.files"]) == len(INPUT)
            sums = session.data_objects.read(f"{collection}/SHA256SUMS")
            assert sums == expected_sums
            checksum = "sha2:" + base64.b64encode(hashlib.sha256(sums).digest()).decode()
            assert session.data_objects.calculate_checksum(f"{collection}/SHA256SUMS") == checksum
            assert avus["lexis.checksum.SHA256SUMS"] == checksum
            stats = session.data_objects.read(f"{collection}/stats.tsv").decode().splitlines()
            assert stats == ["a.txt\t2\t5\t24", "deep/b.txt\t100000\t100000\t200000", "empty.txt\t0\t0\t0"]
            object_avus = set(session.metadata.list(f"{collection}/stats.tsv"))
            assert AVU("lexis.cluster", cluster) in object_avus
            assert AVU("lexis.input", DATASET) in object_avus
