"""common.io FileTransferOperator between irods:// and file:// in both directions (tests/dags only)."""

from __future__ import annotations

import os

from airflow.providers.common.io.operators.file_transfer import FileTransferOperator
from airflow.sdk import DAG

LOCAL = os.environ.get("IRODS_OBJECTSTORAGE_LOCAL_DIR", "/tmp")

with DAG(
    dag_id="irods_objectstorage_transfer", schedule=None, catchup=False, tags=["irods", "test"]
) as transfer_dag:
    upload = FileTransferOperator(
        task_id="file_to_irods",
        src="file://{{ params.local_dir }}/source.bin",
        dst="irods:///tempZone/home/rods/transfer/source.bin",
        dest_conn_id="irods_default",
        params={"local_dir": LOCAL},
    )
    download = FileTransferOperator(
        task_id="irods_to_file",
        src="irods://irods_default@/tempZone/home/rods/transfer/source.bin",
        dst="file://{{ params.local_dir }}/roundtrip.bin",
        params={"local_dir": LOCAL},
    )
    upload >> download
