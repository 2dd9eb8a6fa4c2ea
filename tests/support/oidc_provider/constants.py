"""Seeded users and clients shared by the provider process and the test harness."""

from __future__ import annotations

USERS = {"alice": "alice-pw-4c1b9e2f", "bob": "bob-pw-8d0a6c13"}

# client_id -> (secret, DOT authorization_grant_type)
CLIENTS = {
    "irods-cc": ("cc-secret-93f1d27a5b", "client-credentials"),
    "irods-pw": ("pw-secret-0e8c4b71d6", "password"),
    "irods-jwt": ("jwt-secret-5a2e90c3f8", "password"),
    "irods-rs": ("rs-secret-c47d18b2e9", "client-credentials"),
}
