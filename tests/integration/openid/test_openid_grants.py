"""Each grant against the real provider: the token it yields validates and maps to the right user."""

from __future__ import annotations

import time

import httpx2
import pytest
from oidc_provider.harness import OidcProvider

from irods_provider.client import TokenProvider
from irods_provider.client._openid import OpenIdClientCredentials, OpenIdPassword, OpenIdRefreshToken
from irods_provider.testing._openid import OpenIdIntrospectionValidator

RESOURCE_SERVER = "irods-rs"

# A hang guard, not a speed test: each test makes up to eight requests to the provider's subprocess, and on a
# starved host (nice 19 beside busy processes) one such test took over 60 s (timed out inside a revoke).
pytestmark = pytest.mark.timeout(180)


def _password_source(provider: OidcProvider, **options: object) -> OpenIdPassword:
    return OpenIdPassword(
        username="alice",
        password=provider.users["alice"],
        client_id="irods-pw",
        client_secret=provider.clients["irods-pw"],
        discovery_url=provider.issuer,
        allow_insecure_http=True,
        **options,  # type: ignore[arg-type]
    )


def _cc_source(provider: OidcProvider) -> OpenIdClientCredentials:
    return OpenIdClientCredentials(
        client_id="irods-cc",
        client_secret=provider.clients["irods-cc"],
        discovery_url=provider.issuer,
        allow_insecure_http=True,
    )


def test_client_credentials_token_maps_to_service_account(
    oidc_provider: OidcProvider, introspection_validator: OpenIdIntrospectionValidator
) -> None:
    source = _cc_source(oidc_provider)
    assert isinstance(source, TokenProvider)
    before = oidc_provider.token_requests("client_credentials")
    token = source.get_token()
    assert source.get_token() == token  # cached while fresh
    assert oidc_provider.token_requests("client_credentials") == before + 1
    assert introspection_validator.username_for(token) == "service-account-irods-cc"
    assert source.token_url == oidc_provider.token_url  # found by discovery
    source.close()


def test_password_grant_maps_to_user_with_post_auth_and_explicit_token_url(
    oidc_provider: OidcProvider, introspection_validator: OpenIdIntrospectionValidator
) -> None:
    source = OpenIdPassword(
        username="bob",
        password=oidc_provider.users["bob"],
        client_id="irods-pw",
        client_secret=oidc_provider.clients["irods-pw"],
        token_url=oidc_provider.token_url,
        allow_insecure_http=True,
        client_auth="client_secret_post",
        scope="openid read",
    )
    token = source.get_token()
    claims = introspection_validator.claims_for(token)
    assert claims is not None
    assert claims["username"] == "bob"
    assert claims["scope"] == "openid read"
    assert introspection_validator.username_for(token) == "bob"
    source.close()


def test_refresh_token_grant_rotates_and_remembers_newest_token(
    oidc_provider: OidcProvider, introspection_validator: OpenIdIntrospectionValidator
) -> None:
    offline = oidc_provider.fetch_token(
        "irods-pw", grant_type="password", username="alice", password=oidc_provider.users["alice"]
    )["refresh_token"]
    minted: list[str] = []
    source = OpenIdRefreshToken(
        refresh_token=offline,
        client_id="irods-pw",
        client_secret=oidc_provider.clients["irods-pw"],
        discovery_url=oidc_provider.discovery_url,
        allow_insecure_http=True,
        on_token=minted.append,
    )
    sibling = OpenIdRefreshToken(
        refresh_token=offline,
        client_id="irods-pw",
        client_secret=oidc_provider.clients["irods-pw"],
        discovery_url=oidc_provider.discovery_url,
        allow_insecure_http=True,
    )
    first = source.get_token()
    assert introspection_validator.username_for(first) == "alice"
    second = source.get_token(reject=first)  # as after a 401: rotated refresh token used
    assert second != first
    assert introspection_validator.username_for(second) == "alice"
    assert len(minted) == 6  # per renewal: access token, rotated refresh token, id token
    assert minted[0] == first
    assert minted[3] == second
    assert offline not in minted

    # The configured token was rotated away at the provider ...
    refused = httpx2.post(
        oidc_provider.token_url,
        data={"grant_type": "refresh_token", "refresh_token": offline},
        auth=("irods-pw", oidc_provider.clients["irods-pw"]),
        timeout=10,
    )
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    # ... yet other sources of the same configuration in this process continue from the newest one,
    # whether built before the rotation (sibling) or after it (again).
    assert introspection_validator.username_for(sibling.get_token()) == "alice"
    again = OpenIdRefreshToken(
        refresh_token=offline,
        client_id="irods-pw",
        client_secret=oidc_provider.clients["irods-pw"],
        discovery_url=oidc_provider.discovery_url,
        allow_insecure_http=True,
    )
    assert introspection_validator.username_for(again.get_token()) == "alice"
    sibling.close()
    source.close()
    again.close()


def test_on_token_receives_every_minted_secret(oidc_provider: OidcProvider) -> None:
    minted: list[str] = []
    source = _password_source(oidc_provider, on_token=minted.append)
    token = source.get_token()
    assert minted[0] == token
    assert len(minted) == 2  # access and refresh token
    assert minted[1] not in (token, oidc_provider.users["alice"])
    source.close()


def test_proactive_refresh_with_two_second_tokens(
    oidc_provider: OidcProvider, introspection_validator: OpenIdIntrospectionValidator
) -> None:
    """Tokens live 2 s: the source renews before expiry, so every token it hands out still validates."""
    assert oidc_provider.access_token_seconds == 2
    source = _password_source(oidc_provider, leeway=30)
    before = oidc_provider.token_requests()
    first = source.get_token()
    seen = [first]
    deadline = time.monotonic() + 8
    while len(set(seen)) < 3:
        assert time.monotonic() < deadline, "no proactive renewal within 8 s"
        token = source.get_token()
        assert introspection_validator.username_for(token) == "alice", "an expired token was handed out"
        seen.append(token)
        time.sleep(0.05)
    # one password grant, then two refresh_token grants (renewal uses the rotated refresh token)
    assert oidc_provider.token_requests() - before == 3
    assert source.token_requests == 3
    source.close()


def test_reject_renews_only_the_current_token(
    oidc_provider: OidcProvider, introspection_validator: OpenIdIntrospectionValidator
) -> None:
    source = _cc_source(oidc_provider)
    first = source.get_token()
    second = source.get_token(reject=first)
    assert second != first
    assert source.get_token(reject=first) == second  # a stale 401 does not cause another request
    assert source.token_requests == 2
    assert introspection_validator.username_for(second) == "service-account-irods-cc"
    source.close()  # forgets the token; a later call logs in again on a fresh HTTP client
    third = source.get_token()
    assert third not in (first, second)
    assert source.token_requests == 3
    source.close()


def test_revoked_refresh_token_falls_back_to_password_grant(
    oidc_provider: OidcProvider, introspection_validator: OpenIdIntrospectionValidator
) -> None:
    # The long-lived client: the fallback is the same for any lifetime, and the provider's two-second token
    # could expire before it is introspected on a starved machine (seen at load 20: `None == 'alice'`).
    source = OpenIdPassword(
        username="alice",
        password=oidc_provider.users["alice"],
        client_id="irods-pw-long",
        client_secret=oidc_provider.clients["irods-pw-long"],
        discovery_url=oidc_provider.issuer,
        allow_insecure_http=True,
    )
    first = source.get_token()
    current = source._current
    assert current is not None
    assert current.refresh_token is not None
    oidc_provider.revoke(current.refresh_token, client_id="irods-pw-long")
    refresh_before = oidc_provider.token_requests("refresh_token")
    password_before = oidc_provider.token_requests("password")
    second = source.get_token(reject=first)
    assert oidc_provider.token_requests("refresh_token") == refresh_before + 1  # refused
    assert oidc_provider.token_requests("password") == password_before + 1  # logged in again
    assert introspection_validator.username_for(second) == "alice"
    source.close()


def test_introspection_rejects_unknown_revoked_and_audienceless_tokens(
    oidc_provider: OidcProvider, introspection_validator: OpenIdIntrospectionValidator
) -> None:
    assert introspection_validator.username_for("not-a-token") is None
    # Validators first (each runs discovery): the provider's access tokens live 2 s, so the token is
    # fetched only when everything that checks it is ready.
    strict = OpenIdIntrospectionValidator(
        oidc_provider.discovery_url,
        client_id="irods-rs",
        client_secret=oidc_provider.clients["irods-rs"],
        user_claim="preferred_username",
        require_aud=True,
    )
    mapped = OpenIdIntrospectionValidator(
        oidc_provider.issuer,
        client_id="irods-rs",
        client_secret=oidc_provider.clients["irods-rs"],
        user_claim="preferred_username",
        match_regex=r"service-account-(.+)",
        replace_format="$1",
    )
    token = oidc_provider.fetch_token("irods-cc", grant_type="client_credentials")["access_token"]
    assert strict.username_for(token) is None  # DOT sends no aud for this token
    assert mapped.username_for(token) == "irods-cc"
    oidc_provider.revoke(token, client_id="irods-cc", token_type_hint="access_token")
    assert introspection_validator.username_for(token) is None
    wrong_secret = OpenIdIntrospectionValidator(
        oidc_provider.issuer, client_id="irods-rs", client_secret="wrong", user_claim="preferred_username"
    )
    fresh = oidc_provider.fetch_token("irods-cc", grant_type="client_credentials")["access_token"]
    assert wrong_secret.username_for(fresh) is None
    assert introspection_validator.username_for(fresh) == "service-account-irods-cc"
    for validator in (strict, mapped, wrong_secret):
        validator.close()


def _introspected_lifetime(provider: OidcProvider, token: str) -> float | None:
    """Seconds the provider itself still gives ``token`` (RFC 7662 ``exp``), asked as the resource server;
    None when it calls the token inactive."""
    response = httpx2.post(
        provider.introspection_url,
        data={"token": token},
        auth=(RESOURCE_SERVER, provider.clients[RESOURCE_SERVER]),
        timeout=10,
    )
    response.raise_for_status()
    answer = response.json()
    if answer["active"] is not True:
        return None
    return float(answer["exp"]) - time.time()


def _short_lived(provider: OidcProvider, client: str, **fields: str) -> None:
    """A token of ``client`` lives at most the provider's two seconds. Introspected right after its fetch, it
    may already have expired on a starved machine (seen at load 20: ``{'active': False}``): inactive is then
    accepted only once those two seconds have passed since the fetch began, so an hour token still fails."""
    fetched = time.monotonic()
    answer = provider.fetch_token(client, **fields)
    assert answer["expires_in"] == provider.access_token_seconds == 2
    lifetime = _introspected_lifetime(provider, answer["access_token"])
    if lifetime is None:
        assert time.monotonic() - fetched >= provider.access_token_seconds, "inactive before it could expire"
    else:
        assert lifetime <= 2


def test_long_lived_clients_get_hour_tokens_and_the_others_keep_the_short_lifetime(
    oidc_provider: OidcProvider,
) -> None:
    """The harness's per-client lifetime: secrets tests use the long-lived clients (a loaded machine cannot
    expire their tokens in flight); every renewal test keeps the provider's two-second tokens."""
    alice = {"username": "alice", "password": oidc_provider.users["alice"]}
    assert oidc_provider.long_lived_clients == {"irods-pw-long", "irods-cc-long"}
    _short_lived(oidc_provider, "irods-pw", grant_type="password", **alice)
    _short_lived(oidc_provider, "irods-cc", grant_type="client_credentials")
    answers = {
        "irods-pw-long": oidc_provider.fetch_token("irods-pw-long", grant_type="password", **alice),
        "irods-cc-long": oidc_provider.fetch_token("irods-cc-long", grant_type="client_credentials"),
    }
    for client in ("irods-pw-long", "irods-cc-long"):
        assert answers[client]["expires_in"] == oidc_provider.long_token_seconds == 3600
        assert (_introspected_lifetime(oidc_provider, answers[client]["access_token"]) or 0) > 3500
    # A renewal through the refresh_token grant (it revokes the access token it replaces) is long too.
    refreshed = oidc_provider.fetch_token(
        "irods-pw-long", grant_type="refresh_token", refresh_token=answers["irods-pw-long"]["refresh_token"]
    )
    assert refreshed["expires_in"] == 3600
    assert (_introspected_lifetime(oidc_provider, refreshed["access_token"]) or 0) > 3500
