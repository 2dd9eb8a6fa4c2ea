"""A login inside a request makes one attempt per request attempt: the attempts never multiply."""

from __future__ import annotations

import socket
import threading

import httpx2
import pytest

from irods_provider.client import AsyncIrodsSession, BasicAuth, IrodsSession, RetryPolicy
from irods_provider.exceptions import IrodsConnectionError

ATTEMPTS = 4


def _policy() -> RetryPolicy:
    return RetryPolicy(max_attempts=ATTEMPTS, initial_backoff=0.0, max_backoff=0.0, sleep=lambda s: None)


class Refusing(httpx2.BaseTransport):
    """Every connection is refused; counts the attempts and which endpoint each was for."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self._lock = threading.Lock()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        with self._lock:
            self.paths.append(request.url.path)
        raise httpx2.ConnectError("connection refused", request=request)


def test_refused_connections_are_tried_exactly_the_policys_max_attempts() -> None:
    transport = Refusing()
    with (
        IrodsSession(
            "http://irods.invalid/irods-http-api/0.7.0",
            auth=BasicAuth("rods", "secret"),
            retry=_policy(),
            transport=transport,
        ) as session,
        pytest.raises(IrodsConnectionError),
    ):
        session.data_objects.stat("/tempZone/home/rods/x")
    assert len(transport.paths) == ATTEMPTS
    assert all(p.endswith("/authenticate") for p in transport.paths)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_a_closed_loopback_port_sees_exactly_max_attempts_async(monkeypatch) -> None:
    port = _closed_port()
    calls: list[str] = []
    original = httpx2.AsyncHTTPTransport.handle_async_request

    async def counting(self, request):
        calls.append(request.url.path)
        return await original(self, request)

    monkeypatch.setattr(httpx2.AsyncHTTPTransport, "handle_async_request", counting)
    async with AsyncIrodsSession(
        f"http://127.0.0.1:{port}/irods-http-api/0.7.0", auth=BasicAuth("rods", "secret"), retry=_policy()
    ) as session:
        with pytest.raises(IrodsConnectionError) as info:
            await session.data_objects.stat("/tempZone/home/rods/x")
    assert len(calls) == ATTEMPTS
    assert "secret" not in str(info.value)


def test_a_login_outside_any_request_keeps_the_session_policy() -> None:
    transport = Refusing()
    auth = BasicAuth("rods", "secret")
    with (
        IrodsSession(
            "http://irods.invalid/irods-http-api/0.7.0", auth=auth, retry=_policy(), transport=transport
        ),
        pytest.raises(IrodsConnectionError),
    ):
        auth.get_token()
    assert len(transport.paths) == ATTEMPTS
