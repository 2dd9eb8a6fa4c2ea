"""IrodsHook against real sockets: sessions, test_connection() naming each failure, minted tokens masked."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest
from airflow.sdk.log import redact

from irods_provider.client import RetryPolicy
from irods_provider.hooks.irods import IrodsHook


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def hook_for(monkeypatch, uri_or_json: str) -> IrodsHook:
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_PROBE", uri_or_json)
    return IrodsHook("irods_probe", retry=RetryPolicy.never())


def test_session_round_trip_and_cached(irods) -> None:
    with IrodsHook() as hook:
        session = hook.get_conn()
        assert hook.get_conn() is session
        session.collections.create("/tempZone/home/rods/h")
        assert session.collections.exists("/tempZone/home/rods/h")
    assert hook._session is None  # closed on exit


def test_async_session(irods) -> None:
    async def go() -> bool:
        async with await IrodsHook().get_async_conn() as session:
            return await session.collections.exists("/tempZone/home/rods")

    assert asyncio.run(go()) is True


def test_minted_basic_token_is_masked(irods) -> None:
    with IrodsHook() as hook:
        session = hook.get_conn()
        session.collections.exists("/tempZone/home/rods")
        token = session.auth.get_token()
    assert len(token) > 8
    assert redact(f"bearer {token}") == "bearer ***"


def test_connection_ok(irods) -> None:
    ok, message = IrodsHook().test_connection()
    assert ok, message
    assert message == (
        f"Connected to the iRODS HTTP API 0.7.0 (detected automatically) at {irods.base_url} "
        "(zone tempZone) with basic authentication"
    )


def test_connection_wrong_password(irods, monkeypatch) -> None:
    hook = hook_for(monkeypatch, f"irods://rods:Not-The-Pw-123@127.0.0.1:{irods.port}/http")
    ok, message = hook.test_connection()
    assert not ok
    assert message.startswith("The server refused the credentials of user 'rods' (basic)")
    assert "Not-The-Pw-123" not in message


def test_connection_refused(monkeypatch) -> None:
    port = free_port()
    ok, message = hook_for(monkeypatch, f"irods://rods:rods-emulator@127.0.0.1:{port}/http").test_connection()
    assert (ok, message) == (False, f"Connection refused by 127.0.0.1:{port}: nothing is listening there")


def test_connection_dns(monkeypatch) -> None:
    ok, message = hook_for(
        monkeypatch, "irods://rods:rods-emulator@no-such-host.invalid:9000/http"
    ).test_connection()
    assert (ok, message) == (False, "DNS lookup failed: cannot resolve host 'no-such-host.invalid'")


def test_connection_tls_against_plain_http(irods, monkeypatch) -> None:
    ok, message = hook_for(
        monkeypatch, f"irods://rods:rods-emulator@127.0.0.1:{irods.port}/https"
    ).test_connection()
    assert not ok
    assert message.startswith(f"TLS handshake with 127.0.0.1:{irods.port} failed")
    assert message.endswith(
        f". Port {irods.port} answers plain HTTP: set the Protocol (schema) field to http"
    )


def test_connection_wrong_api_version(irods, monkeypatch) -> None:
    uri = f"irods://rods:rods-emulator@127.0.0.1:{irods.port}/http?api_version=0.9.0"
    ok, message = hook_for(monkeypatch, uri).test_connection()
    assert not ok
    assert message.startswith(
        f"http://127.0.0.1:{irods.port}/irods-http-api/0.9.0 is not an iRODS HTTP API of the expected version"
    )


def test_connection_misconfigured(monkeypatch) -> None:
    ok, message = hook_for(monkeypatch, "irods://rods:rods-emulator@h:1/tempZone").test_connection()
    assert not ok
    assert message.startswith("The connection is misconfigured: the connection schema must be the protocol")


def test_connection_openid_provider_unreachable(irods, monkeypatch) -> None:
    secret = "Cc-Secret-unreach-77"
    conn = {
        "conn_type": "irods",
        "host": "127.0.0.1",
        "port": irods.port,
        "schema": "http",
        "extra": {
            "auth_mode": "openid_client_credentials",
            "openid_token_url": f"http://127.0.0.1:{free_port()}/token",
            "openid_allow_insecure_http": True,
            "openid_client_id": "airflow",
            "openid_client_secret": secret,
        },
    }
    ok, message = hook_for(monkeypatch, json.dumps(conn)).test_connection()
    assert not ok
    assert message.startswith(
        "Could not get a token from the OpenID provider (IrodsConnectionError: cannot reach"
    )
    assert secret not in message


def test_connection_names_a_zone_the_server_does_not_have(irods, monkeypatch) -> None:
    uri = f"irods://rods:rods-emulator@127.0.0.1:{irods.port}/http?zone=noSuchZone"
    ok, message = hook_for(monkeypatch, uri).test_connection()
    assert (ok, message) == (
        False,
        "The server has no zone 'noSuchZone' (its zones: tempZone): fix the Zone field or leave it empty",
    )


def test_connection_zone_check_as_a_user_who_cannot_list_the_root(irods, monkeypatch) -> None:
    from tests.integration.airflow.conftest import ALICE_PASSWORD, conn_uri

    uri = conn_uri(irods, "alice", ALICE_PASSWORD).replace("zone=tempZone", "zone=otherZone")
    ok, message = hook_for(monkeypatch, uri).test_connection()
    assert (ok, message) == (
        False,
        "The server has no zone 'otherZone' (its zones: tempZone): fix the Zone field or leave it empty",
    )
    ok, message = hook_for(monkeypatch, conn_uri(irods, "alice", ALICE_PASSWORD)).test_connection()
    assert ok, message
    assert "(zone tempZone)" in message


def test_connection_suggests_the_closest_extra_for_a_typo(irods, monkeypatch) -> None:
    uri = f"irods://rods:rods-emulator@127.0.0.1:{irods.port}/http?verify_ssl=false&zonee=tempZone"
    ok, message = hook_for(monkeypatch, uri).test_connection()
    assert not ok
    assert message.startswith(
        "The connection is misconfigured: connection 'irods_probe' has unknown extras ['verify_ssl', 'zonee']"
    )
    assert message.endswith("('verify_ssl': did you mean 'verify_tls'?; 'zonee': did you mean 'zone'?)")


def test_connection_with_an_empty_port_uses_the_protocol_default(monkeypatch) -> None:
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 80)) == 0:
            pytest.skip("something listens on 127.0.0.1:80")
    conn = {"conn_type": "irods", "host": "127.0.0.1", "port": 0, "schema": "http"}
    conn |= {"login": "rods", "password": "rods-emulator"}
    ok, message = hook_for(monkeypatch, json.dumps(conn)).test_connection()
    assert (ok, message) == (False, "Connection refused by 127.0.0.1:80: nothing is listening there")


@pytest.mark.slow  # importing Airflow's API routes takes 5-15 s
def test_ui_test_button_names_the_connection_the_user_typed(irods, monkeypatch) -> None:
    """Airflow's POST /connections/test runs the hook under a random id; the message names the typed one."""
    from types import SimpleNamespace

    from airflow.api_fastapi.core_api.datamodels.connections import ConnectionBody
    from airflow.api_fastapi.core_api.routes.public import connections as route
    from airflow.models.connection import Connection

    monkeypatch.setenv("AIRFLOW__CORE__TEST_CONNECTION", "Enabled")
    monkeypatch.setattr(Connection, "get_team_name", staticmethod(lambda *a, **k: None))
    # What Connection.get_hook finds for conn_type irods, without importing every provider's hooks (~20 s).
    monkeypatch.setattr(Connection, "get_hook", lambda self: IrodsHook(self.conn_id))
    no_read = SimpleNamespace(is_authorized_connection=lambda **kwargs: False)
    body = ConnectionBody(
        connection_id="my_irods",
        conn_type="irods",
        host="127.0.0.1",
        port=irods.port,
        schema="http",
        login="rods",
        password="rods-emulator",
        extra=json.dumps({"verify_ssl": False}),
    )
    answer = route.test_connection(test_body=body, user=None, auth_manager=no_read)
    assert answer.status is False
    assert answer.message.startswith(
        "The connection is misconfigured: connection 'my_irods' has unknown extras ['verify_ssl']"
    )
    assert answer.message.endswith("('verify_ssl': did you mean 'verify_tls'?)")
    body.extra = json.dumps({"zone": "tempZone"})
    answer = route.test_connection(test_body=body, user=None, auth_manager=no_read)
    assert (answer.status, answer.message) == (
        True,
        f"Connected to the iRODS HTTP API 0.7.0 (detected automatically) at {irods.base_url} "
        "(zone tempZone) with basic authentication",
    )


def test_home_collection_in_a_federated_zone_is_the_remote_users_home(
    irods_emulator_variants, monkeypatch
) -> None:
    # iRODS names a remote user's home in a zone /<zone>/home/<user>#<home zone> (the emulator creates it).
    server = irods_emulator_variants(federated_zones=["otherZone"])
    server.add_user("alice", "alice")
    uri = f"irods://alice:alice@127.0.0.1:{server.port}/http"
    with hook_for(monkeypatch, uri) as hook:
        session = hook.get_conn()
        assert hook.home_collection() == "/tempZone/home/alice"
        assert hook.home_collection(zone="tempZone") == "/tempZone/home/alice"
        remote = hook.home_collection(zone="otherZone")
        assert remote == "/otherZone/home/alice#tempZone"
        assert session.collections.exists(remote)
        assert not session.collections.exists("/otherZone/home/alice")
        # a user of the remote zone itself: 'name#zone' names its home zone (no request needed)
        assert hook.home_collection("otherZone", "carol#otherZone") == "/otherZone/home/carol"
        assert hook.home_collection("tempZone", "carol#otherZone") == "/tempZone/home/carol#otherZone"
    with hook_for(monkeypatch, uri + "?zone=tempZone") as hook:
        # a user given is a user of that zone unless 'name#zone' says otherwise
        assert hook.home_collection(zone="otherZone", user="bob") == "/otherZone/home/bob"
        assert hook.home_collection(zone="otherZone", user="bob#tempZone") == "/otherZone/home/bob#tempZone"


def test_home_collection_from_the_connection_the_server_or_the_arguments(irods, monkeypatch) -> None:
    from irods_provider.exceptions import IrodsConfigurationError

    port = irods.port
    with hook_for(monkeypatch, f"irods://bob:pw@127.0.0.1:{port}/http") as basic:  # closes its session
        assert basic.home_collection() == "/tempZone/home/bob"  # the zone from the server's /info
        assert basic.home_collection(user="carol") == "/tempZone/home/carol"
        assert basic.home_collection("tempZone", "u") == "/tempZone/home/u"
        assert basic.home_collection("z", "u") == "/z/home/u"  # a user of zone z
        assert basic.home_collection("z") == "/z/home/bob#tempZone"  # this zone's user in zone z
    openid = {
        "auth_mode": "openid_password",
        "openid_token_url": f"http://127.0.0.1:{free_port()}/token",
        "openid_allow_insecure_http": "true",
        "openid_client_id": "c",
        "openid_username": "alice",
        "openid_password": "pw",
        "zone": "zX",
    }
    conn = {"conn_type": "irods", "host": "127.0.0.1", "port": port, "schema": "http", "extra": openid}
    assert hook_for(monkeypatch, json.dumps(conn)).home_collection() == "/zX/home/alice"  # no request sent
    token = {**conn, "extra": {"auth_mode": "token", "access_token": "t0k3n", "zone": "zX"}}
    with pytest.raises(IrodsConfigurationError, match="'irods_probe' names no user"):
        hook_for(monkeypatch, json.dumps(token)).home_collection()
    assert hook_for(monkeypatch, json.dumps(token)).home_collection(user="svc") == "/zX/home/svc"
