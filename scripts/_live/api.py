"""Airflow 3 REST API (``/api/v2``) as a user drives it: JWT from ``/auth/token``, trigger, follow, clear."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests

FINISHED = {"success", "failed"}
TI_FINISHED = {"success", "failed", "skipped", "upstream_failed", "removed"}


@dataclass
class TaskState:
    """One task instance as the API reports it."""

    task_id: str
    map_index: int
    state: str | None
    hostname: str
    try_number: int
    start: datetime | None
    end: datetime | None

    @property
    def key(self) -> str:
        """``task_id`` or ``task_id[i]`` for a mapped instance."""
        return self.task_id if self.map_index < 0 else f"{self.task_id}[{self.map_index}]"

    @property
    def seconds(self) -> float:
        """Run time, 0 when not started or not finished."""
        if self.start is None or self.end is None:
            return 0.0
        return (self.end - self.start).total_seconds()


@dataclass
class AirflowApi:
    """A tiny client for the public REST API, authenticated as a simple-auth-manager user."""

    url: str
    username: str
    password: str
    http: requests.Session = field(default_factory=requests.Session)
    _token: str | None = None

    def healthy(self) -> bool:
        """True once ``/api/v2/monitor/health`` answers 200."""
        try:
            return self.http.get(f"{self.url}/api/v2/monitor/health", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def token(self) -> str:
        """A JWT from ``POST /auth/token`` (fetched once, renewed after a 401)."""
        if self._token is None:
            body = {"username": self.username, "password": self.password}
            r = self.http.post(f"{self.url}/auth/token", json=body, timeout=30)
            r.raise_for_status()
            self._token = str(r.json()["access_token"])
        return self._token

    def call(self, method: str, path: str, *, prefix: str = "/api/v2", **kwargs: Any) -> Any:
        """One authenticated request under ``prefix`` (the public ``/api/v2``, or a plugin's such as
        ``/edge_worker/ui``); its JSON; raises on an HTTP error (with the body)."""
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self.token()}"}
            r = self.http.request(method, f"{self.url}{prefix}{path}", headers=headers, timeout=60, **kwargs)
            if r.status_code == 401 and attempt == 1:
                self._token = None
                continue
            if r.status_code >= 400:
                raise RuntimeError(f"{method} {prefix}{path}: HTTP {r.status_code}: {r.text[:500]}")
            return r.json() if r.content else None
        raise AssertionError("unreachable")

    def wait_for_dag(self, dag_id: str, *, timeout: float = 180) -> None:
        """Wait until the dag-processor has parsed and serialized ``dag_id``."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.call("GET", f"/dags/{dag_id}/details")
                return
            except RuntimeError as e:
                if "HTTP 404" not in str(e) or time.monotonic() > deadline:
                    raise
            time.sleep(1)

    def unpause(self, dag_id: str) -> None:
        """``PATCH /dags/{dag_id}`` with ``is_paused=false``."""
        self.call("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None, *, logical_date: bool = True) -> str:
        """Create a manual DAG run (with ``logical_date`` now, as the UI's trigger form does); return its id.

        ``logical_date=False`` sends ``null``: such runs have no ``ts``/``ds``/``ts_nodash`` in templates.
        """
        when = datetime.now(UTC).isoformat() if logical_date else None
        body = {"logical_date": when, "conf": conf or {}}
        return str(self.call("POST", f"/dags/{dag_id}/dagRuns", json=body)["dag_run_id"])

    def run_state(self, dag_id: str, run_id: str) -> dict[str, Any]:
        """The DAG run as JSON (state, start_date, end_date, ...)."""
        return dict(self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}"))

    def task_states(self, dag_id: str, run_id: str) -> list[TaskState]:
        """Every task instance of the run (mapped ones expanded)."""
        body = self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 1000})
        return [_task_state(t) for t in body["task_instances"]]

    def set_task_state(
        self, dag_id: str, run_id: str, task_id: str, state: str, *, map_index: int = -1
    ) -> None:
        """Mark a task instance (e.g. ``failed`` while it runs: the scheduler then kills it)."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"
        if map_index >= 0:
            path += f"/{map_index}"
        self.call("PATCH", path, json={"new_state": state})

    def clear(self, dag_id: str, run_id: str, task_ids: list[str]) -> None:
        """Clear failed task instances of the run so the scheduler runs them again."""
        body = {"dry_run": False, "dag_run_id": run_id, "task_ids": task_ids, "only_failed": True}
        self.call("POST", f"/dags/{dag_id}/clearTaskInstances", json=body)

    def follow(
        self,
        dag_id: str,
        run_id: str,
        *,
        timeout: float,
        say: Callable[[str], None] = print,
        on_poll: Callable[[list[TaskState]], None] | None = None,
    ) -> tuple[str, list[TaskState]]:
        """Poll the run until it finishes, printing every task-state change; return final state and tasks."""
        deadline = time.monotonic() + timeout
        seen: dict[str, str | None] = {}
        while True:
            run = self.run_state(dag_id, run_id)
            tasks = self.task_states(dag_id, run_id)
            for t in sorted(tasks, key=lambda x: (x.start or datetime.max.astimezone(), x.key)):
                if seen.get(t.key, "") != t.state:
                    seen[t.key] = t.state
                    where = f" on {t.hostname}" if t.hostname and t.state == "running" else ""
                    say(f"  {dag_id}: {t.key:<28} {t.state}{where}")
            if on_poll is not None:
                on_poll(tasks)
            if run["state"] in FINISHED and all(t.state in TI_FINISHED for t in tasks):
                return str(run["state"]), tasks
            if time.monotonic() > deadline:
                raise TimeoutError(f"{dag_id} run {run_id} still {run['state']} after {timeout:.0f} s")
            time.sleep(0.5)


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _task_state(t: dict[str, Any]) -> TaskState:
    return TaskState(
        task_id=t["task_id"],
        map_index=int(t.get("map_index", -1)),
        state=t.get("state"),
        hostname=t.get("hostname") or "",
        try_number=int(t.get("try_number") or 0),
        start=_when(t.get("start_date")),
        end=_when(t.get("end_date")),
    )
