"""A ticket create whose reply is lost after the server made the ticket must not leave a ticket nobody
knows: it is a bearer credential granting access to the path. The HTTP API makes the ticket first, then
sets its limits and restrictions (endpoints/tickets/src/main.cpp:222-305 at 0.7.0), and a create is never
resent (it is not idempotent: a resend makes a second ticket). After such a failure the client compares
the path's tickets of that type with those it listed before the call: the one that appeared is removed and
the failure raised (nothing granted is left; creating again is safe); several that appeared (another
create of the same user raced this one) cannot be told apart, so none is removed and
IrodsTicketOutcomeUnknownError names them in ``possible_tickets``, never in its text."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from irods_provider.client import BasicAuth, IrodsSession, RetryPolicy
from irods_provider.exceptions import IrodsTicketOutcomeUnknownError, IrodsTimeoutError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from lost_reply import LoseFirstReply

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"
AUTH = BasicAuth("rods", "rods-emulator")


def _is_create(request: httpx2.Request, body: bytes) -> bool:
    return request.url.path.endswith("/tickets") and b'name="op"\r\n\r\ncreate\r\n' in body


class _RacedLostCreate(LoseFirstReply):
    """Loses the first create's reply after the server acted, and lets ``race`` (another create of the same
    user) run right before that create reaches the server."""

    def __init__(self, race: Callable[[], None]) -> None:
        super().__init__(_is_create)
        self._race = race

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if self.count == 0 and _is_create(request, request.read()):
            self._race()
        return super().handle_request(request)


@pytest.fixture
def admin(irods_emulator: Any) -> Iterator[IrodsSession]:
    with IrodsSession(irods_emulator.base_url, auth=AUTH) as session:
        yield session


def _lossy(server: Any, transport: httpx2.HTTPTransport) -> IrodsSession:
    retry = RetryPolicy(sleep=lambda _s: None, initial_backoff=0.0)
    return IrodsSession(server.base_url, auth=AUTH, retry=retry, transport=transport)


def _tickets_on(admin: IrodsSession, path: str) -> set[str]:
    name = path.rsplit("/", 1)[1]
    return {r[0] for r in admin.query.genquery(f"select TICKET_STRING where TICKET_DATA_NAME = '{name}'")}


def test_a_create_whose_reply_was_lost_leaves_no_ticket(irods_emulator: Any, admin: IrodsSession) -> None:
    path = f"{HOME}/lost-ticket.txt"
    admin.data_objects.write(path, b"shared")
    kept = admin.tickets.create(path)  # an earlier ticket on the path: not this call's, left alone
    transport = LoseFirstReply(_is_create)
    with _lossy(irods_emulator, transport) as session, pytest.raises(IrodsTimeoutError) as raised:
        session.tickets.create(path, use_count=3)
    assert transport.count == 1  # never resent: a resend makes a second ticket
    assert _tickets_on(admin, path) == {kept}
    assert any("found and removed" in note for note in raised.value.__notes__)


def test_a_lost_create_raced_by_another_names_both_and_removes_neither(
    irods_emulator: Any, admin: IrodsSession
) -> None:
    path = f"{HOME}/raced-ticket.txt"
    admin.data_objects.write(path, b"shared")
    raced: list[str] = []
    transport = _RacedLostCreate(lambda: raced.append(admin.tickets.create(path)))
    with (
        _lossy(irods_emulator, transport) as session,
        pytest.raises(IrodsTicketOutcomeUnknownError) as raised,
    ):
        session.tickets.create(path)
    error = raised.value
    appeared = _tickets_on(admin, path)
    assert len(appeared) == 2
    assert raced[0] in appeared
    assert set(error.possible_tickets) == appeared
    assert isinstance(error.__cause__, IrodsTimeoutError)
    assert error.path == path
    for ticket in appeared:  # bearer secrets: in the attribute only
        assert ticket not in str(error)
        assert ticket not in repr(error)
