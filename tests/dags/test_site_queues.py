"""The live deployment's site-queue policy on the multi-cluster DAG as the scheduler holds it (serialized).

``scripts/_live/site_queues.py`` reads ``expand_input`` and ``dag.params`` of the scheduler's serialized
operators; these tests give it the real serialized ``multi_cluster_workflow`` (no DB, no deployment), so a
renamed attribute makes them fail instead of silently routing nothing. ``tests/live/test_edge_executor.py``
proves the same policy inside a running scheduler.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from _live.site_queues import task_instance_mutation_hook
from test_example_dags import load_dag

CLUSTERS = ["cluster_a", "cluster_b", "cluster_c"]
QUEUES = {"cluster_a": "site_a", "cluster_c": "site_c"}


@pytest.fixture(scope="module")
def serialized_dag() -> Any:
    from airflow.serialization.serialized_objects import DagSerialization

    dag = load_dag("multi_cluster_workflow")
    return DagSerialization.from_dict(DagSerialization.to_dict(dag))


def queue_after_hook(dag: Any, task_id: str, map_index: int, conf: dict[str, Any] | None) -> str:
    """Run the policy on a task instance of ``task_id`` the way the scheduler calls it; its queue."""
    ti = SimpleNamespace(task=dag.get_task(task_id), map_index=map_index, queue="default")
    task_instance_mutation_hook(ti, dag_run=SimpleNamespace(conf=conf))
    return str(ti.queue)


@pytest.mark.parametrize("task_id", ["stage_in", "run_job", "stage_out"])
def test_each_cluster_task_goes_to_its_cluster_queue(serialized_dag: Any, task_id: str) -> None:
    conf = {"clusters": CLUSTERS, "cluster_queues": QUEUES}
    queues = [queue_after_hook(serialized_dag, task_id, i, conf) for i in range(len(CLUSTERS))]
    assert queues == ["site_a", "default", "site_c"]  # cluster_b has no entry: the default queue


@pytest.mark.parametrize("task_id", ["list_clusters", "record_cluster", "verify_run"])
def test_central_tasks_stay_on_the_default_queue(serialized_dag: Any, task_id: str) -> None:
    conf = {"clusters": CLUSTERS, "cluster_queues": QUEUES}
    assert queue_after_hook(serialized_dag, task_id, 0, conf) == "default"


def test_without_a_mapping_nothing_changes(serialized_dag: Any) -> None:
    # no conf at all: the DAG's defaults (three clusters, an empty mapping) apply
    assert queue_after_hook(serialized_dag, "stage_in", 0, None) == "default"
    conf = {"clusters": CLUSTERS, "cluster_queues": {}}
    assert queue_after_hook(serialized_dag, "stage_in", 0, conf) == "default"


def test_unmapped_instance_and_missing_run_are_left_alone(serialized_dag: Any) -> None:
    conf = {"clusters": CLUSTERS, "cluster_queues": QUEUES}
    assert queue_after_hook(serialized_dag, "stage_in", -1, conf) == "default"  # before expansion
    assert queue_after_hook(serialized_dag, "stage_in", 5, conf) == "default"  # past the clusters
    ti = SimpleNamespace(task=serialized_dag.get_task("stage_in"), map_index=0, queue="default")
    task_instance_mutation_hook(ti, dag_run=None)  # TaskInstance.__init__ calls it without a run
    assert ti.queue == "default"


def test_mapping_from_the_dag_defaults_when_the_conf_omits_it(serialized_dag: Any) -> None:
    # The conf names only clusters: the DAG's default cluster_queues ({}) leaves the queue alone.
    conf = {"clusters": CLUSTERS}
    assert queue_after_hook(serialized_dag, "run_job", 2, conf) == "default"
    assert serialized_dag.params["cluster_queues"] == {}


@pytest.mark.timeout(120)
def test_a_mapping_naming_an_unknown_cluster_fails_before_any_staging(airflow_db: str) -> None:
    dag = load_dag("multi_cluster_workflow")
    run = dag.test(run_conf={"clusters": ["cluster_a"], "cluster_queues": {"cluster_typo": "site_a"}})
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert str(run.state) == "failed"
    assert states["list_clusters"] == "failed"
    assert states["stage_in"] == "upstream_failed", states


@pytest.mark.parametrize("bad", [{"cluster_a": ""}, {"cluster_a": 3}, ["site_a"]])
def test_the_param_schema_rejects_a_queue_that_is_not_a_name(bad: object) -> None:
    from airflow.sdk.exceptions import ParamValidationError

    params = load_dag("multi_cluster_workflow").params
    params["cluster_queues"] = {"cluster_a": "site_a"}  # validated on assignment
    assert params.validate()["cluster_queues"] == {"cluster_a": "site_a"}
    with pytest.raises(ParamValidationError, match="cluster_queues"):
        params["cluster_queues"] = bad
