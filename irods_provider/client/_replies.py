"""Typed reads of reply fields: a value of a type the API never sends there is a :class:`ReplyShapeError`,
which :func:`~irods_provider.client._operation.decode_reply` turns into an IrodsProtocolError naming the
operation and path. Messages name the field and the type found, never the value (it may be a ticket)."""

from __future__ import annotations

from typing import Any

__all__ = ["ReplyShapeError", "integer", "objects", "rows", "strings", "text"]


class ReplyShapeError(ValueError):
    """A reply field that is missing or of a type the iRODS HTTP API never sends there."""


def _wrong(key: str, expected: str, value: object) -> ReplyShapeError:
    return ReplyShapeError(f"{key!r} is {type(value).__name__}, not {expected}")


def integer(data: dict[str, Any], key: str, *, default: int | None = None, unsigned: bool = False) -> int:
    """``data[key]``, a JSON integer (``default`` when absent and a default is given; ``unsigned``: the
    server's type cannot hold a negative value, so one is refused rather than used as a size)."""
    value = data.get(key, default)
    if value is None and key not in data and default is None:
        raise ReplyShapeError(f"{key!r} is missing")
    if not isinstance(value, int) or isinstance(value, bool):
        raise _wrong(key, "an integer", value)
    if unsigned and value < 0:
        raise ReplyShapeError(f"{key!r} is negative, which the server's unsigned type never is")
    return value


def text(data: dict[str, Any], key: str, *, default: str | None = None, empty: bool = True) -> str:
    """``data[key]``, a JSON string (``default`` when absent and a default is given; ``empty``: may be
    ``""``)."""
    if key not in data and default is not None:
        return default
    if key not in data:
        raise ReplyShapeError(f"{key!r} is missing")
    value = data[key]
    if not isinstance(value, str):
        raise _wrong(key, "a string", value)
    if not value and not empty:
        raise ReplyShapeError(f"{key!r} is empty")
    return value


def _array(data: dict[str, Any], key: str) -> list[Any]:
    """``data[key]``, a JSON array (absent or ``null``: empty, as the server sends an empty list)."""
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _wrong(key, "an array", value)
    return value


def objects(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """``data[key]``, an array of JSON objects."""
    items = _array(data, key)
    for item in items:
        if not isinstance(item, dict):
            raise _wrong(f"{key}[]", "an object", item)
    return items


def strings(data: dict[str, Any], key: str) -> list[str]:
    """``data[key]``, an array of strings."""
    items = _array(data, key)
    for item in items:
        if not isinstance(item, str):
            raise _wrong(f"{key}[]", "a string", item)
    return items


def rows(data: dict[str, Any]) -> list[list[str]]:
    """A query's ``rows``: an array of arrays of strings (every GenQuery value is sent as a string).

    Every release sends ``rows``, an array even when empty (``json::array_t``: endpoints/query/src/main.cpp
    :133,164,250 at 0.7.0), so a reply without it is no answer: read as "no rows" it would tell a watcher
    that nothing carries its AVU any more, and the next real scan would fire every tagged object again.
    """
    if data.get("rows") is None:
        raise ReplyShapeError("'rows' is missing")
    found = _array(data, "rows")
    for row in found:
        if not isinstance(row, list):
            raise _wrong("rows[]", "an array", row)
        for value in row:
            if not isinstance(value, str):
                raise _wrong("rows[][]", "a string", value)
    return found
