"""The small typed payload a trigger hands back to its sensor (never a bare message string).

**The rule for a failed check.** A trigger never dies with a raw traceback from a check: whatever the check
raised (a client error, or an exception the client does not type: a bug, an unforeseen library error) ends
the wait with an ``error`` event naming one of this package's errors (:func:`typed_error`): its class, path,
iRODS error name and code and HTTP status when known, and a message with no secret. The sensor's
``execute_complete`` raises that typed error. ``asyncio.CancelledError`` (and every other ``BaseException``)
still propagates, as does ``MemoryError`` (a triggerer out of memory is not a check's answer); errors a retry
could cure keep the trigger's retry and outage grace.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from irods_provider import exceptions
from irods_provider.client._redact import scrub
from irods_provider.exceptions import IrodsError, IrodsResponseError

__all__ = ["CheckEvent", "typed_error"]


def typed_error(error: Exception) -> IrodsError:
    """``error`` as this package's error: itself when it is one, else an :class:`IrodsError` naming the
    foreign class, its text scrubbed of token-shaped strings and cut (it may quote what a request carried).

    ``MemoryError`` is re-raised: it is the triggerer's state, not the check's answer.
    """
    if isinstance(error, MemoryError):
        raise error
    if isinstance(error, IrodsError):
        return error
    text = scrub(str(error), limit=200)
    return IrodsError(f"the check failed with {type(error).__name__}" + (f": {text}" if text else ""))


@dataclass(frozen=True)
class CheckEvent:
    """Outcome of a wait: ``success`` with the matches (and the last observed state), or ``error``.

    ``total`` is how many matched when more did than the ``matches`` carried (the sensor's ``max_matches``);
    None when ``matches`` is all of them (and in payloads of releases before the bound).

    An error carries the exception's class name, its iRODS code and HTTP status, the operation, the path, the
    message and the server's own message, so the worker can re-raise the same typed error in
    ``execute_complete``.
    """

    status: Literal["success", "error"]
    matches: list[dict[str, Any]] = field(default_factory=list)
    state: dict[str, Any] | None = None
    error_class: str | None = None
    irods_code: int | None = None
    irods_error: str | None = None
    http_status: int | None = None
    path: str | None = None
    message: str | None = None
    operation: str | None = None
    server_message: str | None = None
    total: int | None = None

    @classmethod
    def success(
        cls, matches: list[dict[str, Any]], state: dict[str, Any] | None = None, *, total: int | None = None
    ) -> CheckEvent:
        """The condition holds; ``total`` counts the matches when ``matches`` holds only the first of them."""
        return cls(status="success", matches=matches, state=state, total=total)

    @classmethod
    def failure(cls, error: Exception) -> CheckEvent:
        """The check raised ``error`` (a foreign one is reported as :func:`typed_error` makes it)."""
        typed = typed_error(error)
        response = typed if isinstance(typed, IrodsResponseError) else None
        return cls(
            status="error",
            error_class=type(typed).__name__,
            irods_code=response.irods_code if response else None,
            irods_error=response.irods_name if response else None,
            http_status=response.http_status if response else None,
            path=typed.path,
            message=typed.message,
            operation=typed.operation,
            server_message=response.server_message if response else None,
        )

    def to_payload(self) -> dict[str, Any]:
        """The JSON-able dict carried by the TriggerEvent."""
        return asdict(self)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> CheckEvent:
        """Rebuild from a TriggerEvent payload (unknown keys are an error: the payload is ours)."""
        return cls(**payload)

    def error(self) -> IrodsError:
        """The typed error this event reports (IrodsError when the class is not one of ours)."""
        cls = getattr(exceptions, self.error_class or "", None)
        message = self.message or "the trigger failed"
        where = {"operation": self.operation, "path": self.path}
        if not (isinstance(cls, type) and issubclass(cls, IrodsError)):
            return IrodsError(f"{self.error_class}: {message}", **where)
        if issubclass(cls, IrodsResponseError):
            return cls(
                message,
                http_status=self.http_status,
                irods_code=self.irods_code,
                server_message=self.server_message,
                **where,
            )
        try:
            return cls(message, **where)
        except TypeError:
            return IrodsError(f"{self.error_class}: {message}", **where)
