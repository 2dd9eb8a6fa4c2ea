"""No redirect is followed, whatever its status, credentials or client: a 301/302/307/308 to another origin
never receives the Basic credentials or the bearer token, from the sync session, the async session (triggers)
or the ``auto`` version probe; a redirect to itself (a loop) ends at once with a typed error, not retried."""

from __future__ import annotations

import asyncio
import json

import pytest
from hostile_server import Reply, Request, hostile_server

from irods_provider.client import AsyncIrodsSession, BasicAuth, IrodsSession, RetryPolicy, StaticToken
from irods_provider.client._discovery import discover_api_version, forget_discovered_versions
from irods_provider.exceptions import IrodsError, IrodsProtocolError

pytestmark = pytest.mark.timeout(60)

BASE = "/irods-http-api/0.7.0"
INFO = json.dumps({"api_version": "0.7.0", "irods_zone": "tempZone"}).encode()
AUTHS = {"basic": lambda: BasicAuth("rods", "pw-Redirect-123"), "bearer": lambda: StaticToken("t0ken-Abc123")}


def _moved(status: int, target: str) -> Reply:
    return Reply(status=status, headers={"Location": target, "Content-Length": "0"})


def _stat(url: str, auth: str, *, run_async: bool) -> None:
    if not run_async:
        with IrodsSession(url + BASE, auth=AUTHS[auth](), retry=RetryPolicy.never()) as session:
            session.collections.stat("/tempZone/home")
        return

    async def stat() -> None:
        async with AsyncIrodsSession(url + BASE, auth=AUTHS[auth](), retry=RetryPolicy.never()) as session:
            await session.collections.stat("/tempZone/home")

    asyncio.run(stat())


@pytest.mark.parametrize("run_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("auth", sorted(AUTHS))
@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_no_credential_follows_a_redirect_to_another_origin(status: int, auth: str, run_async: bool) -> None:
    def redirect(request: Request) -> Reply:
        if request.path.endswith("/info"):
            return Reply(headers={"Content-Type": "application/json"}, chunks=[INFO])
        return _moved(status, f"{elsewhere.url}{request.path}")

    with (
        hostile_server(lambda request: Reply(chunks=[b"token-from-elsewhere"])) as elsewhere,
        hostile_server(redirect) as server,
        pytest.raises(IrodsError, match=f"HTTP {status}"),
    ):
        _stat(server.url, auth, run_async=run_async)
    assert elsewhere.requests == [], "a request (with its credentials) followed the redirect"
    assert len([r for r in server.requests if not r.path.endswith("/info")]) == 1, "a redirect was retried"


def test_a_redirect_loop_ends_at_once_with_a_typed_error() -> None:
    with hostile_server(lambda request: _moved(308, request.path)) as server:
        with pytest.raises(IrodsError, match="HTTP 308"):
            _stat(server.url, "bearer", run_async=False)
        forget_discovered_versions()
        with pytest.raises(IrodsProtocolError, match="HTTP 308, HTTP 308"):
            discover_api_version(f"{server.url}/irods-http-api", retry=RetryPolicy.never())
    forget_discovered_versions()
    assert len(server.requests) == 1 + 4  # one stat, one probe per known version: none followed
