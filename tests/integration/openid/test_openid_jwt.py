"""JWT mode: the provider's RS256 access tokens validate locally against its JWKS; forged ones do not."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from joserfc.jwk import RSAKey
from oidc_provider.harness import OidcProvider

from irods_provider.client._openid import OpenIdPassword
from irods_provider.client._token_reply import jwt_exp
from irods_provider.testing._openid import OpenIdJwtValidator

pytestmark = pytest.mark.timeout(60)

HS_SECRET = b"a-shared-hs256-secret-of-32-bytes!"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signed(header: dict[str, Any], claims: dict[str, Any], pem: str | None = None) -> str:
    """A compact JWS with exactly these header fields (RS256 with ``pem``, HS256 with HS_SECRET, or none)."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    if header.get("alg") == "none":
        return signing_input + "."
    if header["alg"] == "HS256":
        signature = hmac.new(HS_SECRET, signing_input.encode(), hashlib.sha256).digest()
    else:
        key = serialization.load_pem_private_key((pem or "").encode(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


@pytest.fixture(scope="module")
def forge(oidc_provider: OidcProvider) -> Any:
    kid = RSAKey.import_key(oidc_provider.private_key_pem).thumbprint()

    def make(header: dict[str, Any] | None = None, pem: str | None = None, **claims: Any) -> str:
        now = int(time.time())
        body = {
            "iss": oidc_provider.issuer,
            "aud": ["irods-jwt", "irods-rs"],
            "preferred_username": "alice",
            "iat": now,
            "nbf": now,
            "exp": now + 60,
            **claims,
        }
        head = {"alg": "RS256", "typ": "at+jwt", "kid": kid, **(header or {})}
        head = {k: v for k, v in head.items() if v is not None}
        return _signed(head, body, pem or oidc_provider.private_key_pem)

    return make


def test_provider_issued_jwt_validates_locally_with_cached_jwks(
    oidc_provider: OidcProvider, jwt_validator: OpenIdJwtValidator
) -> None:
    source = OpenIdPassword(
        username="alice",
        password=oidc_provider.users["alice"],
        client_id="irods-jwt",
        client_secret=oidc_provider.clients["irods-jwt"],
        discovery_url=oidc_provider.issuer,
        allow_insecure_http=True,
        audience="irods-rs",
    )
    token = source.get_token()
    assert token.count(".") == 2
    assert jwt_validator.username_for(token) == "alice"
    renewed = source.get_token(reject=token)  # refresh grant also carries the audience
    assert jwt_validator.username_for(renewed) == "alice"
    assert jwt_validator.jwks_fetches == 1
    exp = jwt_exp(token)
    assert exp is not None
    assert abs(exp - (time.time() + oidc_provider.access_token_seconds)) < 5
    source.close()


def test_provider_jwt_without_our_audience_is_rejected(
    oidc_provider: OidcProvider, jwt_validator: OpenIdJwtValidator
) -> None:
    answer = oidc_provider.fetch_token(
        "irods-jwt", grant_type="password", username="bob", password=oidc_provider.users["bob"]
    )
    claims = json.loads(base64.urlsafe_b64decode(answer["access_token"].split(".")[1] + "=="))
    assert claims["aud"] == ["irods-jwt"]
    assert jwt_validator.username_for(answer["access_token"]) is None


def test_client_schedules_renewal_from_jwt_exp_when_expires_in_is_missing(
    oidc_provider: OidcProvider, forge: Any
) -> None:
    source = OpenIdPassword(
        username="alice",
        password="x",
        client_id="irods-jwt",
        token_url=oidc_provider.token_url,
        allow_insecure_http=True,
        leeway=10,
    )
    token = forge(exp=int(time.time()) + 100)
    started = source.clock()
    accepted = source._accept({"access_token": token}, started=started, url="u", grant_type="password")
    assert accepted.renew_at is not None
    assert 85 <= accepted.renew_at - source.clock() <= 91  # exp - now - leeway
    opaque = source._accept({"access_token": "opaque"}, started=0.0, url="u", grant_type="password")
    assert opaque.renew_at is None  # lifetime unknown: renewed only after a 401
    source.close()


def test_forged_tokens_rejected_for_each_rule(
    oidc_provider: OidcProvider, jwt_validator: OpenIdJwtValidator, forge: Any
) -> None:
    other_key = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        .decode()
    )
    now = int(time.time())
    assert jwt_validator.username_for(forge()) == "alice"  # the forging itself is sound
    assert jwt_validator.username_for(forge(header={"typ": "JWT"})) == "alice"  # case-insensitive
    # No kid, or one the JWKS lacks (only logged): the server verifies with the JWKS's RSA signing key
    # (core/src/openid.cpp:417-426 and 459-502 at 0.7.0, 0.6.0; :422-431 at 0.5.0).
    assert jwt_validator.username_for(forge(header={"kid": None})) == "alice"
    assert jwt_validator.username_for(forge(header={"kid": "nope"})) == "alice"
    rejected = {
        "wrong iss": forge(iss="http://evil.example/o"),
        "wrong aud": forge(aud="someone-else"),
        "expired": forge(exp=now - 5),
        "not yet valid": forge(nbf=now + 300),
        "alg none": forge(header={"alg": "none"}),
        "no typ": forge(header={"typ": None}),
        "id token typ": forge(header={"typ": "id+jwt"}),
        "crit": forge(header={"crit": ["exp"]}),
        "nested": forge(header={"cty": "JWT"}),
        "other key": forge(pem=other_key),
        "unknown kid, other key": forge(header={"kid": "nope"}, pem=other_key),
        "HS256 without secret": forge(header={"alg": "HS256", "kid": None}),
        "JWE": "a.b.c.d.e",
        "garbage": "not-a-jwt",
        "no user claim": forge(preferred_username=None),
    }
    token = forge()
    head, payload, sig = token.split(".")
    tampered = json.loads(base64.urlsafe_b64decode(payload + "=="))
    tampered["preferred_username"] = "rods"
    rejected["tampered payload"] = f"{head}.{_b64(json.dumps(tampered).encode())}.{sig}"
    results = {name: jwt_validator.username_for(value) for name, value in rejected.items()}
    assert results == dict.fromkeys(rejected)


def test_hs256_accepted_with_configured_secret(oidc_provider: OidcProvider, forge: Any) -> None:
    validator = OpenIdJwtValidator(
        oidc_provider.issuer,
        client_id="irods-rs",
        user_claim="preferred_username",
        access_token_secret=_b64(HS_SECRET),
        match_regex=r"(\w+)",
        replace_format=r"irods_\1",
    )
    hs256 = {"alg": "HS256", "kid": None}
    assert validator.username_for(forge(header=hs256)) == "irods_alice"
    assert validator.username_for(forge(header=hs256, exp=int(time.time()) - 1)) is None
    validator.close()
