"""API 0.5.0's protected-resource mode: a JWT is validated locally, any other token at introspection.

core/src/common.cpp:341-380 at 0.5.0: decode the bearer as a JWT and validate it locally; when that yields
nothing and the provider has an introspection endpoint, introspect; map the user from the claims obtained.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from joserfc.jwk import RSAKey
from oidc_provider.harness import OidcProvider

from irods_provider.testing import EmulatorConfig, EmulatorServer
from irods_provider.testing._openid import (
    OpenIdIntrospectionValidator,
    OpenIdJwtValidator,
    OpenIdLocalThenIntrospection,
)

pytestmark = pytest.mark.timeout(60)


class _CountingIntrospection:
    """Delegates to the real introspection validator and counts the calls."""

    def __init__(self, inner: OpenIdIntrospectionValidator) -> None:
        self.inner = inner
        self.mapper = inner.mapper
        self.calls = 0

    def claims_for(self, token: str) -> dict[str, Any] | None:
        self.calls += 1
        return self.inner.claims_for(token)


@pytest.fixture
def chain(
    jwt_validator: OpenIdJwtValidator, introspection_validator: OpenIdIntrospectionValidator
) -> tuple[OpenIdLocalThenIntrospection, _CountingIntrospection]:
    counting = _CountingIntrospection(introspection_validator)
    return OpenIdLocalThenIntrospection(jwt_validator, counting), counting


@pytest.fixture
def emulator_050(
    chain: tuple[OpenIdLocalThenIntrospection, _CountingIntrospection],
) -> Iterator[EmulatorServer]:
    server = EmulatorServer(EmulatorConfig(api_version="0.5.0", openid=chain[0])).start()
    server.add_user("alice", "alice-irods-password")
    try:
        yield server
    finally:
        server.stop()


def _stat_home(server: EmulatorServer, token: str) -> httpx2.Response:
    return httpx2.get(
        f"{server.base_url}/collections",
        params={"op": "stat", "lpath": "/tempZone/home/alice"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def _forged_jwt(provider: OidcProvider) -> str:
    """An RS256 access token signed with the provider's key (60 s): only local validation accepts it."""
    kid = RSAKey.import_key(provider.private_key_pem).thumbprint()
    now = int(time.time())
    claims = {
        "iss": provider.issuer,
        "aud": ["irods-rs"],
        "preferred_username": "alice",
        "iat": now,
        "nbf": now,
        "exp": now + 60,
    }
    head = {"alg": "RS256", "typ": "at+jwt", "kid": kid}
    signing_input = f"{_b64(json.dumps(head).encode())}.{_b64(json.dumps(claims).encode())}"
    key = serialization.load_pem_private_key(provider.private_key_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_050_tries_local_jwt_validation_then_introspection(
    oidc_provider: OidcProvider,
    emulator_050: EmulatorServer,
    chain: tuple[OpenIdLocalThenIntrospection, _CountingIntrospection],
) -> None:
    counting = chain[1]
    assert _stat_home(emulator_050, "neither-a-jwt-nor-known").status_code == 401
    assert counting.calls == 1  # local validation failed, so introspection was asked (and refused)

    # The provider never issued this JWT, so introspection would refuse it: a 200 proves local validation.
    answer = _stat_home(emulator_050, _forged_jwt(oidc_provider))
    assert answer.status_code == 200
    assert answer.json()["irods_response"]["status_code"] == 0
    assert counting.calls == 1

    opaque = oidc_provider.fetch_token(
        "irods-pw", grant_type="password", username="alice", password=oidc_provider.users["alice"]
    )["access_token"]
    assert opaque.count(".") != 2
    answer = _stat_home(emulator_050, opaque)
    assert answer.status_code == 200
    assert answer.json()["irods_response"]["status_code"] == 0
    assert counting.calls == 2  # not a JWT: introspection decided
