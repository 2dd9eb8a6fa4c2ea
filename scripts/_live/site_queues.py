"""The live deployment's cluster policy: each cluster's staging and job tasks go to that cluster's queue.

Airflow gives every instance of a mapped task the operator's one ``queue``, fixed when the scheduler expands
it, so a per-instance queue has to come from a cluster policy. The scheduler calls
``task_instance_mutation_hook`` for each task instance it creates or expands, with its DAG run; this one
routes the instances of a task mapped over a cluster's connection id (``sftp_conn_id`` or ``ssh_conn_id``: the
``stage_in``, ``run_job`` and ``stage_out`` of ``multi_cluster_workflow``) to
``cluster_queues[clusters[map_index]]``, both read from the run's params (its conf, else the DAG's defaults).
The DAG maps over ``clusters`` unchanged, so map index ``i`` is ``clusters[i]``. An empty ``cluster_queues``
(the default) changes nothing: the Local and Celery runs install this policy too.

Installed through ``$AIRFLOW_HOME/config/airflow_local_settings.py`` (see ``deploy.py``).
"""

from __future__ import annotations

from typing import Any

#: The expanded arguments that name the cluster a mapped instance works on.
CLUSTER_ARGUMENTS = frozenset({"sftp_conn_id", "ssh_conn_id"})


def task_instance_mutation_hook(task_instance: Any, dag_run: Any = None) -> None:
    """Set a mapped cluster task's queue from the run's ``cluster_queues`` param (no-op without a mapping)."""
    queue = site_queue(task_instance, dag_run)
    if queue is not None:
        task_instance.queue = queue


def site_queue(task_instance: Any, dag_run: Any) -> str | None:
    """The queue the run's params name for this task instance's cluster, or None to leave it alone."""
    task = getattr(task_instance, "task", None)
    if dag_run is None or task is None or task_instance.map_index is None or task_instance.map_index < 0:
        return None
    if not CLUSTER_ARGUMENTS & set(_expanded_arguments(task)):
        return None
    queues = _param(task, dag_run, "cluster_queues")
    clusters = _param(task, dag_run, "clusters")
    if not isinstance(queues, dict) or not queues or not isinstance(clusters, list):
        return None
    if task_instance.map_index >= len(clusters):
        return None
    queue = queues.get(clusters[task_instance.map_index])
    return queue if isinstance(queue, str) and queue else None


def _expanded_arguments(task: Any) -> list[str]:
    """Names of the arguments a mapped operator is expanded over ([] for an unmapped one)."""
    value = getattr(getattr(task, "expand_input", None), "value", None)
    return list(value) if isinstance(value, dict) else []


def _param(task: Any, dag_run: Any, name: str) -> Any:
    """A param as the run sees it: from the run's conf, else the DAG's default."""
    conf = getattr(dag_run, "conf", None) or {}
    if name in conf:
        return conf[name]
    params = getattr(getattr(task, "dag", None), "params", None) or {}
    return params.get(name)
