"""The ``openid_client_mode`` auth mode: connection parsing, the login it builds, the releases that have it,
and its secrets kept out of messages and logs.

Expectations from irods/irods_client_http_api (endpoints/authentication/src/main.cpp:557-567 at 0.5.0: the
``iRODS`` scheme carries base64(user:password) as Basic does; 7b37b7f/#416: removed in 0.6.0).
"""

from __future__ import annotations

import base64
import os
from unittest import mock

import pytest
from airflow.sdk.log import redact

from irods_provider.client import (
    OpenIdClientMode,
    OpenIdClientModeAuth,
    api_version_facts,
    build_token_source,
)
from irods_provider.client._auth import login_refused
from irods_provider.client._ops_misc import authenticate
from irods_provider.exceptions import IrodsConfigurationError
from irods_provider.hooks._connection import parse_connection
from irods_provider.hooks.irods import IrodsHook

PASSWORD = "Cm-pw/5Yx%provider"


def _settings(login: str | None, password: str | None):  # type: ignore[no-untyped-def]
    return parse_connection(
        conn_id="irods_cm",
        host="irods.example.org",
        port=None,
        schema="https",
        login=login,
        password=password,
        extras={"auth_mode": "openid_client_mode", "api_version": "0.5.0"},
    )


def test_the_mode_builds_a_client_mode_login_from_login_and_password() -> None:
    settings = _settings("alice", PASSWORD)
    assert settings.auth == OpenIdClientMode("alice", PASSWORD)
    assert settings.auth_mode == "openid_client_mode"
    assert PASSWORD in settings.secrets()
    assert PASSWORD not in repr(settings)
    source = build_token_source(settings.auth)
    assert type(source) is OpenIdClientModeAuth
    assert PASSWORD not in repr(source)


@pytest.mark.parametrize(("login", "password"), [("alice", None), (None, PASSWORD), ("", "")])
def test_the_mode_needs_both_login_and_password(login: str | None, password: str | None) -> None:
    with pytest.raises(IrodsConfigurationError, match="openid_client_mode") as caught:
        _settings(login, password)
    assert PASSWORD not in str(caught.value)


def test_the_login_sends_the_irods_scheme_with_base64_credentials() -> None:
    op = authenticate("alice", PASSWORD, scheme="iRODS")
    expected = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    assert dict(op.headers) == {"Authorization": f"iRODS {expected}"}
    assert op.name == "authenticate.openid_client_mode"
    assert authenticate("alice", PASSWORD).name == "authenticate"  # Basic is unchanged


@pytest.mark.parametrize(("version", "has_it"), [("0.4.0", True), ("0.5.0", True), ("0.6.0", False)])
def test_only_releases_before_0_6_0_take_the_login(version: str, has_it: bool) -> None:
    op = authenticate("alice", PASSWORD, scheme="iRODS")
    api = api_version_facts(version)
    if has_it:
        api.check(op)
        return
    with pytest.raises(IrodsConfigurationError, match=r"0\.6\.0 removed it.*#416.*nothing was sent"):
        api.check(op)
    api_version_facts("0.7.0").check(authenticate("alice", PASSWORD))  # Basic everywhere


def test_refusals_name_the_likely_cause_without_the_password() -> None:
    assert "provider refused the username or password" in login_refused("alice", "iRODS", 400)
    assert "no user of the name" in login_refused("alice", "iRODS", 401)
    assert "wrong username or password" in login_refused("alice", "Basic", 401)


def test_the_hook_masks_the_password_and_its_header_form() -> None:
    uri = "irods://alice:Cm-pw%2F5Yx%25provider@irods.example.org/https?auth_mode=openid_client_mode"
    with mock.patch.dict(os.environ, {"AIRFLOW_CONN_IRODS_CM": uri}):
        settings = IrodsHook("irods_cm").settings
    assert settings.auth_mode == "openid_client_mode"
    header = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    line = f"POST /authenticate Authorization: iRODS {header} password={PASSWORD}"
    assert redact(line) == "POST /authenticate Authorization: iRODS *** password=***"
