"""GenQuery2 paging: the server returns at most 256 rows without LIMIT (rs_genquery2.cpp
``default_number_of_rows``); ``iter_genquery2`` pages with LIMIT/OFFSET through every row, in order."""

from __future__ import annotations

import pytest

from irods_provider.exceptions import IrodsProtocolError, IrodsUsageError

HOME = "/tempZone/home/rods"
COLL = f"{HOME}/gq2"
NAMES = [f"obj-{i:04d}" for i in range(263)]
QUERY = f"select DATA_NAME where COLL_NAME = '{COLL}' order by DATA_NAME"


@pytest.fixture
def many(irods_emulator, counted):
    session, transport = counted
    session.collections.create(COLL)
    for name in NAMES:
        session.data_objects.write(f"{COLL}/{name}", b"")
    transport.counts.clear()
    return session, transport


def test_unlimited_query_stops_at_the_server_default_and_paging_gets_every_row(many) -> None:
    session, transport = many
    assert len(session.query.genquery2(QUERY)) == 256  # silently cut by the server
    transport.counts.clear()
    rows = list(session.query.iter_genquery2(QUERY, page_size=100))
    assert [r[0] for r in rows] == NAMES  # every row once, in ORDER BY order
    assert transport.counts == {"query": 3}  # 100 + 100 + 63 (a short page ends it)
    exact = list(session.query.iter_genquery2(QUERY, page_size=263))
    assert len(exact) == 263
    assert transport.counts == {"query": 5}  # a full page needs one more (empty) page to know it ended


def test_literals_may_contain_keywords_and_bounds_hold(many) -> None:
    session, _ = many
    query = (
        f"select DATA_NAME where COLL_NAME = '{COLL}' and DATA_NAME not like '%limit offset%' "
        "order by DATA_NAME desc"
    )
    assert [r[0] for r in session.query.iter_genquery2(query, page_size=64)] == NAMES[::-1]
    with pytest.raises(IrodsProtocolError, match="more than 150 rows"):
        list(session.query.iter_genquery2(QUERY, page_size=100, max_rows=150))


def test_unpageable_queries_are_refused_before_any_request(counted) -> None:
    session, transport = counted
    with pytest.raises(IrodsUsageError, match="needs ORDER BY"):
        list(session.query.iter_genquery2(f"select DATA_NAME where COLL_NAME = '{COLL}'"))
    with pytest.raises(IrodsUsageError, match="must not have LIMIT, OFFSET or FETCH"):
        list(session.query.iter_genquery2(f"{QUERY} limit 5"))
    with pytest.raises(IrodsUsageError, match="page_size must be a positive integer"):
        list(session.query.iter_genquery2(QUERY, page_size=0))
    assert transport.counts == {}


async def test_async_session_pages_too(irods_emulator, asession) -> None:
    await asession.collections.create(COLL)
    for name in NAMES[:30]:
        await asession.data_objects.write(f"{COLL}/{name}", b"")
    rows = [row async for row in asession.query.iter_genquery2(QUERY, page_size=7)]
    assert [r[0] for r in rows] == NAMES[:30]
