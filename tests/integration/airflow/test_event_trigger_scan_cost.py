"""A path watcher's scan over a big collection costs GenQuery pages for what is above its horizon only.

20,000 objects are made in the emulator's model directly; GenQuery pages hold 15 rows (the server default,
``max_number_of_rows_per_catalog_query``); the triggers scan over real sockets and every ``/query`` request
is counted at the transport. The stored state is the shape earlier releases wrote (``horizon`` and ``seen``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from irods_provider.triggers.events import IrodsPathEventTrigger

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from query_counter import count_query_requests
from trigger_store import MemoryStore, StopScans

pytestmark = pytest.mark.timeout(300)

ROOT = "/tempZone/home/rods/big"
T0 = 1_700_000_000
#: 19,990 objects a second apart, then the 10 newest a day later: the lookback window holds those 10.
OLD = [T0 + i for i in range(19_990)] + [T0 + 100_000 + i for i in range(10)]


async def _scan_once(trigger: Any) -> list[str]:
    """The paths one scan of ``trigger`` fires (no sleep is slept)."""
    fired: list[str] = []

    async def sleep(_seconds: float) -> None:
        raise StopScans

    async def collect() -> None:
        async for event in trigger.run():
            fired.append(event.payload["path"])

    trigger._sleep = sleep
    with pytest.raises(StopScans):
        await collect()
    return fired


def _add(server: Any, times: dict[str, int]) -> None:
    """Objects ``name -> modify time`` under ROOT, made in the model (as a publish by rename leaves them)."""
    with server.model.lock:
        server.model.create_collection("rods", ROOT, intermediates=True)
        for name, modified in times.items():
            obj = server.model.create_data_object("rods", f"{ROOT}/{name}")
            for replica in obj.replicas:
                replica.modify_time = modified


def _watcher(store: MemoryStore) -> IrodsPathEventTrigger:
    trigger = IrodsPathEventTrigger(path=f"{ROOT}/*.dat", glob=True, irods_conn_id="irods_default")
    trigger.asset_state_store = store
    return trigger


async def test_a_scan_costs_pages_for_what_landed_not_for_the_collection(irods, monkeypatch) -> None:
    _add(irods, {f"o{i:05d}.dat": t for i, t in enumerate(OLD)})
    store = MemoryStore()
    newest = OLD[-1]
    # the state a baseline scan leaves: the last hour (default lookback) of modify times is tracked
    key = _watcher(store).state_key
    window = {f"{ROOT}/o{i:05d}.dat": t for i, t in enumerate(OLD) if t > newest - 3600}
    store.rows[key] = json.dumps({"horizon": newest - 3600, "seen": window})
    assert len(window) == 10

    requests = count_query_requests(monkeypatch)
    assert await _scan_once(_watcher(store)) == []  # nothing new: 10 rows above the horizon, one page
    assert requests["execute_genquery"] <= 2

    new = {f"n{i:02d}.dat": newest + 100 + i for i in range(30)}
    _add(irods, new)
    requests.clear()
    assert await _scan_once(_watcher(store)) == [f"{ROOT}/{name}" for name in new]  # oldest first
    assert requests["execute_genquery"] <= 4  # 40 rows above the horizon: 3 pages of 15 (not 1,336)

    # published late, each keeping an older modify time: inside the lookback it fires, below the horizon
    # (newest fired - lookback) it is old, exactly as when every object was listed
    horizon = json.loads(store.rows[key])["horizon"]
    assert horizon == newest + 129 - 3600
    _add(irods, {"late.dat": horizon + 1, "too-late.dat": horizon})
    requests.clear()
    assert await _scan_once(_watcher(store)) == [f"{ROOT}/late.dat"]
    assert requests["execute_genquery"] <= 3  # the 31 rows above the horizon
    requests.clear()
    assert await _scan_once(_watcher(store)) == []  # each fires once
    assert requests["execute_genquery"] <= 3
