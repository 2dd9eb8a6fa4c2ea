"""IrodsHook: connection parsing from AIRFLOW_CONN_* (URI and JSON), validation messages, secret masking."""

from __future__ import annotations

import json
import os
from unittest import mock
from urllib.parse import quote, quote_plus

import pytest
from airflow.sdk.log import mask_secret, redact

from irods_provider.client import PasswordGrant
from irods_provider.exceptions import IrodsConfigurationError
from irods_provider.hooks._connection import EXTRA_DEFAULTS, parse_connection, parse_extras
from irods_provider.hooks.irods import IrodsHook

PASSWORD = "Pw-uri/7Zq%hook"


def _env(conn_id: str, value: str) -> dict[str, str]:
    return {f"AIRFLOW_CONN_{conn_id.upper()}": value}


def test_uri_form_parses_every_field() -> None:
    uri = (
        "irods://alice:Pw-uri%2F7Zq%25hook@irods.example.org:9443/https"
        "?zone=tempZone&verify_tls=false&timeout=5&connect_timeout=2.5&default_resource=demoResc"
        "&api_path=%2Fapi&api_version=0.6.0"
    )
    with mock.patch.dict(os.environ, _env("irods_uri", uri)):
        settings = IrodsHook("irods_uri").settings
    assert settings.base_url == "https://irods.example.org:9443/api/0.6.0"
    assert settings.username == "alice"
    assert settings.password == PASSWORD
    assert settings.zone == "tempZone"
    assert settings.default_resource == "demoResc"
    assert settings.verify is False
    assert (settings.timeout, settings.connect_timeout) == (5.0, 2.5)
    assert settings.auth_mode == "basic"
    assert PASSWORD not in repr(settings)


def test_empty_numbers_in_a_uri_mean_their_defaults_and_bad_ones_are_named() -> None:
    """``?timeout=`` (a value cleared in a pasted URI) reads as unset, as every other extra does; a value that
    is no positive number is refused, naming the extra; an empty ``verify_tls`` stays refused (the TLS switch
    is never guessed)."""
    uri = "irods://rods:pw@h:8443/https?timeout=&connect_timeout=%20&outcome_wait_seconds=&zone=tempZone"
    with mock.patch.dict(os.environ, _env("irods_empty", uri)):
        settings = IrodsHook("irods_empty").settings
    assert (settings.timeout, settings.connect_timeout) == (
        EXTRA_DEFAULTS["timeout"],
        EXTRA_DEFAULTS["connect_timeout"],
    )
    assert settings.outcome_wait.min_seconds == EXTRA_DEFAULTS["outcome_wait_seconds"]
    base: dict[str, object] = {"conn_id": "c", "host": "h", "port": None, "schema": None, "login": "u"}
    for key, value in (("timeout", "soon"), ("connect_timeout", "0"), ("verify_tls", "")):
        with pytest.raises(IrodsConfigurationError, match=repr(key)):
            parse_connection(**base, password="p", extras={key: value})  # type: ignore[arg-type]


def test_json_form_with_defaults() -> None:
    value = json.dumps(
        {
            "conn_type": "irods",
            "host": "127.0.0.1",
            "port": 9000,
            "login": "rods",
            "password": "rods-json-pw",
            "schema": "http",
            "extra": {"ca_bundle": "/etc/ca.pem"},
        }
    )
    with mock.patch.dict(os.environ, _env("irods_json", value)):
        settings = IrodsHook("irods_json").settings
    assert settings.base_url == "http://127.0.0.1:9000/irods-http-api"  # api_version auto: the root
    assert settings.api_version is None
    assert settings.verify == "/etc/ca.pem"
    assert (settings.timeout, settings.connect_timeout) == (
        EXTRA_DEFAULTS["timeout"],
        EXTRA_DEFAULTS["connect_timeout"],
    )


def test_host_may_carry_the_protocol_and_port_defaults_follow_it() -> None:
    base = {"conn_id": "c", "port": None, "schema": None, "login": "u", "password": "p", "extras": {}}
    assert parse_connection(host="http://h", **base).base_url == "http://h:80/irods-http-api"
    assert parse_connection(host="h", **base).base_url == "https://h:443/irods-http-api"
    assert parse_connection(host="https://h:8443", **base).base_url == "https://h:8443/irods-http-api"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"host": None}, "the connection has no host"),
        ({"schema": "tempZone"}, "schema must be the protocol 'http' or 'https'"),
        ({"host": "ftp://h"}, "unsupported protocol in host"),
        ({"login": None}, "needs a login and a password for Basic"),
        ({"extras": {"verify_ssl": "false"}}, "unknown extras ['verify_ssl']"),
        ({"extras": {"verify_tls": "maybe"}}, "'verify_tls' must be true or false"),
        ({"extras": {"timeout": "-1"}}, "'timeout' must be positive"),
        ({"extras": {"timeout": "soon"}}, "'timeout' must be a number of seconds"),
        ({"extras": {"auth_mode": "kerberos"}}, "auth_mode must be one of basic, openid_client_credentials"),
        ({"extras": {"auth_mode": "openid_password"}}, "needs the 'openid_discovery_url' or the"),
        (
            {"extras": {"auth_mode": "openid_client_credentials", "openid_token_url": "https://idp/t"}},
            "needs the 'openid_client_id' extra",
        ),
        (
            {
                "extras": {
                    "auth_mode": "openid_client_credentials",
                    "openid_token_url": "https://idp/t",
                    "openid_client_id": "c",
                }
            },
            "needs the 'openid_client_secret' extra",
        ),
        (
            {
                "extras": {
                    "auth_mode": "openid_refresh_token",
                    "openid_token_url": "https://idp/t",
                    "openid_client_id": "c",
                }
            },
            "needs the 'openid_refresh_token' extra",
        ),
        ({"password": None, "extras": {"auth_mode": "token"}}, "needs the access token"),
    ],
)
def test_misconfiguration_is_named(changes: dict[str, object], message: str) -> None:
    kwargs: dict[str, object] = {
        "conn_id": "c",
        "host": "h",
        "port": None,
        "schema": None,
        "login": "u",
        "password": "secret-never-shown",
        "extras": {},
    }
    kwargs.update(changes)
    with pytest.raises(IrodsConfigurationError) as info:
        parse_connection(**kwargs)  # type: ignore[arg-type]
    assert message in str(info.value)
    assert "secret-never-shown" not in str(info.value)


def test_openid_password_mode_falls_back_to_login_and_password() -> None:
    settings = parse_connection(
        conn_id="c",
        host="h",
        port=None,
        schema=None,
        login="bob",
        password="bob-password-123",
        extras={
            "auth_mode": "openid_password",
            "openid_discovery_url": "https://idp/realms/x",
            "openid_client_id": "airflow",
            "openid_scope": "openid",
        },
    )
    assert settings.openid is not None
    assert settings.openid.grant == PasswordGrant("bob", "bob-password-123")
    assert str(settings.openid.grant) == "password"
    assert settings.openid.options.client_auth == "client_secret_basic"
    assert settings.auth_mode == "openid_password"
    assert "bob-password-123" not in repr(settings)


def test_token_mode_reads_the_password_field() -> None:
    settings = parse_connection(
        conn_id="c",
        host="h",
        port=None,
        schema=None,
        login=None,
        password="static-token-xyz",
        extras={"auth_mode": "token"},
    )
    assert settings.access_token == "static-token-xyz"


def test_every_secret_is_masked_when_read() -> None:
    secrets = {
        "password": "Pw-mask-1-aaaa",
        "openid_client_secret": "Cs-mask-2-bbbb",
        "openid_refresh_token": "Rt-mask-3-cccc",
    }
    value = json.dumps(
        {
            "conn_type": "irods",
            "host": "h",
            "login": "u",
            "password": secrets["password"],
            "extra": {
                "auth_mode": "openid_refresh_token",
                "openid_token_url": "https://idp/token",
                "openid_client_id": "c",
                "openid_client_secret": secrets["openid_client_secret"],
                "openid_refresh_token": secrets["openid_refresh_token"],
            },
        }
    )
    for secret in secrets.values():
        assert redact(f"x {secret}") == f"x {secret}"
    with mock.patch.dict(os.environ, _env("irods_masked", value)):
        IrodsHook("irods_masked").settings  # noqa: B018
    for secret in secrets.values():
        assert redact(f"x {secret}") == "x ***"
    mask_secret("unrelated-value-zz")  # sanity: the masker is live, not a no-op
    assert redact("unrelated-value-zz") == "***"


def test_secrets_are_masked_in_the_encoded_forms_a_reply_may_echo() -> None:
    """Airflow masks a connection's password as it is; the hook adds the forms an echoed request shows it in
    (form- and URL-encoded, JSON-escaped), which Airflow's own masking of connection fields does not cover."""
    password = "Pw mask+4/&=\u00e9-dddd"
    forms = [quote_plus(password, safe=""), quote(password, safe=""), json.dumps(password)[1:-1]]
    value = json.dumps({"conn_type": "irods", "host": "h", "login": "u", "password": password, "extra": {}})
    for form in forms:
        assert redact(f"x {form}") == f"x {form}"
    with mock.patch.dict(os.environ, _env("irods_masked_forms", value)):
        IrodsHook("irods_masked_forms").settings  # noqa: B018
    for form in forms:
        assert redact(f"x {form}") == "x ***", form


def test_hook_attributes() -> None:
    assert IrodsHook.conn_type == "irods"
    assert IrodsHook.default_conn_name == "irods_default"
    assert IrodsHook.conn_name_attr == "irods_conn_id"
    assert IrodsHook().irods_conn_id == "irods_default"


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ('{"zone": "tempZone", "access_token": "SeCr3t-tok', ("not valid JSON", "line 1 column")),
        ('["zone", "tempZone", "SeCr3t-tok"]', ("a JSON array",)),
        ('"SeCr3t-tok"', ("a JSON string",)),
        ("42", ("a JSON number",)),
        ("null", ("a JSON null",)),
    ],
    ids=["truncated", "array", "string", "number", "null"],
)
def test_malformed_extras_name_the_connection_and_never_their_text(extra, words) -> None:
    conn = json.dumps({"conn_type": "irods", "host": "h", "login": "u", "password": "p", "extra": extra})
    with (
        mock.patch.dict(os.environ, _env("irods_broken", conn)),
        pytest.raises(IrodsConfigurationError) as info,
    ):
        _ = IrodsHook("irods_broken").settings
    text = str(info.value)
    assert "connection 'irods_broken' has malformed extras" in text
    assert "must be a JSON object" in text
    for word in words:
        assert word in text
    assert "SeCr3t" not in text


@pytest.mark.parametrize("extra", [None, "", "  ", "{}"])
def test_absent_or_empty_extras_are_no_extras(extra) -> None:
    assert parse_extras("c", extra) == {}
    assert parse_extras("c", {"zone": "z"}) == {"zone": "z"}


@pytest.mark.parametrize(
    ("extras", "login", "expected"),
    [
        ({}, "u", "Basic(username='u')"),
        ({"auth_mode": "token", "access_token": "tk-1"}, None, "Token()"),
        (
            {"auth_mode": "openid_client_credentials", "openid_client_secret": "cs-1"},
            None,
            "ClientCredentialsGrant()",
        ),
        ({"auth_mode": "openid_password", "openid_password": "op-1"}, "bob", "PasswordGrant(username='bob')"),
        ({"auth_mode": "openid_refresh_token", "openid_refresh_token": "rt-1"}, None, "RefreshTokenGrant()"),
    ],
)
def test_each_mode_yields_its_typed_spec(extras: dict[str, str], login: str | None, expected: str) -> None:
    if extras.get("auth_mode", "basic").startswith("openid_"):
        extras = {**extras, "openid_token_url": "https://idp/t", "openid_client_id": "cid"}
    settings = parse_connection(
        conn_id="c", host="h", port=None, schema=None, login=login, password="pw-0", extras=extras
    )
    spec = settings.openid.grant if settings.openid is not None else settings.auth
    assert repr(spec) == expected  # typed, and no secret in the repr
    assert settings.auth_mode == extras.get("auth_mode", "basic")
    for secret in ("pw-0", "tk-1", "cs-1", "op-1", "rt-1"):
        if secret in json.dumps(extras) or (secret == "pw-0" and "auth_mode" not in extras):
            assert secret in settings.secrets()


def test_the_token_endpoint_extra_is_not_masked_by_its_name_and_the_old_name_still_works() -> None:
    from airflow.sdk._shared.secrets_masker.secrets_masker import _secrets_masker

    from irods_provider.hooks._connection import SECRET_EXTRAS

    masker = _secrets_masker()
    hidden = [
        key for key in EXTRA_DEFAULTS if masker.should_hide_value_for_key(key) and key not in SECRET_EXTRAS
    ]
    # Only secrets are hidden by their name (openid_token_url was, being a 'token' name), and a boolean that
    # the masker never masks (it masks text only).
    assert hidden == ["openid_allow_foreign_token_endpoint"]
    url = "https://kc.example.org/realms/hpc/protocol/openid-connect/grant-endpoint"
    base = {"conn_id": "c", "host": "h", "port": None, "schema": None, "login": None, "password": None}
    openid = {
        "auth_mode": "openid_client_credentials",
        "openid_client_id": "c",
        "openid_client_secret": "cs-12345",
    }
    for key in ("openid_grant_url", "openid_token_url"):
        settings = parse_connection(**base, extras={**openid, key: url})
        assert settings.openid is not None
        assert settings.openid.options.token_url == url
    with pytest.raises(IrodsConfigurationError, match="'openid_grant_url' extra and its older name"):
        parse_connection(**base, extras={**openid, "openid_grant_url": url, "openid_token_url": url + "x"})
    value = json.dumps({"conn_type": "irods", "host": "h", "extra": {**openid, "openid_grant_url": url}})
    with mock.patch.dict(os.environ, _env("irods_grant_url", value)):
        IrodsHook("irods_grant_url").settings  # noqa: B018
    assert redact(f"endpoint {url}") == f"endpoint {url}"


def test_outcome_wait_comes_from_the_extras_and_reaches_the_session() -> None:
    """How long a lost reply's outcome is waited for, the storage pace it assumes and the server's request
    deadline are site facts (tape-backed resources, a raised ``requests.timeout_in_seconds``): extras."""
    from irods_provider.client import OutcomeWait

    extra = {"outcome_wait_seconds": 600, "outcome_wait_mib_per_second": "20", "server_deadline_seconds": 120}
    conn = {"conn_type": "irods", "host": "h.example.org", "login": "a", "password": "p", "extra": extra}
    value = json.dumps(conn)
    with mock.patch.dict(os.environ, _env("irods_wait", value)):
        hook = IrodsHook("irods_wait")
        settings = hook.settings
        kwargs = hook._session_kwargs(settings)
    wanted = OutcomeWait(min_seconds=600.0, bytes_per_second=20 * 1024 * 1024, server_deadline=120.0)
    assert settings.outcome_wait == wanted
    assert kwargs["outcome_wait"] == wanted
    default = parse_connection(
        conn_id="c", host="h", port=None, schema="https", login="a", password="p", extras={}
    )
    assert default.outcome_wait == OutcomeWait()


@pytest.mark.parametrize(
    ("key", "value"),
    [("outcome_wait_seconds", 0), ("outcome_wait_mib_per_second", "fast"), ("server_deadline_seconds", True)],
)
def test_a_bad_outcome_wait_extra_is_named(key, value) -> None:
    with pytest.raises(IrodsConfigurationError, match=f"extra {key!r} must be"):
        parse_connection(
            conn_id="c", host="h", port=None, schema="https", login="a", password="p", extras={key: value}
        )
