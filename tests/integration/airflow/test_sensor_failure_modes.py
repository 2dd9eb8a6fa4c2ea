"""never_fail and silent_fail mean the same in poke and deferred mode (as BaseSensorOperator defines them)."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowSkipException, TaskDeferred

from irods_provider.exceptions import IrodsAuthenticationError
from irods_provider.sensors.irods import IrodsCollectionStableSensor, IrodsPathSensor
from irods_provider.triggers._events import CheckEvent

HOME = "/tempZone/home/rods"


@pytest.fixture
def bad_conn(irods, monkeypatch) -> str:
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_BAD", f"irods://rods:Wrong-Pw-1@127.0.0.1:{irods.port}/http")
    return "irods_bad"


@pytest.mark.parametrize("deferrable", [False, True])
def test_never_fail_skips_a_failing_first_poke_in_both_modes(bad_conn, deferrable) -> None:
    sensor = IrodsPathSensor(
        task_id="s", path=HOME, irods_conn_id=bad_conn, never_fail=True, deferrable=deferrable, timeout=60
    )
    with pytest.raises(AirflowSkipException) as skipped:
        sensor.execute({})
    assert isinstance(skipped.value.__cause__, IrodsAuthenticationError)


def test_never_fail_skips_an_error_event_after_deferral(irods) -> None:
    sensor = IrodsPathSensor(task_id="s", path=HOME, never_fail=True, deferrable=True, timeout=60)
    payload = CheckEvent.failure(IrodsAuthenticationError("refused", http_status=401)).to_payload()
    with pytest.raises(AirflowSkipException) as skipped:
        sensor.resume_execution("execute_complete", {"event": payload, "deadline": 2e9}, {})
    causes = [skipped.value.__cause__, getattr(skipped.value.__cause__, "__cause__", None)]
    assert any(isinstance(c, IrodsAuthenticationError) for c in causes)  # Airflow may wrap our skip once


def test_without_never_fail_the_error_event_still_fails_typed(irods) -> None:
    sensor = IrodsPathSensor(task_id="s", path=HOME, deferrable=True, timeout=60)
    payload = CheckEvent.failure(IrodsAuthenticationError("refused", http_status=401)).to_payload()
    with pytest.raises(IrodsAuthenticationError):
        sensor.resume_execution("execute_complete", {"event": payload, "deadline": 2e9}, {})


def test_silent_fail_keeps_waiting_in_deferred_mode_as_in_poke_mode(bad_conn) -> None:
    """silent_fail: poke mode logs a failed poke and pokes again; deferred mode logs it and defers again."""
    sensor = IrodsPathSensor(
        task_id="s", path=HOME, irods_conn_id=bad_conn, silent_fail=True, deferrable=True, timeout=60
    )
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    payload = CheckEvent.failure(IrodsAuthenticationError("refused", http_status=401)).to_payload()
    with pytest.raises(TaskDeferred):
        sensor.resume_execution("execute_complete", {**deferred.value.kwargs, "event": payload}, {})


def test_never_fail_skips_a_missing_collection_deferred_as_in_poke_mode(irods) -> None:
    kwargs = {"task_id": "c", "path": f"{HOME}/misspelled", "inactivity_period": 0, "never_fail": True}
    for deferrable in (False, True):
        with pytest.raises(AirflowSkipException):
            IrodsCollectionStableSensor(**kwargs, deferrable=deferrable).execute({})
