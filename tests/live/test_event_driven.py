"""Event-driven scheduling under a real deployment: one DAG run per landed object, across a triggerer restart.

``example_dags/irods_event_driven.py`` watches ``/tempZone/home/rods/landing/*`` with
``IrodsPathEventTrigger`` (polling every second here). Objects land one at a time through the emulator; each
must start exactly one run of the DAG, whose task reports that object's path. The triggerer is restarted
between two objects (the second lands while it is down): the restarted trigger reads its seen set back from
the asset's state store in the metadata database and starts no run for what it had already reported.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from typing import Any

import _live_checks as c
import pytest
from _live.deploy import Deployment
from _live.procs import wait_until

from irods_provider.triggers.events import IrodsPathEventTrigger

pytestmark = pytest.mark.timeout(300)

DAG_ID = "irods_event_driven"
LANDING = "/tempZone/home/rods/landing"
ASSET_URI = "irods://tempZone/home/rods/landing"
STATE_KEY = IrodsPathEventTrigger(path=f"{LANDING}/*", glob=True, irods_conn_id="irods_default").state_key


@pytest.fixture(scope="module")
def dep() -> Iterator[Deployment]:
    yield from c.start_deployment(executor="local", clusters=1)


def _stored_state(dep: Deployment) -> dict[str, Any] | None:
    """The path trigger's row in ``asset_state_store`` (read straight from PostgreSQL), or None."""
    import sqlalchemy as sa

    engine = sa.create_engine(dep.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    try:
        with engine.connect() as db:
            value = db.execute(
                sa.text(
                    "SELECT s.value FROM asset_state_store s JOIN asset a ON a.id = s.asset_id "
                    "WHERE a.uri = :uri AND s.key = :key"
                ),
                {"uri": ASSET_URI, "key": STATE_KEY},
            ).scalar()
    finally:
        engine.dispose()
    if value is None:
        return None
    state = json.loads(value) if isinstance(value, str) else value
    return state if isinstance(state, dict) else json.loads(state)


def _runs(dep: Deployment) -> list[dict[str, Any]]:
    body = dep.api.call("GET", f"/dags/{DAG_ID}/dagRuns", params={"limit": 100})
    return list(body["dag_runs"])


def _landed_paths(dep: Deployment, run_id: str) -> list[str]:
    xcom = dep.api.call(
        "GET", f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/process/xcomEntries/return_value"
    )
    value = xcom["value"]
    value = json.loads(value) if isinstance(value, str) else value
    return [entry["path"] for entry in value]


def _land(dep: Deployment, name: str, data: bytes) -> str:
    path = f"{LANDING}/{name}"
    with c.irods_session(dep) as session:
        session.data_objects.write(path, data)
    return path


def _wait_for_runs(dep: Deployment, count: int) -> list[dict[str, Any]]:
    """Wait until ``count`` runs exist and all finished; return them (oldest first)."""
    wait_until(f"{count} finished runs of {DAG_ID}", lambda: _finished(dep, count), timeout=120, interval=0.5)
    return sorted(_runs(dep), key=lambda r: str(r["run_after"]))


def _finished(dep: Deployment, count: int) -> bool:
    runs = _runs(dep)
    assert len(runs) <= count, f"more runs than landed objects: {[r['dag_run_id'] for r in runs]}"
    return len(runs) == count and all(r["state"] in ("success", "failed") for r in runs)


def _restart_triggerer(dep: Deployment) -> None:
    """Stop the triggerer (SIGTERM, as a deployment's service manager does) and start a new one."""
    old = next(child for child in dep.procs.children if child.name == "triggerer")
    os.killpg(old.popen.pid, signal.SIGTERM)
    old.popen.wait(timeout=60)
    wait_until("the old triggerer's process group to exit", lambda: _group_gone(old.popen.pid), timeout=30)
    dep.procs.children.remove(old)
    dep.procs.start("triggerer", list(old.popen.args), env=dep.env)  # type: ignore[arg-type]


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def test_one_run_per_landed_object_across_a_triggerer_restart(dep: Deployment) -> None:
    with c.irods_session(dep) as session:
        session.collections.create(LANDING, intermediates=True, exist_ok=True)
    _land(dep, "before-the-watcher.csv", b"already here\n")  # the baseline: never a run
    dep.api.wait_for_dag(DAG_ID)
    dep.api.unpause(DAG_ID)
    wait_until("the watcher's baseline in the asset state store", lambda: _stored_state(dep), timeout=120)
    assert f"{LANDING}/before-the-watcher.csv" in _stored_state(dep)["seen"]  # type: ignore[index]

    first = _land(dep, "first.csv", b"one\n")
    runs = _wait_for_runs(dep, 1)

    _restart_triggerer(dep)
    second = _land(dep, "second.csv", b"two, landed around the restart\n")
    runs = _wait_for_runs(dep, 2)
    third = _land(dep, "third.csv", b"three\n")
    # The canary: its run proves the restarted trigger scanned past first/second again without firing.
    runs = _wait_for_runs(dep, 3)

    assert [r["state"] for r in runs] == ["success"] * 3, runs
    assert {r["run_type"] for r in runs} == {"asset_triggered"}
    assert [_landed_paths(dep, r["dag_run_id"]) for r in runs] == [[first], [second], [third]]

    asset = dep.api.call("GET", "/assets", params={"uri_pattern": "rods/landing"})["assets"]
    assert [a["uri"] for a in asset] == [ASSET_URI]
    events = dep.api.call("GET", "/assets/events", params={"asset_id": asset[0]["id"], "limit": 100})
    paths = [e["extra"]["payload"]["path"] for e in events["asset_events"]]
    assert sorted(paths) == sorted([first, second, third])  # exactly one asset event per object
    assert all(e["extra"]["from_trigger"] is True for e in events["asset_events"])

    state = _stored_state(dep)
    assert state is not None
    assert {first, second, third} <= set(state["seen"])
    triggerer = dep.log("triggerer").read_text(errors="replace")
    assert triggerer.count("Trigger fired event") >= 3
