"""Counted events of the client (retries by cause, checksum mismatches) for whoever listens.

The client knows nothing of Airflow: the Airflow layer adds a listener that forwards the events to
Airflow's metrics (StatsD or OpenTelemetry); without listeners an event costs a list lookup.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from irods_provider.exceptions import (
    IrodsConnectionError,
    IrodsResponseError,
    IrodsTimeoutError,
)

__all__ = ["EventListener", "add_listener", "emit", "remove_listener", "retry_cause"]

#: ``listener(event, count, tags)``; must not raise (errors are swallowed: metrics never fail a transfer).
EventListener = Callable[[str, int, dict[str, str]], None]

_listeners: list[EventListener] = []


def add_listener(listener: EventListener) -> None:
    """Receive every event from now on (once, however often it is added)."""
    if listener not in _listeners:
        _listeners.append(listener)


def remove_listener(listener: EventListener) -> None:
    """Stop sending events to ``listener``."""
    if listener in _listeners:
        _listeners.remove(listener)


def emit(event: str, count: int = 1, **tags: str) -> None:
    """Tell every listener that ``event`` happened ``count`` times."""
    for listener in list(_listeners):
        try:
            listener(event, count, tags)
        except Exception:
            continue


def retry_cause(error: BaseException) -> str:
    """A short cause for a retried error: ``http_503``, ``timeout``, ``connection`` or the error class."""
    if isinstance(error, IrodsResponseError) and error.http_status is not None:
        return f"http_{error.http_status}"
    name = type(error).__name__
    if "ssh" in name.lower() or "sftp" in name.lower():
        return "ssh_drop"  # paramiko's SSHException and friends: the SSH connection broke
    if isinstance(error, IrodsTimeoutError | TimeoutError):
        return "timeout"
    if isinstance(error, IrodsConnectionError | ConnectionError | EOFError | OSError):
        return "connection"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
