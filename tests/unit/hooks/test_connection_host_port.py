"""Hosts and ports that cannot form a URL are named misconfigurations (never a raw ValueError), an IPv6
address given bracketed is bracketed once, and test_connection answers (False, message) for them."""

from __future__ import annotations

import json
import os
import socket
from unittest import mock

import pytest

from irods_provider.client import RetryPolicy
from irods_provider.exceptions import IrodsConfigurationError
from irods_provider.hooks._connection import parse_connection
from irods_provider.hooks.irods import IrodsHook

BASE = {"conn_id": "c", "login": "rods", "password": "pw-12345", "schema": None, "extras": {}}


@pytest.mark.parametrize(
    ("host", "port", "named"),
    [
        ("h.example", 70000, "port 70000 is out of range"),
        ("h.example", -1, "port -1 is out of range"),
        ("https://h.example:99999", None, "not a valid URL"),
        ("https://h.example:abc", None, "not a valid URL"),
        ("https://[::1:9/", None, "not a valid URL"),
    ],
)
def test_a_host_or_port_that_cannot_form_a_url_is_a_configuration_error(host, port, named) -> None:
    with pytest.raises(IrodsConfigurationError, match=named):
        parse_connection(host=host, port=port, **BASE)


@pytest.mark.parametrize("host", ["::1", "[::1]", "https://[::1]"])
def test_an_ipv6_host_is_bracketed_once(host) -> None:
    assert parse_connection(host=host, port=9, **BASE).base_url == "https://[::1]:9/irods-http-api"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    ("host", "port", "starts"),
    [
        ("127.0.0.1", 70000, "The connection is misconfigured: the connection port 70000 is out of range"),
        ("[::1]", None, "Connection refused by ::1:"),
    ],
)
def test_test_connection_answers_instead_of_raising(host, port, starts) -> None:
    conn = {"conn_type": "irods", "host": host, "port": port or _closed_port(), "schema": "http"}
    conn |= {"login": "rods", "password": "pw-12345", "extra": {"api_version": "0.7.0"}}
    with mock.patch.dict(os.environ, {"AIRFLOW_CONN_IRODS_HOSTPORT": json.dumps(conn)}):
        ok, message = IrodsHook("irods_hostport", retry=RetryPolicy.never()).test_connection()
    assert not ok
    assert message.startswith(starts), message
