"""Access tokens: RS256 JWTs (RFC 9068) for the ``irods-jwt`` client, opaque for every other client."""

from __future__ import annotations

import time
import uuid
from typing import Any

from jwcrypto import jwk, jwt
from oauth2_provider.settings import oauth2_settings
from oauthlib.common import generate_token

JWT_CLIENT_ID = "irods-jwt"


def _subject(request: Any) -> tuple[str, str]:
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "pk", None) is not None:
        return str(user.pk), user.get_username()
    client_id = request.client.client_id
    return client_id, f"service-account-{client_id}"


def access_token_generator(request: Any, refresh_token: bool = False) -> str:
    """Mint an opaque token, or a signed JWT access token when the client is the JWT client."""
    client = getattr(request, "client", None)
    if client is None or client.client_id != JWT_CLIENT_ID:
        return generate_token()
    key = jwk.JWK.from_pem(oauth2_settings.OIDC_RSA_PRIVATE_KEY.encode())
    now = int(time.time())
    sub, username = _subject(request)
    audience = [client.client_id]
    requested = request._params.get("audience")
    if requested:
        audience.append(requested)
    claims = {
        "iss": oauth2_settings.oidc_issuer(request),
        "sub": sub,
        "aud": audience,
        "client_id": client.client_id,
        "preferred_username": username,
        "scope": " ".join(request.scopes or []),
        "iat": now,
        "nbf": now,
        "exp": now + int(getattr(request, "expires_in", None) or oauth2_settings.ACCESS_TOKEN_EXPIRE_SECONDS),
        "jti": uuid.uuid4().hex,
    }
    token = jwt.JWT(header={"alg": "RS256", "typ": "at+jwt", "kid": key.thumbprint()}, claims=claims)
    token.make_signed_token(key)
    return str(token.serialize())
