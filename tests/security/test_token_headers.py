"""A bearer token that HTTP cannot carry in a header (a pasted newline, a non-ASCII character) never shows
in an error's text: HTTP libraries quote a refused header value, so tokens are checked before sending."""

from __future__ import annotations

import json

import httpx2
import pytest
from hostile_server import Reply, Request, hostile_server

from irods_provider.client import BasicAuth, IrodsSession, OpenIdClientCredentials, StaticToken
from irods_provider.client._errors import map_httpx_errors
from irods_provider.client._redact import scrub
from irods_provider.exceptions import IrodsConfigurationError, IrodsError, IrodsProtocolError

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"
UUID_TOKEN = "0c6a1d3e-9f2b-4b7e-8f4d-2a1b3c4d5e6f"  # shaped as the iRODS HTTP API's own tokens


def _minted(irods_emulator) -> str:
    with IrodsSession(irods_emulator.base_url, auth=BasicAuth("rods", "rods-emulator")) as session:
        return session.auth.get_token()


def test_a_static_token_pasted_with_a_trailing_newline_is_used_without_it(irods_emulator) -> None:
    token = _minted(irods_emulator)
    with IrodsSession(irods_emulator.base_url, auth=StaticToken(f"{token}\r\n")) as session:
        assert session.collections.exists(HOME)


@pytest.mark.parametrize(
    "token", [f"{UUID_TOKEN[:8]}\n{UUID_TOKEN[8:]}", f"{UUID_TOKEN[:8]}\u00a0{UUID_TOKEN}"]
)
def test_a_static_token_http_cannot_carry_is_a_configuration_error_not_quoting_it(token) -> None:
    with pytest.raises(IrodsConfigurationError) as caught:
        StaticToken(token)
    assert UUID_TOKEN[:8] not in str(caught.value)
    assert UUID_TOKEN[9:] not in str(caught.value)


class _Provider:
    """A caller's own token provider handing out a token with a control or non-ASCII character."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, *, reject: str | None = None) -> str:
        return self.token

    async def aget_token(self, *, reject: str | None = None) -> str:
        return self.token

    def close(self) -> None:
        pass


@pytest.mark.parametrize("token", [f"{UUID_TOKEN}\n", f"{UUID_TOKEN}\u00f6", f"{UUID_TOKEN} x"])
def test_a_provider_token_http_cannot_carry_fails_typed_before_sending(irods_emulator, token) -> None:
    with (
        IrodsSession(irods_emulator.base_url, auth=_Provider(token)) as session,
        pytest.raises(IrodsConfigurationError) as caught,
    ):
        session.collections.stat(HOME)
    assert caught.value.operation == "collections.stat"
    assert UUID_TOKEN not in str(caught.value)
    assert "Bearer" not in str(caught.value)


def test_an_h11_header_error_is_mapped_without_its_text() -> None:
    with pytest.raises(IrodsProtocolError) as caught, map_httpx_errors(operation="stat", path=HOME):
        raise httpx2.LocalProtocolError(f"Illegal header value b'Bearer {UUID_TOKEN}\\n'")
    assert UUID_TOKEN not in str(caught.value)
    with pytest.raises(IrodsConfigurationError) as encoded, map_httpx_errors(operation="stat", path=HOME):
        f"Bearer {UUID_TOKEN}\u00f6".encode("ascii")
    assert UUID_TOKEN not in str(encoded.value)


def test_scrub_finds_a_secret_shown_escaped_and_uuid_shaped_tokens() -> None:
    secret = "pw-with-newline-7f3a\n"
    for shown in (repr(secret), repr(secret.encode()), json.dumps(secret), secret.strip()):
        assert "7f3a" not in scrub(f"failed: {shown}", [secret])
    assert UUID_TOKEN not in scrub(f"Illegal header value b'Bearer {UUID_TOKEN}'")
    nbsp = "tok\u00a0en-secret"
    assert "en-secret" not in scrub(f"value {nbsp.encode()!r}", [nbsp])


@pytest.mark.parametrize("body", [b"\xff\xfe-abc-token", "t\u00f6k\u00e9n-123".encode(), b"", b"tok en"])
def test_a_login_token_that_cannot_be_sent_back_is_a_protocol_error(body) -> None:
    def handler(request: Request) -> Reply:
        if request.path.endswith("/authenticate"):
            return Reply(200, {"Content-Type": "text/plain", "Content-Length": str(len(body))}, [body])
        return Reply(401, {"Content-Length": "0"}, [])

    auth = BasicAuth("rods", "pw-Secret-1")
    with (
        hostile_server(handler) as server,
        IrodsSession(f"{server.url}/irods-http-api/0.7.0", auth=auth) as session,
        pytest.raises(IrodsProtocolError) as caught,
    ):
        session.collections.stat(HOME)
    assert caught.value.operation == "authenticate"
    text = str(caught.value)
    assert "abc-token" not in text
    assert "123" not in text
    assert "tok en" not in text


def _openid_case(reply: Reply) -> IrodsError:
    with hostile_server(lambda _r: reply) as idp, hostile_server(lambda _r: Reply(401)) as api:
        auth = OpenIdClientCredentials(
            client_id="c",
            client_secret="cl1ent-S3cret",
            token_url=f"{idp.url}/token",
            allow_insecure_http=True,
        )
        try:
            with (
                IrodsSession(f"{api.url}/irods-http-api/0.7.0", auth=auth) as session,
                pytest.raises(IrodsError) as caught,
            ):
                session.collections.stat(HOME)
        finally:
            auth.close()
    return caught.value


def test_an_openid_access_token_http_cannot_carry_is_a_protocol_error() -> None:
    body = json.dumps({"access_token": "abcd-1234\nefgh-5678", "token_type": "Bearer"}).encode()
    error = _openid_case(Reply(200, {"Content-Type": "application/json"}, [body]))
    assert isinstance(error, IrodsProtocolError)
    assert "efgh" not in str(error)
    assert "abcd" not in str(error)


def test_openid_json_nested_too_deep_is_a_protocol_error() -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    error = _openid_case(Reply(200, {"Content-Type": "application/json"}, [body]))
    assert isinstance(error, IrodsProtocolError)
