"""A malformed JWKS, as the HTTP API server's local JWT validation meets it (0.5.0, 0.6.0, 0.7.0 alike).

The tokens are the real provider's (django-oauth-toolkit: RS256 signed with its key, ``kid`` = that key's
thumbprint, as it mints them, only longer-lived), and so is the JWKS its key comes from; a small
loopback server in front serves the provider's discovery document with ``jwks_uri`` pointing at itself, and
there the JWKS each test wants. Server facts (irods_client_http_api core/src/openid.cpp@0.7.0; the same code
at 0.6.0 and, :520 on, at 0.5.0; jwt-cpp 0.6.99.1, whose jwks/jwk code is v0.6.0's and v0.7.0's):

- ``static auto jwks{jwt::parse_jwks(fetch_jwks_from_openid_provider())}`` (:515): the body is read whatever
  the HTTP status (:221-227); a body that is not JSON, not an object, without a ``keys`` array, or with an
  entry that is not an object throws (jwt.h:3521-3531, traits.h:34-47), the catch refuses the token
  (:602-605), and the static being uninitialised, the next token fetches again; once parsed it is kept.
- A ``kid`` found names the key (:417-424): one missing ``n``/``e`` throws (:307-310), refused.
- Otherwise the walk (:459-502): a key whose ``use``/``alg``/``kty`` is not a string or whose ``key_ops`` is
  not an array of strings throws (refused, whatever the other keys); a key without ``kty`` is ignored with
  an error logged (:501), one of an unsupported ``kty`` (OKP) or another ``alg`` is skipped.
A refusal is ``fail(status_type::unauthorized)``: 401, empty body (common.cpp:384-386).
"""

from __future__ import annotations

import json
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
from test_openid_versions import _stat_home

from irods_provider.testing import EmulatorConfig, EmulatorServer
from irods_provider.testing._openid import OpenIdJwtValidator

pytestmark = pytest.mark.timeout(60)

OTHER = RSAKey.generate_key(2048).as_dict(private=False)  # a key the provider does not sign with
OKP = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}  # RFC 8037 A.2


class Front:
    """The loopback server: discovery (the provider's, jwks_uri redirected here) and a settable JWKS."""

    def __init__(self, discovery: dict[str, Any]) -> None:
        self.discovery = discovery
        self.status, self.body = 200, b""
        self.jwks_hits = 0
        self.url = ""

    def serve(self, body: Any, status: int = 200) -> None:
        self.status = status
        self.body = body if isinstance(body, bytes) else json.dumps(body).encode()


@pytest.fixture(scope="module")
def front(oidc_provider: OidcProvider) -> Iterator[Front]:
    discovery = httpx2.get(oidc_provider.discovery_url, timeout=10).json()
    state = Front(discovery)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/jwks.json":
                state.jwks_hits += 1
                status, body = state.status, state.body
            else:
                status, body = 200, json.dumps(state.discovery).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    discovery["jwks_uri"] = f"{url}/jwks.json"
    state.url = url
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def provider_key(oidc_provider: OidcProvider) -> dict[str, Any]:
    """The provider's own signing key as its JWKS publishes it (kid included)."""
    keys = httpx2.get(oidc_provider.jwks_url, timeout=10).json()["keys"]
    assert len(keys) == 1
    key: dict[str, Any] = keys[0]
    return key


@pytest.fixture
def token(oidc_provider: OidcProvider) -> str:
    """An access token as the provider mints it for irods-jwt (tests/support/oidc_provider/tokens.py: RS256,
    typ at+jwt, kid = its key's thumbprint), signed with its key but living 300 s rather than the session
    provider's 2 s, so that a loaded machine cannot expire it in flight."""
    key = RSAKey.import_key(oidc_provider.private_key_pem)
    now = int(time.time())
    claims = {
        "iss": oidc_provider.issuer,
        "aud": ["irods-jwt", "irods-rs"],
        "preferred_username": "alice",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
    }
    header = {"alg": "RS256", "typ": "at+jwt", "kid": key.thumbprint()}
    return jws.serialize_compact(header, json.dumps(claims), key, algorithms=["RS256"])


@pytest.fixture(params=["0.6.0", "0.7.0"])
def emulator(request: pytest.FixtureRequest, front: Front) -> Iterator[EmulatorServer]:
    """A fresh emulator (and validator: nothing cached) validating locally against the front's JWKS."""
    validator = OpenIdJwtValidator(front.url, client_id="irods-rs", user_claim="preferred_username")
    server = EmulatorServer(EmulatorConfig(api_version=request.param, openid=validator)).start()
    server.add_user("alice", "alice-irods-password")
    front.jwks_hits = 0
    try:
        yield server
    finally:
        server.stop()


def _accepted(server: EmulatorServer, token: str) -> bool:
    answer = _stat_home(server, token)
    if answer.status_code == 401:
        assert answer.content == b""
        return False
    assert answer.status_code == 200, answer.text
    return True


def test_an_unparsable_jwks_refuses_the_token_and_is_fetched_again_until_it_parses(
    emulator: EmulatorServer, front: Front, token: str, provider_key: dict[str, Any]
) -> None:
    front.serve(b"<html>502 Bad Gateway</html>", 502)
    assert (_accepted(emulator, token), _accepted(emulator, token)) == (False, False)
    assert front.jwks_hits == 2  # the static stayed uninitialised: fetched for each token
    front.serve({"keys": [provider_key]})
    assert _accepted(emulator, token)
    front.serve(b"{", 200)
    assert _accepted(emulator, token)  # parsed once, kept for the life of the process
    assert front.jwks_hits == 3


def test_the_jwks_status_is_not_read(
    emulator: EmulatorServer, front: Front, token: str, provider_key: dict[str, Any]
) -> None:
    front.serve({"keys": [provider_key]}, 404)
    assert _accepted(emulator, token)


@pytest.mark.parametrize(
    "document",
    [[], {}, {"keys": {}}, {"keys": None}, "keys", {"keys": [1, "PROVIDER"]}, {"keys": ["PROVIDER", None]}],
    ids=["array", "no-keys", "keys-object", "keys-null", "string", "number-entry", "null-entry"],
)
def test_a_jwks_jwt_cpp_cannot_parse_refuses_even_with_the_right_key_in_it(
    emulator: EmulatorServer, front: Front, token: str, provider_key: dict[str, Any], document: Any
) -> None:
    if isinstance(document, dict) and isinstance(document.get("keys"), list):
        document = {"keys": [provider_key if k == "PROVIDER" else k for k in document["keys"]]}
    front.serve(document)
    assert not _accepted(emulator, token)
    assert not _accepted(emulator, token)
    assert front.jwks_hits == 2


def _without(key: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in key.items() if k not in names}


@pytest.mark.parametrize(
    ("keys", "accepted"),
    [
        # the named key lacks a member: get_jwk_claim("n") throws
        (lambda p: [_without(p, "n")], False),
        # no kid in the JWKS: the walk takes the provider's key without "e" (by kty) and throws
        (lambda p: [_without(p, "kid", "e")], False),
        # an unsupported kty (with or without alg) is skipped by the walk; the RSA key verifies
        (lambda p: [OKP, _without(p, "kid")], True),
        (lambda p: [{**OKP, "alg": "EdDSA"}, _without(p, "kid")], True),
        # a key without kty (nor alg) is ignored, logged (:501)
        (lambda p: [_without(OTHER, "kty"), _without(p, "kid")], True),
        # a member of the wrong JSON type on another key throws: the whole validation fails
        (lambda p: [{**OTHER, "use": 1}, _without(p, "kid")], False),
        (lambda p: [{**OTHER, "alg": None}, _without(p, "kid")], False),
        (lambda p: [{**OTHER, "kty": ["RSA"]}, _without(p, "kid")], False),
        (lambda p: [{**OTHER, "key_ops": "verify"}, _without(p, "kid")], False),
        (lambda p: [{**OTHER, "key_ops": ["verify", 1]}, _without(p, "kid")], False),
        # ... but not on a key the kid names: its use/alg/kty are never read (:417-424)
        (lambda p: [{**p, "use": 1, "alg": None, "kty": 5}], True),
    ],
    ids=[
        "named-no-n",
        "walk-no-e",
        "okp",
        "okp-alg",
        "no-kty",
        "use-number",
        "alg-null",
        "kty-array",
        "key-ops-string",
        "key-ops-number",
        "named-odd-members",
    ],
)
def test_malformed_keys(
    emulator: EmulatorServer,
    front: Front,
    token: str,
    provider_key: dict[str, Any],
    keys: Any,
    accepted: bool,
) -> None:
    front.serve({"keys": keys(provider_key)})
    assert _accepted(emulator, token) is accepted
