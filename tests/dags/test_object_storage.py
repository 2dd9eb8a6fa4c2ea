"""irods:// in DAGs via dag.test(): ObjectStoragePath, common.io FileTransferOperator, asset scheduling."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
from pathlib import Path

import fsspec
import pytest

DAGS = Path(__file__).resolve().parent
HOME = "/tempZone/home/rods"
PAYLOAD = bytes(range(256)) * 4096


BUNDLE = "irods-objectstorage-test-dags"
LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"


@pytest.fixture(scope="module")
def dag_bundle(tmp_path_factory) -> Path:
    """A DAG bundle holding only this module's DAG files (tests/dags also holds tests, not DAGs)."""
    folder = tmp_path_factory.mktemp("irods-objectstorage-dags")
    for source in DAGS.glob("irods_objectstorage_*.py"):
        shutil.copy(source, folder / source.name)
    return folder


def load_dags(name: str, folder: Path) -> dict:
    spec = importlib.util.spec_from_file_location(f"test_dag_{name}", folder / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {v.dag_id: v for v in vars(module).values() if type(v).__name__ == "DAG"}


def task_states(dag_run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}


def return_values(dag_run) -> dict[str, object]:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    query = XComModel.get_many(run_id=dag_run.run_id, dag_ids=dag_run.dag_id, key="return_value")
    with create_session() as db:
        return {row.task_id: XComModel.deserialize_value(row) for row in db.scalars(query)}


@pytest.fixture
def irods_scheme(irods_default, dag_bundle, monkeypatch, tmp_path):
    """Register irods:// with fsspec, universal-pathlib and Airflow (as the provider info will), per test."""
    import upath.registry
    from airflow.sdk.io import fs as airflow_fs
    from airflow.sdk.io import store
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    from irods_provider.assets import irods as irods_assets
    from irods_provider.fs import irods as irods_fs
    from irods_provider.fs._upath import IrodsPath

    fsspec.register_implementation("irods", irods_fs.IrodsFileSystem, clobber=True)
    upath.registry.register_implementation("irods", IrodsPath, clobber=True)
    monkeypatch.setitem(airflow_fs._register_filesystems(), "irods", irods_fs.get_fs)
    manager = ProvidersManagerTaskRuntime()
    monkeypatch.setitem(manager.asset_uri_handlers, "irods", irods_assets.sanitize_uri)
    monkeypatch.setitem(manager.asset_factories, "irods", irods_assets.create_asset)
    for alias in [a for a in store._STORE_CACHE if a.startswith("irods")]:
        monkeypatch.delitem(store._STORE_CACHE, alias)
    monkeypatch.setenv("IRODS_OBJECTSTORAGE_LOCAL_DIR", str(tmp_path))
    bundles = [
        {"name": "dags-folder", "classpath": LOCAL_BUNDLE, "kwargs": {}},
        {"name": BUNDLE, "classpath": LOCAL_BUNDLE, "kwargs": {"path": str(dag_bundle)}},
    ]
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps(bundles))
    yield irods_default
    filesystems = [s.fs for a, s in store._STORE_CACHE.items() if a.startswith("irods") and "fs" in vars(s)]
    for fs in [*filesystems, *irods_fs.IrodsFileSystem._cache.values()]:
        fs.close_session()
    irods_fs.IrodsFileSystem.clear_instance_cache()


@pytest.fixture
def session(irods_scheme):
    from irods_provider.hooks.irods import IrodsHook

    with IrodsHook() as hook:
        yield hook.get_conn()


@pytest.mark.timeout(120)
def test_object_storage_path_dag(irods_scheme, session, dag_bundle, tmp_path):
    (dag,) = load_dags("irods_objectstorage_paths", dag_bundle).values()
    dag_run = dag.test()
    assert task_states(dag_run) == dict.fromkeys(["write", "iterate", "read", "copy_out"], "success")
    values = return_values(dag_run)
    assert values["write"] == [
        f"irods://irods_default@{HOME}/objectstorage/in/data.bin",
        f"irods://irods_default@{HOME}/objectstorage/in/notes.txt",
    ]
    assert values["iterate"] == {"data.bin": len(PAYLOAD), "notes.txt": 34}
    assert values["read"] == hashlib.sha256(PAYLOAD).hexdigest()
    assert (tmp_path / "data.bin").read_bytes() == PAYLOAD
    assert session.data_objects.read(f"{HOME}/objectstorage/in/notes.txt") == (
        b"written through ObjectStoragePath\n"
    )


@pytest.mark.timeout(120)
def test_file_transfer_operator_dag(irods_scheme, session, dag_bundle, tmp_path):
    source = bytes(reversed(PAYLOAD)) * 3  # 3 MiB
    (tmp_path / "source.bin").write_bytes(source)
    (dag,) = load_dags("irods_objectstorage_transfer", dag_bundle).values()
    dag_run = dag.test()
    assert task_states(dag_run) == {"file_to_irods": "success", "irods_to_file": "success"}
    assert session.data_objects.read(f"{HOME}/transfer/source.bin") == source
    assert (tmp_path / "roundtrip.bin").read_bytes() == source


@pytest.mark.timeout(120)
def test_producer_writing_an_irods_asset_queues_the_consumer(irods_scheme, session, dag_bundle):
    from airflow.models.asset import AssetDagRunQueue, AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    dags = load_dags("irods_objectstorage_assets", dag_bundle)
    uri = "irods://tempZone/home/rods/out.csv"
    dag_run = dags["irods_asset_producer"].test()
    assert task_states(dag_run) == {"produce": "success"}
    assert session.data_objects.read(f"{HOME}/out.csv") == b"id,value\n1,42\n"
    with create_session() as db:
        events = db.execute(
            select(AssetEvent.source_dag_id, AssetEvent.source_run_id)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetModel.uri == uri)
        ).all()
        assert (dag_run.dag_id, dag_run.run_id) in [tuple(e) for e in events]
        queued = db.scalars(
            select(AssetDagRunQueue.target_dag_id)
            .join(AssetModel, AssetModel.id == AssetDagRunQueue.asset_id)
            .where(AssetModel.uri == uri)
        ).all()
    assert "irods_asset_consumer" in queued
