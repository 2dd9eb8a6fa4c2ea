"""The example DAGs, a deferrable sensor, a killed staging task and the provider's StatsD metrics under a real
LocalExecutor deployment."""

from __future__ import annotations

import contextlib
import json
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import _live_checks as c
import _statsd
import pytest
from _live.deploy import Deployment
from _live.procs import wait_until
from _live.scenario import MULTI, multi_cluster_conf, run_dag

pytestmark = pytest.mark.timeout(300)

SENSOR_DAG, SLOW_DAG = "irods_live_sensor", "irods_live_slow_stage"


@pytest.fixture(scope="module")
def statsd() -> Iterator[_statsd.StatsdListener]:
    """The module's StatsD daemon stand-in: every Airflow process of the deployment sends its metrics here."""
    listener = _statsd.StatsdListener()
    yield listener
    listener.close()


@pytest.fixture(scope="module")
def dep(statsd: _statsd.StatsdListener) -> Iterator[Deployment]:
    yield from c.start_deployment(executor="local", clusters=2, airflow_config=statsd.airflow_config())


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


@dataclass(frozen=True)
class MetricsRun:
    """One multi-cluster run: the provider's StatsD lines sent meanwhile and its staging reports (XCom)."""

    lines: list[str]
    dataset: dict[str, int]
    stage_in: list[dict[str, Any]]
    stage_out: list[dict[str, Any]]


@pytest.fixture(scope="module")
def metrics_run(dep: Deployment, statsd: _statsd.StatsdListener) -> MetricsRun:
    """Run the multi-cluster DAG once more, alone (no other run is in flight), and collect its metrics."""
    dataset = c.seed_multi_cluster_input(dep, mib=4)  # the same files the first test seeded: replaced as is
    mark = statsd.mark()
    result = run_dag(dep, MULTI, multi_cluster_conf(dep), timeout=240, say=lambda _m: None)
    c.assert_succeeded(result, expected_tasks=1 + 4 * len(dep.cluster_list) + 1, dep=dep)
    clusters = range(len(dep.cluster_list))
    stage_in = [_return_value(dep, result.run_id, "stage_in", i) for i in clusters]
    stage_out = [_return_value(dep, result.run_id, "stage_out", i) for i in clusters]
    # Each task sent its datagrams before it reported success; give loopback delivery a bounded moment.
    out_files = sum(r["transferred"] for r in stage_out)
    name, direction = "airflow.irods.transfer.files", METRIC_DIRECTION["stage_out"]
    with contextlib.suppress(TimeoutError):  # the assertions say what is missing
        wait_until(
            "the stage_out file counters",
            lambda: _statsd.total(_statsd.totals(statsd.since(mark)), name, direction=direction) >= out_files,
            timeout=30,
        )
    return MetricsRun(statsd.since(mark), dataset, stage_in, stage_out)


def _return_value(dep: Deployment, run_id: str, task_id: str, map_index: int) -> dict[str, Any]:
    """A mapped task instance's XCom return value (decoded when the API gives it as JSON text)."""
    path = f"/dags/{MULTI}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value"
    value = dep.api.call("GET", path, params={"map_index": map_index})["value"]
    return dict(json.loads(value) if isinstance(value, str) else value)


#: The metric ``direction`` each staging task of the DAG counts under: the same words, from the cluster's side
#: (its ``stage_in`` task, IrodsToSFTPOperator, stages data in to the cluster).
METRIC_DIRECTION = {"stage_in": "stage_in", "stage_out": "stage_out"}


def assert_metric_totals(run: MetricsRun) -> None:
    """The StatsD totals of staged bytes and files equal the DAG's staging reports, per cluster and direction.

    Both clusters' staging tasks use the one iRODS connection ``irods_default`` (the ``conn_id`` tag); the
    ``sftp_conn_id`` tag names the cluster, so each cluster's totals equal its own report, and the totals over
    both clusters equal the sum (nothing counted under another connection).
    """
    found = _statsd.totals(run.lines)
    conn = {"conn_id": "irods_default"}
    for task_id, reports in (("stage_in", run.stage_in), ("stage_out", run.stage_out)):
        direction = METRIC_DIRECTION[task_id]
        for name, key in (
            ("airflow.irods.transfer.bytes", "bytes"),
            ("airflow.irods.transfer.files", "transferred"),
        ):
            for report in reports:
                cluster = {"sftp_conn_id": str(report["sftp_conn_id"])}
                assert _statsd.total(found, name, direction=direction, **conn, **cluster) == int(
                    report[key]
                ), (
                    name,
                    task_id,
                    cluster,
                    found,
                )
            expected = sum(int(r[key]) for r in reports)
            assert _statsd.total(found, name, direction=direction) == expected, (
                name,
                task_id,
                "other conn_id or cluster",
            )
        assert _statsd.total(found, "airflow.irods.transfer.files_failed", direction=direction) == 0


def test_staging_metrics_reach_statsd_with_the_reports_totals(
    dep: Deployment, metrics_run: MetricsRun
) -> None:
    run = metrics_run
    # The reports themselves: every cluster got the whole seeded dataset and sent back its outputs.
    assert sorted(r["sftp_conn_id"] for r in run.stage_in) == [cl.name for cl in dep.cluster_list]
    for report in run.stage_in:
        assert (report["transferred"], report["bytes"]) == (len(run.dataset), sum(run.dataset.values()))
    assert all(r["transferred"] > 0 and r["bytes"] > 0 for r in run.stage_out), run.stage_out
    assert_metric_totals(run)
    # Request latency per endpoint: at least one data-objects request per file staged in or out.
    requests = _statsd.timers(run.lines, "airflow.irods.request.duration")
    data_objects = [ms for ms, tags in requests if tags.get("endpoint") == "data-objects"]
    moved = sum(r["transferred"] for r in run.stage_in + run.stage_out)
    assert len(data_objects) >= moved, (len(data_objects), moved)
    assert all(ms >= 0 for ms in data_objects)


@pytest.mark.parametrize("change", ["bytes_plus_one", "one_file_less", "datagram_lost", "cluster_tag_lost"])
def test_a_wrong_total_fails_the_metric_check(metrics_run: MetricsRun, change: str) -> None:
    """The totals check above has teeth: a report off by one byte or file, one datagram lost, or one line
    without its cluster's ``sftp_conn_id`` tag fails it."""
    run = metrics_run
    if change == "bytes_plus_one":
        run = replace(
            run, stage_in=[{**run.stage_in[0], "bytes": run.stage_in[0]["bytes"] + 1}, *run.stage_in[1:]]
        )
    elif change == "one_file_less":
        out = run.stage_out
        run = replace(run, stage_out=[{**out[0], "transferred": out[0]["transferred"] - 1}, *out[1:]])
    elif change == "datagram_lost":
        lost = next(i for i, x in enumerate(run.lines) if x.startswith("airflow.irods.transfer.bytes,"))
        run = replace(run, lines=run.lines[:lost] + run.lines[lost + 1 :])
    else:
        i = next(i for i, x in enumerate(run.lines) if x.startswith("airflow.irods.transfer.bytes,"))
        untagged = re.sub(r",sftp_conn_id=[^,:]*", "", run.lines[i])
        assert untagged != run.lines[i]
        run = replace(run, lines=[*run.lines[:i], untagged, *run.lines[i + 1 :]])
    with pytest.raises(AssertionError):
        assert_metric_totals(run)


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
    # 192 requests of 256 KiB at 0.25 s each over 3 streams, two requests in flight per stream: >= 8 s, so the
    # kill lands mid-transfer (with 12 MiB the pipelined upload could finish before the kill arrived).
    digest = c.write_random_file(cluster.root / "big" / "blob.bin", 48 << 20)
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
    if c.irods_exists(dep, destination):
        complete = c.irods_sha256(dep, destination) == digest
        pytest.fail(
            "the transfer finished before the kill arrived (the test must slow it down more)"
            if complete
            else "a partial object is visible at the final path"
        )
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
