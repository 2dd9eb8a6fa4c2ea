"""GenQuery read-ahead: several pages in flight give exactly the rows, in the order, of the lazy loop."""

from __future__ import annotations

import threading
import time

import httpx2
import pytest

from irods_provider.client import BasicAuth, IrodsSession, Kinds

HOME = "/tempZone/home/rods"
OBJECTS = 100  # 7 pages of 15 rows


class InFlight(httpx2.HTTPTransport):
    """Counts GenQuery requests and the most that were in flight at once (each held a little)."""

    def __init__(self) -> None:
        super().__init__()
        self.queries = 0
        self.now = 0
        self.most = 0
        self._lock = threading.Lock()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if not request.url.path.endswith("/query"):
            return super().handle_request(request)
        with self._lock:
            self.queries += 1
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            time.sleep(0.02)  # a WAN round trip, so that overlapping requests really overlap
            return super().handle_request(request)
        finally:
            with self._lock:
                self.now -= 1


@pytest.fixture
def tree(irods_emulator):
    with IrodsSession(irods_emulator.base_url, auth=BasicAuth("rods", "rods-emulator")) as s:
        for d in range(3):
            s.collections.create(f"{HOME}/many/d{d}", intermediates=True)
        for i in range(OBJECTS):
            s.data_objects.write(f"{HOME}/many/d{i % 3}/o{i:03d}", b"x" * i)
    return irods_emulator


def _listing(server, ahead: int) -> tuple[list[tuple[str, int | None]], InFlight]:
    transport = InFlight()
    with IrodsSession(server.base_url, auth=BasicAuth("rods", "rods-emulator"), transport=transport) as s:
        entries = s.collections.iterate(
            f"{HOME}/many", recursive=True, kinds=Kinds.DATA_OBJECTS, with_stat=True, read_ahead=ahead
        )
        return [(e.path, e.size) for e in entries], transport


def test_read_ahead_lists_the_same_rows_in_the_same_order(tree) -> None:
    lazy, one = _listing(tree, 1)
    ahead, eight = _listing(tree, 8)
    assert len(lazy) == OBJECTS
    assert ahead == lazy
    assert sorted(size for _, size in lazy) == list(range(OBJECTS))
    assert one.most == 1
    assert eight.most > 1  # pages really were in flight together
    # the empty first query costs one request; the full one at most ahead - 1 speculative pages
    assert eight.queries - one.queries <= 7


def test_stopping_early_leaves_nothing_running(tree) -> None:
    transport = InFlight()
    with IrodsSession(tree.base_url, auth=BasicAuth("rods", "rods-emulator"), transport=transport) as s:
        rows = s.query.genquery(f"select DATA_NAME where COLL_NAME like '{HOME}/many/%'", read_ahead=4)
        first = next(iter(rows))
        rows.close()  # type: ignore[attr-defined]
        assert first[0].startswith("o")
        assert transport.now == 0
        assert transport.queries <= 5  # the first page, then at most 4 in flight


async def test_async_read_ahead_matches(tree) -> None:
    from irods_provider.client import AsyncIrodsSession

    async with AsyncIrodsSession(tree.base_url, auth=BasicAuth("rods", "rods-emulator")) as s:
        lazy = [
            row async for row in s.query.genquery(f"select DATA_NAME where COLL_NAME like '{HOME}/many/%'")
        ]
        ahead = [
            row
            async for row in s.query.genquery(
                f"select DATA_NAME where COLL_NAME like '{HOME}/many/%'", read_ahead=8
            )
        ]
    assert len(lazy) == OBJECTS
    assert ahead == lazy
