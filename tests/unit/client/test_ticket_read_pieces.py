"""Piece sizes of a ticket read (client/_ticket_reads.py): grow from 8 KiB, settle on the first refusal."""

from __future__ import annotations

from irods_provider.client._ticket_reads import TICKET_SAFE_READ_BYTES, PieceSizer, lost_ticket
from irods_provider.exceptions import IrodsBadRequestError, IrodsNotFoundError, IrodsResponseError


def test_pieces_double_until_refused_then_stay() -> None:
    sizer = PieceSizer()
    asked = []
    for _ in range(3):
        asked.append(sizer.ask(None))
        sizer.served(asked[-1], asked[-1])
    assert asked == [8192, 16384, 32768]
    assert sizer.refused(sizer.ask(None)) is True  # 64 KiB refused: back to 32 KiB for good
    assert [sizer.ask(None), sizer.ask(10)] == [32768, 10]
    sizer.served(32768, 32768)
    assert sizer.ask(None) == 32768
    assert sizer.refused(32768) is False  # a size that was served is refused: the refusal stands


def test_a_refused_first_piece_stands_and_short_pieces_do_not_grow() -> None:
    assert PieceSizer().refused(TICKET_SAFE_READ_BYTES) is False
    sizer = PieceSizer()
    sizer.served(8192, 100)  # the end of the object: no growth from a short piece
    assert sizer.ask(None) == 8192


def test_only_a_bare_400_of_a_big_ticket_read_is_the_lost_ticket() -> None:
    bare = IrodsBadRequestError("refused", http_status=400, operation="data_objects.read")
    assert lost_ticket(bare, ticket="t", count=None)
    assert lost_ticket(bare, ticket="t", count=8193)
    assert not lost_ticket(bare, ticket="t", count=8192)
    assert not lost_ticket(bare, ticket=None, count=None)
    coded = IrodsBadRequestError("refused", http_status=400, irods_code=-818000)
    assert not lost_ticket(coded, ticket="t", count=None)
    assert not lost_ticket(IrodsNotFoundError("gone", http_status=404), ticket="t", count=None)
    assert not lost_ticket(IrodsResponseError("busy", http_status=500), ticket="t", count=None)
