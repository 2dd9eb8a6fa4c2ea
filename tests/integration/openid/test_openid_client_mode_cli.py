"""``python -m irods_provider.testing serve`` in OpenID client mode, as a subprocess on port 0 against the
django-oauth-toolkit provider: the flags reach the server's behaviour, and releases without the mode refuse
them before anything is served.

Expectations from irods/irods_client_http_api at tag 0.5.0: endpoints/authentication/src/main.cpp
(``main.cpp``), core/src/openid.cpp (``openid.cpp``).
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from oidc_provider.harness import OidcProvider

CLIENT = "irods-client-mode-hs256"
_ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def _serve_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "irods_provider.testing", "serve", "--port", "0", *args]


def _client_mode_args(provider: OidcProvider, *extra: str) -> list[str]:
    return [
        "--api-version",
        "0.5.0",
        "--openid-client-provider",
        provider.issuer,
        "--openid-client-id",
        CLIENT,
        "--openid-client-secret",
        provider.clients[CLIENT],
        *extra,
    ]


@contextmanager
def _serving(args: list[str]) -> Iterator[tuple[str, list[str]]]:
    """The server's base URL and banner (up to its export line); interrupted (exit 0) when the block ends."""
    proc = subprocess.Popen(_serve_argv(*args), stdout=subprocess.PIPE, text=True, env=_ENV)
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while not lines or "export AIRFLOW_CONN_" not in lines[-1]:
            line = proc.stdout.readline()
            assert line, f"serve exited early: {lines}"
            lines.append(line.rstrip("\n"))
        yield lines[0].split(": ", 1)[1].strip(), lines
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        if proc.stdout is not None:
            proc.stdout.close()


def _add_alice(base: str) -> None:
    """alice in the zone, created by rods over the API (the mapped user must exist at 0.5.0)."""
    deadline = time.monotonic() + 10
    while True:
        try:
            token = httpx2.post(f"{base}/authenticate", auth=("rods", "rods-emulator")).text
            break
        except httpx2.ConnectError:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    form = {"op": "create_user", "name": "alice", "zone": "tempZone"}
    reply = httpx2.post(f"{base}/users-groups", data=form, headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200, reply.text


def _irods_login(base: str, provider: OidcProvider) -> httpx2.Response:
    credentials = base64.b64encode(f"alice:{provider.users['alice']}".encode()).decode()
    return httpx2.post(f"{base}/authenticate", headers={"Authorization": f"iRODS {credentials}"})


def _b64url(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def test_serve_runs_client_mode_with_the_flags_given(oidc_provider: OidcProvider) -> None:
    redirect = "http://127.0.0.1:1/irods-http-api/0.5.0/authenticate"
    secret = _b64url(oidc_provider.clients[CLIENT])
    args = _client_mode_args(
        oidc_provider, "--openid-client-redirect-uri", redirect, "--openid-client-id-token-secret", secret
    )
    with _serving(args) as (base, banner):
        assert any("OpenID client mode" in line and CLIENT in line for line in banner)
        assert not any(oidc_provider.clients[CLIENT] in line for line in banner)
        _add_alice(base)
        # main.cpp:570-655: the password grant, the HS256 ID token verified with the given secret, own token.
        reply = _irods_login(base, oidc_provider)
        assert reply.status_code == 200
        assert reply.headers["content-type"].startswith("text/plain")
        listed = httpx2.get(
            f"{base}/collections",
            params={"op": "list", "lpath": "/tempZone/home/alice"},
            headers={"Authorization": f"Bearer {reply.text}"},
        )
        assert listed.json()["irods_response"]["status_code"] == 0
        # main.cpp:187-216: no query → 302 to the provider with the configured client_id and redirect_uri.
        browser = httpx2.get(f"{base}/authenticate")
        assert browser.status_code == 302
        query = parse_qs(urlsplit(browser.headers["location"]).query)
        assert (query["client_id"], query["redirect_uri"]) == ([CLIENT], [redirect])


def test_serve_passes_the_id_token_secret_to_the_server(oidc_provider: OidcProvider) -> None:
    # A wrong nonstandard_id_token_secret wins over the right client_secret (openid.cpp:248-260) and the
    # ID token fails: 400 (main.cpp:593-599). Proves the flag reaches the validation.
    wrong = _b64url("not-the-client-secret")
    with _serving(_client_mode_args(oidc_provider, "--openid-client-id-token-secret", wrong)) as (base, _):
        _add_alice(base)
        assert _irods_login(base, oidc_provider).status_code == 400


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--api-version", "0.6.0"], "0.6.0 removed it"),
        (["--api-version", "0.7.0"], "0.6.0 removed it"),
        (["--api-version", "0.4.0", "--openid-client-id-token-secret", "c2VjcmV0"], "0.5.0 added both"),
        (["--openid-client-id-token-secret", "not+base64url"], "base64url"),
    ],
    ids=["0.6.0", "0.7.0", "0.4.0-id-token-secret", "secret-not-base64url"],
)
def test_serve_refuses_client_mode_where_the_release_has_none(
    oidc_provider: OidcProvider, extra: list[str], message: str
) -> None:
    # 0.6.0 removed client mode (#416: no 'mode' in core/src/main.cpp:220-276 at 0.6.0); 0.4.0 has no
    # nonstandard_id_token_secret (core/src/main.cpp:230-262 at 0.4.0). Refused, exit 2, the secret unsaid.
    argv = _serve_argv(*_client_mode_args(oidc_provider), *extra)
    done = subprocess.run(argv, check=False, capture_output=True, text=True, env=_ENV, timeout=60)
    assert done.returncode == 2
    assert message in " ".join(done.stderr.split())
    assert done.stdout == ""
    assert oidc_provider.clients[CLIENT] not in done.stderr


def test_serve_refuses_client_mode_options_without_a_provider() -> None:
    argv = _serve_argv("--openid-client-id", CLIENT)
    done = subprocess.run(argv, check=False, capture_output=True, text=True, env=_ENV, timeout=60)
    assert done.returncode == 2
    assert "need --openid-client-provider" in done.stderr
