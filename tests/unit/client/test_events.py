"""Client events: retry causes named from the error; listeners get every event; a broken one is ignored."""

from __future__ import annotations

import paramiko
import pytest

from irods_provider.client._events import add_listener, emit, remove_listener, retry_cause
from irods_provider.exceptions import (
    IrodsAuthenticationError,
    IrodsConnectionError,
    IrodsServerBusyError,
    IrodsTimeoutError,
)


@pytest.mark.parametrize(
    ("error", "cause"),
    [
        (IrodsServerBusyError("busy", http_status=503), "http_503"),
        (IrodsServerBusyError("slow down", http_status=429), "http_429"),
        (IrodsAuthenticationError("expired", http_status=401), "http_401"),
        (IrodsTimeoutError("read timeout"), "timeout"),
        (IrodsConnectionError("reset"), "connection"),
        (ConnectionResetError(104, "reset"), "connection"),
        (paramiko.SSHException("Server connection dropped"), "ssh_drop"),
        (ValueError("x"), "value_error"),
    ],
)
def test_retry_cause_names_the_error(error: BaseException, cause: str) -> None:
    assert retry_cause(error) == cause


def test_listeners_receive_events_and_a_broken_one_is_ignored() -> None:
    seen: list[tuple[str, float, dict[str, str]]] = []

    def broken(event: str, count: float, tags: dict[str, str]) -> None:
        raise RuntimeError("metrics backend down")

    def record(event: str, count: float, tags: dict[str, str]) -> None:
        seen.append((event, count, tags))

    add_listener(broken)
    add_listener(record)
    add_listener(record)  # once, however often added
    try:
        emit("retry", cause="http_503")
        emit("checksum_mismatch", 2)
    finally:
        remove_listener(broken)
        remove_listener(record)
    emit("retry", cause="timeout")  # no longer listening
    assert seen == [("retry", 1, {"cause": "http_503"}), ("checksum_mismatch", 2, {})]
