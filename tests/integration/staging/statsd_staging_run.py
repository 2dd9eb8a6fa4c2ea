"""Stage in to two clusters and out of one in a fresh process whose Stats is set up as a task process's is.

``python statsd_staging_run.py '<json>'``: ``IrodsToSFTPOperator`` per cluster (``sftp_conn_id`` → remote
directory), then ``SFTPToIrodsOperator`` from the last one; prints the XCom reports as one JSON line.
"""

from __future__ import annotations

import json
import sys

from airflow.sdk.configuration import conf
from airflow.sdk.observability import stats
from airflow.sdk.observability.metrics import stats_utils


def main(raw: str) -> None:
    args = json.loads(raw)
    # What airflow.sdk.execution_time.task_runner.main() does before it runs a task.
    stats.initialize(
        factory=stats_utils.get_stats_factory(),
        export_legacy_names=conf.getboolean("metrics", "legacy_names_on"),
    )
    from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator
    from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

    stage_in = {
        conn_id: IrodsToSFTPOperator(
            task_id="stage_in", sftp_conn_id=conn_id, source_path=source, destination_path=target
        ).execute({})
        for conn_id, source, target in args["stage_in"]
    }
    conn_id, source, target = args["stage_out"]
    stage_out = SFTPToIrodsOperator(
        task_id="stage_out", sftp_conn_id=conn_id, source_path=source, destination_path=target
    ).execute({})
    print(json.dumps({"stage_in": stage_in, "stage_out": stage_out}, default=str))


if __name__ == "__main__":
    main(sys.argv[1])
