"""Logical-path validation and GET-parameter safety checks, done before any request is sent."""

from __future__ import annotations

import re

from irods_provider.exceptions import IrodsInvalidPathError

__all__ = ["basename", "check_query_value", "join_path", "parent_path", "validate_path"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def validate_path(path: str, *, operation: str | None = None) -> str:
    """Return ``path`` unchanged if it is an absolute, normalised iRODS logical path, else raise.

    Rejected: relative paths, empty components (``//`` or a trailing ``/``), ``.`` and ``..``
    components, and NUL or other control characters (iRODS cannot store them reliably).
    """
    reason = _path_problem(path)
    if reason is not None:
        raise IrodsInvalidPathError(f"invalid iRODS logical path: {reason}", operation=operation, path=path)
    return path


def _path_problem(path: object) -> str | None:
    if not isinstance(path, str):
        return f"expected a str, got {type(path).__name__}"
    if not path.startswith("/"):
        return "it must be absolute (start with '/')"
    if path == "/":
        return None
    if _CONTROL.search(path):
        return "it contains NUL or control characters"
    for component in path[1:].split("/"):
        if component == "":
            return "it contains an empty component ('//' or a trailing '/')"
        if component in (".", ".."):
            return "it contains a '.' or '..' component"
    return None


def check_query_value(value: str, *, name: str, operation: str, path: str | None = None) -> str:
    """Refuse a value that a GET query string cannot carry intact.

    The iRODS HTTP API 0.7.0 percent-decodes query-string values and THEN turns every ``+`` into a
    space, so a literal ``+`` (even sent as ``%2B``) arrives as a space: a GET for such a path would
    silently address another object. POST operations are unaffected (they are sent as multipart).
    """
    if "+" in value:
        raise IrodsInvalidPathError(
            f"{name} contains '+', which the iRODS HTTP API 0.7.0 turns into a space in GET query strings, "
            "so this read-only operation cannot address it (POST operations such as create, write, rename "
            "and metadata changes do work; rename the object to avoid '+' if it must be read over HTTP)",
            operation=operation,
            path=path if path is not None else value,
        )
    return value


def join_path(parent: str, *names: str) -> str:
    """Join a collection path with child names (no validation; use :func:`validate_path`)."""
    result = parent.rstrip("/")
    for name in names:
        result = f"{result}/{name.strip('/')}"
    return result or "/"


def parent_path(path: str) -> str:
    """The collection containing ``path`` (``/`` for top-level names)."""
    head = path.rstrip("/").rsplit("/", 1)[0]
    return head or "/"


def basename(path: str) -> str:
    """The last component of ``path``."""
    return path.rstrip("/").rsplit("/", 1)[-1]
