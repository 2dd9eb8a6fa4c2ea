"""Airflow's provider example-DAG discovery (load_examples=True) imports our module without an error."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
from airflow.dag_processing.bundles import manager
manager._add_provider_example_dags_to_bundle([])
print("discovered")
"""


def test_example_dag_discovery_logs_no_error() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], check=False, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "discovered" in done.stdout
    output = done.stdout + done.stderr
    assert "airflow_provider_irods" not in output
    assert "ModuleNotFoundError" not in output
