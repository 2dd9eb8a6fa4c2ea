"""DAGs the live tests drive beside the examples: a deferrable sensor, and one slow staging copy to kill.

``irods_live_sensor``: ``IrodsPathSensor(deferrable=True)`` waits in the triggerer for ``params.path``, then a
task reads the object. ``irods_live_slow_stage``: one ``SFTPToIrodsOperator`` copy (parallel streams, small
chunks) that the test slows down with the emulator's latency fault, marks failed, clears and reruns.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import dag, get_current_context, task

from irods_provider.sensors.irods import IrodsPathSensor
from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@dag(
    dag_id="irods_live_sensor",
    schedule=None,
    start_date=START,
    catchup=False,
    params={"path": "/tempZone/home/rods/live/marker.txt"},
    tags=["irods", "live-test"],
)
def irods_live_sensor() -> None:
    wait = IrodsPathSensor(
        task_id="wait_for_marker",
        path="{{ params.path }}",
        kind="data_object",
        deferrable=True,
        poke_interval=1,
        timeout=300,
    )

    @task
    def read_marker() -> str:
        """Read the object the sensor waited for (proves the run resumed after the trigger fired)."""
        from irods_provider.hooks.irods import IrodsHook

        with IrodsHook() as hook:
            return hook.get_conn().data_objects.read(get_current_context()["params"]["path"]).decode()

    wait >> read_marker()


@dag(
    dag_id="irods_live_slow_stage",
    schedule=None,
    start_date=START,
    catchup=False,
    params={
        "cluster": "cluster_a",
        "source": "big/blob.bin",
        "destination": "/tempZone/home/rods/live/blob.bin",
    },
    tags=["irods", "live-test"],
)
def irods_live_slow_stage() -> None:
    SFTPToIrodsOperator(
        task_id="stage_blob",
        sftp_conn_id="{{ params.cluster }}",
        source_path="{{ params.source }}",
        destination_path="{{ params.destination }}",
        overwrite=True,
        streams=3,
        chunk_size=256 * 1024,
        progress_interval_seconds=1,
        retries=0,
    )


irods_live_sensor()
irods_live_slow_stage()
