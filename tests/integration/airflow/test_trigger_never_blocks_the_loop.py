"""A trigger never blocks the triggerer's event loop: with every emulator answer delayed, path, metadata and
stable triggers log in, poll and fire without one blocking request or sleep on the loop's thread.

Airflow's own watchdog ("async thread was blocked") cannot tell a blocking trigger from a loaded machine, and
neither can a lag probe (a gen-2 garbage collection of a big test process, or a CPU held by the other test
worker, stalls the loop as long as a slow answer would). So the test records where the blocking calls ran: a
synchronous HTTP request or ``time.sleep`` on the loop's thread is the fault, whatever the machine's load.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx2
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


def _spy_on_blocking_calls(monkeypatch: pytest.MonkeyPatch, thread: int) -> list[str]:
    """Record every synchronous HTTP request and ``time.sleep`` made on ``thread`` (the loop's)."""
    seen: list[str] = []
    send, sleep = httpx2.HTTPTransport.handle_request, time.sleep

    def spied_send(self: httpx2.HTTPTransport, request: httpx2.Request) -> httpx2.Response:
        if threading.get_ident() == thread:
            seen.append(f"{request.method} {request.url}")
        return send(self, request)

    def spied_sleep(seconds: float) -> None:
        if threading.get_ident() == thread:
            seen.append(f"time.sleep({seconds})")
        sleep(seconds)

    monkeypatch.setattr(httpx2.HTTPTransport, "handle_request", spied_send)
    monkeypatch.setattr(time, "sleep", spied_sleep)
    return seen


def test_triggers_wait_on_a_slow_server_without_blocking_the_loop(irods, session, monkeypatch) -> None:
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

    blocking = _spy_on_blocking_calls(monkeypatch, threading.get_ident())  # asyncio.run loops on this thread
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
    # ...none of them on the loop's thread, which kept waking all along.
    assert blocking == []
    assert len(lags) > 20
