"""The multi-cluster DAG under a real EdgeExecutor deployment: one Edge worker per cluster, at its "site".

Each cluster ``cluster_x`` has an ``airflow edge worker`` serving the queue ``site_x``, reaching the API
server through its own WAN proxy (20 ms round trip); a central Edge worker serves the ``default`` queue. The
run's ``cluster_queues`` param maps each cluster to its site; the deployment's cluster policy
(``scripts/_live/site_queues.py``) puts that cluster's ``stage_in``, ``run_job`` and ``stage_out`` on it. The
Edge workers' environments hold no connection, no metadata DB and no Fernet key: their tasks get the SFTP/SSH
and iRODS connections from the API server's execution API, over their site's link.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import _live_checks as c
import psutil
import pytest
from _live.deploy import EDGE_UI, Deployment
from _live.procs import wait_until
from _live.scenario import MULTI, RunResult, multi_cluster_conf, run_dag

pytestmark = pytest.mark.timeout(300)

SITE_TASKS = ("stage_in", "run_job", "stage_out")
CLUSTERS = 3
# One line of the API server's access log: which client port asked for which connection.
CONNECTION_REQUEST = re.compile(
    r"client_addr=127\.0\.0\.1:(\d+) .*method=GET path=/execution/connections/(\S+) .*status_code=(\d+)"
)


@dataclass
class EdgeRun:
    """The seeded input dataset and the followed multi-cluster run."""

    files: dict[str, int]
    result: RunResult


@pytest.fixture(scope="module")
def dep() -> Iterator[Deployment]:
    yield from c.start_deployment(executor="edge", clusters=CLUSTERS)


@pytest.fixture(scope="module")
def run(dep: Deployment) -> EdgeRun:
    files = c.seed_multi_cluster_input(dep, mib=8)
    result = run_dag(dep, MULTI, multi_cluster_conf(dep), timeout=240, say=lambda _m: None)
    c.assert_succeeded(result, expected_tasks=1 + 4 * CLUSTERS + 1, dep=dep)
    return EdgeRun(files, result)


def return_value(dep: Deployment, run_id: str, task_id: str, map_index: int = -1) -> Any:
    """A task instance's XCom return value through the REST API (decoded when it comes as JSON text)."""
    path = f"/dags/{MULTI}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value"
    value = dep.api.call("GET", path, params={"map_index": map_index})["value"]
    return json.loads(value) if isinstance(value, str) else value


def records(dep: Deployment, run: EdgeRun) -> list[dict[str, Any]]:
    """``record_cluster[i]`` of every cluster: what its stage_in, run_job and stage_out (index i) reported."""
    return [return_value(dep, run.result.run_id, "record_cluster", i) for i in range(CLUSTERS)]


def cluster_of_index(dep: Deployment, run: EdgeRun) -> dict[int, str]:
    """Map index → cluster, as the site tasks themselves reported it (connection id, the job's cluster)."""
    found = {}
    for i, record in enumerate(records(dep, run)):
        named = {
            record["stage_in"]["sftp_conn_id"],
            record["job"]["cluster"],
            record["stage_out"]["sftp_conn_id"],
        }
        assert len(named) == 1, (i, named)
        found[i] = named.pop()
    assert sorted(found.values()) == sorted(cl.name for cl in dep.cluster_list)
    return found


def finished_edge_jobs(dep: Deployment, run_id: str, count: int) -> dict[tuple[str, int], dict[str, Any]]:
    """The run's Edge jobs by (task_id, map_index), once ``count`` of them are finished.

    A worker reports a job finished on its next loop after the task itself told the API server (which is what
    ends the DAG run), so the last job may still be ``running`` for a moment.
    """
    found: dict[tuple[str, int], dict[str, Any]] = {}

    def finished() -> bool:
        jobs = dep.api.call("GET", "/jobs", prefix=EDGE_UI, params={"dag_id_pattern": MULTI})["jobs"]
        found.clear()
        found.update({(j["task_id"], j["map_index"]): j for j in jobs if j["run_id"] == run_id})
        return len(found) == count and all(j["state"] in ("success", "failed") for j in found.values())

    wait_until(f"{count} finished Edge jobs", finished, timeout=60, interval=0.5)
    return found


def test_each_cluster_runs_on_its_site_worker_from_its_queue(dep: Deployment, run: EdgeRun) -> None:
    run_id = run.result.run_id
    cluster_at = cluster_of_index(dep, run)
    clusters = {cl.name: cl for cl in dep.cluster_list}
    instances = dep.api.call("GET", f"/dags/{MULTI}/dagRuns/{run_id}/taskInstances", params={"limit": 100})
    queue = {(t["task_id"], t["map_index"]): t["queue"] for t in instances["task_instances"]}
    job = finished_edge_jobs(dep, run_id, len(run.result.tasks))  # each task instance ran as one Edge job
    ran_on: dict[str, set[str]] = defaultdict(set)
    for t in run.result.tasks:
        key = (t.task_id, t.map_index)
        if t.task_id in SITE_TASKS:
            cluster = clusters[cluster_at[t.map_index]]
            expected = (cluster.edge_hostname, cluster.site)
            ran_on[cluster.name].add(t.task_id)
        else:
            expected = ("edge-central", "default")
        assert (t.hostname, queue[key]) == expected, (t.key, t.hostname, queue[key])
        assert (job[key]["edge_worker"], job[key]["queue"], job[key]["state"]) == (*expected, "success")
    assert ran_on == {name: set(SITE_TASKS) for name in clusters}


def test_the_clusters_ran_at_the_same_time(dep: Deployment, run: EdgeRun) -> None:
    """Each cluster's stage_in → run_job → stage_out window overlaps every other cluster's window."""
    windows = {}
    for i in range(CLUSTERS):
        mine = [t for t in run.result.tasks if t.task_id in SITE_TASKS and t.map_index == i]
        assert len(mine) == 3
        assert all(t.start is not None and t.end is not None for t in mine)
        windows[i] = (min(t.start for t in mine if t.start), max(t.end for t in mine if t.end))
    latest_start = max(start for start, _ in windows.values())
    earliest_end = min(end for _, end in windows.values())
    assert latest_start < earliest_end, windows  # one moment when all clusters were busy


def test_staging_reports_match(dep: Deployment, run: EdgeRun) -> None:
    dataset_bytes = sum(run.files.values())
    staged_in, staged_out = [], []
    for record in records(dep, run):
        stage_in, stage_out = record["stage_in"], record["stage_out"]
        assert (stage_in["transferred"], stage_in["failed"]) == (len(run.files), 0), stage_in
        assert stage_in["bytes"] == dataset_bytes
        assert stage_in["remote_sha256_verified"] == len(run.files)
        staged_in.append({f["source"]: f["checksum"] for f in stage_in["files"]})
        assert (stage_out["transferred"], stage_out["failed"]) == (3, 0), stage_out
        outputs = {f["destination"].rsplit("/", 1)[-1]: f["checksum"] for f in stage_out["files"]}
        assert set(outputs) == {"stats.tsv", "SHA256SUMS", "job.json"}
        staged_out.append({k: v for k, v in outputs.items() if k != "job.json"})  # job.json names the cluster
        assert record["job"]["files"] == len(run.files)
    assert len(staged_in[0]) == len(run.files)
    assert all(s == staged_in[0] for s in staged_in), staged_in  # every site got the same bytes
    assert all(s == staged_out[0] for s in staged_out), staged_out  # and computed the same results
    verified = return_value(dep, run.result.run_id, "verify_run")
    moved = sum(r["stage_in"]["bytes"] + r["stage_out"]["bytes"] for r in records(dep, run))
    assert (verified["clusters"], verified["files"], verified["bytes"]) == (CLUSTERS, len(run.files), moved)
    with c.irods_session(dep) as session:
        avus = {a.attribute: a.value for a in session.metadata.list(verified["run_collection"])}
    assert avus["lexis.run.status"] == "verified"
    assert avus["lexis.run.bytes_moved"] == str(moved)


def _upstream_ports(dep: Deployment, site: str) -> set[int]:
    """Local ports of the connections a site's WAN proxy opened to the API server."""
    text = dep.log(f"wan-{site}").read_text()
    return {int(p) for p in re.findall(r"^upstream 127\.0\.0\.1:(\d+)$", text, re.MULTILINE)}


def test_site_tasks_got_connections_from_the_execution_api_over_their_site_link(
    dep: Deployment, run: EdgeRun
) -> None:
    assert run.result.state == "success"
    central_secrets = [dep.irods_password, *(cl.password for cl in dep.cluster_list)]
    edge_workers = [child for child in dep.procs.children if child.name.startswith("edge-")]
    assert len(edge_workers) == CLUSTERS + 1
    for child in edge_workers:
        environ = psutil.Process(child.popen.pid).environ()
        assert not [k for k in environ if k.startswith("AIRFLOW_CONN_")], child.name
        assert "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" not in environ
        assert "AIRFLOW__CORE__FERNET_KEY" not in environ
        assert not [s for s in central_secrets if any(s in v for v in environ.values())], child.name
    requests: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for port, conn_id, status in CONNECTION_REQUEST.findall(dep.log("api-server").read_text()):
        requests[conn_id].append((int(port), int(status)))
    for cluster in dep.cluster_list:
        served = requests[cluster.name]
        # stage_in and stage_out (sftp) and run_job (ssh) each asked for it at least once
        assert len(served) >= 3, (cluster.name, served)
        assert {status for _, status in served} == {200}
        via = _upstream_ports(dep, cluster.site)
        assert {port for port, _ in served} <= via, (cluster.name, served, sorted(via)[:20])


def test_no_secret_in_any_task_log(dep: Deployment, run: EdgeRun) -> None:
    assert run.result.state == "success"
    # the central copies and the Edge workers' own: 14 task instances, each log on both sides
    assert c.assert_no_secrets_in_task_logs(dep) >= 2 * (1 + 4 * CLUSTERS + 1)
