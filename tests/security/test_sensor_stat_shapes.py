"""A 200 JSON reply to a stat that is not a stat (a proxy's or another service's ``{}``, or the envelope
alone) must not read as "the path is there, modified in 1970": IrodsPathSensor and its trigger fired on it,
starting the downstream tasks on an object that does not exist.

Every release's successful stat carries ``type`` and ``modified_at`` (and a data object's ``size``):
irods_client_http_api endpoints/collections/src/main.cpp:258-265 (0.4.0 to 0.7.0, the same lines) and
endpoints/data_objects/src/main.cpp:1567-1574 at 0.4.0/0.5.0, :1915-1922 at 0.6.0, :2021-2028 at 0.7.0.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from unittest import mock

import pytest
from hostile_server import Reply, Request, hostile_server

from irods_provider.client import BasicAuth, IrodsSession
from irods_provider.exceptions import IrodsProtocolError
from irods_provider.sensors.irods import IrodsPathSensor
from irods_provider.triggers.irods import IrodsPathTrigger

pytestmark = pytest.mark.timeout(60)

PATH = "/tempZone/home/rods/run 7/DONE"
INFO = {"api_version": "0.7.0", "max_number_of_rows_per_catalog_query": 15, "irods_zone": "tempZone"}
OK = {"irods_response": {"status_code": 0}}
NOT_STATS = {
    "empty object": {},
    "envelope alone": OK,
    "no modified_at": {**OK, "type": "collection", "permissions": [], "registered": True},
    "no type": {**OK, "modified_at": 1_700_000_000, "size": 3, "permissions": []},
}


def _json(data: object) -> Reply:
    body = json.dumps(data).encode()
    return Reply(200, {"Content-Type": "application/json", "Content-Length": str(len(body))}, [body])


def _serving(stat_reply: object) -> Callable[[Request], Reply]:
    def handler(request: Request) -> Reply:
        if request.path.endswith("/info"):
            return _json(INFO)
        if request.path.endswith("/authenticate"):
            return Reply(200, {"Content-Type": "text/plain", "Content-Length": "10"}, [b"token-1234"])
        return _json(stat_reply)

    return handler


@pytest.fixture(params=sorted(NOT_STATS))
def not_a_stat(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with hostile_server(_serving(NOT_STATS[request.param])) as server:
        monkeypatch.setenv(
            "AIRFLOW_CONN_IRODS_DEFAULT",
            f"irods://rods:pw-1234@{server.url.removeprefix('http://')}/http?zone=tempZone&api_version=0.7.0",
        )
        yield server.url


def test_the_client_refuses_a_stat_reply_without_the_stat(not_a_stat: str) -> None:
    with IrodsSession(f"{not_a_stat}/irods-http-api/0.7.0", auth=BasicAuth("rods", "pw-1234")) as session:
        for stat in (session.collections.stat, session.data_objects.stat):
            with pytest.raises(IrodsProtocolError) as caught:
                stat(PATH)
            assert caught.value.path == PATH


def test_a_path_sensor_does_not_fire_on_it(not_a_stat: str) -> None:
    sensor = IrodsPathSensor(task_id="wait", path=PATH)
    try:
        with pytest.raises(IrodsProtocolError) as caught:
            sensor.poke({})
    finally:
        sensor.hook.close()
    assert caught.value.path == PATH


def test_a_path_trigger_does_not_fire_on_it(not_a_stat: str) -> None:
    trigger = IrodsPathTrigger(path=PATH, irods_conn_id="irods_default", poke_interval=1)

    async def first_event() -> object:
        with mock.patch.object(IrodsPathTrigger, "_sleep", side_effect=asyncio.CancelledError):
            return await anext(trigger.run())

    event = asyncio.run(first_event())
    assert event.payload["status"] == "error"  # type: ignore[attr-defined]
    assert event.payload["matches"] == []  # type: ignore[attr-defined]
    assert event.payload["error_class"] == "IrodsProtocolError"  # type: ignore[attr-defined]
