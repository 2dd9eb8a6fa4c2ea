"""A collection create whose reply is lost after the server acted: without ``exist_ok`` it is not resent
(the resend would call the collection this very call created "already existing"); with it, it is."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from irods_provider.client import BasicAuth, IrodsSession, RetryPolicy
from irods_provider.exceptions import IrodsTimeoutError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from lost_reply import LoseFirstReply

HOME = "/tempZone/home/rods"


@pytest.fixture
def lossy(irods_emulator):
    transport = LoseFirstReply(
        lambda request, body: (
            request.url.path.endswith("/collections") and b'name="op"\r\n\r\ncreate\r\n' in body
        )
    )
    retry = RetryPolicy(sleep=lambda _s: None, initial_backoff=0.0)
    auth = BasicAuth("rods", "rods-emulator")
    with IrodsSession(irods_emulator.base_url, auth=auth, retry=retry, transport=transport) as session:
        yield session, transport


def test_a_create_without_exist_ok_is_not_resent_after_a_lost_reply(lossy) -> None:
    session, transport = lossy
    with pytest.raises(IrodsTimeoutError):
        session.collections.create(f"{HOME}/lost")
    assert transport.count == 1
    assert session.collections.exists(f"{HOME}/lost")


def test_a_create_with_exist_ok_is_resent_and_succeeds(lossy) -> None:
    session, transport = lossy
    assert session.collections.create(f"{HOME}/lost-ok", exist_ok=True) is False  # the lost copy created it
    assert transport.count == 2
    assert session.collections.exists(f"{HOME}/lost-ok")
