"""A GenQuery reply without ``rows`` (a proxy's ``{}``, or the envelope alone) is no answer, not "nothing
matches": read as an empty result it emptied IrodsMetadataEventTrigger's seen set (the objects carrying the
AVU now), so the next real scan fired every tagged object again and started a DAG run for each a second time.

Every release's query reply carries ``rows``, a JSON array even when empty (``json::array_t rows``):
irods_client_http_api endpoints/query/src/main.cpp:133,250 (GenQuery1) and :164 (GenQuery2) at 0.7.0,
:249 and :163 at 0.4.0.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import httpx2
import pytest

from irods_provider.client import AVU
from irods_provider.exceptions import IrodsProtocolError
from irods_provider.sensors.irods import IrodsMetadataSensor
from irods_provider.triggers.events import IrodsMetadataEventTrigger

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"
ROWLESS = b'{"irods_response": {"status_code": 0}}'


class RowlessQueries:
    """While ``on``, every ``/query`` reply the emulator sends arrives as the envelope alone (the request
    reaches the server over a real socket; only what comes back is replaced, as a misbehaving proxy would)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.on = False
        self.replaced = 0
        real_sync, real_async = (
            httpx2.HTTPTransport.handle_request,
            httpx2.AsyncHTTPTransport.handle_async_request,
        )

        def swap(request: httpx2.Request, response: httpx2.Response) -> httpx2.Response:
            if not (self.on and request.url.path.endswith("/query")):
                return response
            self.replaced += 1
            headers = {"Content-Type": "application/json", "Content-Length": str(len(ROWLESS))}
            return httpx2.Response(200, headers=headers, content=ROWLESS, request=request)

        def handle(transport: httpx2.HTTPTransport, request: httpx2.Request) -> httpx2.Response:
            response = real_sync(transport, request)
            if self.on and request.url.path.endswith("/query"):
                response.read()
                response.close()
            return swap(request, response)

        async def ahandle(transport: httpx2.AsyncHTTPTransport, request: httpx2.Request) -> httpx2.Response:
            response = await real_async(transport, request)
            if self.on and request.url.path.endswith("/query"):
                await response.aread()
                await response.aclose()
            return swap(request, response)

        monkeypatch.setattr(httpx2.HTTPTransport, "handle_request", handle)
        monkeypatch.setattr(httpx2.AsyncHTTPTransport, "handle_async_request", ahandle)


@pytest.fixture
def tagged(session) -> str:
    inbox = f"{HOME}/inbox"
    session.collections.create(inbox)
    for name in ("r1.dat", "r2.dat"):
        session.data_objects.write(f"{inbox}/{name}", b"1")
        session.metadata.add(f"{inbox}/{name}", AVU("qc", "passed"))
    return inbox


async def test_a_rowless_scan_does_not_make_tagged_objects_fire_again(tagged, monkeypatch) -> None:
    rowless = RowlessQueries(monkeypatch)
    trigger = IrodsMetadataEventTrigger(
        attribute="qc", value="passed", under=tagged, irods_conn_id="irods_default", poke_interval=0.01
    )
    events: list[dict[str, Any]] = []
    scans = 0

    async def sleep(_seconds: float) -> None:
        nonlocal scans
        scans += 1
        rowless.on = scans == 1  # the second scan reads rowless replies; the first and third real ones
        await asyncio.sleep(0)

    trigger._sleep = sleep  # type: ignore[method-assign]

    async def collect() -> None:
        async for event in trigger.run():
            events.append(event.payload)

    task = asyncio.ensure_future(collect())
    loop = asyncio.get_running_loop()
    end = loop.time() + 30
    while scans < 4 and not task.done() and loop.time() < end:
        await asyncio.sleep(0.01)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert scans >= 4
    assert rowless.replaced >= 1
    assert events == []  # both were tagged before the watcher started: its baseline, never an event


def test_a_metadata_sensor_reports_a_rowless_reply(tagged, monkeypatch) -> None:
    RowlessQueries(monkeypatch).on = True
    sensor = IrodsMetadataSensor(task_id="wait", attribute="qc", value="passed", under=tagged)
    try:
        with pytest.raises(IrodsProtocolError):
            sensor.poke({})
    finally:
        sensor.hook.close()
