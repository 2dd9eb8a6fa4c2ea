"""Two refreshers that both got past a lease without compare-and-set (Airflow Variables) against the real
django-oauth-toolkit provider, which rotates refresh tokens and refuses a used one (``invalid_grant``,
``REFRESH_TOKEN_GRACE_PERIOD_SECONDS = 0``): the loser must continue from the winner's token."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx2
import pytest
from oidc_provider.harness import OidcProvider

from irods_provider.client import InProcessTokenStore, OpenIdRefreshToken
from irods_provider.exceptions import IrodsAuthenticationError

pytestmark = pytest.mark.timeout(60)
CLIENT = "irods-pw"


class RacingStore(InProcessTokenStore):
    """A store whose lease excludes nobody (the Variable lease's window, made certain): the second reader
    reads the token before the first one's rotation is stored and presents it after. With ``slow_put``
    the winner's write lands only after the loser has looked again once (a slow Variable write)."""

    exclusive_lease = False

    def __init__(self, *, slow_put: bool) -> None:
        super().__init__()
        self.slow_put = slow_put
        self.reads = 0
        self._both_read = threading.Barrier(2, timeout=20)
        self._winner_rotated = threading.Event()
        self._loser_looked_again = threading.Event()
        self._count = threading.Lock()

    @contextlib.contextmanager
    def lease(self, key: str, *, seconds: float) -> Iterator[None]:
        yield

    def get(self, key: str) -> str | None:
        with self._count:
            self.reads += 1
            n = self.reads
        value = super().get(key)
        if n == 1:  # the winner
            self._both_read.wait()
        elif n == 2:  # the loser: read now, present after the winner's rotation
            self._both_read.wait()
            assert self._winner_rotated.wait(10)
        elif n == 3:
            self._loser_looked_again.set()
        return value

    def put(self, key: str, value: str) -> None:
        self._winner_rotated.set()
        if self.slow_put and not self._loser_looked_again.is_set():
            assert self._loser_looked_again.wait(10)
        super().put(key, value)


def _source(provider: OidcProvider, offline: str, store: InProcessTokenStore) -> OpenIdRefreshToken:
    return OpenIdRefreshToken(
        refresh_token=offline,
        client_id=CLIENT,
        client_secret=provider.clients[CLIENT],
        token_url=provider.token_url,
        allow_insecure_http=True,
        store=store,
    )


def _offline_token(provider: OidcProvider) -> str:
    answer = provider.fetch_token(
        CLIENT, grant_type="password", username="bob", password=provider.users["bob"]
    )
    return str(answer["refresh_token"])


@pytest.mark.parametrize("slow_put", [False, True], ids=["stored-before-reread", "stored-after-reread"])
def test_the_refresher_that_lost_the_race_continues_from_the_winners_token(
    oidc_provider: OidcProvider, slow_put: bool, caplog: pytest.LogCaptureFixture
) -> None:
    offline = _offline_token(oidc_provider)
    store = RacingStore(slow_put=slow_put)
    sources = [_source(oidc_provider, offline, store) for _ in range(2)]
    caplog.set_level(logging.DEBUG, logger="irods_provider")
    with ThreadPoolExecutor(2) as pool:
        tokens = list(pool.map(lambda source: source.get_token(), sources))
    assert len(set(tokens)) == 2  # two renewals, one after the other on the provider's token chain
    newest = store.get(sources[0].store_key)
    assert newest is not None
    assert newest != offline
    # The stored token is the live end of the chain: the provider still accepts it.
    answer = httpx2.post(
        oidc_provider.token_url,
        data={"grant_type": "refresh_token", "refresh_token": newest},
        auth=(CLIENT, oidc_provider.clients[CLIENT]),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    for secret in (offline, newest, *tokens):
        assert secret not in caplog.text
    for source in sources:
        source.close()


def test_a_refused_token_with_nothing_newer_in_the_store_is_still_an_error(
    oidc_provider: OidcProvider,
) -> None:
    offline = _offline_token(oidc_provider)
    oidc_provider.revoke(offline, client_id=CLIENT)
    source = _source(oidc_provider, offline, InProcessTokenStore())
    with pytest.raises(IrodsAuthenticationError, match="invalid_grant") as caught:
        source.get_token()
    assert offline not in str(caught.value)
    source.close()
