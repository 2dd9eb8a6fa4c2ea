"""Issue 18, finding 7: a hostile server cannot make the client hold unbounded memory or page forever.

Before the fix the client asked for gzip and inflated a small reply to ``stat`` into hundreds of MiB, read
every body whole before looking at it, paged GenQuery for as long as the server sent full pages and read
a remote command's output whole. Each test below failed that way.
"""

from __future__ import annotations

import gzip
import json
import tracemalloc
from collections.abc import Iterator

import httpx2
import pytest
from hostile_server import Reply, Request, hostile_server

from irods_provider.client import IrodsSession, RetryPolicy, StaticToken
from irods_provider.client._bounded import ReplyLimits
from irods_provider.exceptions import IrodsProtocolError

pytestmark = pytest.mark.timeout(60)

BASE = "/irods-http-api/0.7.0"
PATH = "/tempZone/home/rods/x"
OK = {"irods_response": {"status_code": 0}}


def _session(url: str, **kwargs: object) -> IrodsSession:
    return IrodsSession(
        url + BASE, auth=StaticToken("t0ken"), retry=RetryPolicy.never(), timeout=10, **kwargs
    )  # type: ignore[arg-type]


def _info(request: Request) -> Reply | None:
    if request.path.endswith("/info"):
        body = json.dumps({"api_version": "0.7.0", "max_number_of_rows_per_catalog_query": 5}).encode()
        return Reply(headers={"Content-Type": "application/json"}, chunks=[body])
    return None


# ---- compression --------------------------------------------------------------------------------------


def _gzip_bomb(size: int) -> bytes:
    """``size`` bytes of a JSON-looking document, gzip-compressed (about 1000:1)."""
    return gzip.compress(b'{"irods_response": {"status_code": 0}, "pad": "' + b" " * size + b'"}', 9)


def test_client_asks_for_identity_and_refuses_a_gzip_bomb_without_inflating_it() -> None:
    bomb = _gzip_bomb(200 * 1024 * 1024)
    assert len(bomb) < 400 * 1024
    reply = Reply(headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}, chunks=[bomb])
    with hostile_server(lambda request: reply) as server, _session(server.url) as session:
        tracemalloc.start()
        try:
            with pytest.raises(IrodsProtocolError) as caught:
                session.data_objects.stat(PATH)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert server.requests[0].headers.get("Accept-Encoding") == "identity"
    assert caught.value.operation == "data_objects.stat"
    assert "compressed (gzip)" in str(caught.value)
    assert peak < 16 * 1024 * 1024, f"peak {peak} bytes: the bomb was inflated"


def test_a_gzip_data_read_is_refused_too() -> None:
    reply = Reply(headers={"Content-Encoding": "gzip"}, chunks=[_gzip_bomb(10 * 1024 * 1024)])
    with hostile_server(lambda request: reply) as server, _session(server.url) as session:
        with pytest.raises(IrodsProtocolError, match="compressed"):
            session.data_objects.read(PATH, count=10)
        with pytest.raises(IrodsProtocolError, match="compressed"):
            b"".join(session.data_objects.iter_read(PATH, chunk_size=4096))


# ---- reply sizes ----------------------------------------------------------------------------------------


def _endless_json() -> Iterator[bytes]:
    yield b'{"irods_response": {"status_code": 0}, "pad": "'
    for _ in range(64 * 16):  # stops at 64 MiB so a client without a bound fails instead of hanging
        yield b"a" * 65536


def test_an_endless_json_reply_stops_at_the_session_bound() -> None:
    reply = Reply(headers={"Content-Type": "application/json"}, chunks=_endless_json())
    limits = ReplyLimits(json_bytes=1024 * 1024)
    with (
        hostile_server(lambda request: reply) as server,
        _session(server.url, reply_limits=limits) as session,
        pytest.raises(IrodsProtocolError) as caught,
    ):
        session.collections.stat("/tempZone/home")
    assert caught.value.operation == "collections.stat"
    assert "limit of 1048576 bytes" in str(caught.value)
    assert server.sent_bytes < 16 * 1024 * 1024, "the client kept reading past its bound"


def test_a_declared_content_length_over_the_bound_is_refused_before_reading() -> None:
    def handler(request: Request) -> Reply:
        return Reply(headers={"Content-Length": str(10**12)}, chunks=[b"{}"])

    with (
        hostile_server(handler) as server,
        _session(server.url) as session,
        pytest.raises(IrodsProtocolError, match="declares 1000000000000 bytes"),
    ):
        session.data_objects.stat(PATH)


def test_an_error_body_is_bounded_separately() -> None:
    reply = Reply(status=500, chunks=(b"x" * 65536 for _ in range(64)))
    limits = ReplyLimits(error_bytes=65536)
    with (
        hostile_server(lambda request: reply) as server,
        _session(server.url, reply_limits=limits) as session,
        pytest.raises(IrodsProtocolError, match="limit of 65536 bytes"),
    ):
        session.data_objects.stat(PATH)
    assert len(server.requests) == 1, "an oversized reply must not be retried"


def test_a_read_longer_than_its_count_is_refused() -> None:
    reply = Reply(chunks=[b"y" * 4096])
    with (
        hostile_server(lambda request: reply) as server,
        _session(server.url) as session,
        pytest.raises(IrodsProtocolError) as caught,
    ):
        session.data_objects.read(PATH, count=100)
    assert caught.value.operation == "data_objects.read"
    assert "limit of 100 bytes" in str(caught.value)


def test_a_streamed_read_longer_than_its_count_is_refused() -> None:
    reply = Reply(chunks=[b"z" * 8192])
    with (
        hostile_server(lambda request: reply) as server,
        _session(server.url) as session,
        pytest.raises(IrodsProtocolError, match="limit of 1000 bytes"),
    ):
        b"".join(session.data_objects.iter_read(PATH, count=1000, chunk_size=512))


def test_well_behaved_replies_within_bounds_still_decode() -> None:
    body = json.dumps(
        {**OK, "type": "collection", "permissions": [], "inheritance_enabled": False, "modified_at": 1}
    )
    reply = Reply(headers={"Content-Type": "application/json"}, chunks=[body.encode()])
    with hostile_server(lambda request: reply) as server, _session(server.url) as session:
        assert session.collections.stat("/tempZone/home").inheritance_enabled is False


# ---- GenQuery paging ------------------------------------------------------------------------------------


def _full_pages(request: Request) -> Reply:
    info = _info(request)
    if info is not None:
        return info
    count = int(request.query.get("count", ["5"])[0])
    offset = int(request.query.get("offset", ["0"])[0])
    rows = [[f"/tempZone/home/f{offset + i}"] for i in range(count)]  # full pages of new rows, forever
    return Reply(
        headers={"Content-Type": "application/json"}, chunks=[json.dumps({**OK, "rows": rows}).encode()]
    )


def test_genquery_paging_stops_at_the_callers_cap() -> None:
    with hostile_server(_full_pages) as server, _session(server.url) as session:
        rows: list[list[str]] = []
        with pytest.raises(IrodsProtocolError, match="more than 23 rows") as caught:
            rows.extend(session.query.genquery("select COLL_NAME", max_rows=23))
    assert 20 <= len(rows) <= 23
    assert caught.value.operation is not None
    assert "genquery" in caught.value.operation


def test_genquery_paging_stops_at_the_session_row_bound() -> None:
    limits = ReplyLimits(query_rows=40)
    with (
        hostile_server(_full_pages) as server,
        _session(server.url, reply_limits=limits) as session,
        pytest.raises(IrodsProtocolError, match="more than 40 rows"),
    ):
        list(session.query.genquery("select COLL_NAME"))
    assert len([r for r in server.requests if "query" in r.path]) <= 9


def test_genquery_paging_stops_at_the_time_budget() -> None:
    limits = ReplyLimits(query_rows=None, query_seconds=0.5)
    with (
        hostile_server(_full_pages) as server,
        _session(server.url, reply_limits=limits) as session,
        pytest.raises(IrodsProtocolError, match="query_seconds"),
    ):
        list(session.query.genquery("select COLL_NAME"))


def test_a_page_longer_than_asked_is_refused() -> None:
    def handler(request: Request) -> Reply:
        info = _info(request)
        if info is not None:
            return info
        rows = [[str(i)] for i in range(50)]
        return Reply(
            headers={"Content-Type": "application/json"}, chunks=[json.dumps({**OK, "rows": rows}).encode()]
        )

    with (
        hostile_server(handler) as server,
        _session(server.url) as session,
        pytest.raises(IrodsProtocolError, match="holds 50 rows, more than the 5 asked for"),
    ):
        list(session.query.genquery("select COLL_NAME"))


# ---- MockTransport: what no HTTP server sends through a real socket --------------------------------------


def test_an_already_read_oversized_body_from_a_transport_is_still_bounded() -> None:
    transport = httpx2.MockTransport(lambda request: httpx2.Response(200, content=b"{" + b" " * 4096 + b"}"))
    with (
        IrodsSession(
            "http://127.0.0.1:9" + BASE,
            auth=StaticToken("t"),
            transport=transport,
            retry=RetryPolicy.never(),
            reply_limits=ReplyLimits(json_bytes=1024),
        ) as session,
        pytest.raises(IrodsProtocolError, match="limit of 1024 bytes"),
    ):
        session.collections.stat("/tempZone/home")
