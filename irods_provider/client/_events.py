"""Events of the client (retries by cause, checksum mismatches, request latency) for whoever listens.

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

#: ``listener(event, value, tags)``: a count, or milliseconds for ``request``; errors are swallowed
#: (metrics never fail a transfer).
EventListener = Callable[[str, float, dict[str, str]], None]

# Copy-on-write tuple: emit() iterates it without a lock while another thread adds or removes.
_listeners: tuple[EventListener, ...] = ()


def add_listener(listener: EventListener) -> None:
    """Receive every event from now on (once, however often it is added)."""
    global _listeners
    if listener not in _listeners:
        _listeners = (*_listeners, listener)


def remove_listener(listener: EventListener) -> None:
    """Stop sending events to ``listener``."""
    global _listeners
    _listeners = tuple(x for x in _listeners if x != listener)


def emit(event: str, value: float = 1, **tags: str) -> None:
    """Tell every listener that ``event`` happened (``value``: how often, or how long in ms)."""
    for listener in _listeners:
        try:
            listener(event, value, tags)
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
