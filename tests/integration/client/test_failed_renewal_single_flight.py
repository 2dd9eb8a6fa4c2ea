"""Failed renewals are single-flight too: callers that queued behind a renewal that failed share its failure.

Without it, N threads that need a token while the OpenID provider hangs cost N sequential timeouts, and N
threads on a wrong password cost N login attempts (PAM/LDAP lock accounts out after a few).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from irods_provider.client import AsyncIrodsSession, BasicAuth, IrodsSession, OpenIdClientCredentials
from irods_provider.exceptions import IrodsAuthenticationError, IrodsTimeoutError

pytestmark = pytest.mark.timeout(120)

HOME = "/tempZone/home/rods"
THREADS = 8


@pytest.fixture
def silent_provider() -> Iterator[str]:
    """A token endpoint that accepts connections and never answers (a hung provider)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.1)  # the acceptor notices the stop
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/token"
    stop.set()
    thread.join(10)
    listener.close()
    for conn in held:
        conn.close()


def _source(url: str) -> OpenIdClientCredentials:
    return OpenIdClientCredentials(
        client_id="airflow",
        client_secret="s3cret-value",
        token_url=url,
        allow_insecure_http=True,
        timeout=1.0,
    )


def test_threads_waiting_for_a_hung_provider_share_one_timeout(silent_provider: str) -> None:
    source = _source(silent_provider)
    barrier = threading.Barrier(THREADS)

    def worker() -> BaseException | None:
        barrier.wait(10)
        try:
            source.get_token()
        except IrodsTimeoutError as error:
            return error
        return None

    with ThreadPoolExecutor(THREADS) as pool:
        errors = list(pool.map(lambda _: worker(), range(THREADS)))
    assert source.token_requests == 1
    assert all(isinstance(e, IrodsTimeoutError) for e in errors)
    assert all("did not answer" in str(e) for e in errors)
    # The failure is not remembered past its waiters: a later call asks again.
    with pytest.raises(IrodsTimeoutError):
        source.get_token()
    assert source.token_requests == 2
    source.close()


async def test_coroutines_waiting_for_a_hung_provider_share_one_timeout(silent_provider: str) -> None:
    source = _source(silent_provider)
    results = await asyncio.gather(*(source.aget_token() for _ in range(THREADS)), return_exceptions=True)
    assert source.token_requests == 1
    assert all(isinstance(r, IrodsTimeoutError) for r in results)
    source.close()


def test_threads_on_a_wrong_password_cost_one_login(irods_emulator) -> None:  # type: ignore[no-untyped-def]
    irods_emulator.set_faults(latency_seconds=0.3, seed=1)  # every thread queues behind the first login
    auth = BasicAuth("rods", "wrong-password")
    barrier = threading.Barrier(16)
    with IrodsSession(irods_emulator.base_url, auth=auth) as session:

        def worker() -> str:
            barrier.wait(10)
            try:
                session.collections.stat(HOME)
            except IrodsAuthenticationError as error:
                return str(error)
            return "ok"

        with ThreadPoolExecutor(16) as pool:
            outcomes = list(pool.map(lambda _: worker(), range(16)))
    assert auth.login_count == 1
    assert all("login refused for user 'rods'" in o for o in outcomes)
    assert not any("wrong-password" in o for o in outcomes)


async def test_coroutines_on_a_wrong_password_cost_one_login(irods_emulator) -> None:  # type: ignore[no-untyped-def]
    irods_emulator.set_faults(latency_seconds=0.3, seed=1)
    auth = BasicAuth("rods", "wrong-password")
    async with AsyncIrodsSession(irods_emulator.base_url, auth=auth) as session:
        results = await asyncio.gather(
            *(session.collections.stat(HOME) for _ in range(10)), return_exceptions=True
        )
    assert auth.login_count == 1
    assert all(isinstance(r, IrodsAuthenticationError) for r in results)


def test_one_basic_auth_serves_sessions_on_several_event_loops(irods_emulator) -> None:  # type: ignore[no-untyped-def]
    auth = BasicAuth("rods", irods_emulator.config.admin_password)

    async def burst() -> list[object]:
        async with AsyncIrodsSession(irods_emulator.base_url, auth=auth) as session:
            auth.close()  # every coroutine needs a login, so they wait on the lock together
            return await asyncio.gather(
                *(session.collections.stat(HOME) for _ in range(5)), return_exceptions=True
            )

    for _ in range(2):  # asyncio.run in turn: a second loop, as triggers run
        results = asyncio.run(burst())
        assert [getattr(r, "path", r) for r in results] == [HOME] * 5
    outcomes: list[list[object]] = []
    threads = [threading.Thread(target=lambda: outcomes.append(asyncio.run(burst()))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert [[getattr(r, "path", r) for r in results] for results in outcomes] == [[HOME] * 5] * 2
