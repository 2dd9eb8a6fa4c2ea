"""Odd token endpoint answers (RFC 6749 section 5): each is a typed error naming what was wrong, or a token
whose unusable lifetime counts as unknown (renewed after a 401, never before every call).

A real provider does not send these; a small server on 127.0.0.1 does, over a real socket.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest
from hostile_server import Reply, Request, hostile_server

from irods_provider.client import OpenIdClientCredentials
from irods_provider.exceptions import IrodsError, IrodsProtocolError

pytestmark = pytest.mark.timeout(60)

SECRET = "s3cret-value-4242"


def _reply(status: int, body: bytes, **headers: str) -> Callable[[Request], Reply]:
    head = {"Content-Type": "application/json", "Content-Length": str(len(body)), **headers}
    return lambda request: Reply(status, head, [body])


def _source(url: str) -> OpenIdClientCredentials:
    return OpenIdClientCredentials(
        client_id="airflow",
        client_secret=SECRET,
        token_url=url + "/token",
        allow_insecure_http=True,
        timeout=5,
    )


def _jwt(payload: bytes) -> str:
    def enc(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    header = enc(b'{"alg":"none"}')
    return f"{header}.{enc(payload)}.sig"


UNUSABLE_LIFETIMES = {
    "expires_in Infinity": b'{"access_token":"tok-a","token_type":"Bearer","expires_in":Infinity}',
    "expires_in 1e400": b'{"access_token":"tok-a","token_type":"Bearer","expires_in":1e400}',
    "expires_in 10**400": b'{"access_token":"tok-a","token_type":"Bearer","expires_in":1' + b"0" * 400 + b"}",
    "expires_in abc": b'{"access_token":"tok-a","token_type":"Bearer","expires_in":"abc"}',
    "expires_in NaN": b'{"access_token":"tok-a","token_type":"Bearer","expires_in":"NaN"}',
    "expires_in 0": b'{"access_token":"tok-a","token_type":"Bearer","expires_in":0}',
    "expires_in -30": b'{"access_token":"tok-a","token_type":"Bearer","expires_in":-30}',
    "jwt exp 10**400": json.dumps({"access_token": _jwt(b'{"exp":1' + b"0" * 400 + b"}")}).encode(),
    "jwt exp in the past": json.dumps({"access_token": _jwt(b'{"exp":1000000000,"sub":"x"}')}).encode(),
}


@pytest.mark.parametrize("body", UNUSABLE_LIFETIMES.values(), ids=UNUSABLE_LIFETIMES.keys())
def test_an_unusable_lifetime_is_unknown_and_renewed_only_after_a_refusal(body: bytes) -> None:
    with hostile_server(_reply(200, body)) as server:
        source = _source(server.url)
        tokens = {source.get_token() for _ in range(20)}
        assert source.token_requests == 1
        assert len(tokens) == 1
        source.get_token(reject=tokens.pop())  # a 401 on it: renewed
        assert source.token_requests == 2
        source.close()


ERRORS = {
    "HTTP 400 carrying a token": (
        _reply(400, b'{"access_token":"tok-from-400","token_type":"Bearer"}'),
        r"HTTP 400, no OAuth error and an access_token: not accepted \(success is HTTP 200 only",
    ),
    "HTTP 500 with an OAuth error": (
        _reply(500, json.dumps({"error": "server_error", "error_description": f"db down {SECRET}"}).encode()),
        r"HTTP 500 \(OAuth error 'server_error'\): the provider failed",
    ),
    "a reply over 1 MiB": (
        _reply(200, b'{"access_token":"' + b"a" * (2 * 1024 * 1024) + b'"}'),
        r"more than 1048576 bytes",
    ),
    "a gzip body never asked for": (
        _reply(200, b'{"access_token":"tok"}', **{"Content-Encoding": "gzip"}),
        r"'gzip'-encoded body although the request accepted none",
    ),
}


@pytest.mark.parametrize(("handler", "named"), ERRORS.values(), ids=ERRORS.keys())
def test_odd_answers_are_protocol_errors_naming_the_cause(
    handler: Callable[[Request], Reply], named: str
) -> None:
    with hostile_server(handler) as server:
        source = _source(server.url)
        with pytest.raises(IrodsProtocolError, match=named) as caught:
            source.get_token()
        source.close()
    assert SECRET not in str(caught.value)


def test_a_redirect_is_not_followed_and_no_secret_travels() -> None:
    with hostile_server(_reply(200, b'{"access_token":"stolen"}')) as elsewhere:

        def redirect(request: Request) -> Reply:
            return Reply(307, {"Location": elsewhere.url + "/steal", "Content-Length": "0"}, [])

        with hostile_server(redirect) as server:
            source = _source(server.url)
            with pytest.raises(IrodsError, match="HTTP 307, a redirect: not followed"):
                source.get_token()
            source.close()
    assert elsewhere.requests == []
