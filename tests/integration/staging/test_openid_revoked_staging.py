"""Staging (SFTP → iRODS through parallel range readers) while the OpenID token is revoked at the provider.

The server introspects every token (0.7.0), so the revocation is refused at once: 401, empty body
(core/src/openid.cpp:106-110, common.cpp:384-386 at 0.7.0). A password grant renews and the staging
finishes byte for byte; a static token cannot be renewed, so it fails with a typed error naming the request
refused, never the token, and nothing is published at the final path.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import pytest
from oidc_provider.harness import OidcProvider, oidc_provider, protected_emulator

from irods_provider.client import IrodsSession, OpenIdPassword, StaticToken
from irods_provider.client.transfer import TransferConfig, upload_object
from irods_provider.exceptions import IrodsAuthenticationError
from irods_provider.sftp import SftpRangedSource, SftpReadOptions

__all__ = ["oidc_provider"]

pytestmark = pytest.mark.timeout(120)

HOME = "/tempZone/home/alice"
CHUNK = 256 * 1024
SIZE = 32 * CHUNK + 11
PAST = 1_600_000_000
CLIENT = "irods-pw-long"  # tokens living an hour: only the revocation ends them


class RevokingTransport(httpx2.HTTPTransport):
    """Revokes the bearer token of the ``after``-th chunk write just before sending it; counts statuses."""

    def __init__(self, revoke: Callable[[str], None], *, after: int) -> None:
        super().__init__()
        self._revoke, self._after = revoke, after
        self._lock = threading.Lock()
        self.writes = 0
        self.revoked: str | None = None
        self.statuses_after: dict[int, int] = {}

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        with self._lock:
            if request.method == "POST" and int(request.headers.get("content-length", "0")) >= CHUNK // 2:
                self.writes += 1
                if self.writes == self._after:
                    self.revoked = request.headers["authorization"].removeprefix("Bearer ")
                    self._revoke(self.revoked)
        response = super().handle_request(request)
        with self._lock:
            if self.revoked is not None:
                status = response.status_code
                self.statuses_after[status] = self.statuses_after.get(status, 0) + 1
        return response


@pytest.fixture(scope="module")
def emulator(oidc_provider: OidcProvider) -> Iterator[Any]:
    with protected_emulator(oidc_provider) as server:
        yield server


def _password(provider: OidcProvider) -> OpenIdPassword:
    return OpenIdPassword(
        username="alice",
        password=provider.users["alice"],
        client_id=CLIENT,
        client_secret=provider.clients[CLIENT],
        discovery_url=provider.issuer,
        allow_insecure_http=True,
    )


def _stage(session: IrodsSession, sftp_channel: tuple[Any, Any], remote: Any, name: str) -> bytes:
    """Stage a fresh file of SIZE bytes from the SFTP server to ``HOME/name``; returns its bytes."""
    data = os.urandom(SIZE)
    os.utime(remote.put(name, data), (PAST, PAST))
    sftp, client = sftp_channel
    options = SftpReadOptions(range_readers=3, chunk_size=CHUNK)
    with SftpRangedSource(sftp, client, remote.path(name), size=SIZE, mtime=PAST, options=options) as source:
        upload_object(session, source, f"{HOME}/{name}", config=TransferConfig(chunk_size=CHUNK, streams=3))
    return data


def test_a_password_grant_renews_and_the_staging_finishes(
    oidc_provider: OidcProvider, emulator: Any, sftp_channel: tuple[Any, Any], remote: Any
) -> None:
    source = _password(oidc_provider)
    revoke = functools.partial(oidc_provider.revoke, client_id=CLIENT, token_type_hint="access_token")
    transport = RevokingTransport(revoke, after=6)
    with IrodsSession(emulator.base_url, auth=source, transport=transport) as session:
        data = _stage(session, sftp_channel, remote, "renewed.bin")
        back = session.data_objects.read(f"{HOME}/renewed.bin")
        session.data_objects.remove(f"{HOME}/renewed.bin", no_trash=True)
    source.close()
    assert transport.revoked is not None
    assert transport.statuses_after.get(401, 0) >= 1
    assert hashlib.sha256(back).digest() == hashlib.sha256(data).digest()


def test_a_static_token_fails_typed_and_publishes_nothing(
    oidc_provider: OidcProvider, emulator: Any, sftp_channel: tuple[Any, Any], remote: Any
) -> None:
    alice = {"username": "alice", "password": oidc_provider.users["alice"]}
    token = oidc_provider.fetch_token(CLIENT, grant_type="password", **alice)["access_token"]
    revoke = functools.partial(oidc_provider.revoke, client_id=CLIENT, token_type_hint="access_token")
    transport = RevokingTransport(revoke, after=6)
    with (
        IrodsSession(emulator.base_url, auth=StaticToken(token), transport=transport) as session,
        pytest.raises(IrodsAuthenticationError) as refused,
    ):
        _stage(session, sftp_channel, remote, "static.bin")
    assert transport.revoked == token
    error = refused.value
    assert error.http_status == 401
    assert "cannot be renewed" in str(error)
    assert str(error.path).startswith(HOME)
    assert token not in f"{error}\n{error!r}"
    checker = _password(oidc_provider)
    with IrodsSession(emulator.base_url, auth=checker) as session:
        assert not session.data_objects.exists(f"{HOME}/static.bin")
    checker.close()
