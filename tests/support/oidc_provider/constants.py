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
    # The same with HMAC-signed ID tokens (ID_TOKEN_HMAC below), for 0.5.0's nonstandard_id_token_secret.
    # An HMAC key is at least as long as the hash (jwcrypto refuses shorter ones): 32 and 64 bytes.
    "irods-client-mode-hs256": ("cmh-secret-8a41f0d27e-5c93b1e07d24a6f8", "authorization-code"),
    "irods-client-mode-hs512": ("cmh5-secret-71c9e3b04a-" + "3e8f0b6d2a4c9175" * 3, "authorization-code"),
    "irods-client-mode-hs-kid": ("cmk-secret-5e2b8d9f13-0a7c4e2b96d1f385", "authorization-code"),
}
CLIENT_MODE_ID = "irods-client-mode"

# Client-mode clients whose ID tokens are signed with their client secret as the HMAC key: client_id ->
# (alg, whether the header names the provider's RSA key as its kid). HS256 without a kid is DOT's own
# HS256 signing (its Application.algorithm); the others are re-signed by client_mode.ClientModeValidator.
ID_TOKEN_HMAC = {
    "irods-client-mode-hs256": ("HS256", False),
    "irods-client-mode-hs512": ("HS512", False),
    "irods-client-mode-hs-kid": ("HS256", True),
}
CLIENT_MODE_IDS = frozenset({CLIENT_MODE_ID, *ID_TOKEN_HMAC})

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
