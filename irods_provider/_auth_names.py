"""The names of the authentication choices, in one place for the client, the hook and the connection form.

Dependency-free: the provider metadata imports it without loading the HTTP stack.
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = [
    "AUTH_MODES",
    "CLIENT_AUTH_METHODS",
    "OPENID_GRANTS",
    "AuthMode",
    "ClientAuthMethod",
    "OpenIdGrant",
]

#: How the client authenticates itself at an OpenID token endpoint (RFC 6749 section 2.3.1).
ClientAuthMethod = Literal["client_secret_basic", "client_secret_post"]
CLIENT_AUTH_METHODS: tuple[ClientAuthMethod, ...] = get_args(ClientAuthMethod)

#: The OAuth 2.0 grants the OpenID token sources use.
OpenIdGrant = Literal["client_credentials", "password", "refresh_token"]
OPENID_GRANTS: tuple[OpenIdGrant, ...] = get_args(OpenIdGrant)

#: The ``auth_mode`` extra of an ``irods`` connection.
AuthMode = Literal[
    "basic",
    "openid_client_credentials",
    "openid_password",
    "openid_refresh_token",
    "token",
    "openid_client_mode",
]
AUTH_MODES: tuple[AuthMode, ...] = get_args(AuthMode)
