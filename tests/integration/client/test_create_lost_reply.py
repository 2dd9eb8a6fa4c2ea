"""A collection create whose reply is lost after the server acted: without ``exist_ok`` it is not resent
(the resend would call the collection this very call created "already existing"); with it, it is."""

from __future__ import annotations

import httpx2
import pytest

from irods_provider.client import BasicAuth, IrodsSession, RetryPolicy
from irods_provider.exceptions import IrodsTimeoutError

HOME = "/tempZone/home/rods"


class LoseFirstCreateReply(httpx2.HTTPTransport):
    """Forwards every request; the first collections create is applied, but its reply is lost."""

    def __init__(self) -> None:
        super().__init__()
        self.creates = 0

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        body = request.read()
        response = super().handle_request(request)
        if request.url.path.endswith("/collections") and b'name="op"\r\n\r\ncreate\r\n' in body:
            self.creates += 1
            if self.creates == 1:
                response.read()
                response.close()
                raise httpx2.ReadTimeout("reply lost after the server acted", request=request)
        return response


@pytest.fixture
def lossy(irods_emulator):
    transport = LoseFirstCreateReply()
    retry = RetryPolicy(sleep=lambda _s: None, initial_backoff=0.0)
    auth = BasicAuth("rods", "rods-emulator")
    with IrodsSession(irods_emulator.base_url, auth=auth, retry=retry, transport=transport) as session:
        yield session, transport


def test_a_create_without_exist_ok_is_not_resent_after_a_lost_reply(lossy) -> None:
    session, transport = lossy
    with pytest.raises(IrodsTimeoutError):
        session.collections.create(f"{HOME}/lost")
    assert transport.creates == 1
    assert session.collections.exists(f"{HOME}/lost")


def test_a_create_with_exist_ok_is_resent_and_succeeds(lossy) -> None:
    session, transport = lossy
    assert session.collections.create(f"{HOME}/lost-ok", exist_ok=True) is False  # the lost copy created it
    assert transport.creates == 2
    assert session.collections.exists(f"{HOME}/lost-ok")
