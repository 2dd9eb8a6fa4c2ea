"""The same end-to-end scenarios on every profile (see conftest.py), with ``api_version`` left at auto."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import importlib.util
import os
from pathlib import Path
from unittest import mock

import pytest
from airflow.sdk.exceptions import TaskDeferred

from irods_provider.fs import IrodsFileSystem
from irods_provider.operators.irods import IrodsListCollectionOperator
from irods_provider.operators.metadata import (
    IrodsGetMetadataOperator,
    IrodsPutMetadataOperator,
    IrodsRemoveMetadataOperator,
)
from irods_provider.operators.transfer import IrodsToLocalOperator, LocalToIrodsOperator
from irods_provider.sensors.irods import IrodsPathSensor
from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator
from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

HOME = "/tempZone/home/rods"
CHUNK = 64 * 1024
EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "example_dags"


def sha2(data: bytes) -> str:
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_parallel_upload_download_round_trip(session, irods, tmp_path) -> None:
    blobs = {"big.bin": os.urandom(9 * CHUNK + 5), "small.bin": os.urandom(100), "empty.bin": b""}
    for name, blob in blobs.items():
        (tmp_path / "src" / name).parent.mkdir(exist_ok=True)
        (tmp_path / "src" / name).write_bytes(blob)
    report = LocalToIrodsOperator(
        task_id="up",
        source_path=str(tmp_path / "src"),
        destination_path=f"{HOME}/rt",
        chunk_size=CHUNK,
        streams=3,
    ).execute({})
    assert (report["transferred"], report["failed"]) == (3, 0)
    for name, blob in blobs.items():
        assert report["checksums"][f"{HOME}/rt/{name}"] == sha2(blob)
    report = IrodsToLocalOperator(
        task_id="down", source_path=f"{HOME}/rt", destination_path=str(tmp_path / "back"), chunk_size=CHUNK
    ).execute({})
    assert report["transferred"] == 3
    assert {n: sha256((tmp_path / "back" / n).read_bytes()) for n in blobs} == {
        n: sha256(b) for n, b in blobs.items()
    }
    assert irods.open_parallel_write_handles() == 0


def test_sftp_staging_both_directions(session, irods, cluster) -> None:
    blobs = {"a.dat": os.urandom(5 * CHUNK + 3), "sub/b.dat": os.urandom(1000)}
    for rel, blob in blobs.items():
        (cluster / "out" / rel).parent.mkdir(parents=True, exist_ok=True)
        (cluster / "out" / rel).write_bytes(blob)
    up = SFTPToIrodsOperator(
        task_id="up",
        sftp_conn_id="cluster",
        source_path=f"{cluster.name}/out",
        destination_path=f"{HOME}/staged",
        chunk_size=CHUNK,
    ).execute({})
    assert up["transferred"] == 2
    for rel, blob in blobs.items():
        assert session.data_objects.read(f"{HOME}/staged/{rel}") == blob
    down = IrodsToSFTPOperator(
        task_id="down",
        sftp_conn_id="cluster",
        source_path=f"{HOME}/staged",
        destination_path=f"{cluster.name}/back",
        chunk_size=CHUNK,
    ).execute({})
    assert down["transferred"] == 2
    assert {rel: sha256((cluster / "back" / rel).read_bytes()) for rel in blobs} == {
        rel: sha256(blob) for rel, blob in blobs.items()
    }


def test_list_and_glob(session) -> None:
    session.collections.create(f"{HOME}/t/sub", intermediates=True)
    for rel, blob in {"a.csv": b"1,2\n", "b.txt": b"hi", "sub/c.csv": b"x" * 10}.items():
        session.data_objects.write(f"{HOME}/t/{rel}", blob)
    flat = IrodsListCollectionOperator(task_id="l", path=f"{HOME}/t").execute({})
    assert [(e["path"], e["kind"]) for e in flat["entries"]] == [
        (f"{HOME}/t/a.csv", "data_object"),
        (f"{HOME}/t/b.txt", "data_object"),
        (f"{HOME}/t/sub", "collection"),
    ]
    deep = IrodsListCollectionOperator(
        task_id="l", path=f"{HOME}/t", recursive=True, pattern="*.csv", with_stat=True
    ).execute({})
    assert [(e["path"], e["size"]) for e in deep["entries"]] == [
        (f"{HOME}/t/a.csv", 4),
        (f"{HOME}/t/sub/c.csv", 10),
    ]


def test_metadata_put_get_remove(session) -> None:
    path = f"{HOME}/meta.txt"
    session.data_objects.write(path, b"m")
    IrodsPutMetadataOperator(task_id="p", path=path, metadata=[("project", "x"), ("size", "1", "B")]).execute(
        {}
    )
    got = IrodsGetMetadataOperator(task_id="g", path=path).execute({})
    assert got["avus"] == [
        {"attribute": "project", "value": "x", "units": ""},
        {"attribute": "size", "value": "1", "units": "B"},
    ]
    removed = IrodsRemoveMetadataOperator(task_id="r", path=path, attribute="size").execute({})
    assert removed["removed"] == [{"attribute": "size", "value": "1", "units": "B"}]
    assert [(a.attribute, a.value) for a in session.metadata.list(path)] == [("project", "x")]


async def _first_event(trigger):
    """The trigger's first event, or None when it would sleep (its sleep is patched to cancel)."""
    with mock.patch.object(type(trigger), "_sleep", side_effect=asyncio.CancelledError):
        try:
            return await anext(trigger.run())
        except asyncio.CancelledError:
            return None


def test_deferred_sensor_trigger_run(session) -> None:
    session.collections.create(f"{HOME}/inbox")
    sensor = IrodsPathSensor(
        task_id="s", path=f"{HOME}/inbox/*.csv", glob=True, deferrable=True, poke_interval=5, timeout=60
    )
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    trigger = deferred.value.trigger
    assert asyncio.run(_first_event(trigger)) is None
    session.data_objects.write(f"{HOME}/inbox/late.csv", b"123")
    event = asyncio.run(_first_event(trigger))
    assert event.payload["status"] == "success"
    assert [m["path"] for m in event.payload["matches"]] == [f"{HOME}/inbox/late.csv"]


def test_fsspec_read_write(session, irods, profile) -> None:
    data = os.urandom(4 * CHUNK + 1)
    by_conn = IrodsFileSystem(conn_id="irods_default", chunk_size=CHUNK, skip_instance_cache=True)
    with by_conn.open(f"{HOME}/fs/a.bin", "wb") as f:
        f.write(data)
    # A base_url without a version is discovered the same way.
    by_url = IrodsFileSystem(
        base_url=irods.url,
        username="rods",
        password="rods-emulator",
        chunk_size=CHUNK,
        skip_instance_cache=True,
    )
    try:
        assert by_url.session.base_url.endswith(f"/irods-http-api/{profile.api_version}")
        with by_url.open(f"{HOME}/fs/a.bin", "rb") as f:
            assert sha256(f.read()) == sha256(data)
        assert by_url.glob(f"{HOME}/fs/*.bin") == [f"{HOME}/fs/a.bin"]
    finally:
        by_url.close_session()
        by_conn.close_session()


def _load_dag(name: str):
    spec = importlib.util.spec_from_file_location(f"matrix_dag_{name}", EXAMPLE_DAGS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (dag,) = [v for v in vars(module).values() if type(v).__name__ == "DAG"]
    return dag


@pytest.mark.timeout(120)
def test_example_dag_basic_operations(irods, airflow_db) -> None:
    dag_run = _load_dag("irods_basic_operations").test()
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    assert str(dag_run.state) == "success", states
    assert set(states.values()) == {"success"}
    assert len(states) == 9
