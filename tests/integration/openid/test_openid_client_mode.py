"""OpenID *client* mode of HTTP API 0.4.0/0.5.0, over real sockets: the emulator runs the grants at the
django-oauth-toolkit provider and issues its own tokens; the client logs in with ``Authorization: iRODS``.

Expectations from the server's source, irods/irods_client_http_api endpoints/authentication/src/main.cpp
(``main.cpp`` below) at tag 0.5.0 unless named.
"""

from __future__ import annotations

import base64
import contextlib
import json
import uuid
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from oidc_provider.harness import OidcProvider

from irods_provider.client import IrodsSession, OpenIdClientModeAuth
from irods_provider.exceptions import IrodsAuthenticationError, IrodsConfigurationError
from irods_provider.testing import EmulatorConfig, EmulatorServer
from irods_provider.testing._openid_client import OpenIdClientMode

CLIENT = "irods-client-mode"


@contextlib.contextmanager
def client_mode_server(
    provider: OidcProvider, version: str = "0.5.0", *, zone_users: tuple[str, ...] = ("alice",)
) -> Iterator[EmulatorServer]:
    """An emulator of ``version`` in OpenID client mode, the user from ``preferred_username``."""
    client = OpenIdClientMode(
        provider.issuer,
        client_id=CLIENT,
        client_secret=provider.clients[CLIENT],
        user_claim="preferred_username",
    )
    try:
        with EmulatorServer(EmulatorConfig(api_version=version, openid_client=client)) as server:
            for name in zone_users:
                server.add_user(name, f"{name}-irods-only-password")
            yield server
    finally:
        client.close()


def _irods_header(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "iRODS " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_login_then_write_and_read_with_the_servers_own_token(oidc_provider: OidcProvider) -> None:
    # main.cpp:570-655: password grant at the provider, then the API's own token (text/plain), used as Bearer.
    grants = oidc_provider.token_requests("password")
    with client_mode_server(oidc_provider) as server:
        auth = OpenIdClientModeAuth("alice", oidc_provider.users["alice"])
        with IrodsSession(server.base_url, auth=auth) as session:
            session.data_objects.write("/tempZone/home/alice/cm.txt", b"client mode")
            assert session.data_objects.read("/tempZone/home/alice/cm.txt") == b"client mode"
            token = auth.get_token()
    uuid.UUID(token)  # the API's own token (process_stash: a UUID), not the provider's access token
    assert auth.login_count == 1
    assert oidc_provider.token_requests("password") == grants + 1


def test_a_wrong_provider_password_is_a_400_named_as_such(oidc_provider: OidcProvider) -> None:
    # main.cpp:583-586: the provider's {"error": "invalid_grant"} → 400.
    with client_mode_server(oidc_provider) as server:
        reply = httpx2.post(f"{server.base_url}/authenticate", headers=_irods_header("alice", "wrong-pw-1"))
        assert reply.status_code == 400
        auth = OpenIdClientModeAuth("alice", "wrong-pw-1")
        with (
            IrodsSession(server.base_url, auth=auth) as session,
            pytest.raises(IrodsAuthenticationError) as caught,
        ):
            session.collections.exists("/tempZone/home/alice")
    assert caught.value.http_status == 400
    assert "OpenID provider refused" in str(caught.value)
    assert "wrong-pw-1" not in str(caught.value)
    assert base64.b64encode(b"alice:wrong-pw-1").decode() not in str(caught.value)


def test_a_mapped_user_missing_from_the_zone_is_401_at_050_only(oidc_provider: OidcProvider) -> None:
    # main.cpp:614-635 at 0.5.0: the mapped user must exist, else 401; 0.4.0 has no such check
    # (git diff 0.4.0 0.5.0 -- endpoints/authentication adds it).
    bob = _irods_header("bob", oidc_provider.users["bob"])
    with client_mode_server(oidc_provider, "0.5.0") as server:
        assert httpx2.post(f"{server.base_url}/authenticate", headers=bob).status_code == 401
        auth = OpenIdClientModeAuth("bob", oidc_provider.users["bob"])
        with IrodsSession(server.base_url, auth=auth) as s, pytest.raises(IrodsAuthenticationError) as caught:
            s.collections.exists("/tempZone/home/bob")
        assert caught.value.http_status == 401
    with client_mode_server(oidc_provider, "0.4.0") as server:
        assert httpx2.post(f"{server.base_url}/authenticate", headers=bob).status_code == 200


def test_an_expired_api_token_logs_in_again(oidc_provider: OidcProvider) -> None:
    # The API's token lives timeout_in_seconds (main.cpp:638-646) and an expired one is a 401
    # (core/src/common.cpp:394-397): the client logs in again, as for Basic.
    with client_mode_server(oidc_provider) as server:
        auth = OpenIdClientModeAuth("alice", oidc_provider.users["alice"])
        with IrodsSession(server.base_url, auth=auth) as session:
            assert session.collections.exists("/tempZone/home/alice")
            first = auth.get_token()
            server.model.expire_token(first)
            assert session.collections.exists("/tempZone/home/alice")
            assert auth.get_token() != first
    assert auth.login_count == 2


@pytest.mark.parametrize("version", ["0.6.0", "0.7.0"])
def test_releases_without_client_mode_refuse_it(oidc_provider: OidcProvider, version: str) -> None:
    # 0.6.0 removed the mode (#416): no 'mode' in its config schema (core/src/main.cpp:220-276 at 0.6.0) and
    # an 'iRODS' login gets a bare 400 (main.cpp:260 at 0.6.0). The emulator refuses the configuration; the
    # client refuses the login before sending it, naming the cause.
    client = OpenIdClientMode(oidc_provider.issuer, client_id=CLIENT, user_claim="preferred_username")
    try:
        with pytest.raises(ValueError, match=r"0\.6\.0 removed it"):
            EmulatorConfig(api_version=version, openid_client=client)
    finally:
        client.close()
    with EmulatorServer(EmulatorConfig(api_version=version)) as server:
        auth = OpenIdClientModeAuth("alice", oidc_provider.users["alice"])
        refused = pytest.raises(IrodsConfigurationError, match=r"no OpenID client mode.*0\.6\.0 removed it")
        with IrodsSession(server.base_url, auth=auth) as session, refused:
            session.collections.exists("/tempZone/home/alice")
        reply = httpx2.post(f"{server.base_url}/authenticate", headers=_irods_header("alice", "x-pw-12"))
        assert reply.status_code == 400


def test_the_authorization_code_redirect_and_callback(oidc_provider: OidcProvider) -> None:
    # main.cpp:186-216: GET without a query → 302 to the authorization endpoint with client_id,
    # response_type=code, scope=openid, redirect_uri and a fresh state; :224-306: a callback without a
    # valid state, or without code, is 400; a state is spent once used (:251).
    with client_mode_server(oidc_provider) as server:
        url = f"{server.base_url}/authenticate"
        redirect = httpx2.get(url)
        assert redirect.status_code == 302
        location = urlsplit(redirect.headers["location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == f"{oidc_provider.issuer}/authorize/"
        query = parse_qs(location.query)
        state = query.pop("state")[0]
        uuid.UUID(state)
        assert query == {
            "client_id": [CLIENT],
            "response_type": ["code"],
            "scope": ["openid"],
            "redirect_uri": [url],
        }
        assert httpx2.get(url, params={"code": "c"}).status_code == 400  # no state
        assert httpx2.get(url, params={"state": str(uuid.uuid4()), "code": "c"}).status_code == 400
        assert httpx2.get(url, params={"state": state}).status_code == 400  # no code: spends the state
        with httpx2.Client(follow_redirects=True) as browser:
            login_page = browser.get(url)  # a fresh redirect, to the provider's login page
            action = login_page.text.split('action="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
            form = {"username": "alice", "password": oidc_provider.users["alice"]}
            answer = browser.post(action, data=form)
        assert answer.status_code == 200
        assert str(answer.url).startswith(url + "?")
        token = answer.text
        stat = httpx2.get(
            f"{server.base_url}/collections",
            params={"op": "stat", "lpath": "/tempZone/home/alice"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert stat.status_code == 200
        replay = httpx2.get(str(answer.url))  # the same code and state again: the state is spent
        assert replay.status_code == 400


@pytest.mark.parametrize(("version", "ok"), [("0.5.0", True), ("0.7.0", False)])
def test_an_airflow_connection_in_client_mode(
    oidc_provider: OidcProvider, monkeypatch: pytest.MonkeyPatch, version: str, ok: bool
) -> None:
    # The hook path: auth_mode openid_client_mode → test_connection() and a write; on 0.7.0 (api_version
    # auto-discovered) the test names the removal instead of the server's bare 400.
    from irods_provider.hooks.irods import IrodsHook

    with contextlib.ExitStack() as stack:
        if ok:
            server = stack.enter_context(client_mode_server(oidc_provider, version))
        else:
            server = stack.enter_context(EmulatorServer(EmulatorConfig(api_version=version)))
        extra = {"auth_mode": "openid_client_mode", "zone": "tempZone"}
        conn = {"conn_type": "irods", "host": "127.0.0.1", "port": server.port, "schema": "http"}
        conn |= {"login": "alice", "password": oidc_provider.users["alice"], "extra": extra}
        monkeypatch.setenv("AIRFLOW_CONN_IRODS_CM", json.dumps(conn))
        passed, message = IrodsHook("irods_cm").test_connection()
        assert passed is ok, message
        assert oidc_provider.users["alice"] not in message
        if not ok:
            assert "no OpenID client mode" in message
            assert "0.6.0 removed it" in message
            return
        with IrodsHook("irods_cm") as hook:
            hook.get_conn().data_objects.write("/tempZone/home/alice/hook.txt", b"via the hook")
            assert hook.get_conn().data_objects.read("/tempZone/home/alice/hook.txt") == b"via the hook"
