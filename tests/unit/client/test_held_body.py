"""A held write: a multipart body whose last piece waits for ``hold()``; async sessions refuse it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest

from irods_provider.client import AsyncIrodsSession, BasicAuth
from irods_provider.client._operation import HeldBody
from irods_provider.client._ops_fs import do_write
from irods_provider.exceptions import IrodsUsageError


class Pieces(httpx2.SyncByteStream):
    def __init__(self, *pieces: bytes) -> None:
        self.pieces = pieces

    def __iter__(self) -> Iterator[bytes]:
        yield from self.pieces


def test_the_last_piece_waits_for_hold() -> None:
    events: list[str] = []
    body = HeldBody(Pieces(b"head", b"data", b"--end--"), lambda: events.append("hold"))
    for piece in body:
        events.append(piece.decode())
    assert events == ["head", "data", "hold", "--end--"]


def test_a_failing_hold_stops_the_body_before_its_last_piece() -> None:
    def refuse() -> None:
        raise RuntimeError("previous write failed")

    body = iter(HeldBody(Pieces(b"head", b"data", b"--end--"), refuse))
    assert [next(body), next(body)] == [b"head", b"data"]
    with pytest.raises(RuntimeError, match="previous write failed"):
        next(body)


def test_a_held_write_is_a_form_even_where_writes_use_the_header_form() -> None:
    def hold() -> None:
        return None

    held = do_write(
        None, b"bytes", offset=8, truncate=False, parallel_write_handle="h", stream_index=1, hold=hold
    )
    plain = do_write(None, b"bytes", offset=8, truncate=False, parallel_write_handle="h", stream_index=1)
    assert held.content is None
    assert held.hold is hold
    assert dict(held.fields) == {
        "op": "write",
        "offset": "8",
        "truncate": "0",
        "parallel-write-handle": "h",
        "stream-index": "1",
        "bytes": b"bytes",
    }
    assert plain.content == b"bytes"
    assert plain.hold is None


async def test_an_async_session_refuses_a_held_body_before_sending() -> None:
    seen: list[httpx2.Request] = []

    def record(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(500)

    op = do_write(None, b"x", parallel_write_handle="h", stream_index=0, hold=lambda: None)
    async with AsyncIrodsSession(
        "http://irods.invalid/irods-http-api/0.7.0",
        auth=BasicAuth("rods", "secret"),
        transport=httpx2.MockTransport(record),
    ) as session:
        with pytest.raises(IrodsUsageError, match="sync session"):
            await session.execute(op)
    assert seen == []
