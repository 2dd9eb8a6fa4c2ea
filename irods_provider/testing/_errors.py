"""Errors raised by the emulator's state model; the HTTP layer decides how each one is rendered."""

from __future__ import annotations

from irods_provider.testing._error_table import error_code


class IrodsModelError(Exception):
    """An iRODS error: symbolic name, numeric code and a human-readable message."""

    def __init__(self, name: str, message: str = "", *, errno: int = 0) -> None:
        super().__init__(message or name)
        self.name = name
        self.code = error_code(name) - errno  # e.g. UNIX_FILE_CREATE_ERR - ENAMETOOLONG = -511036
        self.message = message or name


class StreamLimitExceeded(Exception):
    """The server-wide parallel-write stream quota would be exceeded."""


class NoIdleStream(Exception):
    """Every stream of a parallel-write handle is busy."""


class UnknownHandle(Exception):
    """No parallel-write handle by that id."""
