"""What a user does with the deployment: seed input, unpause and trigger the example DAGs, follow them."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from _live.api import TaskState
from _live.deploy import ZONE, Deployment

MULTI = "multi_cluster_workflow"
BASIC = "irods_basic_operations"


@dataclass
class RunResult:
    """One followed DAG run."""

    dag_id: str
    run_id: str
    state: str
    tasks: list[TaskState]
    wall_seconds: float

    @property
    def task_seconds(self) -> float:
        """Sum of the task instances' run times."""
        return sum(t.seconds for t in self.tasks)

    @property
    def overhead(self) -> float:
        """DAG wall time ÷ sum of task durations (1.0 would be no scheduling cost at all, serially)."""
        return self.wall_seconds / self.task_seconds if self.task_seconds else float("inf")


def irods_session(dep: Deployment) -> Any:
    """A client session to the deployment's emulator as ``rods``."""
    from irods_provider.client import BasicAuth, IrodsSession

    return IrodsSession(f"{dep.irods_url}/irods-http-api/0.7.0", auth=BasicAuth("rods", dep.irods_password))


def seed_multi_cluster_input(dep: Deployment, *, mib: int) -> dict[str, int]:
    """The multi-cluster DAG's input dataset, made the way ``make demo`` makes it."""
    import demo_multi_cluster

    with irods_session(dep) as session:
        return dict(demo_multi_cluster.seed_dataset(session, mib))


def run_dag(
    dep: Deployment,
    dag_id: str,
    conf: dict[str, Any] | None = None,
    *,
    timeout: float = 600,
    say: Callable[[str], None] = print,
    on_poll: Callable[[list[TaskState]], None] | None = None,
) -> RunResult:
    """Wait for the DAG to be parsed, unpause it, trigger it through the REST API and follow it to the end."""
    dep.api.wait_for_dag(dag_id)
    dep.api.unpause(dag_id)
    started = time.monotonic()
    run_id = dep.api.trigger(dag_id, conf)
    say(f"triggered {dag_id}: run {run_id}")

    def poll(tasks: list[TaskState]) -> None:
        dep.procs.check_alive()
        if on_poll is not None:
            on_poll(tasks)

    state, tasks = dep.api.follow(dag_id, run_id, timeout=timeout, say=say, on_poll=poll)
    run = dep.api.run_state(dag_id, run_id)
    wall = _run_wall(run) or time.monotonic() - started
    return RunResult(dag_id, run_id, state, tasks, wall)


def _run_wall(run: dict[str, Any]) -> float | None:
    from datetime import datetime

    if not run.get("start_date") or not run.get("end_date"):
        return None
    return (
        datetime.fromisoformat(run["end_date"]) - datetime.fromisoformat(run["start_date"])
    ).total_seconds()


def multi_cluster_conf(dep: Deployment) -> dict[str, Any]:
    """Trigger conf: every cluster of the deployment (with its site queue under the EdgeExecutor), the demo's
    dataset and results collections."""
    import demo_multi_cluster

    return {
        "clusters": [c.name for c in dep.cluster_list],
        "cluster_queues": dep.cluster_queues(),
        "dataset": demo_multi_cluster.DATASET,
        "results_collection": demo_multi_cluster.RESULTS,
    }


def basic_conf() -> dict[str, Any]:
    """Trigger conf of the basic-operations DAG (its params)."""
    return {"zone": ZONE, "user": "rods"}


def summary(results: list[RunResult], say: Callable[[str], None] = print) -> bool:
    """Per-DAG, per-task lines (state, host, seconds); True when every run and task succeeded."""
    ok = True
    for r in results:
        say(f"\n{r.dag_id} run {r.run_id}: {r.state.upper()} in {r.wall_seconds:.1f} s wall")
        say(f"  sum of task run times {r.task_seconds:.1f} s; wall / sum = {r.overhead:.2f}")
        for t in sorted(r.tasks, key=lambda x: (x.start or x.end or _far(), x.key)):
            mark = "ok  " if t.state == "success" else "FAIL"
            say(f"  [{mark}] {t.key:<28} {t.state or 'none':<8} {t.seconds:6.2f} s on {t.hostname or '-'}")
            ok = ok and t.state == "success"
        ok = ok and r.state == "success"
    return ok


def _far() -> Any:
    from datetime import UTC, datetime

    return datetime.max.replace(tzinfo=UTC)
