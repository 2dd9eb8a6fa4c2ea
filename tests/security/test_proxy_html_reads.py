"""A proxy's HTML page answered with HTTP 200 (a single sign-on or captive portal in front of the API) is
not a data object's bytes. The iRODS HTTP API sends a read's bytes as ``application/json`` (a ranged read:
data_objects/src/main.cpp, op_read's response at 0.7.0) or ``application/octet-stream`` (a whole-object
incremental read, :324), never ``text/html`` (no endpoint of 0.4.0 to 0.7.0 sets it). ``read``,
``iter_read`` and ``read_into`` returned the page as the object's content.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hostile_server import Reply, Request, hostile_server

from irods_provider.client import BasicAuth, IrodsSession
from irods_provider.exceptions import IrodsProtocolError

pytestmark = pytest.mark.timeout(60)

OBJ = "/tempZone/home/rods/x.csv"
INFO = {"api_version": "0.7.0", "max_number_of_rows_per_catalog_query": 15, "irods_zone": "tempZone"}
PAGE = b"<!DOCTYPE html><html><body>Please sign in</body></html>"

READS: dict[str, Callable[[IrodsSession], Any]] = {
    "read": lambda s: s.data_objects.read(OBJ),
    "ranged read": lambda s: s.data_objects.read(OBJ, offset=0, count=len(PAGE)),
    "iter_read": lambda s: b"".join(s.data_objects.iter_read(OBJ)),
    "read_into": lambda s: s.data_objects.read_into(OBJ, bytearray(len(PAGE))),
}


def _serve(content_type: str) -> Callable[[Request], Reply]:
    def handler(request: Request) -> Reply:
        if request.path.endswith("/info"):
            body = json.dumps(INFO).encode()
            return Reply(200, {"Content-Type": "application/json", "Content-Length": str(len(body))}, [body])
        if request.path.endswith("/authenticate"):
            return Reply(200, {"Content-Type": "text/plain"}, [b"token-1234"])
        return Reply(200, {"Content-Type": content_type, "Content-Length": str(len(PAGE))}, [PAGE])

    return handler


@pytest.mark.parametrize("call", sorted(READS))
@pytest.mark.parametrize("content_type", ["text/html", "text/html; charset=UTF-8", "TEXT/HTML"])
def test_an_html_page_is_not_read_as_the_objects_bytes(call: str, content_type: str) -> None:
    with (
        hostile_server(_serve(content_type)) as server,
        IrodsSession(f"{server.url}/irods-http-api/0.7.0", auth=BasicAuth("rods", "pw-1234")) as session,
        pytest.raises(IrodsProtocolError) as caught,
    ):
        READS[call](session)
    assert caught.value.path == OBJ
    assert "HTML" in str(caught.value)


@pytest.mark.parametrize("content_type", ["application/json", "application/octet-stream"])
def test_the_servers_own_content_types_are_bytes(content_type: str) -> None:
    with (
        hostile_server(_serve(content_type)) as server,
        IrodsSession(f"{server.url}/irods-http-api/0.7.0", auth=BasicAuth("rods", "pw-1234")) as session,
    ):
        assert session.data_objects.read(OBJ) == PAGE
        assert b"".join(session.data_objects.iter_read(OBJ)) == PAGE
