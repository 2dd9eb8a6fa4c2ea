"""Replies of the right envelope but with field types the iRODS HTTP API never sends (no server sends them,
so a hostile server does): each is an IrodsProtocolError naming the operation and path, never a raw
TypeError/KeyError/RecursionError, and never a wrong value (``None`` read as the string ``'None'``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hostile_server import Reply, Request, hostile_server

from irods_provider.client import BasicAuth, IrodsSession
from irods_provider.client._ops_fs import do_parallel_write_init
from irods_provider.exceptions import IrodsProtocolError

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"
OBJ = f"{HOME}/x"
OK = {"irods_response": {"status_code": 0}}
INFO = {"api_version": "0.7.0", "max_number_of_rows_per_catalog_query": 15, "irods_zone": "tempZone"}
STAT = {**OK, "type": "data_object", "size": 1, "checksum": "", "modified_at": 1, "permissions": []}

Call = Callable[[IrodsSession], Any]
CALLS: dict[str, tuple[Call, str | None]] = {
    "stat": (lambda s: s.data_objects.stat(OBJ), OBJ),
    "coll_stat": (lambda s: s.collections.stat(HOME), HOME),
    "list": (lambda s: s.collections.list(HOME), HOME),
    "query": (lambda s: list(s.query.genquery("select COLL_NAME")), None),
    "init": (lambda s: s.execute(do_parallel_write_init(OBJ, stream_count=2)), OBJ),
    "ticket": (lambda s: s.tickets.create(OBJ), OBJ),
    "checksum": (lambda s: s.data_objects.calculate_checksum(OBJ), OBJ),
    "remove": (lambda s: s.data_objects.remove(OBJ), OBJ),
    "rename": (lambda s: s.data_objects.rename(OBJ, f"{OBJ}.final"), OBJ),
    "write": (lambda s: s.data_objects.write(OBJ, b"abc"), OBJ),
}

CASES: list[tuple[str, bytes, str]] = [
    ("size null", json.dumps({**STAT, "size": None}).encode(), "stat"),
    ("size text", json.dumps({**STAT, "size": "12"}).encode(), "stat"),
    ("size float", json.dumps({**STAT, "size": 12.5}).encode(), "stat"),
    # The server's size is unsigned (irods 4.3.5 filesystem.hpp:131, data_objects main.cpp:2025 at 0.7.0):
    # a negative one reached os.ftruncate and failed as a local file error naming the local path.
    ("size negative", json.dumps({**STAT, "size": -5}).encode(), "stat"),
    ("size 1e400", json.dumps(STAT).replace('"size": 1', '"size": 1e400').encode(), "stat"),
    ("permissions text", json.dumps({**STAT, "permissions": "own"}).encode(), "stat"),
    ("permissions of text", json.dumps({**STAT, "permissions": ["own"]}).encode(), "stat"),
    ("checksum null", json.dumps({**STAT, "checksum": None}).encode(), "stat"),
    ("modified_at list", json.dumps({**OK, "type": "collection", "modified_at": [1]}).encode(), "coll_stat"),
    ("entries int", json.dumps({**OK, "entries": 5}).encode(), "list"),
    ("entries of null", json.dumps({**OK, "entries": [None]}).encode(), "list"),
    ("rows int", json.dumps({**OK, "rows": 3}).encode(), "query"),
    ("rows of ints", json.dumps({**OK, "rows": [1, 2]}).encode(), "query"),
    ("row value null", json.dumps({**OK, "rows": [[None]]}).encode(), "query"),
    ("no handle", json.dumps(OK).encode(), "init"),
    ("handle null", json.dumps({**OK, "parallel_write_handle": None}).encode(), "init"),
    ("no ticket", json.dumps(OK).encode(), "ticket"),
    ("ticket null", json.dumps({**OK, "ticket": None}).encode(), "ticket"),
    ("checksum reply null", json.dumps({**OK, "checksum": None}).encode(), "checksum"),
    (
        "status code text",
        json.dumps({"irods_response": {"status_code": "-170000"}, "entries": []}).encode(),
        "list",
    ),
    (
        "status code float",
        json.dumps({"irods_response": {"status_code": -170000.0}, "entries": []}).encode(),
        "list",
    ),
    (
        "status code bool",
        json.dumps({"irods_response": {"status_code": False}, "entries": []}).encode(),
        "list",
    ),
    ("nested deep", b"[" * 100_000 + b"]" * 100_000, "list"),
    # Every JSON body the HTTP API builds but /info's starts with irods_response.status_code (e.g.
    # endpoints/data_objects/src/main.cpp:2579, query/src/main.cpp:163-164 at 0.7.0): a 200 without it (a
    # proxy's {"status": "ok"}) was taken for a done remove, rename or write, and for an empty listing.
    ("no envelope", b'{"status": "ok"}', "remove"),
    ("no envelope", b'{"status": "ok"}', "rename"),
    ("no envelope", b'{"status": "ok"}', "write"),
    ("no envelope", json.dumps({"entries": []}).encode(), "list"),
    ("no status code", json.dumps({"irods_response": {}, "entries": []}).encode(), "list"),
    # Not JSON (RFC 8259), which Python's json module accepts: a key given twice (a failure, then a
    # success: the last one won) and NaN/Infinity.
    (
        "duplicated key",
        b'{"irods_response": {"status_code": -170000}, "irods_response": {"status_code": 0}}',
        "remove",
    ),
    ("duplicated key", json.dumps(STAT).replace('"size": 1', '"size": 1, "size": 2').encode(), "stat"),
    ("NaN", json.dumps(STAT).replace('"size": 1', '"size": NaN').encode(), "stat"),
    ("Infinity", json.dumps(STAT).replace('"modified_at": 1', '"modified_at": -Infinity').encode(), "stat"),
]


@pytest.mark.parametrize(("name", "body", "call"), CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_a_reply_of_the_wrong_shape_is_a_protocol_error(name: str, body: bytes, call: str) -> None:
    def handler(request: Request) -> Reply:
        if request.path.endswith("/info"):
            return Reply(200, {"Content-Type": "application/json"}, [json.dumps(INFO).encode()])
        if request.path.endswith("/authenticate"):
            return Reply(200, {"Content-Type": "text/plain"}, [b"token-1234"])
        if call == "ticket" and request.path.endswith("/query"):  # the path's tickets, listed around a create
            return Reply(200, {"Content-Type": "application/json"}, [json.dumps({**OK, "rows": []}).encode()])
        return Reply(200, {"Content-Type": "application/json", "Content-Length": str(len(body))}, [body])

    run, path = CALLS[call]
    with (
        hostile_server(handler) as server,
        IrodsSession(f"{server.url}/irods-http-api/0.7.0", auth=BasicAuth("rods", "pw-1234")) as session,
        pytest.raises(IrodsProtocolError) as caught,
    ):
        run(session)
    assert caught.value.path == path
    assert caught.value.operation is not None
