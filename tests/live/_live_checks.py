"""Scenarios and assertions shared by the LocalExecutor and CeleryExecutor live tests."""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests
from _live.api import TaskState
from _live.deploy import Deployment
from _live.procs import wait_until
from _live.scenario import (
    BASIC,
    MULTI,
    RunResult,
    basic_conf,
    irods_session,
    multi_cluster_conf,
    run_dag,
    seed_multi_cluster_input,
)

UUID4 = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\b")
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
BEARER = re.compile(r"Bearer\s+(?!\*\*\*)[A-Za-z0-9._~+/=-]{8,}")


def run_both_dags(dep: Deployment, *, mib: int = 4) -> tuple[RunResult, RunResult]:
    """Seed the input, then trigger and follow the multi-cluster and basic-operations DAGs."""
    seed_multi_cluster_input(dep, mib=mib)
    multi = run_dag(dep, MULTI, multi_cluster_conf(dep), timeout=240, say=_quiet)
    basic = run_dag(dep, BASIC, basic_conf(), timeout=120, say=_quiet)
    return multi, basic


def assert_succeeded(result: RunResult, expected_tasks: int, dep: Deployment | None = None) -> None:
    """The run and each of its task instances succeeded, and every expected instance ran."""
    states = {t.key: t.state for t in result.tasks}
    assert result.state == "success", (states, failed_task_logs(dep, result) if dep else "")
    assert len(states) == expected_tasks, states
    assert set(states.values()) == {"success"}, states


def failed_task_logs(dep: Deployment, result: RunResult, *, lines: int = 40) -> str:
    """The last lines of every failed task instance's log, so a CI failure explains itself."""
    out = []
    for t in result.tasks:
        if t.state != "failed":
            continue
        base = dep.airflow_home / "logs" / f"dag_id={result.dag_id}" / f"run_id={result.run_id}"
        for path in sorted((base / f"task_id={t.task_id}").rglob("*.log")):
            if t.map_index >= 0 and f"map_index={t.map_index}" not in str(path):
                continue
            tail = path.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {path.relative_to(base)}\n" + "\n".join(tail))
    return "\n".join(out)


def task_log_files(dep: Deployment) -> list[Path]:
    """Every task log file the deployment wrote (workers' and triggerer's task logs, and the Edge workers' own
    copies under their homes: they push them to the API server, which writes them under ``logs/``)."""
    homes = [dep.airflow_home / "logs", dep.work / "edge"]
    return [p for home in homes for p in home.rglob("*.log") if "dag_id=" in str(p)]


def task_log(dep: Deployment, dag_id: str, run_id: str, task_id: str, attempt: int) -> str:
    """The text of one attempt's log ('' when not written yet)."""
    base = dep.airflow_home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
    path = base / f"attempt={attempt}.log"
    return path.read_text(errors="replace") if path.exists() else ""


def trigger_log_files(dep: Deployment, dag_id: str, run_id: str, task_id: str) -> list[Path]:
    """The triggerer's per-trigger log files of a task (``attempt=N.log.trigger.<id>.log``)."""
    base = dep.airflow_home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
    return sorted(base.glob("attempt=*.log.trigger.*.log"))


def assert_no_secrets_in_task_logs(dep: Deployment) -> int:
    """No configured secret, bare bearer value, JWT or live iRODS token in any task log; returns the count."""
    files = task_log_files(dep)
    assert files, "no task log files were written"
    candidates: set[str] = set()
    for path in files:
        text = path.read_text(errors="replace")
        for secret in dep.secrets():
            assert secret not in text, f"a configured secret appears in {path}"
        assert not JWT.search(text), f"a JWT appears in {path}"
        assert not BEARER.search(text), f"an unmasked bearer credential appears in {path}"
        candidates |= set(UUID4.findall(text))
    live = [c for c in candidates if _is_live_emulator_token(dep, c)]
    assert not live, f"{len(live)} live iRODS token(s) appear in task logs"
    return len(files)


def _is_live_emulator_token(dep: Deployment, value: str) -> bool:
    url = f"{dep.irods_url}/irods-http-api/0.7.0/collections"
    r = requests.get(
        url,
        params={"op": "stat", "lpath": "/tempZone"},
        headers={"Authorization": f"Bearer {value}"},
        timeout=10,
    )
    return r.status_code == 200


def set_faults(dep: Deployment, **faults: Any) -> dict[str, Any]:
    """Change the emulator's faults through its control plane."""
    token = {"X-Emulator-Token": dep.control_token}
    r = requests.post(f"{dep.irods_url}/_emulator/faults", json=faults, headers=token, timeout=10)
    r.raise_for_status()
    return dict(r.json())


def open_parallel_writes(dep: Deployment) -> dict[str, int]:
    """Open parallel-write handles and streams, from the control plane."""
    token = {"X-Emulator-Token": dep.control_token}
    r = requests.get(f"{dep.irods_url}/_emulator/parallel-writes", headers=token, timeout=10)
    r.raise_for_status()
    return dict(r.json())


def wait_for_task_state(
    dep: Deployment, dag_id: str, run_id: str, task_id: str, state: str, *, timeout: float
) -> TaskState:
    """Poll the REST API until ``task_id`` is in ``state`` (fails fast if a component died)."""
    found: list[TaskState] = []

    def check() -> bool:
        dep.procs.check_alive()
        found[:] = [t for t in dep.api.task_states(dag_id, run_id) if t.task_id == task_id]
        return bool(found) and found[0].state == state

    wait_until(f"{dag_id}.{task_id} to be {state}", check, timeout=timeout, interval=0.3)
    return found[0]


def write_random_file(path: Path, size: int) -> str:
    """Random bytes at ``path``; returns their sha256 hex digest."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = os.urandom(size)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def irods_sha256(dep: Deployment, path: str) -> str:
    """sha256 of a data object's bytes as read back from the zone."""
    with irods_session(dep) as session:
        return hashlib.sha256(session.data_objects.read(path)).hexdigest()


def irods_exists(dep: Deployment, path: str) -> bool:
    """Whether a data object exists at ``path``."""
    with irods_session(dep) as session:
        return bool(session.data_objects.exists(path))


def _quiet(_msg: str) -> None:
    return None


def now() -> float:
    """Monotonic seconds (for the tests' own bounded waits)."""
    return time.monotonic()


def wait_until_parallel_write_open(dep: Deployment, *, timeout: float) -> None:
    """Wait until the emulator holds at least one open parallel-write handle."""
    wait_until("a parallel-write handle", lambda: open_parallel_writes(dep)["handles"] > 0, timeout=timeout)


def wait_no_parallel_writes(dep: Deployment, *, timeout: float) -> None:
    """Wait until every parallel-write handle is closed (fails after ``timeout``)."""
    wait_until(
        "parallel-write handles to close", lambda: open_parallel_writes(dep)["handles"] == 0, timeout=timeout
    )


def wait_for_log(
    dep: Deployment, dag_id: str, run_id: str, task_id: str, attempt: int, text: str, *, timeout: float
) -> None:
    """Wait until a task attempt's log contains ``text``."""
    wait_until(
        f"{text!r} in the log of {task_id}",
        lambda: text in task_log(dep, dag_id, run_id, task_id, attempt),
        timeout=timeout,
    )


def start_deployment(**kwargs: Any) -> Iterator[Deployment]:
    """Start a deployment for a module's tests; stop it afterwards and fail if a process survived."""
    dep = Deployment(**kwargs)
    try:
        dep.start(say=lambda _msg: None)
        yield dep
    finally:
        left = dep.stop()
        if not left and os.environ.get("IRODS_LIVE_KEEP") != "1":
            dep.cleanup()
    assert not left, f"processes left behind: {left}; logs in {dep.procs.log_dir}"
