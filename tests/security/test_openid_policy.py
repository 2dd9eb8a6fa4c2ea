"""Issue 18, findings 5, 6, 8: OpenID endpoint policy, provider error text scrubbed, typed CA bundle errors.

Before the fix: an https discovery document naming an ``http://`` token endpoint on another port got the
``Basic client:secret`` header in cleartext; ``issuer`` was not checked; ``http://`` discovery URLs were
accepted; a provider echoing the client secret and refresh token in ``error_description`` put them into the
exception and the Test-connection message; a missing ``ca_bundle`` in an OpenID mode raised a raw
FileNotFoundError and the test message blamed a TLS handshake.
"""

from __future__ import annotations

import base64
import contextlib
import json
import ssl
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
from hostile_server import Reply, Request, hostile_server

from irods_provider.client import OpenIdClientCredentials, OpenIdPassword, OpenIdRefreshToken
from irods_provider.client._openid import _OpenIdTokenSource
from irods_provider.exceptions import IrodsAuthenticationError, IrodsConfigurationError
from irods_provider.hooks.irods import IrodsHook

pytestmark = pytest.mark.timeout(60)

SECRET = "cs-Secret-9f8e7d6c5b4a"
PASSWORD = "pw-Alice-3141592653"
REFRESH = "rt-Refresh-2718281828459"
WELL_KNOWN = "/.well-known/openid-configuration"


@pytest.fixture(autouse=True)
def _close_sources(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Close every token source a test built (their pooled connections would leak otherwise)."""
    opened: list[_OpenIdTokenSource] = []
    original = _OpenIdTokenSource.__init__

    def init(self: _OpenIdTokenSource, *args: Any, **kwargs: Any) -> None:
        opened.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(_OpenIdTokenSource, "__init__", init)
    yield
    for source in opened:
        with contextlib.suppress(AttributeError):  # one whose __init__ refused the configuration
            source.close()


def _tls(pki) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    return context


def _json(data: object, status: int = 200) -> Reply:
    return Reply(
        status=status, headers={"Content-Type": "application/json"}, chunks=[json.dumps(data).encode()]
    )


def _discovery(issuer: Callable[[], str], token_endpoint: Callable[[], str]) -> Callable[[Request], Reply]:
    def handler(request: Request) -> Reply:
        if request.path.endswith(WELL_KNOWN):
            return _json({"issuer": issuer(), "token_endpoint": token_endpoint()})
        return _json({"access_token": "at-Granted-1234567890", "token_type": "Bearer", "expires_in": 300})

    return handler


def _token(request: Request) -> Reply:
    return _json({"access_token": "at-Granted-1234567890", "token_type": "Bearer", "expires_in": 300})


# ---- https only -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["discovery_url", "token_url"])
def test_plain_http_provider_urls_are_refused_by_default(where: str) -> None:
    url = "http://idp.example.org/realms/x" + ("" if where == "discovery_url" else "/token")
    with pytest.raises(IrodsConfigurationError) as caught:
        OpenIdClientCredentials(client_id="c", client_secret=SECRET, **{where: url})
    assert "must use https" in str(caught.value)
    assert "http://idp.example.org/realms/x" in str(caught.value)
    assert "openid_allow_insecure_http" in str(caught.value)


def test_http_token_endpoint_from_https_discovery_gets_no_credentials(pki) -> None:
    with (
        hostile_server(_token) as plain,
        hostile_server(
            _discovery(lambda: tls_server.url, lambda: f"{plain.url}/token"), tls=_tls(pki)
        ) as tls_server,
    ):
        source = OpenIdClientCredentials(
            client_id="c", client_secret=SECRET, discovery_url=tls_server.url, verify=str(pki.ca)
        )
        with pytest.raises(IrodsConfigurationError) as caught:
            source.get_token()
    assert f"{plain.url}/token" in str(caught.value)
    assert "must use https" in str(caught.value)
    assert plain.requests == [], "credentials were sent to a plain-http token endpoint"
    assert SECRET not in str(caught.value)


def test_token_endpoint_on_another_host_or_port_is_refused_unless_allowed(pki) -> None:
    with (
        hostile_server(_token, tls=_tls(pki)) as other,
        hostile_server(_discovery(lambda: main.url, lambda: f"{other.url}/token"), tls=_tls(pki)) as main,
    ):
        options = {
            "client_id": "c",
            "client_secret": SECRET,
            "discovery_url": main.url,
            "verify": str(pki.ca),
        }
        with pytest.raises(IrodsConfigurationError) as caught:
            OpenIdClientCredentials(**options).get_token()  # type: ignore[arg-type]
        assert "not on the issuer's host and port" in str(caught.value)
        assert other.requests == []
        allowed = OpenIdClientCredentials(**options, allow_foreign_token_endpoint=True)  # type: ignore[arg-type]
        assert allowed.get_token() == "at-Granted-1234567890"
        assert len(other.requests) == 1


def test_issuer_must_match_the_discovery_url(pki) -> None:
    with hostile_server(
        _discovery(lambda: "https://evil.example/realm", lambda: f"{main.url}/token"), tls=_tls(pki)
    ) as main:
        source = OpenIdClientCredentials(
            client_id="c", client_secret=SECRET, discovery_url=main.url, verify=str(pki.ca)
        )
        with pytest.raises(IrodsConfigurationError) as caught:
            source.get_token()
    assert "https://evil.example/realm" in str(caught.value)
    assert "RFC 8414" in str(caught.value)
    assert [r.path for r in main.requests] == [WELL_KNOWN], "the token endpoint was contacted anyway"


def test_matching_https_discovery_still_works(pki) -> None:
    with hostile_server(
        _discovery(lambda: f"{main.url}/", lambda: f"{main.url}/token"), tls=_tls(pki)
    ) as main:
        source = OpenIdClientCredentials(
            client_id="c", client_secret=SECRET, discovery_url=main.url, verify=str(pki.ca)
        )
        assert source.get_token() == "at-Granted-1234567890"


# ---- provider error text --------------------------------------------------------------------------------


def _echo(request: Request) -> Reply:
    """A provider that refuses every grant and echoes everything it was sent in error_description."""
    if request.path.endswith(WELL_KNOWN):
        return _json({"issuer": _echo.issuer, "token_endpoint": f"{_echo.issuer}/token"})  # type: ignore[attr-defined]
    sent = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
    basic = request.headers.get("Authorization", "").removeprefix("Basic ")
    if basic:
        sent["basic"] = base64.b64decode(basic).decode()
    description = "refused; you sent " + " ".join(f"{k}={v}" for k, v in sent.items())
    description += " and here is a token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    return _json({"error": "invalid_grant", "error_description": description}, status=400)


@pytest.mark.parametrize("grant", ["client_credentials", "password", "refresh_token"])
def test_provider_error_text_is_scrubbed_of_every_secret(grant: str) -> None:
    with hostile_server(_echo) as server:
        _echo.issuer = server.url  # type: ignore[attr-defined]
        common = {"client_id": "c", "discovery_url": server.url, "allow_insecure_http": True}
        source = {
            "client_credentials": lambda: OpenIdClientCredentials(client_secret=SECRET, **common),
            "password": lambda: OpenIdPassword(
                username="alice", password=PASSWORD, client_secret=SECRET, **common
            ),
            "refresh_token": lambda: OpenIdRefreshToken(
                refresh_token=REFRESH, client_secret=SECRET, **common
            ),
        }[grant]()
        with pytest.raises(IrodsAuthenticationError) as caught:
            source.get_token()
    text = str(caught.value) + repr(caught.value)
    assert "invalid_grant" in text
    assert "refused; you sent" in text, "the description was dropped instead of scrubbed"
    for secret in (SECRET, PASSWORD, REFRESH, "eyJhbGciOiJIUzI1NiJ9"):
        assert secret not in text
    assert "***" in text


def test_test_connection_message_holds_no_provider_echo(irods_emulator, monkeypatch) -> None:
    with hostile_server(_echo) as server:
        _echo.issuer = server.url  # type: ignore[attr-defined]
        extra = {
            "auth_mode": "openid_password",
            "openid_discovery_url": server.url,
            "openid_allow_insecure_http": True,
            "openid_client_id": "c",
            "openid_client_secret": SECRET,
        }
        conn = {"conn_type": "irods", "host": "127.0.0.1", "port": irods_emulator.port, "schema": "http"}
        conn.update({"login": "alice", "password": PASSWORD, "extra": extra})
        monkeypatch.setenv("AIRFLOW_CONN_IRODS_ECHO", json.dumps(conn))
        ok, message = IrodsHook("irods_echo").test_connection()
    assert not ok
    assert "refused the password grant" in message
    for secret in (SECRET, PASSWORD, "eyJhbGciOiJIUzI1NiJ9"):
        assert secret not in message


# ---- ca_bundle ------------------------------------------------------------------------------------------


def _conn(irods_emulator, ca_bundle: str, mode: str) -> str:
    extra: dict[str, object] = {"ca_bundle": ca_bundle, "auth_mode": mode}
    if mode != "basic":
        extra.update(openid_discovery_url="https://idp.example.org/realms/x", openid_client_id="c")
        extra.update(openid_client_secret=SECRET)
    conn = {"conn_type": "irods", "host": "127.0.0.1", "port": irods_emulator.port, "schema": "https"}
    conn.update({"login": "alice", "password": PASSWORD, "extra": extra})
    return json.dumps(conn)


@pytest.mark.parametrize("mode", ["basic", "openid_client_credentials", "openid_password"])
def test_ca_bundle_errors_are_typed_and_the_same_for_every_auth_mode(
    irods_emulator, monkeypatch, tmp_path, mode
) -> None:
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    empty = tmp_path / "empty.pem"
    empty.write_text("no PEM here\n")
    messages = []
    for bundle in (tmp_path / "absent.pem", garbage, empty, tmp_path):
        monkeypatch.setenv("AIRFLOW_CONN_IRODS_CA", _conn(irods_emulator, str(bundle), mode))
        with IrodsHook("irods_ca") as hook, pytest.raises(IrodsConfigurationError) as caught:
            hook.get_conn().collections.stat("/tempZone")
        assert str(bundle) in str(caught.value)
        ok, message = IrodsHook("irods_ca").test_connection()
        assert not ok
        assert message.startswith("The connection is misconfigured: cannot load CA bundle")
        assert "TLS handshake" not in message
        messages.append(message.replace(str(bundle), "<path>"))
    assert len(set(messages)) == 1, "the wording tells a missing file from a bad one"
