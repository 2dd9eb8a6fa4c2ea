"""A path watcher's backlog survives the ``max_seen`` trim: every new match fires, exactly once.

Found by an adversarial run: matches a scan leaves for the next scans (``max_events_per_scan``) were lost
when the same scan trimmed the seen set to ``max_seen``. The trim raised the horizon to the newest modify time
it dropped, which could be the second of the waiting matches (the ones just fired share it), and a match at or
below the horizon is old: the rest of a late-published batch never fired, and no DAG run started for it.
Objects are made in the emulator's model with the modify times the test needs; the trigger scans them over
real sockets.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from irods_provider.triggers.events import IrodsPathEventTrigger

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from trigger_store import MemoryStore, StopScans

pytestmark = pytest.mark.timeout(120)

HOME = "/tempZone/home/rods"
T0 = 1_700_000_000


async def _scans(trigger: Any, count: int) -> list[list[str]]:
    """The paths fired by the trigger's next ``count`` scans, one list per scan (no sleep is slept)."""
    per_scan: list[list[str]] = [[]]

    async def sleep(_seconds: float) -> None:
        if len(per_scan) == count:
            raise StopScans
        per_scan.append([])

    async def collect() -> None:
        async for event in trigger.run():
            per_scan[-1].append(event.payload["path"])

    trigger._sleep = sleep
    with pytest.raises(StopScans):
        await collect()
    return per_scan


def _land(server: Any, paths: list[str], modified: int) -> None:
    """Objects at ``paths``, every replica modified at ``modified`` (made in the model directly)."""
    with server.model.lock:
        server.model.create_collection("rods", f"{HOME}/inbox", intermediates=True)
        for path in paths:
            for replica in server.model.create_data_object("rods", path).replicas:
                replica.modify_time = modified


@pytest.mark.parametrize("late_seconds", [1, 2], ids=["one-second", "two-seconds"])
async def test_matches_waiting_for_a_later_scan_fire_although_max_seen_trims_the_state(
    irods, late_seconds
) -> None:
    """Five objects seen at T0+100 fill ``max_seen=5``. Then six are published late (renamed into place,
    within the lookback) with older modify times: two fire per scan, and every one of them fires once,
    although each scan's trim drops what it just fired (older than the five kept)."""
    recent = [f"{HOME}/inbox/recent-{i}.dat" for i in range(5)]
    _land(irods, recent, T0 + 100)
    store = MemoryStore()
    trigger = IrodsPathEventTrigger(
        path=f"{HOME}/inbox/*.dat",
        glob=True,
        irods_conn_id="irods_default",
        max_seen=5,
        max_events_per_scan=2,
    )
    trigger.asset_state_store = store
    assert await _scans(trigger, 1) == [[]]  # the baseline: the five recent ones

    late = [f"{HOME}/inbox/late-{i}.dat" for i in range(6)]
    for i, path in enumerate(late):  # ``late_seconds`` distinct modify-time seconds, oldest first by name
        _land(irods, [path], T0 + 50 + i * late_seconds // 6)
    again = IrodsPathEventTrigger(**trigger.serialize()[1])
    again.asset_state_store = store
    per_scan = await _scans(again, 5)
    assert [len(paths) for paths in per_scan] == [2, 2, 2, 0, 0]
    assert sorted(p for paths in per_scan for p in paths) == late  # each once
    state = json.loads(store.rows[trigger.state_key])
    assert len(state["seen"]) <= 5 + 1  # bounded again once the backlog drained (one second's ties)
