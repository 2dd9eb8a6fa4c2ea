"""iRODS's anonymous user: the connection login 'anonymous' without a password logs in (the server gives it a
token, as for ticket access); any other login without a password is still a named misconfiguration."""

from __future__ import annotations

import json

import pytest

from irods_provider.exceptions import IrodsConfigurationError
from irods_provider.hooks._connection import parse_connection
from irods_provider.hooks.irods import IrodsHook
from irods_provider.testing import EmulatorServer


def test_the_anonymous_user_connects_without_a_password(
    irods_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = {"conn_type": "irods", "host": "127.0.0.1", "port": irods_emulator.port, "schema": "http"}
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_ANON", json.dumps({**conn, "login": "anonymous"}))
    ok, message = IrodsHook("irods_anon").test_connection()
    assert ok, message
    with IrodsHook("irods_anon") as hook:
        assert hook.get_conn().collections.exists("/tempZone") in (True, False)  # answered, logged in


@pytest.mark.parametrize("login", ["alice", None])
def test_other_logins_still_need_a_password(login: str | None) -> None:
    with pytest.raises(IrodsConfigurationError, match=r"needs a login and a password .*'anonymous'"):
        parse_connection(conn_id="c", host="h", port=None, schema=None, login=login, password=None, extras={})
