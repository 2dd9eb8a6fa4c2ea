"""OpenID client mode of HTTP API 0.5.0 with HMAC-signed ID tokens, over real sockets: the
django-oauth-toolkit provider signs the ID tokens of its ``irods-client-mode-hs*`` clients with the client
secret (DOT's HS256 applications; HS512 and a ``kid`` re-signed by the test provider).

Expectations from the server's source at tag 0.5.0: core/src/openid.cpp (``openid.cpp``) and
endpoints/authentication/src/main.cpp (``main.cpp``); the option in README.md:253-258 and the config schema
core/src/main.cpp:235-237.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Callable, Iterator

import httpx2
import pytest
from oidc_provider.harness import OidcProvider

from irods_provider.client import IrodsSession, OpenIdClientModeAuth, StaticToken
from irods_provider.exceptions import IrodsAuthenticationError
from irods_provider.testing import EmulatorConfig, EmulatorServer
from irods_provider.testing._openid_client import OpenIdClientMode

HS256, HS512, HS_KID = "irods-client-mode-hs256", "irods-client-mode-hs512", "irods-client-mode-hs-kid"


def _b64url(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _none(text: str) -> None:
    return None


def _identity(text: str) -> str:
    return text


def _wrong(text: str) -> str:
    return _b64url("not-the-client-secret")


@contextlib.contextmanager
def hs_server(
    provider: OidcProvider, client_id: str, *, id_token_secret: str | None, version: str = "0.5.0"
) -> Iterator[EmulatorServer]:
    """A client-mode emulator as ``client_id`` (confidential), alice in the zone."""
    client = OpenIdClientMode(
        provider.issuer,
        client_id=client_id,
        client_secret=provider.clients[client_id],
        nonstandard_id_token_secret=id_token_secret,
        user_claim="preferred_username",
    )
    try:
        with EmulatorServer(EmulatorConfig(api_version=version, openid_client=client)) as server:
            server.add_user("alice", "alice-irods-only-password")
            yield server
    finally:
        client.close()


def _login(server: EmulatorServer, provider: OidcProvider) -> httpx2.Response:
    credentials = base64.b64encode(f"alice:{provider.users['alice']}".encode()).decode()
    return httpx2.post(f"{server.base_url}/authenticate", headers={"Authorization": f"iRODS {credentials}"})


@pytest.mark.parametrize(
    ("client_id", "secret_of"),
    [
        # openid.cpp:248-253: nonstandard_id_token_secret, base64url-decoded, is the HMAC key.
        (HS256, _b64url),
        # openid.cpp:254-260: without it, the client_secret as it is.
        (HS256, _none),
        # openid.cpp:266-278: HS384 and HS512 too.
        (HS512, _b64url),
    ],
    ids=["hs256-nonstandard-secret", "hs256-client-secret", "hs512-nonstandard-secret"],
)
def test_an_hmac_signed_id_token_logs_in(
    oidc_provider: OidcProvider, client_id: str, secret_of: Callable[[str], str | None]
) -> None:
    secret = secret_of(oidc_provider.clients[client_id])
    with hs_server(oidc_provider, client_id, id_token_secret=secret) as server:
        auth = OpenIdClientModeAuth("alice", oidc_provider.users["alice"])
        with IrodsSession(server.base_url, auth=auth) as session:
            session.data_objects.write("/tempZone/home/alice/hs.txt", b"hmac-signed")
            assert session.data_objects.read("/tempZone/home/alice/hs.txt") == b"hmac-signed"
    assert auth.login_count == 1


@pytest.mark.parametrize(
    ("client_id", "secret_of"),
    [
        # A wrong nonstandard_id_token_secret: it is used, not the (right) client_secret (openid.cpp:248-260),
        # and the signature fails (openid.cpp:628-634).
        (HS256, _wrong),
        # The secret itself where its base64url form is needed (README.md:257 "MUST be base64url encoded"):
        # the server decodes it into another key.
        (HS256, _identity),
        # alg HS256 with a kid naming the provider's RSA key: the JWK's path knows RSA and EC only, so no
        # algorithm is allowed (openid.cpp:422-429, 303-396) and jwt-cpp refuses the alg, with the right key.
        (HS_KID, _b64url),
    ],
    ids=["wrong-secret", "secret-not-base64url-encoded", "hs256-with-an-rsa-kid"],
)
def test_an_id_token_that_fails_verification_is_an_empty_400(
    oidc_provider: OidcProvider, client_id: str, secret_of: Callable[[str], str | None]
) -> None:
    # main.cpp:593-599: "ID Token could not be verified" → fail(bad_request), no body.
    secret = secret_of(oidc_provider.clients[client_id])
    with hs_server(oidc_provider, client_id, id_token_secret=secret) as server:
        reply = _login(server, oidc_provider)
        assert (reply.status_code, reply.content) == (400, b"")
        auth = OpenIdClientModeAuth("alice", oidc_provider.users["alice"])
        with (
            IrodsSession(server.base_url, auth=auth) as session,
            pytest.raises(IrodsAuthenticationError) as caught,
        ):
            session.collections.exists("/tempZone/home/alice")
    assert caught.value.http_status == 400


def test_040_checks_no_id_token_and_has_no_id_token_secret(oidc_provider: OidcProvider) -> None:
    # 0.4.0 decodes the ID token unchecked (main.cpp:330-333 at 0.4.0): the RSA-kid HS256 token passes; its
    # config schema has no nonstandard_id_token_secret (core/src/main.cpp:220-262 at 0.4.0): refused here.
    with hs_server(oidc_provider, HS_KID, id_token_secret=None, version="0.4.0") as server:
        assert _login(server, oidc_provider).status_code == 200
    secret = _b64url(oidc_provider.clients[HS256])
    with (
        pytest.raises(ValueError, match="no nonstandard_id_token_secret"),
        hs_server(oidc_provider, HS256, id_token_secret=secret, version="0.4.0"),
    ):
        pass


@pytest.mark.parametrize("secret", ["not+base64url", "abcde"])
def test_a_secret_that_is_not_base64url_is_refused_at_configuration(
    oidc_provider: OidcProvider, secret: str
) -> None:
    # jwt::base::decode<base64url> throws on characters outside the alphabet and on a dangling sixth bit
    # group (openid.cpp:251-252): the real server refuses every HS login then; the emulator says so at once.
    with pytest.raises(ValueError, match="base64url"):
        OpenIdClientMode(
            oidc_provider.issuer,
            client_id=HS256,
            nonstandard_id_token_secret=secret,
            user_claim="preferred_username",
        )


def _browser_login(server: EmulatorServer, provider: OidcProvider) -> httpx2.Response:
    """A person's authorization-code login: GET /authenticate, the provider's login form, the redirect back
    with ``code`` and ``state`` (main.cpp:186-216, :224-397); the emulator's last answer."""
    url = f"{server.base_url}/authenticate"
    with httpx2.Client(follow_redirects=True) as browser:
        login_page = browser.get(url)
        assert login_page.status_code == 200, login_page.status_code
        action = login_page.text.split('action="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
        answer = browser.post(action, data={"username": "alice", "password": provider.users["alice"]})
    assert str(answer.url).startswith(url + "?code="), answer.url  # back at the emulator, code exchanged
    return answer


@pytest.mark.parametrize("secret_of", [_b64url, _none], ids=["nonstandard-secret", "client-secret"])
def test_an_authorization_code_login_with_an_hs256_id_token(
    oidc_provider: OidcProvider, secret_of: Callable[[str], str | None]
) -> None:
    # main.cpp:311-337: the code is exchanged at the token endpoint and the ID token verified as for the
    # password grant (openid::validate_using_local_validation, HS256 keyed as openid.cpp:248-260 says);
    # :376-395: the server's own token, text/plain, then usable as a bearer token (here by the client).
    secret = secret_of(oidc_provider.clients[HS256])
    exchanged = oidc_provider.token_requests("authorization_code")
    with hs_server(oidc_provider, HS256, id_token_secret=secret) as server:
        answer = _browser_login(server, oidc_provider)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain")
        with IrodsSession(server.base_url, auth=StaticToken(answer.text)) as session:
            session.data_objects.write("/tempZone/home/alice/code.txt", b"by a person's login")
            assert session.data_objects.read("/tempZone/home/alice/code.txt") == b"by a person's login"
    assert oidc_provider.token_requests("authorization_code") == exchanged + 1


def test_an_authorization_code_login_whose_hs256_id_token_fails_is_an_empty_400(
    oidc_provider: OidcProvider,
) -> None:
    # A nonstandard_id_token_secret that is not the key the provider signed with: the code is exchanged,
    # the ID token fails its signature check (openid.cpp:628-634) and the callback answers
    # fail(status_type::bad_request), no body: "ID Token could not be verified" (main.cpp:334-337 at 0.5.0).
    exchanged = oidc_provider.token_requests("authorization_code")
    with hs_server(oidc_provider, HS256, id_token_secret=_wrong(oidc_provider.clients[HS256])) as server:
        answer = _browser_login(server, oidc_provider)
        assert (answer.status_code, answer.content) == (400, b"")
        assert "www-authenticate" not in answer.headers
    assert oidc_provider.token_requests("authorization_code") == exchanged + 1


def test_an_authorization_code_login_with_a_wrong_client_secret_is_an_empty_400(
    oidc_provider: OidcProvider,
) -> None:
    # The server's client_secret is not the provider's: the code exchange is refused (invalid_client, HTTP
    # 401 with a JSON body, which hit_token_endpoint parses whatever the status, main.cpp:63-97) and
    # is_error_response makes it fail(status_type::bad_request) with no body (main.cpp:324-326 at 0.5.0).
    client = OpenIdClientMode(
        oidc_provider.issuer,
        client_id=HS256,
        client_secret="not-" + oidc_provider.clients[HS256],
        user_claim="preferred_username",
    )
    try:
        with EmulatorServer(EmulatorConfig(api_version="0.5.0", openid_client=client)) as server:
            server.add_user("alice", "alice-irods-only-password")
            answer = _browser_login(server, oidc_provider)
            assert (answer.status_code, answer.content) == (400, b"")
    finally:
        client.close()
