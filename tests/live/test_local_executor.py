"""The example DAGs, a deferrable sensor and a killed staging task under a real LocalExecutor deployment."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import _live_checks as c
import pytest
from _live.deploy import Deployment

pytestmark = pytest.mark.timeout(300)

SENSOR_DAG, SLOW_DAG = "irods_live_sensor", "irods_live_slow_stage"


@pytest.fixture(scope="module")
def dep() -> Iterator[Deployment]:
    yield from c.start_deployment(executor="local", clusters=2)


def test_both_example_dags_succeed(dep: Deployment) -> None:
    multi, basic = c.run_both_dags(dep)
    c.assert_succeeded(multi, expected_tasks=1 + 4 * 2 + 1, dep=dep)
    c.assert_succeeded(basic, expected_tasks=9, dep=dep)
    stage_in = [t for t in multi.tasks if t.task_id == "stage_in"]
    assert sorted(t.map_index for t in stage_in) == [0, 1]
    with c.irods_session(dep) as session:
        run = multi.tasks and session.metadata.list(_run_collection(dep, multi.run_id))
        assert {a.attribute: a.value for a in run}["lexis.run.status"] == "verified"


def _run_collection(dep: Deployment, run_id: str) -> str:
    import re

    import demo_multi_cluster

    slug = re.sub(r"[^A-Za-z0-9_.-]", "", run_id.split("+", 1)[0])
    return f"{demo_multi_cluster.RESULTS}/{slug}"


def test_sensor_defers_and_resumes_through_the_triggerer(dep: Deployment) -> None:
    path = f"/tempZone/home/rods/live/marker-{secrets.token_hex(4)}.txt"
    dep.api.wait_for_dag(SENSOR_DAG)
    dep.api.unpause(SENSOR_DAG)
    run_id = dep.api.trigger(SENSOR_DAG, {"path": path})
    deferred = c.wait_for_task_state(dep, SENSOR_DAG, run_id, "wait_for_marker", "deferred", timeout=120)
    assert deferred.try_number == 1
    with c.irods_session(dep) as session:
        session.collections.create("/tempZone/home/rods/live", intermediates=True, exist_ok=True)
        session.data_objects.write(path, b"the marker arrived\n")
    state, tasks = dep.api.follow(SENSOR_DAG, run_id, timeout=120, say=lambda _m: None)
    assert state == "success", {t.key: t.state for t in tasks}
    sensor = next(t for t in tasks if t.task_id == "wait_for_marker")
    assert (sensor.state, sensor.try_number) == ("success", 1)  # resumed, not retried
    xcom = dep.api.call(
        "GET", f"/dags/{SENSOR_DAG}/dagRuns/{run_id}/taskInstances/read_marker/xcomEntries/return_value"
    )
    assert "the marker arrived" in str(xcom["value"])
    log = c.task_log(dep, SENSOR_DAG, run_id, "wait_for_marker", 1)
    assert "Pausing task as DEFERRED" in log, log[-2000:]
    assert "Trigger reported 1 match(es)" in log, log[-2000:]
    trigger_logs = c.trigger_log_files(dep, SENSOR_DAG, run_id, "wait_for_marker")
    assert len(trigger_logs) == 1, trigger_logs  # written by the triggerer process, not the worker
    trigger_log = trigger_logs[0].read_text()
    assert "starting" in trigger_log, trigger_log[-2000:]
    assert "Trigger fired event" in trigger_log, trigger_log[-2000:]
    # the trigger itself polled the zone and found the marker (its per-request lines are at DEBUG now)
    assert f"'path': '{path}'" in trigger_log, trigger_log[-2000:]
    assert "HTTP Request:" not in trigger_log  # bounded logs: no line per request
    # Airflow's watchdog line ("async thread was blocked") is not asserted on: it cannot tell a blocking
    # trigger from a loaded machine (it fired under load before any trigger ran). That a trigger never blocks
    # the loop is proven by tests/integration/airflow/test_trigger_never_blocks_the_loop.py (slow server).


def test_staging_task_marked_failed_is_killed_and_a_cleared_retry_succeeds(dep: Deployment) -> None:
    cluster = dep.cluster_list[0]
    digest = c.write_random_file(cluster.root / "big" / "blob.bin", 12 << 20)
    destination = f"/tempZone/home/rods/live/blob-{secrets.token_hex(4)}.bin"
    conf = {"cluster": cluster.name, "source": "big/blob.bin", "destination": destination}
    dep.api.wait_for_dag(SLOW_DAG)
    dep.api.unpause(SLOW_DAG)
    c.set_faults(dep, latency_seconds=0.25)
    try:
        run_id = dep.api.trigger(SLOW_DAG, conf)
        c.wait_for_task_state(dep, SLOW_DAG, run_id, "stage_blob", "running", timeout=120)
        c.wait_until_parallel_write_open(dep, timeout=60)
        dep.api.set_task_state(SLOW_DAG, run_id, "stage_blob", "failed")
        c.wait_for_task_state(dep, SLOW_DAG, run_id, "stage_blob", "failed", timeout=30)
        c.wait_for_log(dep, SLOW_DAG, run_id, "stage_blob", 1, "Cancelling the staging transfer", timeout=60)
        c.wait_for_log(dep, SLOW_DAG, run_id, "stage_blob", 1, "Task killed!", timeout=60)
        c.wait_no_parallel_writes(dep, timeout=60)
    finally:
        c.set_faults(dep, latency_seconds=0.0)
    assert not c.irods_exists(dep, destination), "a partial object is visible at the final path"
    dep.api.clear(SLOW_DAG, run_id, ["stage_blob"])
    state, tasks = dep.api.follow(SLOW_DAG, run_id, timeout=120, say=lambda _m: None)
    assert state == "success", {t.key: t.state for t in tasks}
    assert tasks[0].try_number == 2
    assert c.irods_sha256(dep, destination) == digest


def test_no_secret_in_any_task_log(dep: Deployment) -> None:
    assert c.assert_no_secrets_in_task_logs(dep) >= 10


@pytest.mark.parametrize("leak", ["irods_password", "cluster_password", "live_token", "jwt"])
def test_the_log_scan_catches_a_planted_leak(dep: Deployment, leak: str) -> None:
    """The scan above has teeth: each kind of secret, planted in a task log, is found."""
    with c.irods_session(dep) as session:
        session.collections.stat("/tempZone")  # logs in: the session now holds a live token
        token = session.auth.get_token()
    planted = {
        "irods_password": dep.irods_password,
        "cluster_password": dep.cluster_list[-1].password,
        "live_token": f"session token {token} in use",
        "jwt": "eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJ0aSJ9.c2lnbmF0dXJlc2lnbmF0dXJl",
    }[leak]
    fake = dep.airflow_home / "logs" / "dag_id=planted" / "run_id=x" / "task_id=y" / "attempt=1.log"
    fake.parent.mkdir(parents=True, exist_ok=True)
    fake.write_text(f'{{"event": "innocent line"}}\n{{"event": "{planted}"}}\n')
    try:
        with pytest.raises(AssertionError):
            c.assert_no_secrets_in_task_logs(dep)
    finally:
        fake.unlink()
