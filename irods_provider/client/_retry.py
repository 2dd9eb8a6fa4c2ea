"""Retry decisions as plain functions: which failures may be repeated, and after how long."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from irods_provider.client._errors import tls_failure
from irods_provider.exceptions import (
    IrodsConnectionError,
    IrodsError,
    IrodsResponseError,
    IrodsServerBusyError,
    IrodsTimeoutError,
)

__all__ = ["RetryPolicy", "handler_ended", "is_unsent", "reply_lost"]


def is_unsent(error: IrodsError) -> bool:
    """True when the request provably never reached the server (safe to resend anything)."""
    cause = error.__cause__
    name = type(cause).__name__ if cause is not None else ""
    return name in ("ConnectError", "ConnectTimeout", "PoolTimeout")


#: A gateway's bare answer that its upstream (the HTTP API) gave none: 502 (closed without a reply, as at
#: the whole-request deadline) or 504 (the gateway's own timeout while the server still works).
_GATEWAY_LOST = frozenset({502, 504})


def reply_lost(error: IrodsError) -> bool:
    """True when the request may have reached the server and no reply of the server's came back: a read or
    write timeout, a connection closed or reset without a reply, or a gateway's bare 502/504.

    The iRODS HTTP API's whole-request deadline (``requests.timeout_in_seconds``, 30 s by default; armed once
    per request: core/src/session.cpp:78 at 0.7.0) closes the connection without a reply when a handler
    outlasts it, while the server finishes the work: a large object's checksum, copy or replication.
    """
    if is_unsent(error) or tls_failure(error) is not None:
        return False
    if isinstance(error, IrodsTimeoutError | IrodsConnectionError):
        return True
    return (
        isinstance(error, IrodsResponseError) and error.http_status in _GATEWAY_LOST and not error.irods_code
    )


def handler_ended(error: IrodsError) -> bool:
    """A lost reply that says the server is no longer at work on the request: its connection was closed or
    reset without a reply, or a gateway says its upstream did that (502). At the whole-request deadline the
    HTTP API closes the connection only when the handler ends (no operation is pending on the stream while
    it runs; the reply's write fails on the expired stream). A timeout (the client's, a gateway's 504) says
    nothing of the kind: the server may still be working."""
    if isinstance(error, IrodsConnectionError):
        return True
    return isinstance(error, IrodsResponseError) and error.http_status == 502 and not error.irods_code


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Jittered exponential backoff, bounded in attempts and in total time.

    A 429/503 reply's ``Retry-After`` lengthens the wait up to ``max_backoff`` (never past ``total_timeout``).
    Idempotent operations (reads, stats, lists, queries, writes at an explicit offset) are retried on
    HTTP 429, 503 and other 5xx, connection resets and timeouts. Non-idempotent ones (appends,
    renames, creates without ``exist_ok``…) are retried only when the request provably never left
    (connect failure, pool timeout), so they are never applied twice behind the caller's back.
    ``clock``, ``sleep``, ``asleep`` and ``random`` are injectable for deterministic tests.

    Example:

    ```python
    from irods_provider.client import BasicAuth, IrodsSession, RetryPolicy

    retry = RetryPolicy(max_attempts=6, max_backoff=10.0, total_timeout=120.0)
    base_url = "https://irods.example.org/irods-http-api/0.7.0"
    with IrodsSession(base_url, auth=BasicAuth("alice", "secret"), retry=retry) as session:
        print(session.collections.exists("/tempZone/home/alice"))
    ```
    """

    max_attempts: int = 4
    initial_backoff: float = 0.1
    max_backoff: float = 5.0
    multiplier: float = 2.0
    total_timeout: float = 30.0
    retry_statuses: frozenset[int] = frozenset({429, 500, 502, 503, 504})
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    asleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, compare=False)
    random: Callable[[], float] = field(default=random.random, compare=False)

    @classmethod
    def never(cls) -> RetryPolicy:
        """A policy that makes exactly one attempt."""
        return cls(max_attempts=1)

    def override(self, retry: RetryPolicy | bool | None) -> RetryPolicy:
        """The policy for one call: ``None``/``True`` keep this one, ``False`` makes one attempt, or another
        policy (callers that retry on their own, like the transfer engine per chunk, pass ``False``)."""
        if retry is None or retry is True:
            return self
        if retry is False:
            return RetryPolicy(max_attempts=1, clock=self.clock)
        return retry

    def is_retryable(self, error: IrodsError, *, idempotent: bool) -> bool:
        """Whether ``error`` may be retried for an operation of this idempotency.

        TLS verification failures never are: they repeat identically (also for the login, which a
        request performs inside its own attempts).
        """
        if tls_failure(error) is not None:
            return False
        if is_unsent(error):
            return True
        if not idempotent:
            return False
        if isinstance(error, IrodsTimeoutError | IrodsConnectionError | IrodsServerBusyError):
            return True
        if isinstance(error, IrodsResponseError) and error.sent_status is not None:
            return error.sent_status in self.retry_statuses  # an older release's ambiguous 5xx
        if isinstance(error, IrodsResponseError) and error.http_status == 500 and (error.irods_code or 0) < 0:
            return False  # iRODS itself answered (a GenQuery2 error, a used-up ticket): it would again
        return isinstance(error, IrodsResponseError) and error.http_status in self.retry_statuses

    def backoff(self, attempt: int) -> float:
        """Full-jitter delay before attempt ``attempt + 1`` (``attempt`` counts from 1)."""
        ceiling = min(self.max_backoff, self.initial_backoff * self.multiplier ** (attempt - 1))
        return ceiling * (0.5 + 0.5 * self.random())

    def next_delay(
        self, error: IrodsError, *, idempotent: bool, attempt: int, started: float
    ) -> float | None:
        """Seconds to wait before retrying, or None to give up (re-raise ``error``)."""
        if attempt >= self.max_attempts or not self.is_retryable(error, idempotent=idempotent):
            return None
        delay = self.backoff(attempt)
        asked = error.retry_after if isinstance(error, IrodsServerBusyError) else None
        if asked is not None:  # the server's Retry-After, within this policy's longest backoff
            delay = max(delay, min(asked, self.max_backoff))
        if self.clock() + delay - started > self.total_timeout:
            return None
        return delay
