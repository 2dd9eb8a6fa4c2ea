"""A 429/503 reply's ``Retry-After`` (a proxy or load balancer in front of the API sends one) lengthens the
wait before the retry, within the policy's longest backoff and total time. MockTransport: the emulator
never sends the header."""

from __future__ import annotations

import email.utils
import json

import httpx2
import pytest

from irods_provider.client import IrodsSession, RetryPolicy, StaticToken
from irods_provider.client._errors import retry_after_seconds
from irods_provider.exceptions import IrodsServerBusyError

OK = {"irods_response": {"status_code": 0}, "entries": []}


def _session(retry_after: str, sleeps: list[float], **policy: float) -> IrodsSession:
    calls = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(request)
        if len(calls) == 1:
            return httpx2.Response(503, headers={"Retry-After": retry_after})
        return httpx2.Response(200, content=json.dumps(OK).encode())

    retry = RetryPolicy(sleep=sleeps.append, random=lambda: 0.0, initial_backoff=0.1, **policy)
    return IrodsSession(
        "http://irods.test/irods-http-api/0.7.0",
        auth=StaticToken("tok-abcdef"),
        retry=retry,
        transport=httpx2.MockTransport(handler),
    )


@pytest.mark.parametrize(("header", "slept"), [("3", 3.0), ("3600", 5.0), ("nonsense", 0.05)])
def test_retry_after_lengthens_the_wait_up_to_the_longest_backoff(header: str, slept: float) -> None:
    sleeps: list[float] = []
    with _session(header, sleeps, max_backoff=5.0) as session:
        assert session.collections.list("/tempZone/home/rods") == []
    assert sleeps == [pytest.approx(slept)]


def test_a_retry_after_past_the_total_timeout_gives_up() -> None:
    sleeps: list[float] = []
    with (
        _session("20", sleeps, max_backoff=60.0, total_timeout=10.0) as session,
        pytest.raises(IrodsServerBusyError) as caught,
    ):
        session.collections.list("/tempZone/home/rods")
    assert caught.value.retry_after == 20.0
    assert sleeps == []


def test_retry_after_as_an_http_date() -> None:
    now = 1_700_000_000.0
    assert retry_after_seconds(email.utils.formatdate(now + 7, usegmt=True), now=now) == pytest.approx(7.0)
    assert retry_after_seconds(email.utils.formatdate(now - 7, usegmt=True), now=now) == 0.0
    assert retry_after_seconds("-3") is None
    assert retry_after_seconds(None) is None
