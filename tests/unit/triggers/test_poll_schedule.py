"""A polling trigger's schedule: stable offsets spreading N triggers evenly, a grid that survives overruns."""

from __future__ import annotations

import itertools
import math

import pytest

from irods_provider.triggers._schedule import PollSchedule


def _circular_gaps(offsets: list[float], interval: float) -> list[float]:
    ordered = sorted(offsets)
    return [b - a for a, b in itertools.pairwise(ordered)] + [interval - ordered[-1] + ordered[0]]


@pytest.mark.parametrize("n", [12, 1000])
def test_triggers_created_together_spread_evenly_over_the_interval(n: int) -> None:
    interval = 10.0
    offsets = [PollSchedule.for_trigger(interval, trigger_id).offset for trigger_id in range(1, n + 1)]
    assert all(0.0 <= o < interval for o in offsets)
    gaps = _circular_gaps(offsets, interval)
    # Even: no gap near twice the ideal (interval / n), none collapsed (the same instant for two triggers).
    assert max(gaps) < 2.0 * interval / n
    assert min(gaps) > 0.4 * interval / n


def test_the_offset_is_stable_for_a_trigger_id() -> None:
    # The same trigger (database id) keeps its slot when a restarted triggerer rebuilds it.
    assert PollSchedule.for_trigger(10.0, 7) == PollSchedule.for_trigger(10.0, 7)
    assert PollSchedule.for_trigger(10.0, 7).offset != PollSchedule.for_trigger(10.0, 8).offset


def test_triggers_without_an_id_draw_distinct_offsets() -> None:
    offsets = {PollSchedule.for_trigger(10.0, None).offset for _ in range(50)}
    assert len(offsets) == 50


def _on_grid(schedule: PollSchedule, when: float) -> bool:
    k = (when - schedule.offset) / schedule.interval
    return math.isclose(k, round(k), abs_tol=1e-9)


def test_first_wait_reaches_the_own_slot_within_one_interval() -> None:
    schedule = PollSchedule(interval=10.0, offset=3.0)
    assert schedule.first_wait(1000.5) == pytest.approx(2.5)  # slot 1003
    assert schedule.first_wait(1003.0) == pytest.approx(0.0)  # on the slot: check now
    assert schedule.first_wait(1003.5) == pytest.approx(9.5)  # just missed: the next one
    for now in (0.0, 17.25, 123456.789):
        wait = schedule.first_wait(now)
        assert 0.0 <= wait < 10.0
        assert _on_grid(schedule, now + wait)


def test_a_check_on_time_waits_exactly_one_interval_from_its_slot() -> None:
    schedule = PollSchedule(interval=10.0, offset=3.0)
    # Checked at slot 1003 (woken 40 ms late), done after 0.3 s: the next check is at slot 1013.
    assert schedule.wait_after(started=1003.04, now=1003.34) == pytest.approx(1013.0 - 1003.34)


def test_an_overrunning_check_returns_to_its_own_grid_without_a_catch_up_burst() -> None:
    schedule = PollSchedule(interval=10.0, offset=3.0)
    # A stall: the check of slot 1003 ended at 1027.5; slots 1013 and 1023 are skipped, not run at once.
    wait = schedule.wait_after(started=1003.0, now=1027.5)
    assert 1027.5 + wait == pytest.approx(1033.0)
    assert _on_grid(schedule, 1027.5 + wait)


def test_a_check_outside_a_triggerer_is_not_repeated_within_half_an_interval() -> None:
    schedule = PollSchedule(interval=10.0, offset=3.0)
    # An immediate first check at 1002.9, just before the slot 1003: the next is 1013, not 0.1 s later.
    assert 1002.95 + schedule.wait_after(started=1002.9, now=1002.95) == pytest.approx(1013.0)


def test_a_zero_interval_is_raised_to_the_one_second_floor() -> None:
    # poke_interval=0 used to re-check back to back, a busy loop in the triggerer's event loop.
    schedule = PollSchedule.for_trigger(0.0, 5)
    assert schedule.interval == 1.0
    assert 0.5 <= schedule.wait_after(12.0, 12.0) <= 1.5


def test_a_clock_stepped_back_mid_check_delays_the_next_check_by_at_most_one_and_a_half_intervals() -> None:
    schedule = PollSchedule(interval=10.0, offset=3.0)
    # The check started at 1003; the wall clock then stepped back an hour (NTP): no hour-long wait.
    assert schedule.wait_after(started=1003.0, now=1003.2 - 3600.0) == pytest.approx(15.0)


def test_the_longest_regular_wait_is_below_one_and_a_half_intervals() -> None:
    schedule = PollSchedule(interval=10.0, offset=3.0)
    # An immediate check (outside a triggerer) just after half an interval before a slot: next slot 1013.
    assert schedule.wait_after(started=998.01, now=998.01) == pytest.approx(14.99)
