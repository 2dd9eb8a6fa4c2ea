"""API 0.4.0's protected-resource mode: every token is introspected, nothing is validated locally.

core/src/common.cpp:417-437 at 0.4.0: a bearer that is not a Basic token goes to the provider's
introspection endpoint, whose ``active`` member alone decides (``json_res.at("active")``), and the user is
the ``irods_user_claim`` of that answer. Local JWT validation (core/src/openid.cpp) only came with 0.5.0.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from oidc_provider.harness import OidcProvider
from test_openid_versions import _forged_jwt, _stat_home

from irods_provider.testing import EmulatorConfig, EmulatorServer
from irods_provider.testing._openid import OpenIdIntrospectionValidator, OpenIdJwtValidator

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def validator_040(oidc_provider: OidcProvider) -> Iterator[OpenIdIntrospectionValidator]:
    validator = OpenIdIntrospectionValidator(
        oidc_provider.issuer,
        client_id="irods-rs",
        client_secret=oidc_provider.clients["irods-rs"],
        user_claim="preferred_username",
        active_only=True,
    )
    yield validator
    validator.close()


@pytest.fixture
def emulator_040(validator_040: OpenIdIntrospectionValidator) -> Iterator[EmulatorServer]:
    server = EmulatorServer(EmulatorConfig(api_version="0.4.0", openid=validator_040)).start()
    server.add_user("alice", "alice-irods-password")
    try:
        yield server
    finally:
        server.stop()


def test_040_validates_every_token_at_introspection_only(
    oidc_provider: OidcProvider, emulator_040: EmulatorServer
) -> None:
    # Signed with the provider's key but never issued: 0.5.0 accepts it by local validation
    # (test_050_tries_local_jwt_validation_then_introspection); 0.4.0 asks introspection, which refuses it.
    assert _stat_home(emulator_040, _forged_jwt(oidc_provider)).status_code == 401
    opaque = oidc_provider.fetch_token(
        "irods-pw", grant_type="password", username="alice", password=oidc_provider.users["alice"]
    )["access_token"]
    answer = _stat_home(emulator_040, opaque)
    assert answer.status_code == 200
    assert answer.json()["irods_response"]["status_code"] == 0


def test_040_refuses_a_local_jwt_validator(jwt_validator: OpenIdJwtValidator) -> None:
    with pytest.raises(
        ValueError, match=r"0\.4\.0 validates OpenID tokens at the introspection endpoint only"
    ):
        EmulatorConfig(api_version="0.4.0", openid=jwt_validator)
    EmulatorConfig(api_version="0.5.0", openid=jwt_validator)  # from 0.5.0 on, JWTs are validated locally


def test_040_options_that_0_4_0_does_not_have_are_refused(oidc_provider: OidcProvider) -> None:
    with pytest.raises(ValueError, match="checks no aud"):
        OpenIdIntrospectionValidator(
            oidc_provider.issuer,
            client_id="irods-rs",
            client_secret=oidc_provider.clients["irods-rs"],
            user_claim="preferred_username",
            active_only=True,
            require_aud=True,
        )


def test_040_reads_only_active_from_the_introspection_answer(
    oidc_provider: OidcProvider,
    validator_040: OpenIdIntrospectionValidator,
    introspection_validator: OpenIdIntrospectionValidator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A provider whose discovery issuer differs from the iss of its introspection answers (Keycloak behind
    # a proxy with another frontend URL): 0.5.0+ compares iss (core/src/openid.cpp at 0.5.0, #270) and
    # refuses; 0.4.0 never looks at it (common.cpp:424 at 0.4.0 reads "active" only).
    for validator in (validator_040, introspection_validator):
        monkeypatch.setattr(validator, "issuer", "https://frontend.example/realms/lab")
    token = oidc_provider.fetch_token(
        "irods-pw", grant_type="password", username="alice", password=oidc_provider.users["alice"]
    )["access_token"]
    assert introspection_validator.username_for(token) is None
    assert validator_040.username_for(token) == "alice"
