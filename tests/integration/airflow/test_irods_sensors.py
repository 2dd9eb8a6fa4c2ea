"""Sensors (poke and deferred) and their triggers against the emulator: same check, same answer."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from airflow.sdk.exceptions import AirflowSensorTimeout, AirflowSkipException, TaskDeferred

from irods_provider.client import AVU
from irods_provider.exceptions import IrodsAuthenticationError, IrodsConfigurationError, IrodsUsageError
from irods_provider.sensors.irods import IrodsCollectionStableSensor, IrodsMetadataSensor, IrodsPathSensor
from irods_provider.triggers._events import CheckEvent
from irods_provider.triggers.irods import (
    IrodsCollectionStableTrigger,
    IrodsMetadataTrigger,
    IrodsPathTrigger,
)

HOME = "/tempZone/home/rods"


@pytest.fixture
def inbox(session):
    session.collections.create(f"{HOME}/inbox")
    return f"{HOME}/inbox"


def poke(sensor):
    """One poke, closing the sensor's session (execute() does that itself)."""
    try:
        return sensor.poke({})
    finally:
        sensor.hook.close()


async def first_event(trigger):
    """The trigger's first event, or None if it would sleep (its sleep is patched to cancel)."""
    with mock.patch.object(type(trigger), "_sleep", side_effect=asyncio.CancelledError):
        try:
            return await anext(trigger.run())
        except asyncio.CancelledError:
            return None


def test_path_sensor_poke_glob_and_newer_than(inbox, session) -> None:
    sensor = IrodsPathSensor(task_id="s", path=f"{inbox}/*.csv", glob=True)
    assert poke(sensor).is_done is False
    session.data_objects.write(f"{inbox}/a.csv", b"abc")
    session.data_objects.write(f"{inbox}/b.txt", b"x")
    result = poke(sensor)
    assert result.is_done is True
    assert [(m["path"], m["kind"], m["size"]) for m in result.xcom_value] == [
        (f"{inbox}/a.csv", "data_object", 3)
    ]
    mtime = session.data_objects.stat(f"{inbox}/a.csv").modified_at
    assert poke(IrodsPathSensor(task_id="s", path=f"{inbox}/a.csv", newer_than=mtime)).is_done is False
    assert poke(IrodsPathSensor(task_id="s", path=f"{inbox}/a.csv", newer_than=mtime - 1)).is_done is True
    # The ISO time a match carries in XCom goes back into newer_than as is.
    (match,) = result.xcom_value
    assert match["modified_at"] == datetime.fromtimestamp(mtime, UTC).isoformat()
    assert (
        poke(IrodsPathSensor(task_id="s", path=f"{inbox}/a.csv", newer_than=match["modified_at"])).is_done
        is False
    )
    assert poke(IrodsPathSensor(task_id="s", path=inbox, kind="collection")).xcom_value == [
        {
            "path": inbox,
            "kind": "collection",
            "size": None,
            "modified_at": datetime.fromtimestamp(
                session.collections.stat(inbox).modified_at, UTC
            ).isoformat(),
            "modified_at_epoch": session.collections.stat(inbox).modified_at,
        }
    ]
    assert poke(IrodsPathSensor(task_id="s", path=inbox, kind="data_object")).is_done is False


def test_path_sensor_glob_over_collections(inbox, session) -> None:
    session.collections.create(f"{inbox}/run1/out", intermediates=True)
    session.data_objects.write(f"{inbox}/run1/out/done.flag", b"")
    found = poke(IrodsPathSensor(task_id="s", path=f"{inbox}/run*/out/*.flag", glob=True))
    assert [m["path"] for m in found.xcom_value] == [f"{inbox}/run1/out/done.flag"]


def test_path_sensor_defers_then_completes(inbox, session) -> None:
    sensor = IrodsPathSensor(
        task_id="s", path=f"{inbox}/*.csv", glob=True, deferrable=True, poke_interval=7, timeout=60
    )
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    trigger = deferred.value.trigger
    assert deferred.value.method_name == "execute_complete"
    assert isinstance(trigger, IrodsPathTrigger)
    assert trigger.serialize()[1] == {
        "irods_conn_id": "irods_default",
        "poke_interval": 7.0,
        "path": f"{inbox}/*.csv",
        "kind": "any",
        "newer_than": None,
        "glob": True,
        "exponential_backoff": False,
        "max_wait": None,
        "started_at": None,
        "max_matches": 1000,
    }
    assert asyncio.run(first_event(trigger)) is None  # still waiting
    session.data_objects.write(f"{inbox}/late.csv", b"12345")
    event = asyncio.run(first_event(trigger))
    assert event.payload["status"] == "success"
    assert [m["path"] for m in event.payload["matches"]] == [f"{inbox}/late.csv"]
    assert sensor.execute_complete({}, event.payload) == event.payload["matches"]


def test_path_sensor_on_a_literal_path_with_a_plus_waits_then_matches(inbox, session) -> None:
    # stat cannot address a '+' (a GET query string turns it into a space): the check asks the catalog
    path = f"{inbox}/run+1.h5"
    sensor = IrodsPathSensor(task_id="s", path=path, deferrable=True, poke_interval=5, timeout=60)
    assert poke(sensor).is_done is False
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    assert asyncio.run(first_event(deferred.value.trigger)) is None  # the trigger waits alike
    session.data_objects.write(path, b"12345")
    result = poke(IrodsPathSensor(task_id="s", path=path, kind="data_object"))
    assert [(m["path"], m["kind"], m["size"]) for m in result.xcom_value] == [(path, "data_object", 5)]
    event = asyncio.run(first_event(deferred.value.trigger))
    assert [m["path"] for m in event.payload["matches"]] == [path]
    session.collections.create(f"{inbox}/c+d")
    found = poke(IrodsPathSensor(task_id="s", path=f"{inbox}/c+d")).xcom_value
    assert [(m["kind"], m["size"]) for m in found] == [("collection", None)]


def test_deferrable_sensor_returns_at_once_when_already_true(inbox) -> None:
    sensor = IrodsPathSensor(task_id="s", path=inbox, deferrable=True)
    assert [m["path"] for m in sensor.execute({})] == [inbox]


def test_metadata_sensor_on_a_path(inbox, session) -> None:
    sensor = IrodsMetadataSensor(task_id="m", path=inbox, attribute="state", value="ready")
    assert poke(sensor).is_done is False
    session.metadata.add(inbox, AVU("state", "busy"))
    assert poke(sensor).is_done is False
    session.metadata.add(inbox, AVU("state", "ready", "phase"))
    result = poke(sensor)
    assert result.xcom_value == [
        {"path": inbox, "avus": [{"attribute": "state", "value": "ready", "units": "phase"}]}
    ]
    assert (
        poke(IrodsMetadataSensor(task_id="m", path=inbox, attribute="state", units="other")).is_done is False
    )


def test_metadata_sensor_search_and_trigger(inbox, session) -> None:
    session.data_objects.write(f"{inbox}/x.dat", b"1")
    session.collections.create(f"{HOME}/elsewhere")
    session.metadata.add(f"{HOME}/elsewhere", AVU("qc", "passed"))
    sensor = IrodsMetadataSensor(task_id="m", attribute="qc", value="passed", under=inbox, deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    trigger = deferred.value.trigger
    assert isinstance(trigger, IrodsMetadataTrigger)
    assert asyncio.run(first_event(trigger)) is None
    session.metadata.add(f"{inbox}/x.dat", AVU("qc", "passed"))
    event = asyncio.run(first_event(trigger))
    assert event.payload["matches"] == [{"path": f"{inbox}/x.dat", "kind": "data_object"}]
    assert poke(sensor).xcom_value == event.payload["matches"]  # poke and trigger agree
    zone_wide = poke(IrodsMetadataSensor(task_id="m", attribute="qc", kind="collection"))
    assert zone_wide.xcom_value == [{"path": f"{HOME}/elsewhere", "kind": "collection"}]


def test_metadata_sensor_rejects_path_and_under(inbox) -> None:
    with pytest.raises(IrodsUsageError, match=r"either path \(one object\) or under \(a search\), not both"):
        poke(IrodsMetadataSensor(task_id="m", attribute="a", path=inbox, under=inbox))


def test_collection_stable_sensor_poke(inbox, session) -> None:
    sensor = IrodsCollectionStableSensor(task_id="c", path=inbox, inactivity_period=0, min_objects=2)
    session.data_objects.write(f"{inbox}/1", b"aa")
    assert poke(sensor).is_done is False  # first look
    assert poke(sensor).is_done is False  # unchanged but below min_objects
    session.data_objects.write(f"{inbox}/2", b"bbb")
    assert poke(sensor).is_done is False  # changed
    result = poke(sensor)
    assert result.is_done is True
    assert result.xcom_value == [{"path": inbox, "objects": 2, "bytes": 5}]


def test_collection_stable_trigger_keeps_state_across_polls(inbox, session) -> None:
    session.data_objects.write(f"{inbox}/1", b"aa")
    trigger = IrodsCollectionStableTrigger(path=inbox, irods_conn_id="irods_default", inactivity_period=30)
    clock = iter([0.0, 10.0, 40.0, 71.0])
    polls: list[int] = []

    async def sleep(seconds: float) -> None:
        polls.append(len(polls))
        if len(polls) == 2:
            session.data_objects.write(f"{inbox}/2", b"bbb")  # activity resets the inactivity clock

    async def go():
        with (
            mock.patch.object(IrodsCollectionStableTrigger, "_clock", side_effect=lambda: next(clock)),
            mock.patch.object(IrodsCollectionStableTrigger, "_sleep", side_effect=sleep),
        ):
            return await anext(trigger.run())

    event = asyncio.run(go())
    assert len(polls) == 3  # observed at t=0, 10, 40 (changed), 71 (stable for 31 s)
    assert event.payload["status"] == "success"
    assert event.payload["state"] == {"objects": 2, "bytes": 5}


def test_collection_stable_sensor_defers(inbox) -> None:
    sensor = IrodsCollectionStableSensor(task_id="c", path=inbox, inactivity_period=60, deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    assert isinstance(deferred.value.trigger, IrodsCollectionStableTrigger)
    assert deferred.value.trigger.serialize()[1]["inactivity_period"] == 60.0


def test_trigger_error_event_is_typed_and_reraised(irods, monkeypatch) -> None:
    wrong = "Wrong-Pw-8812-zz"
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_BAD", f"irods://rods:{wrong}@127.0.0.1:{irods.port}/http")
    trigger = IrodsPathTrigger(path=HOME, irods_conn_id="irods_bad")
    event = asyncio.run(first_event(trigger))
    payload = event.payload
    assert payload["status"] == "error"
    assert payload["error_class"] == "IrodsAuthenticationError"
    assert payload["http_status"] == 401
    assert wrong not in repr(payload)
    sensor = IrodsPathSensor(task_id="s", path=HOME, irods_conn_id="irods_bad")
    with pytest.raises(IrodsAuthenticationError) as info:
        sensor.execute_complete({}, payload)
    assert info.value.http_status == 401
    with pytest.raises(IrodsAuthenticationError):
        poke(sensor)  # the poke path raises the same class


def test_an_undefined_connection_is_a_typed_error_event(irods, monkeypatch) -> None:
    """The polling trigger reports a failed connection lookup as any session it cannot open: an error event
    with IrodsConfigurationError naming the connection, re-raised by the sensor."""
    monkeypatch.delenv("AIRFLOW_CONN_IRODS_NOWHERE", raising=False)
    event = asyncio.run(first_event(IrodsPathTrigger(path=HOME, irods_conn_id="irods_nowhere")))
    outcome = CheckEvent.from_payload(event.payload)
    assert (outcome.status, outcome.error_class) == ("error", "IrodsConfigurationError")
    assert outcome.message == "the Airflow connection 'irods_nowhere' is not defined"
    sensor = IrodsPathSensor(task_id="s", path=HOME, irods_conn_id="irods_nowhere", deferrable=True)
    with pytest.raises(IrodsConfigurationError, match="'irods_nowhere' is not defined"):
        sensor.execute_complete({}, event.payload)


def _two_or_more(matches: list[dict]) -> bool:
    return len(matches) >= 2


def test_check_fn_decides_in_poke_and_after_the_trigger_alike(inbox, session) -> None:
    session.data_objects.write(f"{inbox}/a.csv", b"1")
    sensor = IrodsPathSensor(task_id="s", path=f"{inbox}/*.csv", glob=True, check_fn=_two_or_more)
    assert poke(sensor).is_done is False  # one match: declined
    deferred_sensor = IrodsPathSensor(
        task_id="d", path=f"{inbox}/*.csv", glob=True, check_fn=_two_or_more, deferrable=True, timeout=60
    )
    with pytest.raises(TaskDeferred) as deferred:
        deferred_sensor.execute({})
    event = asyncio.run(first_event(deferred.value.trigger))  # the trigger fires on the first match
    assert len(event.payload["matches"]) == 1
    with pytest.raises(TaskDeferred):  # check_fn declines it: wait again, as the poke did
        deferred_sensor.execute_complete({}, event.payload)
    session.data_objects.write(f"{inbox}/b.csv", b"2")
    result = poke(sensor)
    assert result.is_done is True
    assert sorted(m["path"] for m in result.xcom_value) == [f"{inbox}/a.csv", f"{inbox}/b.csv"]
    event = asyncio.run(first_event(deferred.value.trigger))
    assert len(deferred_sensor.execute_complete({}, event.payload)) == 2


@pytest.mark.parametrize("soft_fail", [False, True])
def test_a_declined_match_re_defers_for_the_rest_of_the_timeout_only(inbox, session, soft_fail) -> None:
    """Re-deferring after check_fn declined keeps the first deadline; once it is spent the sensor times out
    (AirflowSensorTimeout, or a skip with soft_fail), as poke mode does, instead of waiting for ever."""
    session.data_objects.write(f"{inbox}/a.csv", b"1")
    now = [1_000_000.0]
    sensor = IrodsPathSensor(
        task_id="d",
        path=f"{inbox}/*.csv",
        glob=True,
        check_fn=_two_or_more,
        deferrable=True,
        timeout=600,
        soft_fail=soft_fail,
    )
    with mock.patch.object(sensor, "_wall_clock", side_effect=lambda: now[0]):
        with pytest.raises(TaskDeferred) as deferred:
            sensor.execute({})
        assert deferred.value.timeout == timedelta(seconds=600)
        deadline = deferred.value.kwargs["deadline"]
        assert deadline == 1_000_600.0
        event = asyncio.run(first_event(deferred.value.trigger))
        now[0] += 250
        with pytest.raises(TaskDeferred) as again:
            sensor.resume_execution("execute_complete", {**deferred.value.kwargs, "event": event.payload}, {})
        assert again.value.timeout == timedelta(seconds=350)
        assert again.value.kwargs == {"deadline": deadline}
        now[0] += 350
        spent = AirflowSkipException if soft_fail else AirflowSensorTimeout
        with pytest.raises(spent) as timed_out:
            sensor.resume_execution("execute_complete", {**again.value.kwargs, "event": event.payload}, {})
        reason = timed_out.value.__cause__ if soft_fail else timed_out.value  # Airflow wraps the skip
        assert "timeout of 600.0 s is spent" in str(reason)


def test_stable_sensor_refuses_reschedule_mode() -> None:
    with pytest.raises(IrodsUsageError, match=r"mode='reschedule' forgets.*deferrable=True.*mode='poke'"):
        IrodsCollectionStableSensor(task_id="c", path=f"{HOME}/x", mode="reschedule", deferrable=False)
    IrodsCollectionStableSensor(task_id="c", path=f"{HOME}/x", mode="poke", deferrable=False)


def test_stable_sensor_fails_fast_on_a_missing_collection(irods) -> None:
    from irods_provider.exceptions import IrodsNotACollectionError, IrodsNotFoundError

    sensor = IrodsCollectionStableSensor(
        task_id="c", path=f"{HOME}/misspelled", min_objects=0, inactivity_period=0
    )
    with pytest.raises((IrodsNotFoundError, IrodsNotACollectionError)) as err:
        poke(sensor)
    assert err.value.path == f"{HOME}/misspelled"
