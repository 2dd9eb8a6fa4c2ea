"""Tokens the provider issues but the iRODS HTTP API refuses (wrong audience, no user mapping, the server not
set up for this provider): the most common OpenID misconfiguration. One re-mint, then an error naming the
provider, the client and the likely causes; test_connection says so too (it said 'user None'). Tokens that
live only seconds may instead expire on the way to a slow server: those are re-minted up to three times."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from oidc_provider.harness import OidcProvider, start_oidc_provider

from irods_provider.client import IrodsSession, OpenIdClientCredentials
from irods_provider.exceptions import IrodsAuthenticationError
from irods_provider.testing import EmulatorServer

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def long_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    """A provider issuing 5-minute tokens, as real ones do (the session's provider issues 2-second ones)."""
    workdir = tmp_path_factory.mktemp("oidc-long-lived")
    with start_oidc_provider(workdir, access_token_seconds=300) as provider:
        yield provider


def _source(provider: OidcProvider) -> OpenIdClientCredentials:
    return OpenIdClientCredentials(
        client_id="irods-cc",
        client_secret=provider.clients["irods-cc"],
        token_url=provider.token_url,
        allow_insecure_http=True,
    )


def _refused(provider: OidcProvider, irods_emulator: EmulatorServer) -> tuple[int, str]:
    """Token requests and the error of one request whose tokens the emulator refuses."""
    source = _source(provider)
    before = provider.token_requests()
    with (
        IrodsSession(irods_emulator.base_url, auth=source) as session,
        pytest.raises(IrodsAuthenticationError) as caught,
    ):
        session.collections.stat("/tempZone/home/rods")
    source.close()
    return provider.token_requests() - before, str(caught.value)


def test_short_lived_refused_tokens_are_reminted_three_times(
    oidc_provider: OidcProvider, irods_emulator: EmulatorServer
) -> None:
    requests, message = _refused(oidc_provider, irods_emulator)
    assert requests == 4  # the first token and three re-mints: each may have expired in flight
    assert "its tokens (2 s) expire before requests this slow reach the server" in message
    assert "maps to an iRODS user" in message


def test_refused_openid_tokens_are_reminted_once_and_named(
    long_lived: OidcProvider, irods_emulator: EmulatorServer
) -> None:
    # The session emulator has no OpenID validator: it refuses every token this provider issues.
    requests, message = _refused(long_lived, irods_emulator)
    assert requests == 2  # the first token and one re-mint
    oidc_provider = long_lived
    assert oidc_provider.token_url in message
    assert "client 'irods-cc'" in message
    assert "audience" in message
    assert "maps to an iRODS user" in message
    assert "load balancer" not in message
    assert "expire before" not in message
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
    long_lived: OidcProvider, irods_emulator: EmulatorServer
) -> None:
    oidc_provider = long_lived
    source = _source(oidc_provider)
    before = oidc_provider.token_requests()
    with (
        IrodsSession(irods_emulator.base_url, auth=source) as session,
        pytest.raises(IrodsAuthenticationError, match="maps to an iRODS user"),
    ):
        b"".join(session.data_objects.iter_read("/tempZone/home/rods/absent.bin"))
    source.close()
    assert oidc_provider.token_requests() - before == 2
