"""Asset-watcher triggers on a big zone: events per scan capped, the path trigger's seen set bounded.

Objects are made in the emulator's model directly (10k+ in a second), with the modify times the test needs;
the triggers scan them over real sockets. The state store is a JSON round-tripping stand-in with the
accessor's ``aget``/``aset``, as in ``test_irods_event_triggers.py``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from irods_provider.exceptions import IrodsUsageError
from irods_provider.triggers.events import IrodsMetadataEventTrigger, IrodsPathEventTrigger

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from trigger_store import MemoryStore, StopScans

pytestmark = pytest.mark.timeout(180)

HOME = "/tempZone/home/rods"
T0 = 1_700_000_000


async def _scans(trigger: Any, count: int) -> list[list[dict[str, Any]]]:
    """The events of the trigger's next ``count`` scans, one list per scan (no sleep is slept)."""
    per_scan: list[list[dict[str, Any]]] = [[]]

    async def sleep(_seconds: float) -> None:
        if len(per_scan) == count:
            raise StopScans
        per_scan.append([])

    async def collect() -> None:
        async for event in trigger.run():
            per_scan[-1].append(event.payload)

    trigger._sleep = sleep
    with pytest.raises(StopScans):
        await collect()
    return per_scan


def _populate(server: Any, root: str, times: list[int], *, avu: bool = False) -> list[str]:
    """One object per entry of ``times`` (its modify time), ``o00000.dat``... in the model directly."""
    model = server.model
    paths = [f"{root}/o{i:05d}.dat" for i in range(len(times))]
    with model.lock:
        model.create_collection("rods", root, intermediates=True)
        for path, modified in zip(paths, times, strict=True):
            obj = model.create_data_object("rods", path)
            for replica in obj.replicas:
                replica.modify_time = modified
    for path in paths if avu else []:
        add = [{"operation": "add", "attribute": "qc", "value": "passed"}]
        model.modify_metadata("rods", path, kind="data_object", operations=add)
    return paths


@pytest.fixture
def big_pages(irods) -> Any:
    """GenQuery pages of 1,000 rows (a server's max_number_of_rows_per_catalog_query raised), for speed."""
    irods.set_limits(max_rows=1000)
    return irods


@pytest.mark.slow
async def test_fire_on_existing_drains_a_backlog_at_max_events_per_scan_oldest_first(big_pages) -> None:
    # 10,200 existing objects, modified one second apart in the reverse of their name order
    times = [T0 + 10_200 - i for i in range(10_200)]
    paths = _populate(big_pages, f"{HOME}/backlog", times)
    store = MemoryStore()
    trigger = IrodsPathEventTrigger(
        path=f"{HOME}/backlog/*.dat", glob=True, irods_conn_id="irods_default", fire_on_existing=True
    )
    trigger.asset_state_store = store
    per_scan = await _scans(trigger, 12)
    assert [len(events) for events in per_scan] == [1000] * 10 + [200, 0]  # the default cap is 1,000
    fired = [e["path"] for events in per_scan for e in events]
    assert fired == paths[::-1]  # each once, oldest modify time first
    assert per_scan[0][0] == {
        "event": "irods.path",
        "irods_conn_id": "irods_default",
        "path": paths[-1],
        "kind": "data_object",
        "size": 0,
        "modified_at": "2023-11-14T22:13:21+00:00",
        "modified_at_epoch": T0 + 1,
    }
    # default lookback of an hour: only the last 3,600 seconds of modify times are kept
    state = json.loads(store.rows[trigger.state_key])
    assert state["horizon"] == T0 + 10_200 - 3600
    assert len(state["seen"]) == 3600


async def test_without_fire_on_existing_the_first_scan_is_a_silent_baseline(big_pages, caplog) -> None:
    _populate(big_pages, f"{HOME}/quiet", [T0 + i for i in range(10_200)])
    trigger = IrodsPathEventTrigger(path=f"{HOME}/quiet/*.dat", glob=True, irods_conn_id="irods_default")
    assert await _scans(trigger, 2) == [[], []]
    assert "first scan, 10200 existing matches taken as the baseline" in caplog.text


@pytest.mark.slow
async def test_a_busy_lookback_window_keeps_at_most_max_seen_paths(big_pages, session) -> None:
    # 12,000 objects landed within one hour, 12 per modify-time second (the newest at T0 + 999)
    times = [T0 + i // 12 for i in range(12_000)]
    paths = _populate(big_pages, f"{HOME}/busy", times)
    store = MemoryStore()
    trigger = IrodsPathEventTrigger(path=f"{HOME}/busy/*.dat", glob=True, irods_conn_id="irods_default")
    trigger.asset_state_store = store
    assert await _scans(trigger, 1) == [[]]  # the baseline
    state = json.loads(store.rows[trigger.state_key])
    # the 10,000 newest kept (seconds T0+167 .. T0+999: 833 seconds x 12 = 9,996, and all 12 of T0+166)
    assert len(state["seen"]) == 10_008
    assert state["horizon"] == T0 + 165
    assert min(state["seen"].values()) == T0 + 166
    assert len(store.rows[trigger.state_key]) < 10_008 * 70  # about 60 bytes per path here

    # late publications: above the horizon fires once, at or below it is old (the documented trade-off)
    with big_pages.model.lock:
        for name, modified in (("late-new.dat", T0 + 165 + 1), ("late-old.dat", T0 + 165)):
            obj = big_pages.model.create_data_object("rods", f"{HOME}/busy/{name}")
            obj.replicas[0].modify_time = modified
    again = IrodsPathEventTrigger(**trigger.serialize()[1])
    again.asset_state_store = store
    per_scan = await _scans(again, 2)
    assert [[e["path"] for e in events] for events in per_scan] == [[f"{HOME}/busy/late-new.dat"], []]
    assert paths[0] not in json.loads(store.rows[trigger.state_key])["seen"]


@pytest.mark.slow
async def test_state_of_the_previous_release_is_read_and_trimmed(big_pages) -> None:
    """The previous release wrote the same shape, unbounded: it is read as is and trimmed at the next scan."""
    times = [T0 + i // 12 for i in range(12_000)]
    paths = _populate(big_pages, f"{HOME}/old", times)
    trigger = IrodsPathEventTrigger(path=f"{HOME}/old/*.dat", glob=True, irods_conn_id="irods_default")
    store = MemoryStore()
    old_state = {"horizon": T0 - 1, "seen": dict(zip(paths, times, strict=True))}
    store.rows[trigger.state_key] = json.dumps(old_state)
    trigger.asset_state_store = store
    assert await _scans(trigger, 2) == [[], []]  # nothing repeated
    state = json.loads(store.rows[trigger.state_key])
    assert (len(state["seen"]), state["horizon"]) == (10_008, T0 + 165)


async def test_metadata_trigger_caps_events_per_scan_and_keeps_the_rest_new(irods) -> None:
    paths = _populate(irods, f"{HOME}/tagged", [T0] * 1203, avu=True)
    store = MemoryStore()
    trigger = IrodsMetadataEventTrigger(
        attribute="qc",
        value="passed",
        under=f"{HOME}/tagged",
        irods_conn_id="irods_default",
        fire_on_existing=True,
        max_events_per_scan=500,
    )
    trigger.asset_state_store = store
    per_scan = await _scans(trigger, 2)
    assert [len(events) for events in per_scan] == [500, 500]
    assert [e["path"] for events in per_scan for e in events] == paths[:1000]  # by path
    assert json.loads(store.rows[trigger.state_key]) == {"seen": paths[:1000]}
    # a restarted triggerer goes on where the backlog was
    again = IrodsMetadataEventTrigger(**trigger.serialize()[1])
    again.asset_state_store = store
    per_scan = await _scans(again, 2)
    assert [[e["path"] for e in events] for events in per_scan] == [paths[1000:], []]


def test_the_bounds_are_serialized_checked_and_leave_the_state_key_alone() -> None:
    base = IrodsPathEventTrigger(path=f"{HOME}/in/*.csv", glob=True, irods_conn_id="irods_default")
    tuned = IrodsPathEventTrigger(
        path=f"{HOME}/in/*.csv", glob=True, irods_conn_id="c", max_events_per_scan=None, max_seen=50_000
    )
    assert base.serialize()[1]["max_events_per_scan"] == 1000
    assert base.serialize()[1]["max_seen"] == 10_000
    assert IrodsPathEventTrigger(**tuned.serialize()[1]).serialize() == tuned.serialize()
    retuned = IrodsPathEventTrigger(
        path=f"{HOME}/in/*.csv", glob=True, irods_conn_id="irods_default", max_seen=5
    )
    assert retuned.state_key == base.state_key  # changing a bound keeps what was seen
    for bad in (0, -1, 1.5, True, "10"):
        with pytest.raises(IrodsUsageError, match="max_events_per_scan must be a positive integer"):
            IrodsPathEventTrigger(path=f"{HOME}/x", irods_conn_id="c", max_events_per_scan=bad)
        with pytest.raises(IrodsUsageError, match="max_seen must be a positive integer"):
            IrodsPathEventTrigger(path=f"{HOME}/x", irods_conn_id="c", max_seen=bad)
    with pytest.raises(IrodsUsageError, match="max_events_per_scan"):
        IrodsMetadataEventTrigger(attribute="a", irods_conn_id="c", max_events_per_scan=0)
