"""A producer writing an iRODS asset and a consumer scheduled on it (tests/dags only)."""

from __future__ import annotations

from airflow.sdk import Asset, ObjectStoragePath, dag, task

OUT = Asset("irods://tempZone/home/rods/out.csv")


@dag(dag_id="irods_asset_producer", schedule=None, catchup=False, tags=["irods", "test"])
def irods_asset_producer():
    @task(outlets=[OUT])
    def produce() -> int:
        target = ObjectStoragePath("irods://irods_default@/tempZone/home/rods/out.csv")
        target.write_text("id,value\n1,42\n")
        return target.stat().st_size

    produce()


@dag(dag_id="irods_asset_consumer", schedule=[OUT], catchup=False, tags=["irods", "test"])
def irods_asset_consumer():
    @task
    def consume() -> str:
        return ObjectStoragePath("irods://irods_default@/tempZone/home/rods/out.csv").read_text()

    consume()


producer_dag = irods_asset_producer()
consumer_dag = irods_asset_consumer()
