"""Single flight under concurrency, and typed errors that name the cause but never a secret."""

from __future__ import annotations

import asyncio
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from oidc_provider.harness import OidcProvider

from irods_provider.client._openid import OpenIdClientCredentials, OpenIdPassword, OpenIdRefreshToken
from irods_provider.exceptions import IrodsAuthenticationError, IrodsConnectionError
from irods_provider.testing._openid import OpenIdIntrospectionValidator

pytestmark = pytest.mark.timeout(60)


class FakeClock:
    """A monotonic clock the test moves forward by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _password_source(provider: OidcProvider, clock: FakeClock) -> OpenIdPassword:
    return OpenIdPassword(
        username="alice",
        password=provider.users["alice"],
        client_id="irods-pw",
        client_secret=provider.clients["irods-pw"],
        discovery_url=provider.issuer,
        allow_insecure_http=True,
        clock=clock,
    )


def test_twenty_threads_expiring_together_cause_one_token_request(
    oidc_provider: OidcProvider, introspection_validator: OpenIdIntrospectionValidator
) -> None:
    clock = FakeClock()
    source = _password_source(oidc_provider, clock)
    first = source.get_token()
    clock.now += 3600  # every thread now sees an expired token at once
    barrier = threading.Barrier(20)
    before = oidc_provider.token_requests()

    def worker() -> str:
        barrier.wait(timeout=10)
        return source.get_token()

    with ThreadPoolExecutor(max_workers=20) as pool:
        tokens = list(pool.map(lambda _: worker(), range(20)))
    assert oidc_provider.token_requests() - before == 1
    assert len(set(tokens)) == 1
    assert tokens[0] != first
    assert introspection_validator.username_for(tokens[0]) == "alice"

    # 20 threads that all got a 401 on the same token: one renewal, everyone gets the new token
    barrier = threading.Barrier(20)
    before = oidc_provider.token_requests()

    def rejecter() -> str:
        barrier.wait(timeout=10)
        return source.get_token(reject=tokens[0])

    with ThreadPoolExecutor(max_workers=20) as pool:
        renewed = list(pool.map(lambda _: rejecter(), range(20)))
    assert oidc_provider.token_requests() - before == 1
    assert len(set(renewed)) == 1
    assert renewed[0] != tokens[0]
    source.close()


async def test_twenty_coroutines_and_threads_expiring_together_cause_one_token_request(
    oidc_provider: OidcProvider, introspection_validator: OpenIdIntrospectionValidator
) -> None:
    clock = FakeClock()
    source = _password_source(oidc_provider, clock)
    first = await source.aget_token()
    clock.now += 3600
    before = oidc_provider.token_requests()
    with ThreadPoolExecutor(max_workers=5) as pool:
        thread_results = [pool.submit(source.get_token) for _ in range(5)]
        coroutine_results = await asyncio.gather(*(source.aget_token() for _ in range(20)))
        tokens = {*coroutine_results, *(f.result(timeout=20) for f in thread_results)}
    assert oidc_provider.token_requests() - before == 1
    assert len(tokens) == 1
    assert first not in tokens
    assert introspection_validator.username_for(tokens.pop()) == "alice"
    source.close()


def _assert_no_secret(message: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in message


def test_wrong_client_secret_names_provider_grant_and_error(oidc_provider: OidcProvider) -> None:
    source = OpenIdClientCredentials(
        client_id="irods-cc",
        client_secret="WRONG-secret-0451",
        discovery_url=oidc_provider.issuer,
        allow_insecure_http=True,
    )
    with pytest.raises(IrodsAuthenticationError) as caught:
        source.get_token()
    message = str(caught.value)
    assert oidc_provider.token_url in message
    assert "client_credentials grant" in message
    assert "invalid_client" in message
    assert "'irods-cc'" in message
    _assert_no_secret(message, "WRONG-secret-0451", oidc_provider.clients["irods-cc"])
    _assert_no_secret(repr(source), "WRONG-secret-0451")
    source.close()


def test_wrong_password_names_user_and_provider_description(oidc_provider: OidcProvider) -> None:
    source = OpenIdPassword(
        username="alice",
        password="not-alices-password-77",
        client_id="irods-pw",
        client_secret=oidc_provider.clients["irods-pw"],
        token_url=oidc_provider.token_url,
        allow_insecure_http=True,
        client_auth="client_secret_post",
    )
    with pytest.raises(IrodsAuthenticationError) as caught:
        source.get_token()
    message = str(caught.value)
    assert message == (
        f"OpenID provider {oidc_provider.token_url} refused the password grant for user 'alice' "
        "(client 'irods-pw'): invalid_grant: Invalid credentials given. (operation=openid_token)"
    )
    _assert_no_secret(message, "not-alices-password-77", oidc_provider.clients["irods-pw"])
    source.close()


def test_revoked_refresh_token_is_a_typed_error_without_the_token(oidc_provider: OidcProvider) -> None:
    refresh = oidc_provider.fetch_token(
        "irods-pw", grant_type="password", username="bob", password=oidc_provider.users["bob"]
    )["refresh_token"]
    oidc_provider.revoke(refresh, client_id="irods-pw")
    source = OpenIdRefreshToken(
        refresh_token=refresh,
        client_id="irods-pw",
        client_secret=oidc_provider.clients["irods-pw"],
        discovery_url=oidc_provider.issuer,
        allow_insecure_http=True,
    )
    with pytest.raises(IrodsAuthenticationError) as caught:
        source.get_token()
    message = str(caught.value)
    assert "refused the refresh_token grant" in message
    assert "invalid_grant" in message
    assert oidc_provider.token_url in message
    _assert_no_secret(message, refresh, oidc_provider.clients["irods-pw"])
    source.close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("explicit_token_url", [False, True])
def test_unreachable_provider_is_a_connection_error_naming_the_url(explicit_token_url: bool) -> None:
    base = f"http://127.0.0.1:{_closed_port()}/o"
    where: dict[str, Any] = {"token_url": f"{base}/token/"} if explicit_token_url else {"discovery_url": base}
    where["allow_insecure_http"] = True
    source = OpenIdPassword(
        username="alice",
        password="pw-never-shown",
        client_id="c",
        client_secret="s3cret-never-shown",
        **where,
    )
    with pytest.raises(IrodsConnectionError) as caught:
        source.get_token()
    message = str(caught.value)
    expected = f"{base}/token/" if explicit_token_url else f"{base}/.well-known/openid-configuration"
    assert message.startswith(f"cannot reach OpenID provider at {expected}")
    _assert_no_secret(message, "pw-never-shown", "s3cret-never-shown")
    source.close()
