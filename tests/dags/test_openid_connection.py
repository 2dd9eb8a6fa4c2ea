"""The ``irods`` connection in OpenID mode: test_connection() with the real provider (shares its fixture)."""

from __future__ import annotations

import json

from irods_provider.client import RetryPolicy
from irods_provider.hooks.irods import IrodsHook


def _conn(emulator, provider, **extra: str) -> str:
    return json.dumps(
        {
            "conn_type": "irods",
            "host": "127.0.0.1",
            "port": emulator.port,
            "schema": "http",
            "login": "alice",
            "password": provider.users["alice"],
            "extra": {
                "auth_mode": "openid_password",
                "openid_discovery_url": provider.issuer,
                "openid_allow_insecure_http": True,
                "openid_client_id": "irods-pw",
                "openid_client_secret": provider.clients["irods-pw"],
                **extra,
            },
        }
    )


def test_openid_connection_ok(openid_emulator, oidc_provider, monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_OIDC", _conn(openid_emulator, oidc_provider))
    ok, message = IrodsHook("irods_oidc", retry=RetryPolicy.never()).test_connection()
    assert ok, message
    assert message.endswith("(zone tempZone) with openid_password authentication")


def test_openid_wrong_client_secret_is_named(openid_emulator, oidc_provider, monkeypatch) -> None:
    wrong = "Wrong-Client-Secret-0x5"
    monkeypatch.setenv(
        "AIRFLOW_CONN_IRODS_OIDC", _conn(openid_emulator, oidc_provider, openid_client_secret=wrong)
    )
    ok, message = IrodsHook("irods_oidc", retry=RetryPolicy.never()).test_connection()
    assert not ok
    assert message.startswith("The OpenID provider refused the password grant (IrodsAuthenticationError:")
    assert "invalid_client" in message
    assert wrong not in message
    assert oidc_provider.users["alice"] not in message
