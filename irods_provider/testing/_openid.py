"""OpenID protected-resource validators for the emulator: RFC 7662 introspection and local JWT validation.

They follow the iRODS HTTP API 0.7 rules (notes §2.2): every request is validated again (no result cache),
the user is the value of one claim, optionally rewritten by a regex. A token that fails any check maps to
``None`` (the emulator answers 401). Discovery is read at construction, as the real server does at startup.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import re
import threading
from collections.abc import Mapping
from typing import Any, Protocol

import httpx2
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OctKey, RSAKey

from irods_provider.testing._catalog import server_time

__all__ = [
    "OpenIdIntrospectionValidator",
    "OpenIdJwtValidator",
    "OpenIdLocalThenIntrospection",
    "UserClaimMapper",
]

log = logging.getLogger(__name__)

WELL_KNOWN = "/.well-known/openid-configuration"
_JWT_TYPES = {"at+jwt", "application/at+jwt", "jwt"}
_ASYMMETRIC = {
    "RS256": "RSA",
    "RS384": "RSA",
    "RS512": "RSA",
    "PS256": "RSA",
    "PS384": "RSA",
    "PS512": "RSA",
    "ES256": "EC",
    "ES384": "EC",
    "ES512": "EC",
}
_SYMMETRIC = {"HS256", "HS384", "HS512"}
#: The members the server reads from a JWK to build an RSA (RS/PS) or EC (ES) key (openid.cpp:303-371@0.7.0).
_MATERIAL = {"RSA": ("n", "e"), "EC": ("crv", "x", "y")}


class UserClaimMapper:
    """The ``user_claim`` mapping plugin: the claim's value, optionally rewritten with a regex.

    ``replace_format`` uses Python ``re`` replacement syntax (``\\1``, ``\\g<name>``); the C++ plugin's
    Perl-style ``$1`` is accepted too. Both regex options or neither.
    """

    def __init__(
        self, claim: str, *, match_regex: str | None = None, replace_format: str | None = None
    ) -> None:
        if (match_regex is None) != (replace_format is None):
            raise ValueError("match_regex and replace_format must be given together")
        self.claim = claim
        self._regex = re.compile(match_regex) if match_regex is not None else None
        self._replace = re.sub(r"\$\{?(\d+)\}?", r"\\g<\1>", replace_format) if replace_format else ""

    def username(self, claims: Mapping[str, Any]) -> str | None:
        """The mapped user name, or None when the claim is missing, not a string, or does not match."""
        value = claims.get(self.claim)
        if not isinstance(value, str) or not value:
            return None
        if self._regex is None:
            return value
        match = self._regex.fullmatch(value)
        if match is None:
            return None
        return match.expand(self._replace) or None


def discover(provider_url: str, *, timeout: float) -> dict[str, Any]:
    """Fetch the OpenID discovery document; ``provider_url`` may be the issuer or the well-known URL."""
    url = provider_url if provider_url.endswith(WELL_KNOWN) else provider_url.rstrip("/") + WELL_KNOWN
    response = httpx2.get(url, timeout=timeout)
    response.raise_for_status()
    document = response.json()
    missing = [k for k in ("issuer", "authorization_endpoint", "jwks_uri") if k not in document]
    if missing:
        raise ValueError(f"OpenID discovery document at {url} lacks {', '.join(missing)}")
    return dict(document)


def _is_number(value: Any) -> bool:
    """A JSON number (a boolean is not one, as nlohmann's ``is_number`` says; nor is Python's ``Infinity``
    or ``NaN``, which nlohmann does not parse at all)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return isinstance(value, int) or math.isfinite(value)


def _date(value: float) -> float:
    """A JWT date as jwt-cpp reads it (``as_date``, jwt.h:2178-2182@v0.7.0): an integer as it is, any other
    number rounded half away from zero (``std::round``) to whole seconds."""
    return value if isinstance(value, int) else float(math.copysign(math.floor(abs(value) + 0.5), value))


def _audience_contains(aud: Any, client_id: str) -> bool:
    return aud == client_id or (isinstance(aud, list) and client_id in aud)


class OpenIdIntrospectionValidator:
    """Validates opaque or JWT access tokens at the provider's RFC 7662 introspection endpoint.

    ``active_only=True`` is API 0.4.0: the answer's ``active`` is the only member read, so nbf, aud and
    iss are not checked (core/src/common.cpp:419-427 at 0.4.0; the checks came with 0.5.0, #270).
    """

    #: Whether JWTs are validated locally (API 0.5.0 and later only); see ``VersionProfile.openid_local_jwt``.
    local_jwt_validation = False

    def __init__(
        self,
        provider_url: str,
        *,
        client_id: str,
        client_secret: str,
        user_claim: str,
        match_regex: str | None = None,
        replace_format: str | None = None,
        require_aud: bool = False,
        active_only: bool = False,
        timeout: float = 10.0,
    ) -> None:
        if active_only and (require_aud or match_regex is not None):
            raise ValueError(
                "API 0.4.0 (active_only) checks no aud and maps irods_user_claim without a regex"
            )
        self.discovery = discover(provider_url, timeout=timeout)
        self.active_only = active_only
        endpoint = self.discovery.get("introspection_endpoint")
        if not endpoint:
            raise ValueError("the OpenID provider does not list an introspection_endpoint")
        self.introspection_endpoint = str(endpoint)
        self.issuer = str(self.discovery["issuer"])
        self.client_id = client_id
        self.require_aud = require_aud
        self.mapper = UserClaimMapper(user_claim, match_regex=match_regex, replace_format=replace_format)
        self._client = httpx2.Client(auth=(client_id, client_secret), timeout=timeout)

    def __repr__(self) -> str:
        return f"OpenIdIntrospectionValidator(issuer={self.issuer!r}, client_id={self.client_id!r})"

    def introspect(self, token: str) -> dict[str, Any] | None:
        """The provider's answer for ``token`` (None when the provider cannot be asked or answers badly)."""
        try:
            response = self._client.post(
                self.introspection_endpoint, data={"token": token, "token_type_hint": "access_token"}
            )
        except httpx2.HTTPError as error:
            log.warning("introspection at %s failed: %s", self.introspection_endpoint, type(error).__name__)
            return None
        if response.status_code != 200:
            log.warning(
                "introspection at %s answered HTTP %s", self.introspection_endpoint, response.status_code
            )
            return None
        try:
            answer = response.json()
        except ValueError:
            return None
        return answer if isinstance(answer, dict) else None

    def claims_for(self, token: str) -> dict[str, Any] | None:
        """The introspection claims when they pass the server's checks (active, nbf, aud, iss)."""
        claims = self.introspect(token)
        if claims is None or claims.get("active") is not True:
            return None
        if self.active_only:
            return claims
        nbf = claims.get("nbf")  # judged by the server's clock (openid.cpp:116-133@0.7.0)
        if nbf is not None and (not _is_number(nbf) or nbf > server_time()):
            return None
        if "aud" in claims:
            if not _audience_contains(claims["aud"], self.client_id):
                return None
        elif self.require_aud:
            return None
        if "iss" in claims and claims["iss"] != self.issuer:
            return None
        return claims

    def username_for(self, token: str) -> str | None:
        """The zone user for ``token``, or None (→ 401)."""
        claims = self.claims_for(token)
        return None if claims is None else self.mapper.username(claims)

    def close(self) -> None:
        """Release the HTTP connection pool."""
        self._client.close()


def _b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _b64_json(segment: str) -> Any:
    return json.loads(_b64decode(segment))


def _parse_jwks(body: bytes) -> list[dict[str, Any]] | None:
    """``jwt::jwks(str)`` (include/jwt-cpp/jwt.h:3521-3531@v0.7.0, the same at v0.6.0; the HTTP API builds
    against jwt-cpp 0.6.99.1, CMakeLists.txt:21@0.7.0): the keys, or None where it throws: a body that is
    not JSON (nlohmann's parse_error), a document that is not an object, lacks ``keys`` or whose ``keys``
    is not an array (invalid_json_exception, bad_cast), or any entry that is not an object (``jwk_t{val}``:
    as_object throws bad_cast, traits/nlohmann-json/traits.h:34-37)."""
    try:
        document = json.loads(body)
    except ValueError:
        return None
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list) or not all(isinstance(key, dict) for key in keys):
        return None
    return keys


def _find_by_kid(keys: list[dict[str, Any]], kid: str) -> dict[str, Any] | None:
    """``jwks::find_by_kid``: the first key whose ``kid`` equals, or None. ``{}`` stands for the server's
    end: a key before the match whose ``kid`` is not a string makes ``get_key_id()`` throw inside this
    ``noexcept`` function (jwt.h:3561-3566@v0.7.0), which terminates the server process; the emulator only
    refuses the token."""
    for key in keys:
        if "kid" not in key:
            continue
        if not isinstance(key["kid"], str):
            log.error("a JWKS key's kid is not a string: a real server terminates here (std::terminate)")
            return {}
        if key["kid"] == kid:
            return key
    return None


def _walk_takes(jwk: Mapping[str, Any], alg: str, family: str) -> bool | None:
    """Whether the walk of the whole JWKS adds ``jwk`` for ``alg`` (openid.cpp:459-502@0.7.0), None where
    reading a member throws: ``use``, ``alg`` and ``kty`` must be strings and ``key_ops`` an array of
    strings when present (get_use, get_algorithm, get_key_type, get_key_operations' as_set: jwt.h:2196-2202,
    3319-3342). A key without ``kty`` (nor ``alg``) is ignored with an error logged (:501)."""
    if "use" in jwk:
        if not isinstance(jwk["use"], str):
            return None
        if jwk["use"] != "sig":
            return False
    if "key_ops" in jwk:
        ops = jwk["key_ops"]
        if not isinstance(ops, list) or not all(isinstance(op, str) for op in ops):
            return None
        if "verify" not in ops:
            return False
    for member, wanted in (("alg", alg), ("kty", family)):
        if member in jwk:
            return None if not isinstance(jwk[member], str) else jwk[member] == wanted
    return False


def _public_key(jwk: Mapping[str, Any], family: str) -> Any | None:
    """The public key the server builds from ``jwk``'s material alone, or None where it throws (a key of the
    other type lacks the members; openid.cpp:308-371@0.7.0)."""
    names = _MATERIAL[family]
    if not all(isinstance(jwk.get(name), str) for name in names):
        return None
    material = {"kty": family, **{name: jwk[name] for name in names}}
    try:
        return RSAKey.import_key(material) if family == "RSA" else ECKey.import_key(material)
    except (JoseError, ValueError):
        return None


class OpenIdJwtValidator:
    """Validates JWT access tokens locally: header rules, signature (JWKS or HS secret), iss/aud/exp/nbf."""

    local_jwt_validation = True

    def __init__(
        self,
        provider_url: str,
        *,
        client_id: str,
        user_claim: str,
        match_regex: str | None = None,
        replace_format: str | None = None,
        access_token_secret: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.discovery = discover(provider_url, timeout=timeout)
        self.issuer = str(self.discovery["issuer"])
        self.jwks_uri = str(self.discovery["jwks_uri"])
        self.client_id = client_id
        self.mapper = UserClaimMapper(user_claim, match_regex=match_regex, replace_format=replace_format)
        self._timeout = timeout
        self._secret = OctKey.import_key(_b64decode(access_token_secret)) if access_token_secret else None
        self._jwks: list[dict[str, Any]] | None = None
        self._jwks_lock = threading.Lock()
        self.jwks_fetches = 0

    def __repr__(self) -> str:
        return f"OpenIdJwtValidator(issuer={self.issuer!r}, client_id={self.client_id!r})"

    def _key_list(self) -> list[dict[str, Any]] | None:
        """The provider's JWKS in its order, or None (the token is refused) when it cannot be had.

        The server keeps it in a function-local static, ``jwt::parse_jwks(fetch_jwks_from_openid_provider())``
        (openid.cpp:515@0.7.0, :515@0.6.0, :520@0.5.0): fetched on first use and kept for the life of the
        process once it parses; while fetching or parsing throws, the static stays uninitialised, the token
        is refused (the catch at :602-605) and the next token fetches again. The body is read whatever the
        HTTP status (:221-227).
        """
        with self._jwks_lock:
            if self._jwks is None:
                try:
                    body = httpx2.get(self.jwks_uri, timeout=self._timeout).content
                except httpx2.HTTPError as exc:
                    log.error("fetching the JWKS at %s failed: %s", self.jwks_uri, type(exc).__name__)
                    return None
                self._jwks = _parse_jwks(body)
                if self._jwks is None:
                    log.error("the JWKS at %s is not a JSON Web Key Set: refusing the token", self.jwks_uri)
                    return None
                self.jwks_fetches += 1
            return self._jwks

    def _verification_key(self, header: Mapping[str, Any], keys: list[dict[str, Any]]) -> Any | None:
        """The one key the server verifies with, or None (refused); add_algorithms_to_verifier, openid.cpp:
        406-506@0.7.0 (the same at 0.5.0 and 0.6.0).

        A ``kid`` found in the JWKS names the key, whatever its use, key_ops or alg; with an HS alg, or a key
        of the other type, nothing verifies. No kid, or an unknown one (only logged): HS uses the configured
        secret; RS/PS/ES take every signing key whose alg equals the token's (or, without alg, whose kty is
        the family's), and the verifier keeps the *last* one, as jwt-cpp's ``allow_algorithm`` stores one
        key per algorithm name (``algs[alg.name()] = ...``, include/jwt-cpp/jwt.h@v0.6.0 and v0.7.0).
        """
        alg = header.get("alg")
        kid = header.get("kid")
        family = _ASYMMETRIC.get(str(alg))
        if kid is not None:
            if not isinstance(kid, str):
                return None  # get_key_id() throws: refused
            named = _find_by_kid(keys, kid)
            if named is not None:
                return None if family is None or not named else _public_key(named, family)
            log.warning("JWT kid %r is not in the provider's JWKS: falling back to its signing keys", kid)
        if alg in _SYMMETRIC:
            return self._secret
        if family is None:
            return None
        chosen = None
        for jwk in keys:
            taken = _walk_takes(jwk, str(alg), family)
            if taken is None:
                return None  # a member of the wrong JSON type throws: the whole validation fails
            if not taken:
                continue
            chosen = _public_key(jwk, family)
            if chosen is None:
                return None  # building this key throws: the whole validation fails
        return chosen

    @staticmethod
    def _header_acceptable(header: Mapping[str, Any]) -> bool:
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() not in _JWT_TYPES:
            return False
        if "enc" in header or "crit" in header:
            return False
        cty = header.get("cty")
        return not (isinstance(cty, str) and cty.lower() == "jwt")

    def _claims_acceptable(self, claims: Mapping[str, Any]) -> bool:
        """iss, aud, and the times by the server's clock with jwt-cpp's default leeway of none: refused
        when now > exp, now < iat or now < nbf (``verifier(Clock)``, include/jwt-cpp/jwt.h:3102-3124@v0.7.0,
        :3116-3130@v0.6.0; the server sets no leeway, openid.cpp:580-586@0.7.0, :616-623@0.5.0). A date
        that is not a JSON number throws (``as_date``), which refuses the token."""
        if claims.get("iss") != self.issuer or not _audience_contains(claims.get("aud"), self.client_id):
            return False
        now = server_time()
        exp, iat, nbf = claims.get("exp"), claims.get("iat"), claims.get("nbf")
        if exp is not None and (not _is_number(exp) or now > _date(exp)):
            return False
        return all(when is None or (_is_number(when) and now >= _date(when)) for when in (iat, nbf))

    def claims_for(self, token: str) -> dict[str, Any] | None:
        """The verified payload, or None when any check fails."""
        parts = token.split(".")
        if len(parts) != 3:
            return None  # five parts = JWE, always refused
        try:
            header = _b64_json(parts[0])
        except ValueError:
            return None
        keys = self._key_list()  # the JWKS comes first, before any header rule (openid.cpp:515@0.7.0)
        if keys is None or not isinstance(header, dict) or not self._header_acceptable(header):
            return None
        key = self._verification_key(header, keys)
        if key is None:
            return None
        try:
            verified = jws.deserialize_compact(token, key, algorithms=[str(header.get("alg"))])
            claims = json.loads(verified.payload)
        except (JoseError, ValueError):
            return None
        return claims if isinstance(claims, dict) and self._claims_acceptable(claims) else None

    def username_for(self, token: str) -> str | None:
        """The zone user for ``token``, or None (→ 401)."""
        claims = self.claims_for(token)
        return None if claims is None else self.mapper.username(claims)

    def close(self) -> None:
        """Nothing to release (the JWKS stays cached)."""


class _ClaimsSource(Protocol):
    mapper: UserClaimMapper

    def claims_for(self, token: str) -> dict[str, Any] | None: ...


class OpenIdLocalThenIntrospection:
    """API 0.5.0's protected-resource mode: local JWT validation, and introspection only when that fails.

    0.5.0 tries both in this order for every request and maps the user from the first claims obtained
    (core/src/common.cpp:341-380 at 0.5.0); 0.6.0 and later use exactly one configured method. Local
    validation fails, and introspection decides, for any reason: an opaque token (``jwt::decode`` throws,
    :346-358), a JWKS that cannot be fetched or parsed (the throw is caught inside
    ``validate_using_local_validation``, openid.cpp:518-520 and 639-642), a bad signature, a time out of
    range. ``introspection`` None is a provider whose discovery lists no ``introspection_endpoint``: then
    nothing is introspected (the ``introspection_endpoint_exists`` test, common.cpp:360-362).
    """

    local_jwt_validation = True

    def __init__(self, local: _ClaimsSource, introspection: _ClaimsSource | None) -> None:
        self.local = local
        self.introspection = introspection

    def username_for(self, token: str) -> str | None:
        """The zone user for ``token``, or None (→ 401)."""
        claims = self.local.claims_for(token)
        if not claims and self.introspection is not None:
            claims = self.introspection.claims_for(token)
        return None if not claims else self.local.mapper.username(claims)
