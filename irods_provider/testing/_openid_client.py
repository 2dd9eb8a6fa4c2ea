"""OpenID *client* mode of iRODS HTTP API 0.4.0 and 0.5.0: the HTTP API itself is the provider's OAuth client.

``POST /authenticate`` with ``Authorization: iRODS base64(user:pass)`` runs a resource-owner password grant
at the provider; ``GET /authenticate`` without a query redirects the browser to the provider
(authorization-code grant), and the provider's redirect back (``code`` and ``state``) is exchanged for
tokens. Either way the API maps the ID token's claims to a zone user and answers with its *own* bearer
token (text/plain), which lives ``timeout_in_seconds`` like a Basic token. Sources, at tag 0.5.0 unless
named: endpoints/authentication/src/main.cpp (GET :171-397, POST ``iRODS`` :557-656, token request
:63-97, ``client_secret`` → HTTP Basic and no ``client_id`` in the body: :52-61 and core/src/openid.cpp:
21-49), ID-token checks core/src/openid.cpp:513-640, mapping plugins plugins/user_mapping/src/
{user_claim,local_file}.cpp (0.4.0: ``irods_user_claim`` / ``user_attribute_mapping``, core/src/common.cpp:
340-372 at 0.4.0, the same matching). 0.4.0 neither validates the ID token nor checks that the mapped
user exists (``git diff 0.4.0 0.5.0 -- endpoints/authentication``). Removed in 0.6.0 (#416, 7b37b7f).

This module holds the provider exchanges and the decisions; ``_h_auth`` renders them.
"""

from __future__ import annotations

import base64
import json
import os
import re
import threading
import time
import uuid
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx2
from joserfc.errors import SecurityWarning
from joserfc.jwk import OctKey

from irods_provider.testing._openid import (
    OpenIdJwtValidator,
    UserClaimMapper,
    _b64_json,
    discover,
)

__all__ = [
    "AttributeMapper",
    "ClientModeRefused",
    "MappingFileMapper",
    "OpenIdClientMode",
    "id_token_key",
]


class ClientModeRefused(Exception):
    """A client-mode login the server refuses: ``status`` is what it answers (with an empty body)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status}: {reason}")
        self.status = status
        self.reason = reason


def _json_equal(left: Any, right: Any) -> bool:
    """nlohmann::json's ``==``: numbers compare by value across int and float, but a boolean is no number."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(_json_equal, left, right))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_json_equal(left[k], right[k]) for k in left)
    return bool(left == right)


class AttributeMapper:
    """The ``local_file`` mapping plugin (0.5.0) and 0.4.0's ``user_attribute_mapping``: the first zone user
    all of whose listed attributes equal the token's claims (local_file.cpp:92-122 at 0.5.0, common.cpp:
    340-372 at 0.4.0). "First" in user-name order: both read the mapping into an ``nlohmann::json``, whose
    objects are ``std::map``s, so the entries come sorted by name, whatever the file's order."""

    def __init__(self, mapping: Mapping[str, Mapping[str, Any]]) -> None:
        self.mapping = {user: dict(mapping[user]) for user in sorted(mapping)}

    def username(self, claims: Mapping[str, Any]) -> str | None:
        """The mapped user name, or None when no entry matches."""
        for user, attributes in self.mapping.items():
            if all(key in claims and _json_equal(claims[key], value) for key, value in attributes.items()):
                return user
        return None


class MappingFileMapper:
    """The ``local_file`` plugin as configured (0.5.0 ``user_mapping.configuration.file_path``): the mapping
    is read from ``path`` at start (an unreadable file stops the server) and again at a login after its
    modification time changed; a file that then fails to read or parse keeps the mapping last read
    (local_file.cpp:39-90 and :92-103 at 0.5.0)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._mtime, self._mapper = self._read()

    def _read(self) -> tuple[int, AttributeMapper]:
        mtime = self.path.stat().st_mtime_ns
        mapping = json.loads(self.path.read_text(encoding="utf-8"))
        if not isinstance(mapping, dict) or not all(isinstance(v, dict) for v in mapping.values()):
            raise ValueError(f"{self.path}: not a JSON object of user name -> object of claims")
        return mtime, AttributeMapper(mapping)

    def username(self, claims: Mapping[str, Any]) -> str | None:
        """The mapped user name by the file's current mapping, or None when no entry matches."""
        with self._lock:
            try:
                if self.path.stat().st_mtime_ns != self._mtime:
                    self._mtime, self._mapper = self._read()
            except (OSError, ValueError):
                pass  # the server logs it and keeps its last good state
            return self._mapper.username(claims)


_BASE64URL = re.compile(r"[A-Za-z0-9_-]*={0,2}")


def id_token_key(nonstandard_id_token_secret: str | None, client_secret: str | None) -> bytes | None:
    """The HMAC key of HS-signed ID tokens: ``nonstandard_id_token_secret`` base64url-decoded, else the
    ``client_secret`` as it is, else none (no HS token passes): core/src/openid.cpp:236-264 at 0.5.0."""
    if nonstandard_id_token_secret is not None:
        text = nonstandard_id_token_secret
        if not _BASE64URL.fullmatch(text) or len(text.rstrip("=")) % 4 == 1:
            raise ValueError("nonstandard_id_token_secret must be base64url-encoded (the server decodes it)")
        return base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))
    return client_secret.encode() if client_secret is not None else None


class _IdTokenValidator(OpenIdJwtValidator):
    """0.5.0's ID-token rules: ``typ`` exactly ``jwt`` (any case), no ``enc``/``crit``/nested JWT, ``alg`` not
    ``none``, an ``azp`` equal to the client id, one ``aud`` with an HS algorithm; then signature, ``iss``,
    ``aud``, ``exp`` and ``nbf`` as for access tokens (core/src/openid.cpp:522-630 at 0.5.0). HS256/384/512
    verify with ``hmac_key`` (:266-282), unless the header's ``kid`` names a JWKS key: that key's path knows
    RSA and EC only, so the token fails (:422-429, :303-396)."""

    def __init__(self, provider_url: str, *, client_id: str, hmac_key: bytes | None, timeout: float) -> None:
        super().__init__(provider_url, client_id=client_id, user_claim="sub", timeout=timeout)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SecurityWarning)  # the server takes a short secret as it is
            self._secret = OctKey.import_key(hmac_key) if hmac_key else None

    @staticmethod
    def _header_acceptable(header: Mapping[str, Any]) -> bool:
        typ, cty = header.get("typ"), header.get("cty")
        if not isinstance(typ, str) or typ.lower() != "jwt" or "enc" in header or "crit" in header:
            return False
        return not (isinstance(cty, str) and cty.lower() == "jwt")

    def _claims_acceptable(self, claims: Mapping[str, Any]) -> bool:
        if "azp" in claims and claims["azp"] != self.client_id:
            return False
        return super()._claims_acceptable(claims)

    def claims_for(self, token: str) -> dict[str, Any] | None:
        """The verified ID-token claims, or None (the server answers 400)."""
        parts = token.split(".")
        try:
            header, claims = _b64_json(parts[0]), _b64_json(parts[1])
        except (IndexError, ValueError):
            return None
        if not isinstance(header, dict) or header.get("alg") == "none":
            return None
        aud = claims.get("aud") if isinstance(claims, dict) else None
        if str(header.get("alg", "")).startswith("HS") and isinstance(aud, list) and len(aud) > 1:
            return None
        return super().claims_for(token)


class OpenIdClientMode:
    """The ``openid_connect`` stanza of a 0.4.0/0.5.0 server with ``"mode": "client"``.

    Exactly one of ``user_claim`` (the ``user_claim`` plugin / ``irods_user_claim``), ``user_mapping``
    (``user_attribute_mapping`` at 0.4.0, a ``local_file`` mapping at 0.5.0: zone user → claims to match) and
    ``user_mapping_file`` (0.5.0's ``local_file`` plugin: the JSON file, re-read when it changes; 0.4.0 has
    no plugins, the config refuses it). ``redirect_uri`` None: the
    URL the emulator's own ``/authenticate`` was reached at (the real server needs it configured).
    ``timeout_in_seconds`` is the lifetime of the tokens it issues, ``state_timeout_in_seconds`` that of a
    redirect's ``state``. ``client_secret`` makes it a confidential client (HTTP Basic at the token endpoint).
    HS-signed ID tokens (0.5.0) verify with ``nonstandard_id_token_secret`` (base64url, as the server reads
    it), else with ``client_secret``; 0.4.0 checks no ID token and has no such option (the config refuses it).
    """

    def __init__(
        self,
        provider_url: str,
        *,
        client_id: str,
        client_secret: str | None = None,
        nonstandard_id_token_secret: str | None = None,
        redirect_uri: str | None = None,
        user_claim: str | None = None,
        user_mapping: Mapping[str, Mapping[str, Any]] | None = None,
        user_mapping_file: str | os.PathLike[str] | None = None,
        timeout_in_seconds: float = 3600.0,
        state_timeout_in_seconds: float = 3600.0,
        timeout: float = 10.0,
    ) -> None:
        if sum(given is not None for given in (user_claim, user_mapping, user_mapping_file)) != 1:
            raise ValueError("give exactly one of user_claim, user_mapping and user_mapping_file")
        hmac_key = id_token_key(nonstandard_id_token_secret, client_secret)  # refused before any request
        self.mapper: UserClaimMapper | AttributeMapper | MappingFileMapper
        if user_claim is not None:
            self.mapper = UserClaimMapper(user_claim)
        elif user_mapping_file is not None:
            self.mapper = MappingFileMapper(user_mapping_file)
        else:
            self.mapper = AttributeMapper(user_mapping or {})
        self.discovery = discover(provider_url, timeout=timeout)
        if "token_endpoint" not in self.discovery:
            raise ValueError("the OpenID provider lists no token_endpoint")
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self.timeout_in_seconds = timeout_in_seconds
        self.state_timeout_in_seconds = state_timeout_in_seconds
        self.nonstandard_id_token_secret_set = nonstandard_id_token_secret is not None
        self.user_mapping_file_set = user_mapping_file is not None
        self._id_tokens = _IdTokenValidator(
            provider_url,
            client_id=client_id,
            hmac_key=hmac_key,
            timeout=timeout,
        )
        auth = (quote(client_id, safe=""), quote(client_secret, safe="")) if client_secret else None
        self._confidential = client_secret is not None
        self._client = httpx2.Client(auth=auth, timeout=timeout, headers={"Accept": "application/json"})
        self._states: dict[str, float] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OpenIdClientMode(issuer={self.discovery['issuer']!r}, client_id={self.client_id!r})"

    # ---- authorization-code grant ----------------------------------------------------------------

    def authorization_url(self, redirect_uri: str) -> str:
        """Where ``GET /authenticate`` sends the browser, with a fresh ``state`` (main.cpp:187-205)."""
        state = str(uuid.uuid4())
        with self._lock:
            self._states[state] = time.monotonic() + self.state_timeout_in_seconds
        query = {
            "client_id": self.client_id,
            "response_type": "code",
            "scope": "openid",
            "redirect_uri": redirect_uri,
            "state": state,
        }
        return f"{self.discovery['authorization_endpoint']}?{urlencode(query, quote_via=quote)}"

    def take_state(self, state: str) -> bool:
        """Whether ``state`` was issued and has not expired; it is spent either way (main.cpp:235-258)."""
        with self._lock:
            expires = self._states.pop(state, None)
        return expires is not None and time.monotonic() < expires

    def code_login(self, code: str, redirect_uri: str, *, checked: bool) -> str:
        """Exchange an authorization code; the mapped zone user (main.cpp:311-351)."""
        form = {"grant_type": "authorization_code", "client_id": self.client_id, "code": code}
        return self._login({**form, "redirect_uri": redirect_uri}, checked=checked)

    # ---- resource-owner password credentials grant ----------------------------------------------

    def password_login(self, username: str, password: str, *, checked: bool) -> str:
        """The password grant for ``username``; the mapped zone user (main.cpp:570-612)."""
        form = {"client_id": self.client_id, "grant_type": "password", "scope": "openid"}
        return self._login({**form, "username": username, "password": password}, checked=checked)

    # ---- shared ---------------------------------------------------------------------------------

    def _login(self, form: dict[str, str], *, checked: bool) -> str:
        if self._confidential:
            form.pop("client_id")
        answer = self._token_request(form)
        if "error" in answer:
            raise ClientModeRefused(400, f"the provider answered error {answer['error']!r}")
        id_token = answer.get("id_token")
        if not isinstance(id_token, str):
            raise ClientModeRefused(500, "the provider's answer holds no id_token (the server throws)")
        claims = self._id_tokens.claims_for(id_token) if checked else self._unverified(id_token)
        if claims is None:
            raise ClientModeRefused(400, "the ID token could not be verified")
        user = self.mapper.username(claims)
        if user is None:
            raise ClientModeRefused(400, "no zone user is mapped to the ID token's claims")
        return user

    @staticmethod
    def _unverified(id_token: str) -> dict[str, Any] | None:
        """0.4.0 decodes the ID token's payload without any check (main.cpp:330-333 at 0.4.0)."""
        try:
            claims = _b64_json(id_token.split(".")[1])
        except (IndexError, ValueError):
            raise ClientModeRefused(500, "the ID token is not a JWT (the server throws)") from None
        return claims if isinstance(claims, dict) else None

    def _token_request(self, form: dict[str, str]) -> dict[str, Any]:
        try:
            response = self._client.post(str(self.discovery["token_endpoint"]), data=form)
            answer = response.json()
        except (httpx2.HTTPError, json.JSONDecodeError):
            raise ClientModeRefused(500, "no JSON from the token endpoint (the server throws)") from None
        if not isinstance(answer, dict):
            raise ClientModeRefused(500, "the token endpoint's answer is not a JSON object")
        return answer

    def close(self) -> None:
        """Release the HTTP connection pool."""
        self._client.close()
