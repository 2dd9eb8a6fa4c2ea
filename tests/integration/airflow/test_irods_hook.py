"""IrodsHook against real sockets: sessions, test_connection() naming each failure, minted tokens masked."""

from __future__ import annotations

import asyncio
import json
import socket

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
