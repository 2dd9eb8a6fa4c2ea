"""``make demo-basic``: run the example DAG against a local iRODS HTTP API emulator and explain what happened.

Steps: a throw-away AIRFLOW_HOME, ``airflow db migrate``, the emulator on a free loopback port, the
``irods_default`` connection pointed at it, ``dag.test()`` of ``irods_basic_operations``, then one line per
task (state and what it returned through XCom). Exit status 0 only if every task succeeded.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DAGS = REPO / "example_dags"


def _configure_airflow(home: Path, *, verbose: bool) -> None:
    """Environment for a private Airflow; must run before anything imports airflow."""
    os.environ["AIRFLOW_HOME"] = str(home)
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS)
    if not verbose:
        os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "WARNING"


def _migrate() -> None:
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True, timeout=300
    )
    print(f"  metadata DB migrated in {time.monotonic() - started:.1f} s")


def _load_dag(name: str) -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"example_dag_{name}", DAGS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (dag,) = [value for value in vars(module).values() if type(value).__name__ == "DAG"]
    return dag


def _return_values(dag_run: Any) -> dict[str, Any]:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    query = XComModel.get_many(run_id=dag_run.run_id, dag_ids=dag_run.dag_id, key="return_value")
    with create_session() as db:
        return {row.task_id: XComModel.deserialize_value(row) for row in db.scalars(query)}


def _paths(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value.startswith("/") else []
    if isinstance(value, dict):
        return [p for v in value.values() for p in _paths(v)]
    if isinstance(value, list):
        return [p for v in value for p in _paths(v)]
    return []


def _short(value: Any, base: str, width: int = 150) -> str:
    text = json.dumps(value, default=str)
    if base:
        text = text.replace(base, "~")
    return text if len(text) <= width else text[: width - 3] + "..."


def _report(dag: Any, dag_run: Any) -> bool:
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    values = _return_values(dag_run)
    paths = _paths(list(values.values()))
    base = os.path.commonpath(paths) if paths else ""
    base = base if base.count("/") > 3 else ""
    print(f"\nDAG {dag.dag_id}, run {dag_run.run_id}: {dag_run.state}")
    if base:
        print(f"  (~ stands for {base})")
    for task in dag.topological_sort():
        state = states.get(task.task_id, "not run")
        mark = "ok  " if state == "success" else "FAIL"
        print(f"  [{mark}] {task.task_id:<27} {state:<8} returned {_short(values.get(task.task_id), base)}")
    return str(dag_run.state) == "success" and all(s == "success" for s in states.values())


def main(argv: list[str] | None = None) -> int:
    """Run the demo; returns the process exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dag", default="irods_basic_operations", help="example DAG to run")
    parser.add_argument("--verbose", action="store_true", help="show Airflow's own task logs")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="irods-demo-") as tmp:
        _configure_airflow(Path(tmp) / "airflow", verbose=args.verbose)
        print(f"Airflow home: {os.environ['AIRFLOW_HOME']} (temporary)")
        _migrate()
        from irods_provider.testing import EmulatorConfig, EmulatorServer

        with EmulatorServer(EmulatorConfig(spool_dir=Path(tmp) / "spool")) as server:
            print(f"  iRODS HTTP API emulator at {server.base_url} (zone tempZone, user rods)")
            os.environ["AIRFLOW_CONN_IRODS_DEFAULT"] = server.airflow_connection_uri()
            dag = _load_dag(args.dag)
            started = time.monotonic()
            dag_run = dag.test()
            print(f"  dag.test() took {time.monotonic() - started:.1f} s")
            ok = _report(dag, dag_run)
    print("\nDemo succeeded." if ok else "\nDemo FAILED: see the task states above.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
