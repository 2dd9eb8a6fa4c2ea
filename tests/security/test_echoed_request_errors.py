"""A server (a proxy, a debugging gateway) that echoes the request into its error text: the bearer token and
a ticket the request carried never reach the error's message, the server's message, its ``repr``, or the
event a deferred sensor's trigger hands back (stored in Airflow's database, raised and logged on a worker
whose log masker never saw a token the triggerer minted).

The real HTTP API names neither in its replies (its status messages come from iRODS, which never sees the
bearer token, and a ticket it could not enable is "Error enabling ticket on connection.":
endpoints/data_objects/src/main.cpp:713-717 at 0.7.0); the OpenID side of the same echo is
test_echoed_secrets.py.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from unittest import mock

import pytest
from hostile_server import Reply, Request, hostile_server

from irods_provider.client import BasicAuth, IrodsSession
from irods_provider.exceptions import IrodsError
from irods_provider.triggers.irods import IrodsPathTrigger

pytestmark = pytest.mark.timeout(60)

TOKEN = "3f2b8c1e-9a4d-4e7b-8c2f-1a2b3c4d5e6f"  # the HTTP API's tokens are UUIDs
TICKET = "kL9xQ2mVt7RzW4p"
INFO = {"api_version": "0.7.0", "max_number_of_rows_per_catalog_query": 15, "irods_zone": "tempZone"}
PATH = "/tempZone/home/rods/in"


def _reply(status: int, body: bytes, kind: str = "application/json") -> Reply:
    return Reply(status, {"Content-Type": kind, "Content-Length": str(len(body))}, [body])


def _echoing(status: int, as_json: bool) -> Callable[[Request], Reply]:
    def handler(request: Request) -> Reply:
        if request.path.endswith("/info"):
            return _reply(200, json.dumps(INFO).encode())
        if request.path.endswith("/authenticate"):
            return _reply(200, TOKEN.encode(), "text/plain")
        seen = f"{request.headers.get('Authorization')} ticket={request.query.get('ticket', [''])[0]}"
        if not as_json:
            return _reply(status, f"<p>{seen}</p>".encode(), "text/html")
        envelope = {"irods_response": {"status_code": -818000, "status_message": f"denied: {seen}"}}
        return _reply(status, json.dumps(envelope).encode())

    return handler


def _shown(error: BaseException) -> str:
    return " ".join([str(error), repr(error), str(getattr(error, "server_message", ""))])


@pytest.mark.parametrize(("status", "as_json"), [(200, True), (500, True), (200, False)])
def test_an_echoed_token_or_ticket_stays_out_of_the_error(status: int, as_json: bool) -> None:
    with (
        hostile_server(_echoing(status, as_json)) as server,
        IrodsSession(f"{server.url}/irods-http-api/0.7.0", auth=BasicAuth("rods", "pw-1234")) as session,
        pytest.raises(IrodsError) as caught,
    ):
        session.collections.stat(PATH, ticket=TICKET)
    shown = _shown(caught.value)
    assert "Bearer ***" in shown  # the echo is there, what it carried is not
    assert TOKEN not in shown
    assert TICKET not in shown


def test_a_triggers_error_event_carries_no_echoed_token(monkeypatch: pytest.MonkeyPatch) -> None:
    with hostile_server(_echoing(200, True)) as server:
        monkeypatch.setenv(
            "AIRFLOW_CONN_IRODS_DEFAULT",
            f"irods://rods:pw-1234@{server.url.removeprefix('http://')}/http?zone=tempZone&api_version=0.7.0",
        )
        trigger = IrodsPathTrigger(path=PATH, irods_conn_id="irods_default", poke_interval=1)

        async def first_event() -> dict[str, object]:
            with mock.patch.object(IrodsPathTrigger, "_sleep", side_effect=asyncio.CancelledError):
                return (await anext(trigger.run())).payload  # type: ignore[no-any-return]

        payload = asyncio.run(first_event())
    assert payload["error_class"] == "IrodsPermissionError"
    assert "Bearer ***" in str(payload["server_message"])
    assert TOKEN not in json.dumps(payload)
