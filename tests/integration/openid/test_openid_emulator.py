"""End to end: token from the real provider → IrodsSession → emulator in protected-resource mode.

The emulator validates every bearer token at the provider (introspection, or locally as a JWT) and maps
the user from ``preferred_username``; the user's own permissions then apply.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx2
import pytest
from oidc_provider.harness import OidcProvider

from irods_provider.client import IrodsSession, OpenIdClientCredentials, OpenIdPassword, OpenIdRefreshToken
from irods_provider.exceptions import IrodsResponseError
from irods_provider.testing import EmulatorConfig, EmulatorServer
from irods_provider.testing._openid import OpenIdIntrospectionValidator, OpenIdJwtValidator

pytestmark = pytest.mark.timeout(60)

SERVICE_ACCOUNT = "service-account-irods-cc"


def _start(validator: object) -> EmulatorServer:
    server = EmulatorServer(EmulatorConfig(openid=validator)).start()  # type: ignore[arg-type]
    for name in ("alice", "bob", SERVICE_ACCOUNT):
        server.add_user(name, f"{name}-irods-password")
    return server


@pytest.fixture(scope="module")
def emulator(introspection_validator: OpenIdIntrospectionValidator) -> Iterator[EmulatorServer]:
    server = _start(introspection_validator)
    yield server
    server.stop()


def _password(provider: OidcProvider, user: str = "alice", **options: object) -> OpenIdPassword:
    return OpenIdPassword(
        username=user,
        password=provider.users[user],
        client_id="irods-pw",
        client_secret=provider.clients["irods-pw"],
        discovery_url=provider.issuer,
        allow_insecure_http=True,
        **options,  # type: ignore[arg-type]
    )


def _round_trip(session: IrodsSession, user: str, name: str) -> None:
    """Write and read back in the user's home; the owner is that user; another user's home is closed."""
    path = f"/tempZone/home/{user}/{name}"
    payload = f"written by {user} via OpenID\n".encode()
    session.data_objects.write(path, payload)
    assert session.data_objects.read(path) == payload
    owners = {p.name for p in session.data_objects.stat(path).permissions if p.perm == "own"}
    assert owners == {user}
    other = "bob" if user != "bob" else "alice"
    assert session.collections.exists(f"/tempZone/home/{user}") is True
    assert session.collections.exists(f"/tempZone/home/{other}") is False  # invisible to this user
    with pytest.raises(IrodsResponseError) as refused:
        session.data_objects.write(f"/tempZone/home/{other}/{name}", b"intrusion")
    assert refused.value.irods_code is not None
    assert refused.value.irods_code < 0


def test_info_reports_openid_enabled_and_unknown_bearer_is_refused(emulator: EmulatorServer) -> None:
    assert httpx2.get(f"{emulator.base_url}/info", timeout=10).json()["openid_connect_enabled"] is True
    answer = httpx2.get(
        f"{emulator.base_url}/collections",
        params={"op": "stat", "lpath": "/tempZone/home/alice"},
        headers={"Authorization": "Bearer not-a-provider-token"},
        timeout=10,
    )
    assert answer.status_code == 401


def test_password_grant_end_to_end(oidc_provider: OidcProvider, emulator: EmulatorServer) -> None:
    auth = _password(oidc_provider)
    with IrodsSession(emulator.base_url, auth=auth) as session:
        _round_trip(session, "alice", "password-grant.txt")
    auth.close()


def test_client_credentials_end_to_end(oidc_provider: OidcProvider, emulator: EmulatorServer) -> None:
    auth = OpenIdClientCredentials(
        client_id="irods-cc",
        client_secret=oidc_provider.clients["irods-cc"],
        discovery_url=oidc_provider.issuer,
        allow_insecure_http=True,
    )
    with IrodsSession(emulator.base_url, auth=auth) as session:
        _round_trip(session, SERVICE_ACCOUNT, "client-credentials.txt")
    auth.close()


def test_refresh_token_end_to_end(oidc_provider: OidcProvider, emulator: EmulatorServer) -> None:
    offline = oidc_provider.fetch_token(
        "irods-pw", grant_type="password", username="bob", password=oidc_provider.users["bob"]
    )["refresh_token"]
    auth = OpenIdRefreshToken(
        refresh_token=offline,
        client_id="irods-pw",
        client_secret=oidc_provider.clients["irods-pw"],
        token_url=oidc_provider.token_url,
        allow_insecure_http=True,
    )
    with IrodsSession(emulator.base_url, auth=auth) as session:
        _round_trip(session, "bob", "refresh-token.txt")
    auth.close()


def test_refresh_after_401_when_the_provider_revoked_the_access_token(
    oidc_provider: OidcProvider, emulator: EmulatorServer
) -> None:
    auth = _password(oidc_provider, leeway=0)
    with IrodsSession(emulator.base_url, auth=auth) as session:
        session.data_objects.write("/tempZone/home/alice/before.txt", b"1")
        first = auth.get_token()
        oidc_provider.revoke(first, client_id="irods-pw", token_type_hint="access_token")
        refresh_before = oidc_provider.token_requests("refresh_token")
        password_before = oidc_provider.token_requests("password")
        session.data_objects.write("/tempZone/home/alice/after.txt", b"2")  # 401 → renew → retry
        # DOT revoked the bound refresh token too: the refresh grant is refused, the password grant used
        assert oidc_provider.token_requests("refresh_token") - refresh_before == 1
        assert oidc_provider.token_requests("password") - password_before == 1
        assert auth.get_token() != first
        assert session.data_objects.read("/tempZone/home/alice/after.txt") == b"2"
    auth.close()


def test_calls_keep_working_across_two_second_token_lifetimes(
    oidc_provider: OidcProvider, emulator: EmulatorServer
) -> None:
    auth = _password(oidc_provider)
    before = oidc_provider.token_requests()
    deadline = time.monotonic() + 30  # a bound, not the measure: the loop ends on the counted renewals
    calls = 0
    with IrodsSession(emulator.base_url, auth=auth) as session:
        while oidc_provider.token_requests() - before < 3:  # the login, then two renewals
            assert time.monotonic() < deadline, "no two renewals within 30 s"
            calls += 1
            session.data_objects.write("/tempZone/home/alice/loop.txt", str(calls).encode())
            assert session.data_objects.read("/tempZone/home/alice/loop.txt") == str(calls).encode()
    assert oidc_provider.token_requests() - before == 3  # renewed once per token, never twice
    auth.close()


def test_jwt_mode_end_to_end(oidc_provider: OidcProvider) -> None:
    validator = OpenIdJwtValidator(
        oidc_provider.issuer, client_id="irods-rs", user_claim="preferred_username"
    )
    server = _start(validator)
    try:
        auth = OpenIdPassword(
            username="alice",
            password=oidc_provider.users["alice"],
            client_id="irods-jwt",
            client_secret=oidc_provider.clients["irods-jwt"],
            discovery_url=oidc_provider.issuer,
            allow_insecure_http=True,
            audience="irods-rs",
        )
        with IrodsSession(server.base_url, auth=auth) as session:
            _round_trip(session, "alice", "jwt.txt")
        assert validator.jwks_fetches == 1
        auth.close()
    finally:
        server.stop()
