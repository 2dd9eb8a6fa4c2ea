"""A deferred sensor's exponential backoff and the poll floor, against Airflow's own BaseSensorOperator."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from airflow.sdk import BaseSensorOperator

from irods_provider.triggers._schedule import MIN_INTERVAL, BackoffSchedule, PollSchedule
from irods_provider.triggers.irods import IrodsMetadataTrigger, IrodsPathTrigger


class _Sensor(BaseSensorOperator):
    def poke(self, context: object) -> bool:
        return False


def _airflow_wait(poke_interval: float, poke_count: int, max_wait: float | None) -> float:
    """What Airflow's poke mode waits after poke ``poke_count`` with ``exponential_backoff=True``."""
    sensor = _Sensor(
        task_id=f"s{poke_count}",
        poke_interval=poke_interval,
        exponential_backoff=True,
        max_wait=max_wait,
        timeout=10**9,
    )
    return float(sensor._get_next_poke_interval(1000.0, lambda: 0.0, poke_count))


@pytest.mark.parametrize(("poke_interval", "max_wait"), [(60.0, None), (5.0, None), (2.5, 300.0), (1.0, 7.0)])
def test_each_wait_is_in_the_range_airflow_draws_it_from(
    poke_interval: float, max_wait: float | None
) -> None:
    # Airflow waits b + jitter, jitter in [0, b) from a hash: our jitter 0 and "1" bound its value exactly.
    low = BackoffSchedule(poke_interval, 0.0, 0.0, max_wait)
    high = BackoffSchedule(poke_interval, 1.0, 0.0, max_wait)
    for n in range(1, 16):
        airflow = _airflow_wait(poke_interval, n, max_wait)
        assert low.step(n) <= airflow, n
        assert airflow < high.step(n) or airflow == high.step(n) == max_wait, n


def test_steps_double_from_half_the_interval_and_stop_at_max_wait() -> None:
    schedule = BackoffSchedule(interval=10.0, fraction=0.5, started_at=0.0, max_wait=100.0)
    # b = 5, 10, 20, 40, 80 (times 1.5), then capped at max_wait.
    assert [schedule.step(n) for n in range(1, 8)] == [7.5, 15.0, 30.0, 60.0, 100.0, 100.0, 100.0]
    assert BackoffSchedule.for_trigger(10.0, 3, started_at=0.0, max_wait=0).max_wait is None  # 0: no cap


def test_the_checks_are_on_the_slots_counted_from_the_first_poke() -> None:
    schedule = BackoffSchedule(interval=10.0, fraction=0.5, started_at=1000.0, max_wait=100.0)
    slots = list(itertools.accumulate([schedule.step(n) for n in range(1, 9)], initial=1000.0))[1:]
    assert slots == [1007.5, 1022.5, 1052.5, 1112.5, 1212.5, 1312.5, 1412.5, 1512.5]
    # In a triggerer right after the sensor's poke: wait for the first slot (the wait after poke 1).
    assert schedule.first_wait(1000.2) == pytest.approx(7.3)
    # On time: each check waits for the next slot, growing as the backoff grows.
    now, waits = 1007.5, []
    for _ in range(6):
        wait = schedule.wait_after(started=now, now=now + 0.2)
        waits.append(round(wait + 0.2, 6))
        now += 0.2 + wait
    assert waits == [15.0, 30.0, 60.0, 100.0, 100.0, 100.0]


def test_a_restarted_triggerer_resumes_the_backoff_instead_of_starting_over() -> None:
    schedule = BackoffSchedule(interval=10.0, fraction=0.5, started_at=1000.0, max_wait=None)
    # Rebuilt two hours into the wait: the next slot is a long backoff step away, not 7.5 s.
    now = 1000.0 + 7200.0
    wait = schedule.first_wait(now)
    slot, step = schedule.slot_at_or_after(now)
    assert (slot, step) == (1000.0 + 7.5 * (2**10 - 1), 3840.0)
    assert wait == pytest.approx(slot - now)


def test_an_overrun_goes_to_the_next_slot_ahead_without_a_burst() -> None:
    schedule = BackoffSchedule(interval=10.0, fraction=0.5, started_at=1000.0, max_wait=100.0)
    # The check of slot 1052.5 ended at 1250: slots 1112.5 and 1212.5 are skipped; next is 1312.5.
    assert 1250.0 + schedule.wait_after(started=1052.5, now=1250.0) == pytest.approx(1312.5)
    # A clock stepped back an hour mid-check: at most 1.5 steps.
    assert schedule.wait_after(started=1052.5, now=1052.6 - 3600.0) == pytest.approx(90.0)


@pytest.mark.parametrize("poke_interval", [0.0, 0.01, 0.5])
def test_no_trigger_checks_more_often_than_the_floor(poke_interval: float) -> None:
    grid = PollSchedule.for_trigger(poke_interval, 5)
    assert grid.interval == MIN_INTERVAL == 1.0
    for now in (12.0, 12.3, 99.99):
        assert MIN_INTERVAL / 2 <= grid.wait_after(now, now) <= 1.5 * MIN_INTERVAL
    backoff = BackoffSchedule.for_trigger(poke_interval, 5, started_at=0.0, max_wait=0.2)
    assert all(backoff.step(n) == MIN_INTERVAL for n in range(1, 10))
    assert backoff.wait_after(40.0, 40.0) >= MIN_INTERVAL / 2


def test_backoff_kwargs_round_trip_and_old_kwargs_still_deserialize() -> None:
    trigger = IrodsPathTrigger(
        path="/z/home/a/*.csv",
        glob=True,
        irods_conn_id="c",
        poke_interval=30,
        exponential_backoff=True,
        max_wait=timedelta(minutes=10).total_seconds(),
        started_at=1796418582.5,
        max_matches=20,
    )
    classpath, kwargs = trigger.serialize()
    assert (kwargs["exponential_backoff"], kwargs["max_wait"], kwargs["started_at"]) == (
        True,
        600.0,
        1796418582.5,
    )
    assert IrodsPathTrigger(**kwargs).serialize() == (classpath, kwargs)
    trigger.trigger_id = 9  # as Airflow's trigger runner sets it
    assert trigger._schedule() == BackoffSchedule.for_trigger(30, 9, started_at=1796418582.5, max_wait=600.0)
    # A trigger built without started_at counts from its construction, and keeps that across serialization.
    unstarted = IrodsMetadataTrigger(attribute="a", path="/z/p", irods_conn_id="c", exponential_backoff=True)
    assert isinstance(unstarted.started_at, float)
    assert IrodsMetadataTrigger(**unstarted.serialize()[1]).started_at == unstarted.started_at
    # Kwargs a release before backoff and max_matches stored in the metadata DB: same fixed-interval trigger.
    old = IrodsPathTrigger(
        path="/z/p", irods_conn_id="c", kind="any", newer_than=None, glob=False, poke_interval=60.0
    )
    assert (old.exponential_backoff, old.max_wait, old.started_at, old.max_matches) == (
        False,
        None,
        None,
        1000,
    )
    assert isinstance(old._schedule(), PollSchedule)
