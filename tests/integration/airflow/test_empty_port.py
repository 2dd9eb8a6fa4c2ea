"""An empty Port: the hook defaults it by protocol; Airflow 3.3.2's Test route refuses the UI's port 0 itself.

What the browser sends was read in Airflow 3.3.2's UI bundle (``airflow/ui/dist/assets/index-*.js``) and seen
on the wire by tests/ui: the Test button of a row in the connection list posts ``port: Number(conn.port)``,
i.e. ``0`` for a connection saved without a port, and the stored password masked as ``"***"``. The route
(``api_fastapi/core_api/routes/public/connections.py``, ``test_connection``) compares that 0 with the stored
None (``_same_endpoint`` only treats None and "" as unset), calls it another endpoint and, the password being
the mask, answers 400 before any hook runs; the UI shows the bare status text, "Bad Request". No provider
code is reached, so the provider cannot fix it (Airflow fixed the route in apache/airflow#73298, not in
3.3.2); docs/connection.md says so and gives the workaround (type the port). These tests pin both halves:
Airflow's refusal (when it stops, update docs/connection.md) and that the hook itself reads port 0 and None
as the protocol's default.
"""

from __future__ import annotations

import json
import socket
from types import SimpleNamespace
from typing import Any

import pytest

from irods_provider.hooks.irods import IrodsHook

ENDPOINT_CHANGED = (
    "The host or port to test differs from the stored connection. "
    "Include the credentials to test in the request body."
)


@pytest.mark.parametrize("port", [None, 0])
@pytest.mark.parametrize(("schema", "default"), [("https", 443), ("http", 80), ("", 443)])
def test_an_empty_port_is_the_protocols_default(
    monkeypatch, port: int | None, schema: str, default: int
) -> None:
    conn = {"conn_type": "irods", "host": "irods.example.org", "port": port, "schema": schema}
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_PORTLESS", json.dumps(conn | {"login": "rods", "password": "pw"}))
    expected = f"{schema or 'https'}://irods.example.org:{default}/irods-http-api"
    assert IrodsHook("irods_portless").settings.base_url == expected


@pytest.fixture
def route(monkeypatch) -> Any:
    """Airflow's test-connection route with a stored ``my_irods`` saved without a port (no database)."""
    from airflow.api_fastapi.core_api.routes.public import connections as route
    from airflow.models.connection import Connection

    stored = Connection(
        conn_id="my_irods", conn_type="irods", host="127.0.0.1", schema="http", login="rods", password="pw"
    )
    hooks: list[str] = []
    monkeypatch.setenv("AIRFLOW__CORE__TEST_CONNECTION", "Enabled")
    monkeypatch.setattr(Connection, "get_team_name", staticmethod(lambda *a, **k: None))
    monkeypatch.setattr(Connection, "get_connection_from_secrets", classmethod(lambda cls, *a, **k: stored))

    def get_hook(self: Connection) -> IrodsHook:
        hooks.append(self.conn_id)
        return IrodsHook(self.conn_id)

    monkeypatch.setattr(Connection, "get_hook", get_hook)
    return SimpleNamespace(module=route, stored=stored, hooks=hooks)


def _body(**fields: Any) -> Any:
    from airflow.api_fastapi.core_api.datamodels.connections import ConnectionBody

    # The row's Test button: the listed connection as the list API returned it (password masked).
    row = {"connection_id": "my_irods", "conn_type": "irods", "description": "", "extra": "{}"}
    row |= {"host": "127.0.0.1", "login": "rods", "password": "***", "schema": "http"}
    return ConnectionBody.model_validate(row | fields)


@pytest.mark.slow  # importing Airflow's API routes takes 5-15 s
def test_airflow_refuses_port_zero_for_a_connection_stored_without_port(route) -> None:
    from fastapi import HTTPException

    reader = SimpleNamespace(is_authorized_connection=lambda **kwargs: True)
    assert route.stored.port is None
    with pytest.raises(HTTPException) as refused:
        route.module.test_connection(test_body=_body(port=0), user=None, auth_manager=reader)
    assert (refused.value.status_code, refused.value.detail) == (400, ENDPOINT_CHANGED)
    assert route.hooks == []  # refused before any provider code runs


@pytest.mark.slow
def test_with_port_null_the_hook_runs_and_uses_the_protocols_default(route) -> None:
    """Had the UI sent null (what the form itself sends for an empty port), the hook would answer."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 80)) == 0:
            pytest.skip("something listens on 127.0.0.1:80")
    reader = SimpleNamespace(is_authorized_connection=lambda **kwargs: True)
    answer = route.module.test_connection(test_body=_body(port=None), user=None, auth_manager=reader)
    assert len(route.hooks) == 1
    refused = "Connection refused by 127.0.0.1:80: nothing is listening there"
    assert (answer.status, answer.message) == (False, refused)
