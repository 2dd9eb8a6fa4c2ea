"""What the iRODS HTTP API's OpenID *client* mode (0.4.0/0.5.0) needs of a provider, Keycloak-like.

* An ID token in the answer to a resource-owner password grant with ``scope=openid`` (Keycloak sends one;
  oauthlib's OpenID server runs the plain OAuth 2.0 grant), for the client-mode client only.
* ``preferred_username`` in every ID token whatever the scope (Keycloak's default ``profile`` scope).
* One client allowed both the password and the authorization-code grant (Keycloak's "direct access
  grants" beside the "standard flow"), redirecting to any loopback ``.../authenticate`` URL (the emulator
  listens on a port chosen at start).
* HMAC-signed ID tokens for the clients of ``constants.ID_TOKEN_HMAC`` (key: the client secret, as DOT's
  HS256 signs), with HS512 or a ``kid`` naming the RSA key where DOT cannot, re-signed here.
* A login page in Keycloak's shape (a form whose ``action`` the upstream tests scrape, fields
  ``username``/``password``/``credentialId``), used by the authorization endpoint.
"""

from __future__ import annotations

import base64
import html
import json
import time
from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth import authenticate, login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.csrf import csrf_exempt
from jwcrypto import jwk, jwt
from jwcrypto.common import base64url_encode
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.utils import jwk_from_pem
from oauthlib.oauth2.rfc6749.grant_types import ResourceOwnerPasswordCredentialsGrant
from oauthlib.openid import Server

from oidc_provider.constants import CLIENT_MODE_IDS, ID_TOKEN_HMAC

_LOOPBACK = {"127.0.0.1", "localhost"}


def _is_client_mode(request: Any) -> bool:
    client = getattr(request, "client", None)
    return getattr(client, "client_id", None) in CLIENT_MODE_IDS


def _resigned(id_token: str, client_id: str, secret: str) -> str:
    """``id_token``'s claims signed again as ``ID_TOKEN_HMAC[client_id]`` says, with ``secret`` as the key."""
    alg, with_kid = ID_TOKEN_HMAC[client_id]
    header: dict[str, str] = {"typ": "JWT", "alg": alg}
    if with_kid:
        header["kid"] = jwk_from_pem(oauth2_settings.OIDC_RSA_PRIVATE_KEY).thumbprint()  # as DOT's JWKS
    payload = id_token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    token = jwt.JWT(header=header, claims=claims)
    token.make_signed_token(jwk.JWK(kty="oct", k=base64url_encode(secret)))
    return str(token.serialize())


class ClientModeValidator(OAuth2Validator):
    """DOT's validator plus the client-mode client's Keycloak-like allowances (module docstring)."""

    oidc_claim_scope = None  # every claim below goes into every ID token, as Keycloak's defaults do

    def get_additional_claims(self, request: Any) -> dict[str, Any]:
        return {"preferred_username": request.user.get_username()}

    def finalize_id_token(self, id_token: Any, token: Any, token_handler: Any, request: Any) -> str:
        signed = str(super().finalize_id_token(id_token, token, token_handler, request))
        client_id = request.client.client_id
        if ID_TOKEN_HMAC.get(client_id, ("HS256", False)) == ("HS256", False):
            return signed  # DOT's own signing: RS256, or HS256 for its HS256 applications
        return _resigned(signed, client_id, request.client.client_secret)

    def validate_grant_type(
        self, client_id: str, grant_type: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        if _is_client_mode(request) and grant_type in ("password", "authorization_code"):
            return True
        return bool(super().validate_grant_type(client_id, grant_type, client, request, *args, **kwargs))

    def validate_redirect_uri(
        self, client_id: str, redirect_uri: str, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        if _is_client_mode(request):
            parts = urlsplit(redirect_uri)
            loopback = parts.scheme == "http" and parts.hostname in _LOOPBACK
            return loopback and parts.path.endswith("/authenticate")
        return bool(super().validate_redirect_uri(client_id, redirect_uri, request, *args, **kwargs))


class _PasswordGrantWithIdToken(ResourceOwnerPasswordCredentialsGrant):
    """The password grant, answering the client-mode client's ``openid`` requests with an ID token too."""

    def create_token_response(self, request: Any, token_handler: Any) -> tuple[dict[str, str], str, int]:
        headers, body, status = super().create_token_response(request, token_handler)
        if status != 200 or not _is_client_mode(request) or "openid" not in (request.scopes or []):
            return headers, body, status
        token = json.loads(body)
        claims = {"aud": request.client.client_id, "iat": int(time.time())}
        token["id_token"] = self.request_validator.finalize_id_token(claims, token, token_handler, request)
        return headers, json.dumps(token), status


class ClientModeServer(Server):
    """oauthlib's OpenID server with :class:`_PasswordGrantWithIdToken` as its password grant."""

    def __init__(self, request_validator: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(request_validator, *args, **kwargs)
        grant = _PasswordGrantWithIdToken(request_validator)
        self.password_grant = grant
        self._grant_types["password"] = grant


_PAGE = """<!DOCTYPE html>
<html><body>{error}
<form id="kc-form-login" action="{action}" method="post">
<input name="username"><input name="password" type="password"><input name="credentialId" type="hidden">
</form></body></html>
"""


@csrf_exempt
def login_page(request: HttpRequest) -> HttpResponse:
    """GET: the form (posting back here with ``next``); POST: log in and go to ``next``, or the form again."""
    target = request.GET.get("next", "/")
    error = ""
    if request.method == "POST":
        user = authenticate(
            request, username=request.POST.get("username", ""), password=request.POST.get("password", "")
        )
        if user is not None:
            login(request, user)
            return HttpResponseRedirect(target)
        error = "<p>Invalid username or password.</p>"
    action = request.build_absolute_uri(request.path) + "?" + request.GET.urlencode()
    return HttpResponse(_PAGE.format(error=error, action=html.escape(action)))
