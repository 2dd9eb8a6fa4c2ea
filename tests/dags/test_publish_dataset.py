"""The publish-dataset example DAG through ``dag.test()`` against the emulator: what the zone holds after."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
from pathlib import Path

import pytest

DAG_FILE = Path(__file__).resolve().parents[2] / "example_dags" / "irods_publish_dataset.py"
HOME = "/tempZone/home/rods"
STAGING = f"{HOME}/lexis/staging"
OLD = 3 * 24 * 3600
ABANDONED = ".big.h5.irods-part-0123456789abcdef"  # a killed upload's temporary, three days old
IN_FLIGHT = ".new.h5.irods-part-fedcba9876543210"  # an upload writing right now


def load_module():
    spec = importlib.util.spec_from_file_location("example_dag_publish_dataset", DAG_FILE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sha2(data: bytes) -> str:
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def _values(dag_run) -> dict[str, object]:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    query = XComModel.get_many(run_id=dag_run.run_id, dag_ids=dag_run.dag_id, key="return_value")
    with create_session() as db:
        return {row.task_id: XComModel.deserialize_value(row) for row in db.scalars(query)}


@pytest.mark.timeout(180)
def test_publish_dataset_dag(irods_default) -> None:
    from irods_provider.client import AVU, BasicAuth, IrodsSession
    from irods_provider.hooks.irods import IrodsHook

    irods_default.add_user("alice", "Alice-Pw-0987")
    with IrodsHook() as hook:
        session = hook.get_conn()
        session.collections.create(STAGING, intermediates=True)
        session.data_objects.write(f"{STAGING}/{ABANDONED}", b"half an upload")
        session.data_objects.write(f"{STAGING}/{IN_FLIGHT}", b"being written")
        with irods_default.model.lock:  # age the abandoned one (the API cannot set an mtime)
            for replica in irods_default.model.data_objects[f"{STAGING}/{ABANDONED}"].replicas:
                replica.modify_time -= OLD
            irods_default.model.bump_generation()

        module = load_module()
        dag = module.publish_dataset_dag
        assert [t.task_id for t in dag.topological_sort()] == [
            "plan",
            "local_dataset",
            "upload_dataset",
            "checksum_dataset",
            "verify_checksums",
            "publish_dataset",
            "create_share_ticket",
            "cleanup_temporaries",
        ]
        run = dag.test(run_conf={"dataset": "ocean-temps"})
        states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
        assert str(run.state) == "success", states
        values = _values(run)

        published = values["plan"]["published"]
        assert published.startswith("/tempZone/home/public/datasets/ocean-temps-")
        staged = values["plan"]["staging"]
        assert not session.collections.exists(staged)  # moved, not copied
        expected = {f"{published}/{rel}": data for rel, data in module.SAMPLE.items()}
        found = {
            e.path: e
            for e in session.collections.walk(published, with_stat=True)
            if e.kind.value == "data_object"
        }
        assert sorted(found) == sorted(expected)
        for path, data in expected.items():
            assert session.data_objects.read(path) == data
            assert found[path].checksum == _sha2(data)  # computed and verified before publishing
            avus = set(session.metadata.list(path))
            assert {
                AVU("lexis.dataset", "ocean-temps"),
                AVU("lexis.access", "public"),
                AVU("lexis.project", "demo_project"),
            } <= avus
            acl = {(p.name, p.perm) for p in session.data_objects.stat(path).permissions}
            assert ("public", "read_object") in acl
        assert values["verify_checksums"]["mismatch_count"] == 0
        assert values["verify_checksums"]["checked"] == len(module.SAMPLE)

        ticket = values["create_share_ticket"]["ticket"]
        assert values["create_share_ticket"]["path"] == published
        readme = f"{published}/README.md"
        with IrodsSession(irods_default.base_url, auth=BasicAuth("alice", "Alice-Pw-0987")) as alice:
            assert alice.data_objects.read(readme, ticket=ticket) == module.SAMPLE["README.md"]

        cleanup = values["cleanup_temporaries"]
        assert [t["path"] for t in cleanup["removed"]] == [f"{STAGING}/{ABANDONED}"]
        assert cleanup["fresh_count"] == 1
        assert not session.data_objects.exists(f"{STAGING}/{ABANDONED}")
        assert session.data_objects.read(f"{STAGING}/{IN_FLIGHT}") == b"being written"


def test_project_scope_goes_to_the_project_area_for_its_group() -> None:
    import datetime as dt

    module = load_module()
    params = {"dataset": "d", "scope": "project", "project": "proj42", "zone": None, "user": None}
    plan = module.publication_plan(HOME, params, dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC))
    assert plan["published"] == f"{HOME}/projects/proj42/datasets/d-20260301T120000"
    assert plan["staging"] == f"{STAGING}/d-20260301T120000"
    assert plan["permissions"] == {"proj42": "read_object"}
