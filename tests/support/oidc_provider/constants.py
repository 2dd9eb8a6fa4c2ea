"""Seeded users and clients shared by the provider process and the test harness."""

from __future__ import annotations

import os
from typing import Any

USERS = {"alice": "alice-pw-4c1b9e2f", "bob": "bob-pw-8d0a6c13"}

# client_id -> (secret, DOT authorization_grant_type)
CLIENTS = {
    "irods-cc": ("cc-secret-93f1d27a5b", "client-credentials"),
    "irods-pw": ("pw-secret-0e8c4b71d6", "password"),
    "irods-jwt": ("jwt-secret-5a2e90c3f8", "password"),
    "irods-rs": ("rs-secret-c47d18b2e9", "client-credentials"),
    "irods-pw-long": ("pwl-secret-6b3f07e2a4", "password"),
    "irods-cc-long": ("ccl-secret-1d9a5c8e70", "client-credentials"),
    # The OAuth client an iRODS HTTP API 0.4.0/0.5.0 in OpenID client mode is (client_mode.py): password
    # and authorization-code grants, redirects to the emulator's /authenticate.
    "irods-client-mode": ("cm-secret-2f7d9a41c6", "authorization-code"),
}
CLIENT_MODE_ID = "irods-client-mode"

# Clients whose access tokens live LONG_TOKEN_SECONDS whatever the provider's lifetime (2 s in the session
# fixture): for tests about something other than expiry (secrets in logs), so a loaded machine cannot
# expire their tokens in flight. Tests about renewal use the other clients.
LONG_LIVED_CLIENTS = frozenset({"irods-pw-long", "irods-cc-long"})
LONG_TOKEN_SECONDS = 3600


def access_token_seconds(request: Any) -> int:
    """The lifetime of the access token minted for ``request`` (oauthlib's ``token_expires_in`` hook)."""
    client = getattr(request, "client", None)
    if getattr(client, "client_id", None) in LONG_LIVED_CLIENTS:
        return LONG_TOKEN_SECONDS
    return int(os.environ.get("ACCESS_TOKEN_EXPIRE_SECONDS", "300"))
