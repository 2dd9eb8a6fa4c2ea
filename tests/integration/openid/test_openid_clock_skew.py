"""Clocks that disagree: the identity provider's, the iRODS HTTP API server's and this client's.

The server (local JWT validation, 0.5.0 to 0.7.0) checks a JWT's times with jwt-cpp and no leeway, by its
own clock: refused when now > exp, now < iat or now < nbf (include/jwt-cpp/jwt.h:3102-3124@v0.7.0, the same
at v0.6.0; jwt::verify() with no .leeway(), core/src/openid.cpp:580-586@0.7.0, :616-623@0.5.0). Through
introspection the provider judges expiry by its own clock and the server checks only an ``nbf`` it returns
(openid.cpp:116-133@0.7.0). 0.5.0 introspects a token local validation refused (core/src/common.cpp:341-375).

The client renews on the lifetime the provider states (``expires_in``, else the JWT's ``exp - iat``, both on
the provider's clock), counted on its monotonic clock: neither a skewed provider nor a skewed wall clock
here makes it renew too late (401s) or too early (a token request every few seconds). The clocks are the
token source's ``clock=`` and ``wall_clock=`` arguments; the server's is the emulator's
``clock_offset_seconds``: nothing waits.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx2
import pytest
from joserfc import jws
from joserfc.jwk import RSAKey
from oidc_provider.harness import OidcProvider

from irods_provider.client import IrodsSession, OpenIdClientCredentials, OpenIdPassword
from irods_provider.exceptions import IrodsAuthenticationError
from irods_provider.testing import EmulatorConfig, EmulatorServer
from irods_provider.testing._openid import (
    OpenIdIntrospectionValidator,
    OpenIdJwtValidator,
    OpenIdLocalThenIntrospection,
)

pytestmark = pytest.mark.timeout(90)

HOME = "/tempZone/home/alice"
WALL = 2_000_000_000.0  # this client's wall clock in the client-side tests (epoch seconds)
LIFETIME = 300


def _signed(provider: OidcProvider, **times: float) -> str:
    """An access token as the provider's JWT client mints it (RS256 with its key, typ at+jwt), with these
    times (``iat``/``nbf``/``exp``; None leaves one out)."""
    key = RSAKey.import_key(provider.private_key_pem)
    claims: dict[str, Any] = {
        "iss": provider.issuer,
        "aud": ["irods-jwt", "irods-rs"],
        "preferred_username": "alice",
        **{name: int(when) for name, when in times.items() if when is not None},
    }
    header = {"alg": "RS256", "typ": "at+jwt", "kid": key.thumbprint()}
    return jws.serialize_compact(header, json.dumps(claims), key, algorithms=["RS256"])


class TokenEndpoint:
    """A loopback token endpoint answering every request with ``answer()``'s JSON; counts the requests."""

    def __init__(self) -> None:
        self.requests = 0
        self.answer: Any = lambda: {}
        self.url = ""


@pytest.fixture
def endpoint() -> Iterator[TokenEndpoint]:
    state = TokenEndpoint()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.requests += 1
            body = json.dumps(state.answer()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/token"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


class Clock:
    """A settable monotonic clock (seconds)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _source(endpoint: TokenEndpoint, clock: Clock) -> OpenIdClientCredentials:
    return OpenIdClientCredentials(
        client_id="skewed",
        client_secret="skewed-secret",
        token_url=endpoint.url,
        allow_insecure_http=True,
        clock=clock,
        wall_clock=lambda: WALL,
    )


def _requests_at(source: OpenIdClientCredentials, endpoint: TokenEndpoint, clock: Clock, at: float) -> int:
    """How many token requests ``get_token`` made with the monotonic clock at ``at`` s after the first."""
    before = endpoint.requests
    clock.now = 1000.0 + at
    source.get_token()
    return endpoint.requests - before


# Provider clock minus this client's: ahead by more than a lifetime (the old rule, exp - now, renewed 1000 s
# late: a 401 each lifetime), behind by almost one (it renewed every 5 s), behind by more than one (the token
# looked expired on arrival: lifetime unknown, renewed only after a 401).
@pytest.mark.parametrize("skew", [0, 1000, -290, -1000])
def test_a_jwt_without_expires_in_is_renewed_on_its_own_lifetime_whatever_the_clocks(
    oidc_provider: OidcProvider, endpoint: TokenEndpoint, skew: float
) -> None:
    def answer() -> dict[str, Any]:
        issued = WALL + skew  # the provider's clock
        return {
            "access_token": _signed(oidc_provider, iat=issued, exp=issued + LIFETIME),
            "token_type": "Bearer",
        }

    endpoint.answer = answer
    clock = Clock()
    source = _source(endpoint, clock)
    assert _requests_at(source, endpoint, clock, 0) == 1
    # Renewed 5 s (the leeway) before the lifetime ends, counted from when the request went out.
    assert _requests_at(source, endpoint, clock, 100) == 0  # not too early
    assert _requests_at(source, endpoint, clock, LIFETIME - 5 - 1) == 0
    assert _requests_at(source, endpoint, clock, LIFETIME - 5 + 1) == 1  # not too late
    source.close()


def test_expires_in_wins_over_the_jwt_times(oidc_provider: OidcProvider, endpoint: TokenEndpoint) -> None:
    endpoint.answer = lambda: {
        "access_token": _signed(oidc_provider, iat=WALL - 5000, exp=WALL + 3600),
        "expires_in": LIFETIME,
        "token_type": "Bearer",
    }
    clock = Clock()
    source = _source(endpoint, clock)
    assert _requests_at(source, endpoint, clock, 0) == 1
    assert _requests_at(source, endpoint, clock, LIFETIME - 6) == 0
    assert _requests_at(source, endpoint, clock, LIFETIME - 4) == 1
    source.close()


def test_without_iat_the_injected_wall_clock_judges_exp(
    oidc_provider: OidcProvider, endpoint: TokenEndpoint
) -> None:
    endpoint.answer = lambda: {
        "access_token": _signed(oidc_provider, exp=WALL + LIFETIME),
        "token_type": "Bearer",
    }
    clock = Clock()
    source = _source(endpoint, clock)
    assert _requests_at(source, endpoint, clock, 0) == 1
    assert _requests_at(source, endpoint, clock, LIFETIME - 6) == 0
    assert _requests_at(source, endpoint, clock, LIFETIME - 4) == 1
    source.close()


# -- the server's clock ---------------------------------------------------------------------------------


def _stat_home(server: EmulatorServer, token: str) -> int:
    return httpx2.get(
        f"{server.base_url}/collections",
        params={"op": "stat", "lpath": HOME},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).status_code


@pytest.fixture(scope="module")
def jwt_emulator(jwt_validator: OpenIdJwtValidator) -> Iterator[EmulatorServer]:
    """0.7.0 validating JWTs locally (access_token_validation_method local_validation)."""
    server = EmulatorServer(EmulatorConfig(api_version="0.7.0", openid=jwt_validator)).start()
    server.add_user("alice", "alice-irods-password")
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("server_minus_provider", "times", "status"),
    [
        (0, {"iat": 0, "nbf": 0, "exp": 60}, 200),
        (0, {"iat": 30, "nbf": None, "exp": 90}, 401),  # issued in the server's future: jwt-cpp's iat check
        (0, {"iat": None, "nbf": 30, "exp": 90}, 401),
        (120, {"iat": 0, "nbf": 0, "exp": 60}, 401),  # valid by the provider's clock, expired by the server's
        (-120, {"iat": 0, "nbf": 0, "exp": 60}, 401),  # just issued, but in the server's future
        (
            -120,
            {"iat": -200, "nbf": -200, "exp": -30},
            200,
        ),  # expired by the provider's clock, not the server's
        (
            120,
            {"iat": 100, "nbf": 100, "exp": 200},
            200,
        ),  # "future" by the provider's clock, not the server's
    ],
)
def test_the_server_judges_jwt_times_by_its_own_clock_without_leeway(
    oidc_provider: OidcProvider,
    jwt_emulator: EmulatorServer,
    server_minus_provider: float,
    times: dict[str, float | None],
    status: int,
) -> None:
    now = time.time()  # the provider's clock (this machine's)
    token = _signed(oidc_provider, **{k: None if v is None else now + v for k, v in times.items()})
    jwt_emulator.set_limits(clock_offset_seconds=server_minus_provider)
    try:
        assert _stat_home(jwt_emulator, token) == status
    finally:
        jwt_emulator.set_limits(clock_offset_seconds=0.0)


def _jwt_source(provider: OidcProvider, minted: list[str]) -> OpenIdPassword:
    """alice's JWT access tokens (the provider's irods-jwt client, audience irods-rs), their two-second
    lifetime stopped (``clock=``): renewed only when the server refuses one."""
    return OpenIdPassword(
        clock=lambda: 0.0,
        username="alice",
        password=provider.users["alice"],
        client_id="irods-jwt",
        client_secret=provider.clients["irods-jwt"],
        discovery_url=provider.issuer,
        allow_insecure_http=True,
        audience="irods-rs",
        on_token=minted.append,
    )


def test_a_server_clock_behind_the_provider_refuses_its_fresh_jwts_with_a_typed_error_naming_clocks(
    oidc_provider: OidcProvider, jwt_emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    minted: list[str] = []
    source = _jwt_source(oidc_provider, minted)
    jwt_emulator.set_limits(clock_offset_seconds=-120.0)  # every fresh token is issued in its future
    try:
        with IrodsSession(jwt_emulator.base_url, auth=source) as session:
            before = oidc_provider.token_requests()
            with pytest.raises(IrodsAuthenticationError) as refused:
                session.collections.stat(HOME)
            asked = oidc_provider.token_requests() - before
            jwt_emulator.set_limits(clock_offset_seconds=0.0)
            session.collections.stat(HOME)  # the clocks agree again: the same session goes on
    finally:
        jwt_emulator.set_limits(clock_offset_seconds=0.0)
        source.close()
    error = refused.value
    assert error.http_status == 401
    assert error.path == HOME
    assert "clock" in str(error)
    assert "'iat'" in str(error)
    # The first token and the renewals a short-lived token gets (three), then the error: bounded.
    assert asked == 4
    everything = "\n".join([str(error), repr(error), caplog.text])
    assert minted
    assert not [token for token in minted if token in everything]


def test_050_introspects_what_its_clock_refuses_and_072_introspection_ignores_the_skew(
    oidc_provider: OidcProvider,
    jwt_validator: OpenIdJwtValidator,
    introspection_validator: OpenIdIntrospectionValidator,
) -> None:
    """0.5.0 falls back to introspection for a JWT its clock refuses (the provider issued it and says it is
    active); 0.7.0 in introspection mode never reads the JWT's times."""
    minted: list[str] = []
    source = _jwt_source(oidc_provider, minted)
    chain = OpenIdLocalThenIntrospection(jwt_validator, introspection_validator)
    for version, validator in (("0.5.0", chain), ("0.7.0", introspection_validator)):
        config = EmulatorConfig(api_version=version, openid=validator, clock_offset_seconds=-120.0)
        server = EmulatorServer(config).start()
        server.add_user("alice", "alice-irods-password")
        try:
            with IrodsSession(server.base_url, auth=source) as session:
                session.data_objects.write(f"{HOME}/skewed.txt", b"skewed")
                assert session.data_objects.read(f"{HOME}/skewed.txt") == b"skewed"
        finally:
            server.stop()
    source.close()
