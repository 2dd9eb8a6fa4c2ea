"""An access token pasted into the connection with a trailing newline works; one with a character HTTP
cannot carry is named a misconfiguration, never quoted, never blamed on the API version."""

from __future__ import annotations

import json

import pytest

from irods_provider.client import BasicAuth, IrodsSession, RetryPolicy
from irods_provider.exceptions import IrodsConfigurationError
from irods_provider.hooks.irods import IrodsHook


def _token_hook(monkeypatch, irods, token: str) -> IrodsHook:
    conn = {
        "conn_type": "irods",
        "host": "127.0.0.1",
        "port": irods.port,
        "schema": "http",
        "password": token,
        "extra": {"auth_mode": "token", "api_version": "0.7.0"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_TOKEN_PROBE", json.dumps(conn))
    return IrodsHook("irods_token_probe", retry=RetryPolicy.never())


def _minted(irods) -> str:
    with IrodsSession(irods.base_url, auth=BasicAuth("rods", "rods-emulator")) as session:
        return session.auth.get_token()


def test_a_token_pasted_with_a_trailing_newline_connects(irods, monkeypatch) -> None:
    token = _minted(irods)
    ok, message = _token_hook(monkeypatch, irods, f"{token}\n").test_connection()
    assert ok, message
    assert token not in message


def test_a_token_http_cannot_carry_is_a_misconfiguration_without_its_value(irods, monkeypatch) -> None:
    token = _minted(irods)
    broken = f"{token[:8]}\n{token[8:]}"
    ok, message = _token_hook(monkeypatch, irods, broken).test_connection()
    assert not ok
    assert message.startswith("The connection is misconfigured"), message
    assert "expected version" not in message
    assert token[:8] not in message
    assert token[9:] not in message
    with pytest.raises(IrodsConfigurationError) as caught:
        _token_hook(monkeypatch, irods, broken).get_conn()
    assert token[:8] not in str(caught.value)
    assert token[9:] not in str(caught.value)
