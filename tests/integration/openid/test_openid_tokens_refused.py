"""Tokens the provider issues but the iRODS HTTP API refuses (wrong audience, no user mapping, the server not
set up for this provider): the most common OpenID misconfiguration. One re-mint, then an error naming the
provider, the client and the likely causes; test_connection says so too (it said 'user None')."""

from __future__ import annotations

import json

import pytest
from oidc_provider.harness import OidcProvider

from irods_provider.client import IrodsSession, OpenIdClientCredentials
from irods_provider.exceptions import IrodsAuthenticationError
from irods_provider.testing import EmulatorServer

pytestmark = pytest.mark.timeout(60)


def test_refused_openid_tokens_are_reminted_once_and_named(
    oidc_provider: OidcProvider, irods_emulator: EmulatorServer
) -> None:
    # The session emulator has no OpenID validator: it refuses every token this provider issues.
    source = OpenIdClientCredentials(
        client_id="irods-cc",
        client_secret=oidc_provider.clients["irods-cc"],
        token_url=oidc_provider.token_url,
        allow_insecure_http=True,
    )
    before = oidc_provider.token_requests()
    with (
        IrodsSession(irods_emulator.base_url, auth=source) as session,
        pytest.raises(IrodsAuthenticationError) as caught,
    ):
        session.collections.stat("/tempZone/home/rods")
    source.close()
    assert oidc_provider.token_requests() - before == 2  # the first token and one re-mint
    message = str(caught.value)
    assert oidc_provider.token_url in message
    assert "client 'irods-cc'" in message
    assert "audience" in message
    assert "maps to an iRODS user" in message
    assert "load balancer" not in message
    assert oidc_provider.clients["irods-cc"] not in message


def test_test_connection_names_the_client_not_user_none(
    oidc_provider: OidcProvider, irods_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from irods_provider.hooks.irods import IrodsHook

    conn = {
        "conn_type": "irods",
        "host": "127.0.0.1",
        "port": irods_emulator.port,
        "schema": "http",
        "extra": {
            "auth_mode": "openid_client_credentials",
            "openid_client_id": "irods-cc",
            "openid_client_secret": oidc_provider.clients["irods-cc"],
            "openid_token_url": oidc_provider.token_url,
            "openid_allow_insecure_http": True,
        },
    }
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_OIDC_REFUSED", json.dumps(conn))
    ok, message = IrodsHook("irods_oidc_refused").test_connection()
    assert not ok
    assert message.startswith(
        "The iRODS HTTP API refused the tokens the OpenID provider issued for client 'irods-cc'"
    )
    assert "None" not in message


def test_a_streamed_read_with_refused_tokens_is_the_same_named_error(
    oidc_provider: OidcProvider, irods_emulator: EmulatorServer
) -> None:
    source = OpenIdClientCredentials(
        client_id="irods-cc",
        client_secret=oidc_provider.clients["irods-cc"],
        token_url=oidc_provider.token_url,
        allow_insecure_http=True,
    )
    before = oidc_provider.token_requests()
    with (
        IrodsSession(irods_emulator.base_url, auth=source) as session,
        pytest.raises(IrodsAuthenticationError, match="maps to an iRODS user"),
    ):
        b"".join(session.data_objects.iter_read("/tempZone/home/rods/absent.bin"))
    source.close()
    assert oidc_provider.token_requests() - before == 2
