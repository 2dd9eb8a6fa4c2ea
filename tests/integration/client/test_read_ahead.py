"""GenQuery read-ahead: several pages in flight give exactly the rows, in the order, of the lazy loop."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from irods_provider.client import BasicAuth, IrodsSession, Kinds

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from in_flight import InFlight

HOME = "/tempZone/home/rods"
OBJECTS = 100  # 7 pages of 15 rows


@pytest.fixture
def tree(irods_emulator):
    with IrodsSession(irods_emulator.base_url, auth=BasicAuth("rods", "rods-emulator")) as s:
        for d in range(3):
            s.collections.create(f"{HOME}/many/d{d}", intermediates=True)
        for i in range(OBJECTS):
            s.data_objects.write(f"{HOME}/many/d{i % 3}/o{i:03d}", b"x" * i)
    return irods_emulator


def _listing(server, ahead: int) -> tuple[list[tuple[str, int | None]], InFlight]:
    transport = InFlight(hold=0.02)
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
    transport = InFlight(hold=0.02)
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
