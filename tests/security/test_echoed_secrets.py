"""An OpenID provider that echoes the token request (form body or Authorization header) into its error text.

Some gateways and debug-mode providers do; the body is form-encoded (``client+secret%2Fwith+spaces``), so a
scrubber that only knows the raw, repr and JSON forms of a secret lets it through, and so does Airflow's
masker.
"""

from __future__ import annotations

import base64
import json
import os
from unittest import mock
from urllib.parse import quote, quote_plus

import pytest
from hostile_server import Reply, Request, hostile_server

from irods_provider.client import OpenIdPassword
from irods_provider.client._redact import scrub
from irods_provider.exceptions import IrodsAuthenticationError
from irods_provider.testing import EmulatorServer

pytestmark = pytest.mark.timeout(60)

SECRET = "client secret/with spaces&stuff"
PASSWORD = "correct horse/battery staple!"


def _echo(request: Request) -> Reply:
    """An OAuth error whose description is the request: its body and its Authorization header."""
    seen = f"body {request.body.decode()} authorization {request.headers.get('Authorization', '')}"
    body = json.dumps({"error": "invalid_request", "error_description": seen}).encode()
    return Reply(400, {"Content-Type": "application/json", "Content-Length": str(len(body))}, [body])


def _encoded_forms(secret: str) -> list[str]:
    return [quote_plus(secret, safe=""), quote(secret, safe=""), quote(secret), quote_plus(secret).lower()]


def _assert_absent(text: str, *secrets: str) -> None:
    for secret in secrets:
        for form in (secret, *_encoded_forms(secret)):
            assert form not in text, form


@pytest.mark.parametrize("client_auth", ["client_secret_post", "client_secret_basic"])
def test_echoed_request_leaks_no_secret_in_any_encoding(client_auth: str) -> None:
    with hostile_server(_echo) as server:
        source = OpenIdPassword(
            username="alice",
            password=PASSWORD,
            client_id="airflow",
            client_secret=SECRET,
            client_auth=client_auth,  # type: ignore[arg-type]
            token_url=server.url + "/token",
            allow_insecure_http=True,
            timeout=5,
        )
        with pytest.raises(IrodsAuthenticationError) as caught:
            source.get_token()
        source.close()
    message = str(caught.value)
    assert "username=alice" in message  # the echo did arrive
    _assert_absent(message, SECRET, PASSWORD)
    header = base64.b64encode(f"airflow:{SECRET}".encode()).decode()
    assert header not in message


def test_scrub_knows_the_form_and_url_encodings() -> None:
    text = (
        f"a={quote_plus(SECRET)} b={quote(SECRET, safe='')} c={quote(SECRET)} d={quote_plus(SECRET).lower()}"
    )
    assert scrub(text, [SECRET]) == "a=*** b=*** c=*** d=***"


def test_hook_masks_the_encoded_forms_in_task_logs_and_test_connection(
    irods_emulator: EmulatorServer,
) -> None:
    from airflow.sdk.log import redact

    from irods_provider.hooks.irods import IrodsHook

    secret = "hook secret/with spaces&more"
    with hostile_server(_echo) as server:
        conn = {
            "conn_type": "irods",
            "host": "127.0.0.1",
            "port": irods_emulator.port,
            "schema": "http",
            "extra": {
                "auth_mode": "openid_client_credentials",
                "openid_client_id": "airflow",
                "openid_client_secret": secret,
                "openid_client_auth_method": "client_secret_post",
                "openid_token_url": server.url + "/token",
                "openid_allow_insecure_http": True,
            },
        }
        with mock.patch.dict(os.environ, {"AIRFLOW_CONN_IRODS_ECHO": json.dumps(conn)}):
            hook = IrodsHook("irods_echo")
            ok, message = hook.test_connection()
    assert not ok
    assert "client_id=airflow" in message  # the echo did arrive
    _assert_absent(message, secret)
    for form in _encoded_forms(secret):
        assert redact(f"log {form}") == "log ***"
