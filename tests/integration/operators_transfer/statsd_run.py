"""Run transfer operators and a sensor in a fresh process whose Stats is set up as a worker's task process is.

``python statsd_run.py '<json>'``: uploads a tree, uploads it again (every file skipped), downloads it,
pokes a sensor; prints the XCom reports as one JSON line. Airflow's config comes from the environment.
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
    from irods_provider.operators.transfer import IrodsToLocalOperator, LocalToIrodsOperator
    from irods_provider.sensors.irods import IrodsPathSensor

    common = {"chunk_size": 64 * 1024}
    up = LocalToIrodsOperator(
        task_id="up", source_path=args["source"], destination_path=args["collection"], **common
    ).execute({})
    again = LocalToIrodsOperator(
        task_id="again",
        source_path=args["source"],
        destination_path=args["collection"],
        skip="size",
        **common,
    ).execute({})
    down = IrodsToLocalOperator(
        task_id="down", source_path=args["collection"], destination_path=args["back"], **common
    ).execute({})
    sensor = IrodsPathSensor(task_id="wait", path=args["collection"] + "/missing.bin")
    polls = [bool(sensor.poke({}).is_done) for _ in range(3)]
    print(json.dumps({"up": up, "again": again, "down": down, "polls": polls}, default=str))


if __name__ == "__main__":
    main(sys.argv[1])
