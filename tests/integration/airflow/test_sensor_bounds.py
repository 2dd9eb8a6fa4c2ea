"""Sensors on a big zone: matches bounded by ``max_matches`` in poke and deferred mode alike, deferred waits
that back off as Airflow's sensors do, and a trigger that never polls faster than once a second."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from unittest import mock

import pytest
from airflow.sdk.exceptions import TaskDeferred

from irods_provider.exceptions import IrodsUsageError
from irods_provider.sensors.irods import IrodsCollectionStableSensor, IrodsMetadataSensor, IrodsPathSensor
from irods_provider.triggers._schedule import BackoffSchedule
from irods_provider.triggers.irods import IrodsPathTrigger

pytestmark = pytest.mark.timeout(120)

HOME = "/tempZone/home/rods"
MANY = 1203  # over the default bound of 1,000


def _populate(server: Any, root: str, count: int, *, avu: bool = False) -> list[str]:
    """``count`` objects made in the emulator's model directly (as benchmarks/small_files.py does)."""
    model = server.model
    paths = [f"{root}/o{i:04d}.dat" for i in range(count)]
    with model.lock:
        model.create_collection("rods", root, intermediates=True)
        for path in paths:
            model.create_data_object("rods", path)
    if avu:
        for path in paths:
            add = [{"operation": "add", "attribute": "qc", "value": "passed"}]
            model.modify_metadata("rods", path, kind="data_object", operations=add)
    return paths


def _poke(sensor: Any) -> Any:
    try:
        return sensor.poke({})
    finally:
        sensor.hook.close()


def _defer(sensor: Any) -> Any:
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    return deferred.value


async def _run_to_completion(trigger: Any) -> Any:
    """The trigger's event, its waits (not slept) recorded until it fires."""
    with mock.patch.object(type(trigger), "_sleep", mock.AsyncMock()):
        return await anext(trigger.run())


def test_a_glob_over_the_bound_pushes_the_first_thousand_by_path(irods, capsys) -> None:
    paths = _populate(irods, f"{HOME}/many", MANY)
    result = _poke(IrodsPathSensor(task_id="s", path=f"{HOME}/many/*.dat", glob=True))
    assert result.is_done is True
    assert [m["path"] for m in result.xcom_value] == paths[:1000]
    assert "1203 paths matched; only the first 1000 (by path) are returned" in capsys.readouterr().out
    everything = _poke(IrodsPathSensor(task_id="s", path=f"{HOME}/many/*.dat", glob=True, max_matches=None))
    assert [m["path"] for m in everything.xcom_value] == paths
    under = _poke(IrodsPathSensor(task_id="s", path=f"{HOME}/many/o000*.dat", glob=True, max_matches=10))
    assert [m["path"] for m in under.xcom_value] == paths[:10]  # exactly at the bound: nothing left out


def test_a_deferred_glob_over_the_bound_carries_the_same_first_matches(irods, session, capsys) -> None:
    sensor = IrodsPathSensor(
        task_id="s", path=f"{HOME}/late/**", glob=True, kind="data_object", deferrable=True, max_matches=25
    )
    session.collections.create(f"{HOME}/late")
    deferred = _defer(sensor)
    assert deferred.trigger.serialize()[1]["max_matches"] == 25
    paths = _populate(irods, f"{HOME}/late/sub", 140)
    event = asyncio.run(_run_to_completion(deferred.trigger))
    assert event.payload["total"] == 140
    assert [m["path"] for m in event.payload["matches"]] == paths[:25]
    assert len(json.dumps(event.payload)) < 25 * 300  # the trigger row stays small
    assert sensor.execute_complete({}, event.payload, **deferred.kwargs) == event.payload["matches"]
    logged = capsys.readouterr().out  # the task SDK's and the trigger's structlog output
    assert logged.count("140 paths matched; only the first 25 (by path)") == 2  # triggerer and worker
    assert [m["path"] for m in _poke(sensor).xcom_value] == paths[:25]  # poke says the same


def test_a_metadata_search_is_bounded_alike_in_both_modes(irods) -> None:
    paths = _populate(irods, f"{HOME}/tagged", 60, avu=True)
    sensor = IrodsMetadataSensor(task_id="m", attribute="qc", value="passed", under=HOME, max_matches=7)
    assert _poke(sensor).xcom_value == [{"path": p, "kind": "data_object"} for p in paths[:7]]
    trigger = IrodsMetadataSensor(
        task_id="m", attribute="qc", value="absent", under=HOME, max_matches=7, deferrable=True
    )
    deferred = _defer(trigger)
    deferred.trigger.value = "passed"  # what lands while it waits
    event = asyncio.run(_run_to_completion(deferred.trigger))
    assert (event.payload["total"], event.payload["matches"]) == (60, _poke(sensor).xcom_value)


@pytest.mark.parametrize("max_matches", [0, -1, 2.5, True, "10"])
def test_max_matches_must_be_a_positive_integer_or_none(max_matches: Any) -> None:
    with pytest.raises(IrodsUsageError, match="max_matches must be an integer >= 1 or None"):
        IrodsPathSensor(task_id="s", path="/tempZone/x", max_matches=max_matches)


async def _waits(trigger: Any, count: int, start: float) -> list[float]:
    """The first ``count`` waits the trigger asks for, on a wall clock starting at ``start`` that each wait
    (recorded, not slept) moves on, and each check by 0.2 s; then cancelled."""
    waits: list[float] = []
    clock = [start]

    async def sleep(self: Any, seconds: float) -> None:
        waits.append(seconds)
        clock[0] += seconds
        if len(waits) == count:
            raise asyncio.CancelledError

    def grid_clock() -> float:
        clock[0] += 0.1  # read at a check's start and end
        return clock[0]

    with (
        mock.patch.object(type(trigger), "_sleep", sleep),
        mock.patch("irods_provider.triggers.irods.grid_clock", grid_clock),
        pytest.raises(asyncio.CancelledError),
    ):
        await anext(trigger.run())
    return waits


def test_a_deferred_sensor_with_exponential_backoff_backs_off_in_the_trigger(irods) -> None:
    sensor = IrodsPathSensor(
        task_id="s",
        path=f"{HOME}/never.flag",
        deferrable=True,
        poke_interval=10,
        exponential_backoff=True,
        max_wait=100,
        timeout=86400,
    )
    deferred = _defer(sensor)
    trigger = deferred.trigger
    kwargs = trigger.serialize()[1]
    started = deferred.kwargs["deadline"] - 86400
    assert (kwargs["exponential_backoff"], kwargs["max_wait"], kwargs["started_at"]) == (True, 100.0, started)
    rebuilt = IrodsPathTrigger(**kwargs)  # as the triggerer rebuilds it from the metadata DB
    rebuilt.trigger_id = 17
    schedule = BackoffSchedule.for_trigger(10, 17, started_at=started, max_wait=100)
    waits = asyncio.run(_waits(rebuilt, 7, started))
    # Each wait reaches the next slot of the backoff counted from the sensor's own poke (the first: 5-10 s).
    steps = [schedule.step(n) for n in range(1, 8)]
    assert waits == pytest.approx(steps, abs=0.3)
    assert steps[:5] == pytest.approx([steps[0] * 2**k for k in range(4)] + [100.0])
    assert steps[5:] == [100.0, 100.0]  # max_wait caps it


def test_a_stable_sensor_passes_its_backoff_too(irods, session) -> None:
    session.collections.create(f"{HOME}/quiet")
    sensor = IrodsCollectionStableSensor(
        task_id="c", path=f"{HOME}/quiet", deferrable=True, exponential_backoff=True, max_wait=600
    )
    kwargs = _defer(sensor).trigger.serialize()[1]
    assert (kwargs["exponential_backoff"], kwargs["max_wait"]) == (True, 600.0)


def test_a_zero_poke_interval_does_not_tight_poll_the_triggerer(irods, capsys) -> None:
    sensor = IrodsPathSensor(task_id="s", path=f"{HOME}/never.flag", deferrable=True, poke_interval=0)
    trigger = _defer(sensor).trigger
    assert "a trigger checks at most once every 1.0 s" in capsys.readouterr().out
    waits = asyncio.run(_waits(trigger, 5, 1796418582.0))
    # The first check runs at once (no trigger id): then it keeps to its 1 s grid; each check takes 0.2 s.
    assert 0.3 <= waits[0] <= 1.5
    assert waits[1:] == pytest.approx([0.8] * 4)
