"""ObjectStoragePath on irods://: write, iterate a collection, read back, copy to file:// (test DAG)."""

from __future__ import annotations

import hashlib
import os

from airflow.sdk import ObjectStoragePath, dag, task

BASE = ObjectStoragePath("irods://irods_default@/tempZone/home/rods/objectstorage")
PAYLOAD = bytes(range(256)) * 4096  # 1 MiB


@dag(dag_id="irods_objectstorage_paths", schedule=None, catchup=False, tags=["irods", "test"])
def irods_objectstorage_paths():
    @task
    def write() -> list[str]:
        (BASE / "in" / "data.bin").write_bytes(PAYLOAD)
        with (BASE / "in" / "notes.txt").open("w") as f:
            f.write("written through ObjectStoragePath\n")
        return [str(BASE / "in" / "data.bin"), str(BASE / "in" / "notes.txt")]

    @task
    def iterate(_: list[str]) -> dict[str, int]:
        return {child.name: child.stat().st_size for child in (BASE / "in").iterdir()}

    @task
    def read(_: dict[str, int]) -> str:
        return hashlib.sha256((BASE / "in" / "data.bin").read_bytes()).hexdigest()

    @task
    def copy_out(_: str) -> str:
        target = ObjectStoragePath(f"file://{os.environ['IRODS_OBJECTSTORAGE_LOCAL_DIR']}/data.bin")
        (BASE / "in" / "data.bin").copy(target)
        return str(target)

    copy_out(read(iterate(write())))


paths_dag = irods_objectstorage_paths()
