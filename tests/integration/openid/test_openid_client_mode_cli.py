"""``python -m irods_provider.testing serve`` in OpenID client mode, as a subprocess on port 0 against the
django-oauth-toolkit provider: the flags reach the server's behaviour, and releases without the mode refuse
them before anything is served.

Expectations from irods/irods_client_http_api at tag 0.5.0: endpoints/authentication/src/main.cpp
(``main.cpp``), core/src/openid.cpp (``openid.cpp``).
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
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


def _add_alice(base: str, name: str = "alice") -> None:
    """alice (or ``name``) in the zone, created by rods over the API (the mapped user must exist at 0.5.0)."""
    deadline = time.monotonic() + 10
    while True:
        try:
            token = httpx2.post(f"{base}/authenticate", auth=("rods", "rods-emulator")).text
            break
        except httpx2.ConnectError:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    form = {"op": "create_user", "name": name, "zone": "tempZone"}
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


def _whoami(base: str, token: str, user: str) -> int:
    """The status of stat on ``user``'s home with ``token``: 200 only for that user (or an admin)."""
    params = {"op": "stat", "lpath": f"/tempZone/home/{user}"}
    reply = httpx2.get(f"{base}/collections", params=params, headers={"Authorization": f"Bearer {token}"})
    return int(reply.json()["irods_response"]["status_code"])


def _write_mapping(path: Path, mapping: dict[str, dict[str, str]], mtime_ns: int) -> None:
    """The mapping file, with an explicit modification time (the server re-reads on a changed one)."""
    path.write_text(json.dumps(mapping))
    os.utime(path, ns=(mtime_ns, mtime_ns))


def test_serve_maps_users_by_the_050_local_file_plugin(oidc_provider: OidcProvider, tmp_path: Path) -> None:
    # 0.5.0 maps users through a user_mapping plugin (core/src/main.cpp:244-258 at 0.5.0); local_file reads
    # file_path as user -> claims, the first user whose claims all match (local_file.cpp:92-128). The file
    # is an nlohmann::json (a std::map): "first" is by name, not by the file's order (local_file.cpp:70-84).
    mapping = tmp_path / "users.json"
    alice = {"preferred_username": "alice"}
    _write_mapping(mapping, {"zed": alice, "carol": alice}, 1_000_000_000)
    args = _client_mode_args(oidc_provider, "--openid-client-user-mapping-file", str(mapping))
    with _serving(args) as (base, _):
        _add_alice(base, "carol")  # zed is not in the zone: mapped to it, 0.5.0 would answer 401
        reply = _irods_login(base, oidc_provider)
        assert reply.status_code == 200
        assert _whoami(base, reply.text, "carol") == 0
        # A changed file is read again at the next login (local_file.cpp:53-62, :96-100): nobody matches,
        # the server's empty 400 (main.cpp:601-611).
        _write_mapping(mapping, {"carol": {"preferred_username": "bob"}}, 2_000_000_000)
        assert (_irods_login(base, oidc_provider).status_code, _irods_login(base, oidc_provider).content) == (
            400,
            b"",
        )
        # A file that no longer parses keeps the last good mapping (local_file.cpp:97-103 catches and logs).
        mapping.write_text("{not json")
        os.utime(mapping, ns=(3_000_000_000, 3_000_000_000))
        assert _irods_login(base, oidc_provider).status_code == 400
        _write_mapping(mapping, {"carol": alice}, 4_000_000_000)
        assert _irods_login(base, oidc_provider).status_code == 200


def test_serve_maps_users_by_the_040_user_attribute_mapping(oidc_provider: OidcProvider) -> None:
    # 0.4.0: openid_connect.user_attribute_mapping, inline (core/src/main.cpp:264-270 at 0.4.0), matched in
    # map_json_to_user (core/src/common.cpp:340-372 at 0.4.0); 0.4.0 checks not that the user exists.
    inline = json.dumps({"dora": {"preferred_username": "alice"}})
    args = _client_mode_args(oidc_provider, "--openid-client-user-attribute-mapping", inline)
    args[args.index("0.5.0")] = "0.4.0"
    with _serving(args) as (base, _):
        _add_alice(base, "dora")
        reply = _irods_login(base, oidc_provider)
        assert reply.status_code == 200
        assert _whoami(base, reply.text, "dora") == 0


INLINE = ["--openid-client-user-attribute-mapping", '{"a": {"b": "c"}}']


@pytest.mark.parametrize(
    ("version", "extra", "message"),
    [
        # 0.4.0 has no user_mapping plugins (core/src/main.cpp:220-300 at 0.4.0: no user_mapping key).
        ("0.4.0", ["--openid-client-user-mapping-file", "users.json"], "no user_mapping plugins"),
        # 0.5.0 has no user_attribute_mapping (its schema, core/src/main.cpp:220-272 at 0.5.0).
        ("0.5.0", INLINE, "no user_attribute_mapping"),
        # 0.4.0's schema: oneOf irods_user_claim, user_attribute_mapping (core/src/main.cpp:280-291 at 0.4.0).
        ("0.4.0", ["--openid-client-user-claim", "sub", *INLINE], "not allowed with argument"),
        # "minProperties": 1, object values (core/src/main.cpp:264-270 at 0.4.0).
        ("0.4.0", ["--openid-client-user-attribute-mapping", "{}"], "one user at least"),
        ("0.4.0", ["--openid-client-user-attribute-mapping", '{"a": "b"}'], "object of claims"),
        # local_file's init reads the file and fails the plugin's start (local_file.cpp:39-51 at 0.5.0).
        ("0.5.0", ["--openid-client-user-mapping-file", "absent.json"], "cannot read its mapping"),
    ],
    ids=["040-file", "050-inline", "040-claim-and-mapping", "040-empty", "040-not-objects", "050-no-file"],
)
def test_serve_refuses_a_user_mapping_the_release_has_not(
    oidc_provider: OidcProvider, tmp_path: Path, version: str, extra: list[str], message: str
) -> None:
    (tmp_path / "users.json").write_text('{"alice": {"preferred_username": "alice"}}')
    args = _client_mode_args(oidc_provider, *extra)
    args[args.index("0.5.0")] = version
    done = subprocess.run(
        _serve_argv(*args), check=False, capture_output=True, text=True, env=_ENV, timeout=60, cwd=tmp_path
    )
    assert done.returncode == 2
    assert message in " ".join(done.stderr.split())
    assert done.stdout == ""
