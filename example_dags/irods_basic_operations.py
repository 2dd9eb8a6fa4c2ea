"""The talk's first task chain on iRODS, end to end, creating its own input and cleaning up after itself.

create collection -> write input files -> check collection exists -> list collection -> put / get /
remove collection metadata -> delete files -> delete collections

Uses the ``irods_default`` connection (type ``irods``). Run it locally against the emulator with
``make demo-basic``, or with ``dag.test()`` once ``AIRFLOW_CONN_IRODS_DEFAULT`` points at an iRODS HTTP API.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from airflow.sdk import Param, dag, task

from irods_provider.operators.irods import (
    IrodsCreateCollectionOperator,
    IrodsDeleteOperator,
    IrodsGetMetadataOperator,
    IrodsListCollectionOperator,
    IrodsPathExistsOperator,
    IrodsPutMetadataOperator,
    IrodsRemoveMetadataOperator,
)


def irods_home(params: Mapping[str, Any], conn_id: str = "irods_default") -> str:
    """``/<zone>/home/<user>``: the ``zone``/``user`` params when given, else the connection's
    (:meth:`IrodsHook.home_collection`)."""
    from irods_provider.hooks.irods import IrodsHook

    with IrodsHook(conn_id) as hook:
        return hook.home_collection(params.get("zone"), params.get("user"))


# One collection per run, under the home of the connection's user (or of the params' zone and user).
# Named after run_after, which every run has (a run triggered without a logical date has no ts/ds/ts_nodash).
COLLECTION = (
    "{{ irods_home(params) }}/irods_basic_operations_{{ dag_run.run_after.strftime('%Y%m%dT%H%M%S') }}"
)
INPUT_FILES = {
    "raw/samples.csv": b"id,value\n1,42\n2,43\n",
    "raw/notes.txt": b"first run\n",
    "README": b"demo\n",
}


@dag(
    dag_id="irods_basic_operations",
    schedule=None,
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    params={
        "zone": Param(
            None,
            type=["null", "string"],
            title="Zone",
            description="iRODS zone of the run's collection. Empty: the connection's zone, else the server's",
        ),
        "user": Param(
            None,
            type=["null", "string"],
            title="User",
            description="Whose home holds the run's collection. Empty: the connection's user.",
        ),
    },
    user_defined_macros={"irods_home": irods_home},
    tags=["irods", "example"],
    doc_md=__doc__,
)
def irods_basic_operations() -> None:
    create_collection = IrodsCreateCollectionOperator(task_id="create_collection", path=f"{COLLECTION}/raw")

    @task
    def write_input_files(collection: str) -> list[str]:
        """Write a few small data objects through the hook's session (our own input)."""
        from irods_provider.hooks.irods import IrodsHook

        written = []
        with IrodsHook() as hook:
            session = hook.get_conn()
            session.collections.create(f"{collection}/results", exist_ok=True)
            for name, data in INPUT_FILES.items():
                session.data_objects.write(f"{collection}/{name}", data)
                written.append(f"{collection}/{name}")
        return written

    files = write_input_files(COLLECTION)

    check_collection_exists = IrodsPathExistsOperator(
        task_id="check_collection_exists", path=COLLECTION, kind="collection", fail_if_missing=True
    )
    list_collection = IrodsListCollectionOperator(
        task_id="list_collection", path=COLLECTION, recursive=True, with_stat=True
    )
    put_metadata = IrodsPutMetadataOperator(
        task_id="put_collection_metadata",
        path=COLLECTION,
        metadata={"project": "airflow-provider-irods", "files": (str(len(INPUT_FILES)), "count")},
        mode="set",
    )
    get_metadata = IrodsGetMetadataOperator(task_id="get_collection_metadata", path=COLLECTION)
    remove_metadata = IrodsRemoveMetadataOperator(
        task_id="remove_collection_metadata", path=COLLECTION, remove_all=True
    )
    delete_files = IrodsDeleteOperator(task_id="delete_files", paths=files, no_trash=True)
    delete_collections = IrodsDeleteOperator(
        task_id="delete_collections", paths=COLLECTION, recurse=True, no_trash=True
    )

    (
        create_collection
        >> files
        >> check_collection_exists
        >> list_collection
        >> put_metadata
        >> get_metadata
        >> remove_metadata
        >> delete_files
        >> delete_collections
    )


basic_operations_dag = irods_basic_operations()
