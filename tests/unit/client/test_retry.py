import ssl

import httpx2
import pytest

from irods_provider.client import RetryPolicy
from irods_provider.client._errors import tls_failure
from irods_provider.exceptions import (
    IrodsBadRequestError,
    IrodsConnectionError,
    IrodsNotFoundError,
    IrodsResponseError,
    IrodsServerBusyError,
    IrodsTimeoutError,
)


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def policy(**kw):
    clock = FakeClock()
    return RetryPolicy(clock=clock, random=lambda: 1.0, **kw), clock


def test_backoff_is_exponential_and_capped():
    p, _ = policy(initial_backoff=0.1, multiplier=2.0, max_backoff=0.5)
    assert [p.backoff(a) for a in range(1, 6)] == pytest.approx([0.1, 0.2, 0.4, 0.5, 0.5])
    low = RetryPolicy(random=lambda: 0.0, initial_backoff=1.0)
    assert low.backoff(1) == pytest.approx(0.5)  # jitter keeps at least half


def test_attempts_are_bounded():
    p, clock = policy(max_attempts=3)
    busy = IrodsServerBusyError("busy", http_status=503)
    assert p.next_delay(busy, idempotent=True, attempt=1, started=clock.now) is not None
    assert p.next_delay(busy, idempotent=True, attempt=2, started=clock.now) is not None
    assert p.next_delay(busy, idempotent=True, attempt=3, started=clock.now) is None


def test_total_time_is_bounded():
    p, clock = policy(total_timeout=1.0, initial_backoff=0.4, max_attempts=10)
    started = clock.now
    busy = IrodsServerBusyError("busy", http_status=429)
    assert p.next_delay(busy, idempotent=True, attempt=1, started=started) == pytest.approx(0.4)
    clock.now += 0.7
    assert p.next_delay(busy, idempotent=True, attempt=2, started=started) is None


@pytest.mark.parametrize(
    ("error", "idempotent", "expected"),
    [
        (IrodsServerBusyError("", http_status=503), True, True),
        (IrodsServerBusyError("", http_status=429), True, True),
        (IrodsResponseError("", http_status=500), True, True),
        # HTTP 500 carrying an iRODS code (GenQuery2 errors, exhausted tickets) is iRODS's answer.
        (IrodsResponseError("", http_status=500, irods_code=-167000), True, False),
        (IrodsResponseError("", http_status=502), True, True),
        (IrodsTimeoutError("read"), True, True),
        (IrodsConnectionError("reset"), True, True),
        (IrodsBadRequestError("", http_status=400), True, False),
        (IrodsNotFoundError("", http_status=200, irods_code=-310000), True, False),
        (IrodsServerBusyError("", http_status=503), False, False),
        (IrodsConnectionError("reset"), False, False),
        (IrodsResponseError("", http_status=500), False, False),
    ],
)
def test_retryable_classification(error, idempotent, expected):
    assert RetryPolicy().is_retryable(error, idempotent=idempotent) is expected


@pytest.mark.parametrize(
    "cause", [httpx2.ConnectError("refused"), httpx2.ConnectTimeout("t"), httpx2.PoolTimeout("p")]
)
def test_unsent_requests_are_retried_even_when_not_idempotent(cause):
    error = IrodsConnectionError("x")
    error.__cause__ = cause
    assert RetryPolicy().is_retryable(error, idempotent=False)


def test_never():
    p = RetryPolicy.never()
    assert p.next_delay(IrodsConnectionError("x"), idempotent=True, attempt=1, started=0.0) is None


def _chained(ssl_error: BaseException) -> IrodsConnectionError:
    """An error chained like httpx2 does it: IrodsConnectionError <- httpx2 <- httpcore <- ssl (context)."""
    inner = httpx2.ConnectError(str(ssl_error))
    inner.__context__ = ssl_error
    error = IrodsConnectionError(f"cannot connect: {ssl_error}")
    error.__cause__ = inner
    return error


@pytest.mark.parametrize(
    "ssl_error",
    [
        ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"),
        ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"),
    ],
)
@pytest.mark.parametrize("idempotent", [True, False])
def test_tls_verification_failures_are_never_retried(ssl_error, idempotent):
    error = _chained(ssl_error)
    assert tls_failure(error) is ssl_error
    assert not RetryPolicy().is_retryable(error, idempotent=idempotent)
    assert RetryPolicy().next_delay(error, idempotent=idempotent, attempt=1, started=0.0) is None


def test_a_tls_connection_dropped_mid_handshake_is_still_retried():
    error = _chained(ssl.SSLEOFError(8, "EOF occurred in violation of protocol"))
    assert tls_failure(error) is None
    assert RetryPolicy().is_retryable(error, idempotent=False)
