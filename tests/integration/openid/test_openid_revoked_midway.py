"""A token revoked at the provider in the middle of a large upload or download.

An introspecting server sees the revocation at once: the provider answers ``active: false`` and the server
refuses the request with HTTP 401 and an empty body (``fail(status_type::unauthorized)`` after
``validate_using_introspection_endpoint`` returns nothing, core/src/common.cpp:377-386 and
core/src/openid.cpp:106-110 at 0.7.0; :341-375 at 0.5.0, where a token local JWT validation refused is
introspected). A renewable grant (password, client credentials) renews and the transfer goes on from its
verified prefix; a static token cannot be renewed, so the transfer fails with a typed error naming the
cause, never the token, and nothing is left at the final path.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from joserfc import jws
from joserfc.jwk import RSAKey
from oidc_provider.harness import OidcProvider

from irods_provider.client import (
    IrodsSession,
    OpenIdClientCredentials,
    OpenIdPassword,
    StaticToken,
)
from irods_provider.client.transfer import TransferConfig, download_object, upload_object
from irods_provider.exceptions import IrodsAuthenticationError
from irods_provider.testing import EmulatorConfig, EmulatorServer
from irods_provider.testing._openid import (
    OpenIdIntrospectionValidator,
    OpenIdJwtValidator,
    OpenIdLocalThenIntrospection,
)

pytestmark = pytest.mark.timeout(120)

MIB = 1024 * 1024
SIZE = 24 * MIB
HOME = "/tempZone/home/alice"
SERVICE_ACCOUNT = "service-account-irods-cc-long"


class RevokingTransport(httpx2.HTTPTransport):
    """Calls ``revoke`` (revoke at the provider, or move the server's clock) with the bearer token of the
    ``after``-th chunk request (a write or a ranged read of at least ``chunk`` bytes) just before sending
    it, once; counts each status seen after."""

    def __init__(self, revoke: Callable[[str], None], *, after: int, chunk: int) -> None:
        super().__init__()
        self._revoke, self._after, self._chunk = revoke, after, chunk
        self._lock = threading.Lock()
        self.chunks = 0
        self.chunk_bytes = 0  # bytes the chunk requests carried or asked for, resends included
        self.revoked: str | None = None
        self.statuses_after: dict[int, int] = {}

    def _chunk_size(self, request: httpx2.Request) -> int:
        if request.method == "POST":
            size = int(request.headers.get("content-length", "0"))
        else:
            size = int(request.url.params.get("count", "0")) if request.url.params.get("op") == "read" else 0
        return size if size >= self._chunk else 0

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        with self._lock:
            size = self._chunk_size(request)
            if size:
                self.chunks += 1
                self.chunk_bytes += size
                if self.chunks == self._after and self.revoked is None:
                    self._revoke(bearer)
                    self.revoked = bearer
        response = super().handle_request(request)
        with self._lock:
            if self.revoked is not None:
                self.statuses_after[response.status_code] = (
                    self.statuses_after.get(response.status_code, 0) + 1
                )
        return response


@pytest.fixture(scope="module", params=["0.7.0", "0.5.0"])
def emulator(
    request: pytest.FixtureRequest,
    introspection_validator: OpenIdIntrospectionValidator,
    jwt_validator: OpenIdJwtValidator,
) -> Iterator[EmulatorServer]:
    """0.7.0 introspecting every token; 0.5.0 validating JWTs locally and introspecting the rest (these
    clients' tokens are opaque, so introspection decides)."""
    version = request.param
    validator: Any = introspection_validator
    if version == "0.5.0":
        validator = OpenIdLocalThenIntrospection(jwt_validator, introspection_validator)
    server = EmulatorServer(EmulatorConfig(api_version=version, openid=validator)).start()
    server.add_user("alice", "alice-irods-only-pw")
    server.add_user(SERVICE_ACCOUNT, "sa-irods-only-pw")
    try:
        yield server
    finally:
        server.stop()


def _source(kind: str, provider: OidcProvider, minted: list[str]) -> tuple[Any, str, str]:
    """(token source, its home collection, the provider client whose tokens it holds)."""
    common: dict[str, Any] = {"discovery_url": provider.issuer, "allow_insecure_http": True}
    if kind == "client_credentials":
        client = "irods-cc-long"
        source: Any = OpenIdClientCredentials(
            client_id=client, client_secret=provider.clients[client], on_token=minted.append, **common
        )
        return source, f"/tempZone/home/{SERVICE_ACCOUNT}", client
    client = "irods-pw-long"
    alice = {"username": "alice", "password": provider.users["alice"]}
    if kind == "password":
        source = OpenIdPassword(
            client_id=client,
            client_secret=provider.clients[client],
            on_token=minted.append,
            **alice,
            **common,
        )
        return source, HOME, client
    token = provider.fetch_token(client, grant_type="password", **alice)["access_token"]
    minted.append(token)
    return StaticToken(token), HOME, client


def _config() -> TransferConfig:
    return TransferConfig(streams=3, chunk_size=MIB, queue_depth=2)


@pytest.mark.parametrize("kind", ["password", "client_credentials"])
@pytest.mark.parametrize("direction", ["upload", "download"])
def test_a_renewable_grant_renews_and_finishes_the_transfer(
    oidc_provider: OidcProvider, emulator: EmulatorServer, tmp_path: Path, kind: str, direction: str
) -> None:
    payload = random.Random(27).randbytes(SIZE)
    minted: list[str] = []
    source, home, client = _source(kind, oidc_provider, minted)
    local = tmp_path / "payload.bin"
    local.write_bytes(payload)
    path = f"{home}/revoked-{direction}-{kind}.bin"
    with IrodsSession(emulator.base_url, auth=source) as setup:
        assert setup.collections.exists(home)  # the first token is minted before the count starts
        if direction == "download":
            upload_object(setup, local, path, config=_config())
    revoke = functools.partial(oidc_provider.revoke, client_id=client, token_type_hint="access_token")
    transport = RevokingTransport(revoke, after=6, chunk=MIB // 2)
    requests_before = oidc_provider.token_requests()
    with IrodsSession(emulator.base_url, auth=source, transport=transport) as session:
        if direction == "upload":
            result = upload_object(session, local, path, config=_config())
            assert result.size == SIZE
        else:
            target = tmp_path / "back.bin"
            download_object(session, path, target, config=_config())
        sent, token_requests = transport.chunk_bytes, oidc_provider.token_requests() - requests_before
        back = session.data_objects.read(path) if direction == "upload" else target.read_bytes()
        session.data_objects.remove(path, no_trash=True)
    source.close()
    assert transport.revoked is not None
    assert transport.revoked in minted
    assert hashlib.sha256(back).digest() == hashlib.sha256(payload).digest()
    refused = transport.statuses_after.get(401, 0)
    print(
        f"\n{kind} {direction}: after revocation {transport.statuses_after}; {token_requests} token "
        f"requests; chunk bytes {sent / MIB:.2f} MiB of {SIZE // MIB}"
    )
    assert refused >= 1  # the server saw the revocation at once (introspection)
    assert set(transport.statuses_after) <= {200, 401}
    # One renewal for every request refused together: the password grant's refresh token was revoked with
    # its access token (invalid_grant), so it logs in again; client credentials ask once.
    assert token_requests == (2 if kind == "password" else 1)
    # Nothing restarted: only the refused requests were sent again (each at most a chunk, plus its form).
    assert sent <= SIZE + refused * (MIB + 4096)


@pytest.mark.parametrize("direction", ["upload", "download"])
def test_a_static_token_revoked_midway_fails_clearly(
    oidc_provider: OidcProvider,
    emulator: EmulatorServer,
    tmp_path: Path,
    direction: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    payload = random.Random(28).randbytes(SIZE)
    minted: list[str] = []
    source, home, client = _source("static", oidc_provider, minted)
    local = tmp_path / "payload.bin"
    local.write_bytes(payload)
    path = f"{home}/revoked-static-{direction}.bin"
    with IrodsSession(emulator.base_url, auth=source) as setup:
        if direction == "download":
            upload_object(setup, local, path, config=_config())
    revoke = functools.partial(oidc_provider.revoke, client_id=client, token_type_hint="access_token")
    transport = RevokingTransport(revoke, after=6, chunk=MIB // 2)
    target = tmp_path / "back.bin"
    caplog.set_level(logging.DEBUG)

    def transfer(session: IrodsSession) -> None:
        if direction == "upload":
            upload_object(session, local, path, config=_config())
        else:
            download_object(session, path, target, config=_config())

    with (
        IrodsSession(emulator.base_url, auth=source, transport=transport) as session,
        pytest.raises(IrodsAuthenticationError) as refused,
    ):
        transfer(session)
    error = refused.value
    print(f"\nstatic {direction}: {type(error).__name__}: {error}")
    assert transport.revoked == minted[0]
    assert error.http_status == 401
    assert "static bearer token" in str(error)
    assert "cannot be renewed" in str(error)
    assert str(error.path).startswith(home)  # the request it refused, by path
    assert str(error.operation).startswith("data_objects.")
    everything = "\n".join([str(error), repr(error), caplog.text, *map(str, _chain(error))])
    assert minted[0] not in everything
    # Nothing at the final path (upload), no file at the target (download), whatever was left behind; a
    # later attempt with a credential that works finishes over the leftovers (resuming from the last
    # checkpoint the failed attempt recorded on its temporary) and publishes exactly the source.
    fresh = _fresh_alice(oidc_provider)
    with IrodsSession(emulator.base_url, auth=fresh) as check:
        if direction == "upload":
            assert not check.data_objects.exists(path)
        else:
            assert not target.exists()
        transfer(check)
        back = check.data_objects.read(path) if direction == "upload" else target.read_bytes()
        assert hashlib.sha256(back).digest() == hashlib.sha256(payload).digest()
        check.data_objects.remove(path, no_trash=True)
        leftovers = [e.path for e in check.collections.iterate(home) if "revoked-static" in e.path]
    fresh.close()
    assert leftovers == []


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen = error.__cause__ or error.__context__
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


def _fresh_alice(provider: OidcProvider) -> OpenIdPassword:
    return OpenIdPassword(
        username="alice",
        password=provider.users["alice"],
        client_id="irods-pw-long",
        client_secret=provider.clients["irods-pw-long"],
        discovery_url=provider.issuer,
        allow_insecure_http=True,
    )


def test_a_revoked_jwt_is_accepted_by_local_validation_until_the_server_clock_passes_its_exp(
    oidc_provider: OidcProvider, jwt_validator: OpenIdJwtValidator, tmp_path: Path
) -> None:
    """Local validation never asks the provider (openid.cpp:513-638 at 0.7.0), so revoking does nothing
    until ``exp`` by the server's clock; then a static token fails as above. The token is signed with the
    provider's key but unknown to it (so as good as revoked, and living 600 s, not the fixture's 2 s)."""
    key = RSAKey.import_key(oidc_provider.private_key_pem)
    now = int(time.time())
    claims = {"iss": oidc_provider.issuer, "aud": ["irods-rs"], "preferred_username": "alice"}
    claims |= {"iat": now, "nbf": now, "exp": now + 600}
    header = {"alg": "RS256", "typ": "at+jwt", "kid": key.thumbprint()}
    token = jws.serialize_compact(header, json.dumps(claims), key, algorithms=["RS256"])
    local = tmp_path / "payload.bin"
    local.write_bytes(random.Random(29).randbytes(SIZE))
    server = EmulatorServer(EmulatorConfig(api_version="0.7.0", openid=jwt_validator)).start()
    server.add_user("alice", "alice-irods-only-pw")
    revoke = functools.partial(oidc_provider.revoke, client_id="irods-jwt", token_type_hint="access_token")

    def expire(_bearer: str) -> None:
        server.set_limits(clock_offset_seconds=601.0)  # past exp by the server's clock

    try:
        revoking = RevokingTransport(revoke, after=6, chunk=MIB // 2)
        with IrodsSession(server.base_url, auth=StaticToken(token), transport=revoking) as session:
            assert upload_object(session, local, f"{HOME}/kept.bin", config=_config()).size == SIZE
        assert revoking.revoked == token
        assert set(revoking.statuses_after) == {200}  # the server never learned of the revocation

        expiring = RevokingTransport(expire, after=6, chunk=MIB // 2)
        with (
            IrodsSession(server.base_url, auth=StaticToken(token), transport=expiring) as session,
            pytest.raises(IrodsAuthenticationError) as refused,
        ):
            upload_object(session, local, f"{HOME}/expired.bin", config=_config())
        assert "cannot be renewed" in str(refused.value)
        assert token not in str(refused.value)
        server.set_limits(clock_offset_seconds=0.0)
        with IrodsSession(server.base_url, auth=StaticToken(token)) as session:
            assert not session.data_objects.exists(f"{HOME}/expired.bin")
    finally:
        server.stop()
