"""Fixtures for the OpenID tests: the real provider (django-oauth-toolkit) and validators against it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))

from oidc_provider.harness import OidcProvider, oidc_provider

from irods_provider.testing._openid import OpenIdIntrospectionValidator, OpenIdJwtValidator

__all__ = ["oidc_provider"]

RESOURCE_SERVER = "irods-rs"


@pytest.fixture(scope="session")
def introspection_validator(oidc_provider: OidcProvider) -> Iterator[OpenIdIntrospectionValidator]:
    """The emulator-side validator: introspection as the resource server, user from preferred_username."""
    validator = OpenIdIntrospectionValidator(
        oidc_provider.issuer,
        client_id=RESOURCE_SERVER,
        client_secret=oidc_provider.clients[RESOURCE_SERVER],
        user_claim="preferred_username",
    )
    yield validator
    validator.close()


@pytest.fixture(scope="session")
def jwt_validator(oidc_provider: OidcProvider) -> OpenIdJwtValidator:
    """Local JWT validation against the provider's JWKS; audience = the resource server."""
    return OpenIdJwtValidator(
        oidc_provider.issuer, client_id=RESOURCE_SERVER, user_claim="preferred_username"
    )
