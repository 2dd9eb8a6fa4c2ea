"""Which JWKS key verifies a JWT access token, over HTTP: the server's add_algorithms_to_verifier.

core/src/openid.cpp at 0.7.0 (0.6.0 identical; 0.5.0 the same code at :410-511): a ``kid`` found in the JWKS
names the one key (:417-424), whatever its use/key_ops/alg; an unknown ``kid`` is only logged (:425) and,
like no kid, falls through to HS (the configured secret, :449-451) or to a walk of the whole JWKS (:459-502)
that skips non-signing keys and keys whose alg differs (or, without alg, whose kty differs). jwt-cpp keeps
one key per algorithm name (``algs[alg.name()] = ...`` in verifier::allow_algorithm, include/jwt-cpp/jwt.h
at v0.6.0 and v0.7.0), so the walk's *last* match is the only key tried. A refused token is
``fail(status_type::unauthorized)``: HTTP 401, empty body (core/src/common.cpp:83-87, :384-386 at 0.7.0).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from joserfc import jws
from joserfc.jwk import ECKey, OctKey, RSAKey
from oidc_provider.harness import OidcProvider
from test_openid_versions import _stat_home

from irods_provider.testing import EmulatorConfig, EmulatorServer
from irods_provider.testing._openid import (
    OpenIdIntrospectionValidator,
    OpenIdJwtValidator,
    OpenIdLocalThenIntrospection,
)

pytestmark = pytest.mark.timeout(60)

AUDIENCE = "irods-rs"
HS_SECRET = b"an-hs256-secret-of-at-least-32-bytes"
HS_SECRET_B64 = base64.urlsafe_b64encode(HS_SECRET).rstrip(b"=").decode()  # access_token_secret is base64url


def _token(issuer: str, key: Any, alg: str = "RS256", **header: Any) -> str:
    """A 60-second access token for alice, signed with ``key``; ``kid=None`` leaves the kid out."""
    now = int(time.time())
    claims = {"iss": issuer, "aud": [AUDIENCE], "preferred_username": "alice", "nbf": now, "exp": now + 60}
    head = {k: v for k, v in {"alg": alg, "typ": "at+jwt", **header}.items() if v is not None}
    return jws.serialize_compact(head, json.dumps(claims), key, algorithms=[alg])


def _accepted(server: EmulatorServer, token: str) -> bool:
    """True on 200 with iRODS status 0; False on the server's refusal (401, empty body); else an error."""
    answer = _stat_home(server, token)
    if answer.status_code == 401:
        assert answer.content == b""
        return False
    assert answer.status_code == 200, answer.text
    assert answer.json()["irods_response"]["status_code"] == 0
    return True


def _serve(validator: Any, api_version: str = "0.7.0") -> EmulatorServer:
    server = EmulatorServer(EmulatorConfig(api_version=api_version, openid=validator)).start()
    server.add_user("alice", "alice-irods-password")
    return server


# ---- the real provider (one RSA key in its JWKS), each profile with local JWT validation ------------------


@pytest.fixture(params=["0.5.0", "0.6.0", "0.7.0"])
def provider_emulator(
    request: pytest.FixtureRequest,
    jwt_validator: OpenIdJwtValidator,
    introspection_validator: OpenIdIntrospectionValidator,
) -> Iterator[EmulatorServer]:
    """0.5.0 introspects when local validation fails (the provider never issued these tokens: it refuses)."""
    validator: Any = jwt_validator
    if request.param == "0.5.0":
        validator = OpenIdLocalThenIntrospection(jwt_validator, introspection_validator)
    server = _serve(validator, request.param)
    try:
        yield server
    finally:
        server.stop()


def test_unknown_kid_signed_by_a_jwks_key_is_accepted(
    oidc_provider: OidcProvider, provider_emulator: EmulatorServer
) -> None:
    key = RSAKey.import_key(oidc_provider.private_key_pem)
    assert _accepted(provider_emulator, _token(oidc_provider.issuer, key, kid="rotated-away"))


def test_unknown_kid_signed_by_a_key_outside_the_jwks_is_refused(
    oidc_provider: OidcProvider, provider_emulator: EmulatorServer
) -> None:
    stranger = RSAKey.generate_key(2048)
    assert not _accepted(provider_emulator, _token(oidc_provider.issuer, stranger, kid="rotated-away"))
    key = RSAKey.import_key(oidc_provider.private_key_pem)
    assert _accepted(provider_emulator, _token(oidc_provider.issuer, key, kid="rotated-away"))  # control


# ---- a provider whose JWKS holds several keys --------------------------------------------------------------

KEYS: dict[str, Any] = {
    "first": RSAKey.generate_key(2048),  # no alg: taken by kty
    "second": RSAKey.generate_key(2048),  # alg RS256: the walk's last RS256 match
    "enc": RSAKey.generate_key(2048),  # use enc: skipped by the walk
    "encrypt-only": RSAKey.generate_key(2048),  # key_ops without verify: skipped by the walk
    "rs384": RSAKey.generate_key(2048),  # alg RS384: skipped for RS256
    "ec": ECKey.generate_key("P-256"),
}
EXTRA: dict[str, dict[str, Any]] = {
    "second": {"alg": "RS256"},
    "enc": {"use": "enc"},
    "encrypt-only": {"key_ops": ["encrypt"]},
    "rs384": {"alg": "RS384"},
}


@pytest.fixture(scope="module")
def multi_key_issuer() -> Iterator[str]:
    """A minimal provider: discovery and a JWKS of KEYS in this order (their kid is their name)."""
    jwks = {"keys": [{**KEYS[k].as_dict(private=False), "kid": k, **EXTRA.get(k, {})} for k in KEYS]}
    documents: dict[str, Any] = {"/jwks.json": jwks}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(documents.get(self.path, documents["discovery"])).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    issuer = f"http://127.0.0.1:{httpd.server_address[1]}"
    documents["discovery"] = {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "jwks_uri": f"{issuer}/jwks.json",
    }
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield issuer
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def multi_key_emulator(multi_key_issuer: str) -> Iterator[EmulatorServer]:
    validator = OpenIdJwtValidator(
        multi_key_issuer,
        client_id=AUDIENCE,
        user_claim="preferred_username",
        access_token_secret=HS_SECRET_B64,
    )
    server = _serve(validator)
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("kid", ["rotated-away", None])
def test_without_a_known_kid_only_the_last_matching_key_verifies(
    multi_key_issuer: str, multi_key_emulator: EmulatorServer, kid: str | None
) -> None:
    rsa = [name for name in KEYS if name != "ec"]
    results = {n: _accepted(multi_key_emulator, _token(multi_key_issuer, KEYS[n], kid=kid)) for n in rsa}
    assert results == {
        "first": False,  # a match, but replaced by "second" in jwt-cpp's one-key-per-alg map
        "second": True,
        "enc": False,
        "encrypt-only": False,
        "rs384": False,
    }
    ec = _token(multi_key_issuer, KEYS["ec"], alg="ES256", kid=kid)
    assert _accepted(multi_key_emulator, ec)  # the only EC key


def test_a_named_key_is_used_whatever_its_use_but_only_for_its_family(
    multi_key_issuer: str, multi_key_emulator: EmulatorServer
) -> None:
    def accepted(key: str, alg: str = "RS256", kid: str | None = None) -> bool:
        signer = OctKey.import_key(HS_SECRET) if alg == "HS256" else KEYS[key]
        return _accepted(multi_key_emulator, _token(multi_key_issuer, signer, alg, kid=kid or key))

    assert accepted("first")  # the walk would have taken "second"
    assert accepted("enc")  # use/key_ops/alg of a named key are not read (openid.cpp:417-424)
    assert accepted("rs384")
    assert not accepted("first", kid="ec")  # RS256 with an EC key: no n/e, the server throws
    assert not accepted("", alg="HS256", kid="first")  # a named JWK never takes an HS alg (:303-393)
    assert accepted("", alg="HS256", kid="rotated-away")  # unknown kid: the configured secret
