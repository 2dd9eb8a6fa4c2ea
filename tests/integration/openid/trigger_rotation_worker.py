"""A worker's task process for test_trigger_refresh_rotation.py: the Task SDK's comms on an inherited socket.

Argument: JSON with ``fd`` (the socket to the supervisor), ``conn_id``, ``path``, ``ready`` and ``go`` (files:
it touches ``ready`` once imported and set up, and pokes once ``go`` exists). Prints ``{"done", "error"}``.
"""

from __future__ import annotations

import json
import socket
import sys
import time
from pathlib import Path


def main() -> None:
    args = json.loads(sys.argv[1])
    from airflow.sdk.execution_time import task_runner
    from airflow.sdk.execution_time.comms import CommsDecoder, ToSupervisor, ToTask

    from irods_provider.sensors.irods import IrodsPathSensor

    comms = CommsDecoder[ToTask, ToSupervisor](socket=socket.socket(fileno=args["fd"]))
    task_runner.SUPERVISOR_COMMS = comms
    sensor = IrodsPathSensor(
        task_id="wait", path=args["path"], irods_conn_id=args["conn_id"], deferrable=True, poke_interval=1.0
    )
    Path(args["ready"]).touch()
    while not Path(args["go"]).exists():
        time.sleep(0.005)
    done, error = False, None
    try:
        done = bool(sensor.poke({}).is_done)  # type: ignore[arg-type]
    except Exception as failure:  # reported to the test, which asserts there is none
        error = f"{type(failure).__name__}: {failure}"
    finally:
        sensor.hook.close()
    print(json.dumps({"done": done, "error": error}))


if __name__ == "__main__":
    main()
