"""The engine's per-chunk retrier honours a busy server's ``Retry-After``, within its longest backoff."""

from __future__ import annotations

import pytest

from irods_provider.client.transfer._coordinator import TransferCoordinator
from irods_provider.client.transfer._retry import ChunkRetrier
from irods_provider.exceptions import IrodsServerBusyError, IrodsTimeoutError


def _busy(retry_after: float | None) -> IrodsServerBusyError:
    exc = IrodsServerBusyError("busy", http_status=503)
    exc.retry_after = retry_after
    return exc


def _run(failures: list[Exception], *, max_seconds: float = 5.0) -> list[float]:
    slept: list[float] = []
    retrier = ChunkRetrier(
        retries=len(failures),
        base_seconds=0.01,
        max_seconds=max_seconds,
        coordinator=TransferCoordinator(),
        sleep=slept.append,
    )
    pending = list(failures)

    def call() -> str:
        if pending:
            raise pending.pop(0)
        return "done"

    assert retrier.call(call) == "done"
    assert retrier.retried == len(failures)
    return slept


def test_a_retry_after_lengthens_the_backoff() -> None:
    assert _run([_busy(2.0)]) == [2.0]


def test_a_retry_after_is_capped_at_the_longest_backoff() -> None:
    assert _run([_busy(3600.0)], max_seconds=5.0) == [5.0]


@pytest.mark.parametrize("failure", [_busy(None), IrodsTimeoutError("timed out")])
def test_without_retry_after_the_jittered_backoff_stays(failure: Exception) -> None:
    (slept,) = _run([failure])
    assert 0.0 <= slept <= 0.01
