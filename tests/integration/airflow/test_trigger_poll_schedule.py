"""Triggers run by Airflow's own trigger runner check on their own slots of the poke interval.

A triggerer's triggers used to check, then sleep ``poke_interval``: all N started together and checked in the
same instant every interval (1,000 checks at once held the event loop for seconds). Each now waits for its own
offset first and then stays on the grid ``offset + k * poke_interval``; offsets differ between triggers.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import sys
import time
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from irods_provider.triggers._schedule import PollSchedule
from irods_provider.triggers.irods import IrodsMetadataTrigger, IrodsPathTrigger

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from trigger_runner import run_until

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"
N = 8
INTERVAL = 1.0  # the floor: no trigger checks more often
CHECKS = 3
DEADLINE = 30.0


def _workloads() -> list[Any]:
    """What the triggerer hands its runner: encrypted kwargs and the database id of each trigger."""
    from airflow.executors.workloads.trigger import RunTrigger
    from airflow.models.trigger import Trigger

    workloads = []
    for trigger_id in range(101, 101 + N):
        trigger: Any
        if trigger_id % 2:
            trigger = IrodsPathTrigger(
                path=f"{HOME}/never-{trigger_id}.csv", irods_conn_id="irods_default", poke_interval=INTERVAL
            )
        else:
            trigger = IrodsMetadataTrigger(
                attribute="never.set", path=HOME, irods_conn_id="irods_default", poke_interval=INTERVAL
            )
        classpath, kwargs = trigger.serialize()
        encrypted = Trigger.encrypt_kwargs(kwargs)
        workloads.append(RunTrigger(id=trigger_id, classpath=classpath, encrypted_kwargs=encrypted))
    return workloads


def _on_grid(schedule: PollSchedule, when: float) -> bool:
    k = (when - schedule.offset) / schedule.interval
    return math.isclose(k, round(k), abs_tol=0.01)


async def _run_in_trigger_runner(log: list[tuple[str, int, float]]) -> Any:
    """Run the N triggers in Airflow's TriggerRunner until each has checked CHECKS times; the runner."""
    from airflow.jobs.triggerer_job_runner import TriggerRunner

    runner = TriggerRunner()  # type: ignore[no-untyped-call]
    runner.to_create.extend(_workloads())
    await runner.create_triggers()  # type: ignore[no-untyped-call]

    def fewest_checks() -> int:
        return min(sum(1 for kind, tid, _ in log if kind == "check" and tid == i) for i in runner.triggers)

    await run_until(
        runner,
        lambda: fewest_checks() >= CHECKS,
        DEADLINE,
        lambda: f"not every trigger checked {CHECKS} times: {log}",
    )
    return runner


async def test_triggers_in_the_trigger_runner_wait_for_their_own_slots(irods) -> None:
    log: list[tuple[str, int, float]] = []  # (what, trigger id, wall time: of the check / the wait's target)

    def recording_check(real: Any) -> Any:
        def check(self: Any) -> Any:
            log.append(("check", self.trigger_id, time.time()))
            return real(self)

        return check

    async def sleep(self: Any, seconds: float) -> None:
        log.append(("wait", self.trigger_id, time.time() + seconds))
        waits.setdefault(self.trigger_id, seconds)
        await asyncio.sleep(seconds)

    waits: dict[int, float] = {}  # the first wait of each trigger
    with (
        mock.patch.object(IrodsPathTrigger, "_check", recording_check(IrodsPathTrigger._check)),
        mock.patch.object(IrodsMetadataTrigger, "_check", recording_check(IrodsMetadataTrigger._check)),
        mock.patch.object(IrodsPathTrigger, "_sleep", sleep),
        mock.patch.object(IrodsMetadataTrigger, "_sleep", sleep),
    ):
        runner = await _run_in_trigger_runner(log)
    assert len(runner.events) == 0  # nothing was there to find
    offsets = set()
    for trigger_id in range(101, 101 + N):
        schedule = PollSchedule.for_trigger(INTERVAL, trigger_id)
        offsets.add(schedule.offset)
        own = [(kind, when) for kind, tid, when in log if tid == trigger_id]
        # The sensor checked just before deferring: the trigger first waits for its slot, within one interval.
        assert own[0][0] == "wait", own
        assert 0.0 <= waits[trigger_id] < INTERVAL
        targets = [when for kind, when in own if kind == "wait"]
        assert len(targets) >= CHECKS
        assert all(_on_grid(schedule, t) for t in targets), (schedule, targets)
        # Consecutive checks aim at consecutive slots (none skipped on an unloaded loop, none doubled).
        assert all(b > a for a, b in itertools.pairwise(targets))
    assert len(offsets) == N  # each trigger its own slot


async def test_an_asset_watcher_trigger_scans_on_its_own_grid(irods) -> None:
    from irods_provider.triggers.events import IrodsPathEventTrigger

    trigger = IrodsPathEventTrigger(
        path=f"{HOME}/watched/*.csv", irods_conn_id="irods_default", poke_interval=1.0
    )
    trigger.trigger_id = 42  # as Airflow's trigger runner sets it
    targets: list[float] = []

    async def sleep(seconds: float) -> None:
        targets.append(time.time() + seconds)
        if len(targets) == 4:
            raise asyncio.CancelledError
        await asyncio.sleep(seconds)

    trigger._sleep = sleep  # type: ignore[method-assign]
    with pytest.raises(asyncio.CancelledError):
        async for _event in trigger.run():
            pass
    schedule = PollSchedule.for_trigger(1.0, 42)
    assert len(targets) == 4
    assert all(_on_grid(schedule, t) for t in targets), (schedule, targets)
    assert all(b > a for a, b in itertools.pairwise(targets))
