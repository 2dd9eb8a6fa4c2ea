"""A broken or unreachable JWKS: 0.5.0 falls back to introspection, 0.6.0+ local validation refuses.

0.5.0 (core/src/common.cpp:341-375 at 0.5.0): the bearer is decoded as a JWT and validated locally; the
JWKS is fetched inside ``validate_using_local_validation`` (``static auto jwks{jwt::parse_jwks(
fetch_jwks_from_openid_provider())}``, openid.cpp:520), whose catch (:639-642) turns a fetch that fails
(connection refused) or a body jwt-cpp cannot parse into "no claims"; then, when the provider's discovery
lists an ``introspection_endpoint`` (common.cpp:360-362), the token is introspected and the user mapped from
that answer. The static stays uninitialised, so each request tries the JWKS again first. 0.6.0 and 0.7.0
use the one configured method (common.cpp:358-382 at 0.7.0): local validation alone refuses (401, empty
body). The tokens are the provider's own JWT access tokens, which introspection knows.
"""

from __future__ import annotations

import hashlib
import random
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from oidc_provider.harness import OidcProvider

from irods_provider.client import IrodsSession, OpenIdPassword
from irods_provider.client.transfer import TransferConfig, upload_object
from irods_provider.exceptions import IrodsAuthenticationError
from irods_provider.testing import EmulatorConfig, EmulatorServer
from irods_provider.testing._openid import (
    OpenIdIntrospectionValidator,
    OpenIdJwtValidator,
    OpenIdLocalThenIntrospection,
)

pytestmark = pytest.mark.timeout(90)

HOME = "/tempZone/home/alice"
MIB = 1024 * 1024


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed): connecting is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(params=["unreachable", "not a JWKS"])
def broken_jwt_validator(request: pytest.FixtureRequest, oidc_provider: OidcProvider) -> OpenIdJwtValidator:
    """A fresh local validator (no JWKS cached) whose JWKS cannot be fetched, or is the discovery document
    (a JSON object without ``keys``: jwt::parse_jwks throws)."""
    validator = OpenIdJwtValidator(
        oidc_provider.issuer, client_id="irods-rs", user_claim="preferred_username"
    )
    if request.param == "unreachable":
        validator.jwks_uri = f"http://127.0.0.1:{_closed_port()}/o/.well-known/jwks.json"
    else:
        validator.jwks_uri = oidc_provider.discovery_url
    return validator


def _serve(version: str, validator: Any) -> EmulatorServer:
    server = EmulatorServer(EmulatorConfig(api_version=version, openid=validator)).start()
    server.add_user("alice", "alice-irods-password")
    return server


@pytest.fixture
def source(oidc_provider: OidcProvider) -> Iterator[OpenIdPassword]:
    """alice's JWT access tokens (irods-jwt, audience irods-rs: local validation would accept them)."""
    source = OpenIdPassword(
        username="alice",
        password=oidc_provider.users["alice"],
        client_id="irods-jwt",
        client_secret=oidc_provider.clients["irods-jwt"],
        discovery_url=oidc_provider.issuer,
        allow_insecure_http=True,
        audience="irods-rs",
    )
    yield source
    source.close()


class _Counting:
    """Counts what the introspection validator is asked."""

    def __init__(self, inner: OpenIdIntrospectionValidator) -> None:
        self.inner, self.mapper, self.calls = inner, inner.mapper, 0

    def claims_for(self, token: str) -> dict[str, Any] | None:
        self.calls += 1
        return self.inner.claims_for(token)


def test_050_falls_back_to_introspection_and_the_upload_completes(
    broken_jwt_validator: OpenIdJwtValidator,
    introspection_validator: OpenIdIntrospectionValidator,
    source: OpenIdPassword,
    tmp_path: Path,
) -> None:
    payload = random.Random(50).randbytes(6 * MIB)
    local = tmp_path / "payload.bin"
    local.write_bytes(payload)
    counting = _Counting(introspection_validator)
    server = _serve("0.5.0", OpenIdLocalThenIntrospection(broken_jwt_validator, counting))
    try:
        with IrodsSession(server.base_url, auth=source) as session:
            token = source.get_token()
            assert token.count(".") == 2  # a JWT: local validation is tried first, and fails
            result = upload_object(
                session, local, f"{HOME}/fallback.bin", config=TransferConfig(chunk_size=MIB)
            )
            assert result.size == len(payload)
            back = session.data_objects.read(f"{HOME}/fallback.bin")
    finally:
        server.stop()
    assert hashlib.sha256(back).digest() == hashlib.sha256(payload).digest()
    assert counting.calls >= 6  # every request was introspected
    assert broken_jwt_validator.jwks_fetches == 0  # and the JWKS never parsed


@pytest.mark.parametrize("version", ["0.6.0", "0.7.0"])
def test_local_validation_alone_refuses_with_a_typed_error(
    broken_jwt_validator: OpenIdJwtValidator, source: OpenIdPassword, version: str
) -> None:
    server = _serve(version, broken_jwt_validator)
    try:
        with (
            IrodsSession(server.base_url, auth=source) as session,
            pytest.raises(IrodsAuthenticationError) as refused,
        ):
            session.collections.stat(HOME)
    finally:
        server.stop()
    error = refused.value
    assert error.http_status == 401
    assert error.path == HOME
    assert "refused" in str(error)
    assert source.get_token() not in str(error)


def test_050_without_an_introspection_endpoint_refuses(
    broken_jwt_validator: OpenIdJwtValidator, source: OpenIdPassword
) -> None:
    server = _serve("0.5.0", OpenIdLocalThenIntrospection(broken_jwt_validator, None))
    try:
        with IrodsSession(server.base_url, auth=source) as session, pytest.raises(IrodsAuthenticationError):
            session.collections.stat(HOME)
    finally:
        server.stop()
