"""Build the client's OpenID token source for a connection in one of the ``openid_*`` auth modes."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from irods_provider.hooks._connection import OpenIdSettings

if TYPE_CHECKING:
    from irods_provider.client import TokenProvider

__all__ = ["openid_token_source"]


def openid_token_source(
    settings: OpenIdSettings, *, verify: bool | str, timeout: float, on_token: Callable[[str], None]
) -> TokenProvider:
    """Return the token source for ``settings.grant``; every token it mints is passed to ``on_token``."""
    from irods_provider.client import OpenIdClientCredentials, OpenIdPassword, OpenIdRefreshToken

    common: dict[str, Any] = {
        "client_id": settings.client_id,
        "client_auth": settings.client_auth_method,
        "scope": settings.scope,
        "audience": settings.audience,
        "verify": verify,
        "timeout": timeout,
        "on_token": on_token,
        "allow_insecure_http": settings.allow_insecure_http,
        "allow_foreign_token_endpoint": settings.allow_foreign_token_endpoint,
    }
    if settings.token_url:
        common["token_url"] = settings.token_url
    else:
        common["discovery_url"] = settings.discovery_url
    if settings.grant == "client_credentials":
        return OpenIdClientCredentials(client_secret=str(settings.client_secret), **common)
    if settings.grant == "password":
        return OpenIdPassword(
            username=str(settings.username),
            password=str(settings.password),
            client_secret=settings.client_secret,
            **common,
        )
    return OpenIdRefreshToken(
        refresh_token=str(settings.refresh_token), client_secret=settings.client_secret, **common
    )
