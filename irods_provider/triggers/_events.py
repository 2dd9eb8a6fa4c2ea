"""The small typed payload a trigger hands back to its sensor (never a bare message string)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from irods_provider import exceptions
from irods_provider.exceptions import IrodsError, IrodsResponseError

__all__ = ["CheckEvent"]


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
    def failure(cls, error: BaseException) -> CheckEvent:
        """The check raised ``error``."""
        response = error if isinstance(error, IrodsResponseError) else None
        return cls(
            status="error",
            error_class=type(error).__name__,
            irods_code=response.irods_code if response else None,
            http_status=response.http_status if response else None,
            path=error.path if isinstance(error, IrodsError) else None,
            message=error.message if isinstance(error, IrodsError) else str(error),
            operation=error.operation if isinstance(error, IrodsError) else None,
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
