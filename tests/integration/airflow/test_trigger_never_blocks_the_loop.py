"""A trigger never blocks the triggerer's event loop: with every emulator answer delayed, the loop still wakes
on time while path, metadata and stable triggers log in, poll and fire.

Airflow's own watchdog ("async thread was blocked") cannot tell a blocking trigger from a loaded machine; a
server that takes 0.4 s per answer can: one blocking request would hold the loop at least that long.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from irods_provider.client import AVU
from irods_provider.triggers.irods import (
    IrodsCollectionStableTrigger,
    IrodsMetadataTrigger,
    IrodsPathTrigger,
)

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"
LATENCY = 0.4


async def _first_event(trigger: Any) -> dict[str, Any]:
    async for event in trigger.run():
        return dict(event.payload)
    raise AssertionError("the trigger ended without an event")


async def _probe(lags: list[float], stop: asyncio.Event, period: float = 0.02) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        start = loop.time()
        await asyncio.sleep(period)
        lags.append(loop.time() - start - period)


def test_triggers_wait_on_a_slow_server_without_blocking_the_loop(irods, session) -> None:
    session.collections.create(f"{HOME}/slow")
    session.data_objects.write(f"{HOME}/slow/a.bin", b"abc")
    session.metadata.add(f"{HOME}/slow/a.bin", AVU("stage", "done"))
    irods.set_faults(latency_seconds=LATENCY)
    conn = {"irods_conn_id": "irods_default", "poke_interval": 0.05}
    triggers = [
        IrodsPathTrigger(path=f"{HOME}/slow/a.bin", **conn),
        IrodsMetadataTrigger(attribute="stage", value="done", path=f"{HOME}/slow/a.bin", **conn),
        IrodsCollectionStableTrigger(path=f"{HOME}/slow", inactivity_period=1.0, **conn),
    ]

    async def main() -> tuple[list[dict[str, Any]], list[float]]:
        lags: list[float] = []
        stop = asyncio.Event()
        probe = asyncio.ensure_future(_probe(lags, stop))
        try:
            events = await asyncio.gather(*(_first_event(t) for t in triggers))
        finally:
            stop.set()
            await probe
        return list(events), lags

    started = time.monotonic()
    try:
        events, lags = asyncio.run(main())
    finally:
        irods.set_faults(latency_seconds=0.0)
    assert [e["status"] for e in events] == ["success", "success", "success"], events
    assert events[0]["matches"][0]["path"] == f"{HOME}/slow/a.bin"
    assert events[2]["state"]["objects"] == 1
    # Several slow answers were awaited (login, stat, queries, the stable window)...
    assert time.monotonic() - started > 1.0 + 2 * LATENCY
    # ...and the loop never stalled for as long as one of them.
    assert len(lags) > 20
    assert max(lags) < LATENCY / 2, f"the event loop stalled {max(lags):.3f} s"
