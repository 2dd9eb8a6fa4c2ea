"""Ticket uses are counted at the open, once per pooled connection and object, as the server counts them.

Enabling a ticket counts nothing (irods 4.3.2 db_plugin.cpp:14519-14538). checkObjIdByTicket counts a use
when the open's access-checked lookup meets the object, only when the ticket has a limit, and skips it when
the same agent counted that data id last (``static previousDataId2``, mid_level_routines.cpp:1431, 1612-1646
at irods 4.3.4, :1600-1640 at 4.3.2). The HTTP API's agents are its pooled connections, which live across
requests: connection_pool::get_connection hands out the first free one (irods 4.3.4
lib/core/src/connection_pool.cpp:390-408; pool size 6 in the 0.7.0 template, core/src/main.cpp:563-564).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx2
import pytest
from emulator_http import ZONE, Api, code

HOME = f"/{ZONE}/home/alice"
USES = "select TICKET_STRING, TICKET_USES_COUNT"


def _ticket(api: Api, path: str, kind: str, uses: int) -> str:
    created = api.post("tickets", "alice", op="create", lpath=path, type=kind, **{"use-count": uses})
    ticket: str = created.json()["ticket"]
    return ticket


def _uses(api: Api, ticket: str) -> int:
    rows = api.get("query", "alice", op="execute_genquery", query=USES).json()["rows"]
    return int(dict(rows)[ticket])


@pytest.fixture
def shared(api: Api) -> Api:
    api.server.add_user("bob", "bob")
    assert (
        code(api.post_multipart("data-objects", "alice", op="write", lpath=f"{HOME}/a", bytes=b"abcdefghi"))
        == 0
    )
    return api


def test_pieces_read_one_after_another_spend_one_use(shared: Api) -> None:
    """A ticket with uses=1 serves a 3-piece read: every piece runs on the same (first free) agent."""
    ticket = _ticket(shared, f"{HOME}/a", "read", 1)
    pieces = [shared.read(f"{HOME}/a", "bob", ticket=ticket, offset=o, count=3) for o in (0, 3, 6)]
    assert [(r.status_code, r.content) for r in pieces] == [(200, b"abc"), (200, b"def"), (200, b"ghi")]
    assert _uses(shared, ticket) == 1


def test_parallel_readers_spend_at_most_one_use_per_pooled_connection(shared: Api) -> None:
    readers = 8  # more than the pool's 6 connections
    ticket = _ticket(shared, f"{HOME}/a", "read", 100)
    with ThreadPoolExecutor(readers) as pool:
        answers = list(pool.map(lambda _: shared.read(f"{HOME}/a", "bob", ticket=ticket), range(readers)))
    assert {(r.status_code, r.content) for r in answers} == {(200, b"abcdefghi")}
    assert 1 <= _uses(shared, ticket) <= min(readers, 6)  # 6: the template's pool size (main.cpp:564)


def test_a_write_ticket_with_one_use_serves_a_three_piece_write(shared: Api) -> None:
    ticket = _ticket(shared, f"{HOME}/a", "write", 1)
    for offset, piece in ((0, b"ABC"), (3, b"DEF"), (6, b"GHI")):
        written = shared.post_multipart(
            "data-objects",
            "bob",
            op="write",
            lpath=f"{HOME}/a",
            ticket=ticket,
            offset=offset,
            truncate=0,
            bytes=piece,
        )
        assert code(written) == 0
    assert shared.read(f"{HOME}/a", "alice").content == b"ABCDEFGHI"
    assert _uses(shared, ticket) == 1


@pytest.mark.parametrize(("release", "counted"), [("rods4.3.2", 2), ("rods4.3.4", 1)])
def test_a_use_is_refused_when_the_agent_counted_another_object(
    irods_emulator_variants: Callable[..., Any], release: str, counted: int
) -> None:
    """Reading another limited ticket's object in between makes the agent count again (an unlimited one
    leaves previousDataId2 alone, :1604-1646); the refusal is
    ``uses_count > limit`` at 4.3.2, before the skip (mid_level_routines.cpp:1602-1606), and ``>= limit``
    inside it at 4.3.4 (:1612-1624). A read meets the object in more than one lookup (status, then the open),
    so at 4.3.2 the first lookup counts a second use and the next one is refused: the read still fails."""
    server = irods_emulator_variants(irods_server_version=release)
    server.add_user("alice", "alice")
    server.add_user("bob", "bob")
    with httpx2.Client(timeout=10) as http:
        api = Api(server, http)
        for name in ("a", "b"):
            assert (
                code(
                    api.post_multipart(
                        "data-objects", "alice", op="write", lpath=f"{HOME}/{name}", bytes=b"x"
                    )
                )
                == 0
            )
        limited, other = _ticket(api, f"{HOME}/a", "read", 1), _ticket(api, f"{HOME}/b", "read", 100)
        assert api.read(f"{HOME}/a", "bob", ticket=limited).status_code == 200
        assert api.read(f"{HOME}/a", "bob", ticket=limited).status_code == 200  # same agent, same object
        statuses = []
        for _ in range(3):
            assert api.read(f"{HOME}/b", "bob", ticket=other).status_code == 200
            statuses.append(api.read(f"{HOME}/a", "bob", ticket=limited).status_code)
        assert 200 not in statuses
        assert _uses(api, limited) == counted
