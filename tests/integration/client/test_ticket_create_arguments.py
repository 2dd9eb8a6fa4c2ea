"""``tickets.create`` refuses, before any request, arguments the server would fail on after the ticket exists.

The HTTP API creates the ticket first, then reads each limit with ``std::stoi`` and the expiry with
``std::stoll`` (endpoints/tickets/src/main.cpp:222-253 at 0.7.0), uncaught but for the handler's
``catch (const std::exception&)`` → HTTP 500 with no body: the new ticket (a bearer credential, with no limit
and no expiry yet) is left behind and its string never reaches the caller. ``stoi`` also reads ``2.5`` as 2.
The expiry becomes ``system_clock::now() + seconds{secs}`` (main.cpp:243-246): past 2^63 nanoseconds that
overflows (libstdc++'s system_clock counts nanoseconds in 64 bits).
"""

from __future__ import annotations

import datetime
import time
from typing import Any

import pytest

from irods_provider.exceptions import IrodsUsageError

pytestmark = pytest.mark.timeout(60)

PATH = "/tempZone/home/rods/t.txt"

BAD: list[tuple[str, dict[str, Any]]] = [
    ("bool use count", {"use_count": True}),
    ("float use count", {"use_count": 2.5}),
    ("text use count", {"use_count": "3"}),
    ("bool byte count", {"write_byte_count": False}),
    ("expiry past the server's clock", {"expires_in": 10**19}),
    ("timedelta past the server's clock", {"expires_in": datetime.timedelta(days=10**8)}),
    ("nan expiry", {"expires_in": float("nan")}),
    ("infinite expiry", {"expires_in": float("inf")}),
    ("bool expiry", {"expires_in": True}),
]


@pytest.mark.parametrize(("case", "kwargs"), BAD, ids=[c[0] for c in BAD])
def test_a_bad_argument_is_refused_and_no_ticket_is_left(
    session: Any, case: str, kwargs: dict[str, Any]
) -> None:
    session.data_objects.write(PATH, b"x")
    with pytest.raises(IrodsUsageError) as caught:
        session.tickets.create(PATH, **kwargs)
    assert caught.value.path == PATH
    assert session.tickets.on_path(PATH) == []


def test_a_century_is_accepted(session: Any) -> None:
    session.data_objects.write(PATH, b"x")
    before = time.time()
    session.tickets.create(PATH, expires_in=datetime.timedelta(days=36525), use_count=3)
    (info,) = session.tickets.on_path(PATH)
    assert info.use_count == 3
    assert info.expires_at is not None
    assert abs(info.expires_at - (before + 36525 * 86400)) < 120
