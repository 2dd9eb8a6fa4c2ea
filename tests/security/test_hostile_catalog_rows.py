"""GenQuery rows no iRODS server sends: a row narrower or wider than the query's select list, a number column
holding text. GenQuery1 answers exactly one value per selected column (the HTTP API copies each row's
values: endpoints/query/src/main.cpp:241-248 at 0.7.0), and the catalog keeps sizes, times, ids and
replica numbers as decimal integers. The API groups that read such rows (listings, replicas, ACLs, AVUs,
tickets) must give IrodsProtocolError naming the operation, never a raw IndexError/ValueError, and must
never take a short row for a shorter answer.
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

HOME = "/tempZone/home/rods"
INFO = {"api_version": "0.7.0", "max_number_of_rows_per_catalog_query": 15, "irods_zone": "tempZone"}
GOOD_REPLICA = [HOME, "x", "1", "01700000000", "5", "sha2:AAAA", "0", "demoResc"]

Call = Callable[[IrodsSession], Any]
CALLS: dict[str, Call] = {
    "iterate with stat": lambda s: list(s.collections.iterate(HOME, kinds=_objects(), with_stat=True)),
    "replicas": lambda s: s.data_objects.replicas(f"{HOME}/x"),
    "lookup": lambda s: s.collections.lookup(f"{HOME}/x"),
    "permissions": lambda s: s.data_objects.permissions(f"{HOME}/x"),
    "metadata list": lambda s: s.metadata.list(f"{HOME}/x", kind=_data()),
    "tickets on path": lambda s: s.tickets.on_path(f"{HOME}/x"),
}


def _objects() -> Any:
    from irods_provider.client import Kinds

    return Kinds.DATA_OBJECTS


def _data() -> Any:
    from irods_provider.client import EntryKind

    return EntryKind.DATA_OBJECT


CASES: list[tuple[str, list[list[str]]]] = [
    ("short row", [[HOME, "x"]]),
    ("one value", [[HOME]]),
    ("wide row", [[*GOOD_REPLICA, *GOOD_REPLICA, "extra"]]),
    ("size is text", [[HOME, "x", "1", "01700000000", "five", "", "0", "demoResc", "x", "x", "x", "x"][:8]]),
    ("replica number is text", [[HOME, "x", "1", "01700000000", "5", "", "zero", "demoResc"]]),
    ("mtime is a float", [[HOME, "x", "1", "1.5e9", "5", "", "0", "demoResc"]]),
]


@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize(("case", "rows"), CASES, ids=[c[0] for c in CASES])
def test_a_hostile_row_is_a_protocol_error(call: str, case: str, rows: list[list[str]]) -> None:
    def handler(request: Request) -> Reply:
        if request.path.endswith("/info"):
            body = json.dumps(INFO).encode()
        elif request.path.endswith("/authenticate"):
            return Reply(200, {"Content-Type": "text/plain"}, [b"token-1234"])
        else:  # every query gets the hostile rows (widened to the select list where the case keeps width)
            query = request.query.get("query", [""])[0]
            width = len(query.split(" where ")[0].split(","))
            answer = [_fit(row, width, case) for row in rows]
            body = json.dumps({"irods_response": {"status_code": 0}, "rows": answer}).encode()
        return Reply(200, {"Content-Type": "application/json", "Content-Length": str(len(body))}, [body])

    with (
        hostile_server(handler) as server,
        IrodsSession(f"{server.url}/irods-http-api/0.7.0", auth=BasicAuth("rods", "pw-1234")) as session,
    ):
        refused: IrodsProtocolError | None = None
        try:
            CALLS[call](session)
        except IrodsProtocolError as exc:
            refused = exc
    if refused is not None:
        assert refused.operation == "query.genquery"
        assert "five" not in str(refused)  # values are not quoted (a column may hold a ticket string)
        return
    # A number case may not touch this call's columns (no number read): then nothing was misread.
    assert "text" in case or "float" in case, f"{call} accepted a {case}"


def _fit(row: list[str], width: int, case: str) -> list[str]:
    """Keep the case's own width for width cases; else pad/cut the row to the select list's width, keeping
    the hostile value in every column (so whatever column a call reads as a number holds it)."""
    if case in ("short row", "one value", "wide row"):
        return row
    hostile = next(v for v in row if v in ("five", "zero", "1.5e9"))
    return [row[i] if i < 2 else hostile for i in range(width)]


def test_an_unknown_ticket_type_is_a_protocol_error() -> None:
    """A ticket is "read" or "write" (adm::ticket::ticket_type; tickets/src/main.cpp:208-220 at 0.7.0)."""
    ticket = ["1", "tk-1234", "admin", "rods", "tempZone", "1700000000", "", "0", "0", "0"]

    def handler(request: Request) -> Reply:
        if request.path.endswith("/info"):
            body = json.dumps(INFO).encode()
        elif request.path.endswith("/authenticate"):
            return Reply(200, {"Content-Type": "text/plain"}, [b"token-1234"])
        else:
            query = request.query.get("query", [""])[0]
            rows = [[*ticket, HOME, "x"]] if "TICKET_DATA_NAME" in query and "TICKET_STRING" in query else []
            body = json.dumps({"irods_response": {"status_code": 0}, "rows": rows}).encode()
        return Reply(200, {"Content-Type": "application/json", "Content-Length": str(len(body))}, [body])

    with (
        hostile_server(handler) as server,
        IrodsSession(f"{server.url}/irods-http-api/0.7.0", auth=BasicAuth("rods", "pw-1234")) as session,
        pytest.raises(IrodsProtocolError) as caught,
    ):
        session.tickets.on_path(f"{HOME}/x")
    assert caught.value.path == f"{HOME}/x"
    assert "tk-1234" not in str(caught.value)
