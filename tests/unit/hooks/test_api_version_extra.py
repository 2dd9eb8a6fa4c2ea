"""``api_version`` / ``api_path`` extras: ``auto`` by default, pinned by either, contradictions refused."""

from __future__ import annotations

import pytest

from irods_provider._provider_info import _conn_fields
from irods_provider.exceptions import IrodsConfigurationError
from irods_provider.hooks._connection import EXTRA_DEFAULTS, parse_connection


def settings(**extras: str):
    return parse_connection(
        conn_id="c", host="h", port=9000, schema="http", login="u", password="p", extras=extras
    )


def test_auto_is_the_default_and_leaves_the_version_out():
    assert EXTRA_DEFAULTS["api_version"] == "auto"
    s = settings()
    assert (s.api_version, s.base_url, s.api_root) == (
        None,
        "http://h:9000/irods-http-api",
        "http://h:9000/irods-http-api",
    )
    assert settings(api_version="AUTO").api_version is None


def test_pinned_by_the_version_extra():
    s = settings(api_version="0.6.0")
    assert (s.api_version, s.base_url, s.api_root) == (
        "0.6.0",
        "http://h:9000/irods-http-api/0.6.0",
        "http://h:9000/irods-http-api",
    )


@pytest.mark.parametrize("api_path", ["/irods-http-api/0.5.0", "irods-http-api/0.5.0/"])
def test_pinned_by_a_full_api_path(api_path):
    s = settings(api_path=api_path)
    assert (s.api_version, s.base_url) == ("0.5.0", "http://h:9000/irods-http-api/0.5.0")
    assert settings(api_path=api_path, api_version="0.5.0").base_url == "http://h:9000/irods-http-api/0.5.0"


def test_custom_path_without_version_is_probed_there():
    s = settings(api_path="/proxy/irods")
    assert (s.api_version, s.api_root) == (None, "http://h:9000/proxy/irods")


def test_contradiction_and_garbage_are_refused():
    with pytest.raises(
        IrodsConfigurationError, match=r"names version 0\.5\.0 but the api_version extra says 0\.7\.0"
    ):
        settings(api_path="/irods-http-api/0.5.0", api_version="0.7.0")
    with pytest.raises(
        IrodsConfigurationError, match=r"must be 'auto' or a version such as 0\.6\.0, got 'latest'"
    ):
        settings(api_version="latest")


def test_connection_form_default_is_auto():
    assert _conn_fields()["api_version"]["schema"]["default"] == "auto"
