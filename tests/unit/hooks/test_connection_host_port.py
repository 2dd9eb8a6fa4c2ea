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


@pytest.mark.parametrize(
    ("host", "port", "base_url"),
    [
        ("127.0.0.1:39987", None, "https://127.0.0.1:39987/irods-http-api"),
        ("irods.example.org:8443", None, "https://irods.example.org:8443/irods-http-api"),
        ("irods.example.org:8443", 8443, "https://irods.example.org:8443/irods-http-api"),
        ("[::1]:8443", None, "https://[::1]:8443/irods-http-api"),
        ("http://h.example:8080/", None, "http://h.example:8080/irods-http-api"),
        ("h.example:8443", 0, "https://h.example:8443/irods-http-api"),  # 0: the UI's empty port
        ("h.example", 0, "https://h.example:443/irods-http-api"),
    ],
)
def test_host_port_in_the_host_field_is_used_when_the_port_field_is_empty(host, port, base_url) -> None:
    assert parse_connection(host=host, port=port, **BASE).base_url == base_url


@pytest.mark.parametrize(
    ("host", "port", "extras", "named"),
    [
        ("h.example:8443", 9443, {}, "names port 8443 but the port field says 9443"),
        ("http://h.example:0", None, {}, "port 0 is out of range"),
        ("h.example ", 443, {}, "contains whitespace"),
        ("https://gw.example.org/irods", None, {}, "has a path: .* 'api_path' extra"),
        ("https://gw.example.org?x=1", None, {}, "query or fragment"),
        ("https://gw.example.org#top", None, {}, "query or fragment"),
        ("h.example", 443, {"api_path": "../../etc"}, "'api_path' must be a URL path"),
        ("h.example", 443, {"api_path": "/irods-http-api?x=1"}, "'api_path' must be a URL path"),
        ("h.example", 443, {"timeout": "nan"}, "'timeout' must be positive .*finite"),
        ("h.example", 443, {"timeout": "inf"}, "'timeout' must be positive .*finite"),
        ("h.example", 443, {"timeout": "1e400"}, "'timeout' must be positive .*finite"),
        ("h.example", 443, {"connect_timeout": True}, "'connect_timeout' must be a number of seconds"),
    ],
)
def test_fields_that_would_fail_raw_or_be_read_leniently_are_named_errors(host, port, extras, named) -> None:
    with pytest.raises(IrodsConfigurationError, match=named):
        parse_connection(host=host, port=port, **{**BASE, "extras": extras})


def test_userinfo_in_the_host_is_refused_without_quoting_it() -> None:
    with pytest.raises(IrodsConfigurationError, match="user name or password before '@'") as caught:
        parse_connection(host="https://alice:Hunter2-Secret@gw.example.org", port=None, **BASE)
    assert "Hunter2-Secret" not in str(caught.value)
    assert "alice" not in str(caught.value)


def test_a_host_port_connection_works_end_to_end(irods_emulator) -> None:
    conn = {"conn_type": "irods", "host": f"127.0.0.1:{irods_emulator.port}", "schema": "http"}
    conn |= {"login": "rods", "password": irods_emulator.config.admin_password}
    with (
        mock.patch.dict(os.environ, {"AIRFLOW_CONN_IRODS_HOSTCOLON": json.dumps(conn)}),
        IrodsHook("irods_hostcolon") as hook,
    ):
        assert hook.get_conn().collections.stat("/tempZone/home/rods").path == "/tempZone/home/rods"
