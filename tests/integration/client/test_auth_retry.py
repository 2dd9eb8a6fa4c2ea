import threading
import time

import httpx2
import pytest

from irods_provider.client import BasicAuth, IrodsSession, RetryPolicy, StaticToken
from irods_provider.exceptions import IrodsAuthenticationError, IrodsConnectionError, IrodsServerBusyError

HOME = "/tempZone/home/rods"


def _wait_until_refused(irods_emulator, token, limit=5.0):
    """Poll (bounded) until the server refuses ``token``."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        response = httpx2.get(
            f"{irods_emulator.base_url}/collections",
            params={"op": "stat", "lpath": HOME},
            headers={"Authorization": f"Bearer {token}"},
        )
        if response.status_code == 401:
            return
        time.sleep(0.05)
    raise AssertionError("token never expired")


def test_login_refused_without_leaking_password(irods_emulator):
    auth = BasicAuth("rods", "wrong-secret")
    with (
        IrodsSession(irods_emulator.base_url, auth=auth) as s,
        pytest.raises(IrodsAuthenticationError) as info,
    ):
        s.collections.stat(HOME)
    assert "wrong-secret" not in str(info.value)
    assert "rods" in str(info.value)


def test_expired_token_is_renewed_once_and_request_retried(irods_emulator, counted):
    session, transport = counted
    irods_emulator.set_limits(token_lifetime_seconds=1)
    session.collections.stat(HOME)
    old = session.auth.get_token()
    _wait_until_refused(irods_emulator, old)
    assert session.collections.stat(HOME).path == HOME
    assert transport.counts["authenticate"] == 2
    assert session.auth.get_token() != old


def test_fifty_threads_on_an_expired_token_log_in_exactly_once(irods_emulator, counted):
    session, transport = counted
    irods_emulator.set_limits(token_lifetime_seconds=1)
    old = session.auth.get_token()
    irods_emulator.set_limits(token_lifetime_seconds=3600)
    _wait_until_refused(irods_emulator, old)
    barrier = threading.Barrier(50)
    results, errors = [], []

    def worker():
        barrier.wait(10)
        try:
            results.append(session.collections.stat(HOME).path)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert results == [HOME] * 50
    assert transport.counts["authenticate"] == 2  # the first login + exactly one renewal


def test_static_token_refused_twice_is_authentication_error(irods_emulator):
    auth = StaticToken("not-a-token")
    with (
        IrodsSession(irods_emulator.base_url, auth=auth) as s,
        pytest.raises(IrodsAuthenticationError) as info,
    ):
        s.collections.stat(HOME)
    assert "not-a-token" not in str(info.value)


@pytest.mark.parametrize("fault", ["error_503", "error_429", "error_500"])
def test_idempotent_reads_retry_through_injected_faults(irods_emulator, counted, fault):
    session, transport = counted
    session.data_objects.write(f"{HOME}/r", b"payload")
    irods_emulator.set_faults(**{fault: 0.4}, seed=7)
    for _ in range(10):
        assert session.data_objects.read(f"{HOME}/r") == b"payload"
    irods_emulator.set_faults(**{fault: 0.0})
    assert transport.counts["data-objects"] > 11  # some requests were retried


def test_dropped_connections_are_retried_for_idempotent_ops(irods_emulator, counted):
    """GETs whose connection the server closes without a response are retried: the server counts the
    drops it injected and every one of them costs the client exactly one extra request."""
    session, transport = counted
    session.data_objects.write(f"{HOME}/d", b"x" * 1000)
    session.collections.stat(HOME)  # log in before counting
    before = transport.counts["data-objects"]
    irods_emulator.set_faults(drop_connection=0.4, seed=3)
    for _ in range(8):
        assert session.data_objects.stat(f"{HOME}/d").size == 1000
    irods_emulator.set_faults(drop_connection=0.0)
    dropped = irods_emulator.injected_faults().get("drop_connection", 0)
    assert dropped >= 2  # seed 3 at p=0.4 over 8+ requests: the fault really happened
    assert transport.counts["data-objects"] - before == 8 + dropped  # one retry per drop, no more


def test_non_idempotent_ops_are_not_retried(irods_emulator):
    transport_calls = []

    class Recording(httpx2.HTTPTransport):
        def handle_request(self, request):
            transport_calls.append(request.url.path)
            return super().handle_request(request)

    retry = RetryPolicy(sleep=lambda s: None, max_attempts=5)
    with IrodsSession(
        irods_emulator.base_url, auth=BasicAuth("rods", "rods-emulator"), retry=retry, transport=Recording()
    ) as s:
        s.data_objects.write(f"{HOME}/a", b"1")
        irods_emulator.set_faults(error_503=1.0, seed=1)
        before = len(transport_calls)
        with pytest.raises(IrodsServerBusyError) as info:
            s.data_objects.write(f"{HOME}/a", b"2", append=True)
        assert len(transport_calls) - before == 1
        assert info.value.http_status == 503
        before = len(transport_calls)
        with pytest.raises(IrodsServerBusyError):
            s.data_objects.stat(f"{HOME}/a")
        assert len(transport_calls) - before == 5
        irods_emulator.set_faults(error_503=0.0)


def test_connection_refused_is_typed(irods_emulator):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    retry = RetryPolicy(sleep=lambda s: None, max_attempts=2)
    url = f"http://127.0.0.1:{port}/irods-http-api/0.7.0"
    with (
        IrodsSession(url, auth=BasicAuth("rods", "rods-emulator"), retry=retry) as s,
        pytest.raises(IrodsConnectionError),
    ):
        s.collections.stat(HOME)


def test_tokens_expiring_in_flight_are_renewed_under_threads(irods_emulator):
    """Eight threads' requests are in flight when their token expires, then the token another thread renewed
    expires before they arrive, three times in a row: each refusal renews (one login per round, shared by
    all eight) and the fourth token answers. The server holds the requests at its token check and expires
    the tokens they carry (forced, so a loaded machine cannot make a fresh token expire too)."""
    threads_count, expiries = 8, 3
    results: list[str] = []
    errors: list[BaseException] = []
    auth = BasicAuth("rods", "rods-emulator")
    with IrodsSession(irods_emulator.base_url, auth=auth) as session:
        session.collections.stat(HOME)  # logged in before the hold
        hold = irods_emulator.hold_token_checks()

        def worker() -> None:
            try:
                results.append(session.collections.stat(HOME).path)
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(threads_count)]
        for t in threads:
            t.start()
        try:
            for _ in range(expiries):
                if not hold.wait_held(threads_count, 10):
                    break
                hold.release(expire=True)
            assert hold.wait_held(threads_count, 10), errors
            hold.release(expire=False)
        finally:
            hold.stop()
            for t in threads:
                t.join(30)
    assert errors == []
    assert results == [HOME] * threads_count
    rounds = [set(tokens) for tokens in hold.rounds]
    assert [len(tokens) for tokens in hold.rounds] == [threads_count] * (expiries + 1)
    assert [len(tokens) for tokens in rounds] == [1] * (expiries + 1)  # every round carried one token
    assert len(set.union(*rounds)) == expiries + 1  # each a new one
    assert auth.login_count == 1 + expiries  # one renewal per round, not one per thread


def test_a_refused_login_names_the_credentials_and_repeated_refusals_do_not(irods_emulator):
    irods_emulator.set_limits(token_lifetime_seconds=0.2)
    irods_emulator.set_faults(latency_seconds=0.3, seed=1)  # every token expires before its request arrives
    with (
        IrodsSession(irods_emulator.base_url, auth=BasicAuth("rods", "rods-emulator")) as session,
        pytest.raises(IrodsAuthenticationError) as info,
    ):
        session.collections.stat(HOME)
    irods_emulator.set_faults(latency_seconds=0.0)
    assert info.value.http_status == 401
    assert "refused 4 bearer tokens in a row" in str(info.value)
    assert "password" not in str(info.value)
    assert "credentials" not in str(info.value)
    with (
        IrodsSession(irods_emulator.base_url, auth=BasicAuth("rods", "wrong")) as session,
        pytest.raises(IrodsAuthenticationError, match="login refused for user 'rods'"),
    ):
        session.collections.stat(HOME)


class _HandsOutStaleTokens(BasicAuth):
    """Hands out given tokens first: what a thread sees when others renewed a while ago and those expired."""

    def __init__(self, stale: list[str]) -> None:
        super().__init__("rods", "rods-emulator")
        self.stale = stale

    def get_token(self, *, reject: str | None = None) -> str:
        if self.stale:
            return self.stale.pop(0)
        return super().get_token(reject=reject)


def test_a_renewed_token_that_expired_too_is_renewed_again(irods_emulator):
    irods_emulator.set_limits(token_lifetime_seconds=0.3)
    stale = [
        httpx2.post(f"{irods_emulator.base_url}/authenticate", auth=("rods", "rods-emulator")).text
        for _ in range(2)
    ]
    for token in stale:
        _wait_until_refused(irods_emulator, token)
    irods_emulator.set_limits(token_lifetime_seconds=3600)
    auth = _HandsOutStaleTokens(list(stale))
    with IrodsSession(irods_emulator.base_url, auth=auth) as session:
        assert session.collections.stat(HOME).path == HOME
    assert auth.stale == []  # both expired tokens were tried, then a fresh login answered
