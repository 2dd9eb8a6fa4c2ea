"""Bounds on what a server may send back: reply sizes per operation, no compressed bodies.

A hostile or broken server must not make the client hold gigabytes: every reply body is read as a stream
and reading stops at the operation's bound with an IrodsProtocolError naming the operation.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from irods_provider.client._operation import Body, Operation
from irods_provider.exceptions import IrodsProtocolError, IrodsTimeoutError

__all__ = ["BoundedBody", "QueryBound", "ReplyLimits", "check_encoding"]

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ReplyLimits:
    """Largest reply bodies the session accepts, in bytes (``None``: unbounded).

    ``json_bytes`` bounds JSON and text replies (stat, lists, GenQuery pages, tokens); ``error_bytes``
    bounds any reply that is not HTTP 200; ``data_bytes`` bounds a whole-object read without ``count``
    (a read with ``count`` is bounded by it). ``query_rows`` and ``query_seconds`` bound the paging of one
    GenQuery (a server answering full pages forever would otherwise never end it).
    """

    json_bytes: int | None = 16 * MIB
    error_bytes: int | None = MIB
    data_bytes: int | None = None
    query_rows: int | None = 10_000_000
    query_seconds: float | None = None

    def for_reply(self, op: Operation[Any], status: int) -> int | None:
        """The bound for ``op``'s reply with HTTP ``status``."""
        if status != 200:
            return self.error_bytes
        if op.max_reply_bytes is not None:
            return op.max_reply_bytes
        return self.data_bytes if op.body is Body.BYTES else self.json_bytes


def _too_large(op: Operation[Any], limit: int, what: str) -> IrodsProtocolError:
    return IrodsProtocolError(
        f"the reply to {op.name} {what} the limit of {limit} bytes (session reply_limits); not read further",
        operation=op.name,
        path=op.path,
    )


def check_encoding(op: Operation[Any], headers: Mapping[str, str]) -> None:
    """Refuse a compressed reply (the client asks for ``identity``; decompression would be unbounded)."""
    encoding = headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise IrodsProtocolError(
            f"the reply to {op.name} is compressed ({encoding}) although the client asked for identity; "
            "refused (decompressing it would be unbounded)",
            operation=op.name,
            path=op.path,
        )


class BoundedBody:
    """Collects (or with ``keep=False`` only counts) a reply body; raises as soon as it passes its bound,
    or once it is still arriving ``within`` seconds after the headers (a server trickling its reply)."""

    def __init__(
        self,
        op: Operation[Any],
        limit: int | None,
        headers: Mapping[str, str],
        *,
        keep: bool = True,
        within: float | None = None,
    ) -> None:
        check_encoding(op, headers)
        self._op = op
        self._keep = keep
        self._limit = limit
        self._within = within
        self._deadline = None if within is None else time.monotonic() + within
        self._chunks: list[bytes] = []
        self._size = 0
        declared = headers.get("content-length")
        if limit is not None and declared is not None and declared.isdigit() and int(declared) > limit:
            raise _too_large(op, limit, f"declares {int(declared)} bytes, over")

    def add(self, chunk: bytes) -> None:
        """Append one chunk; IrodsProtocolError once the total passes the bound."""
        self._size += len(chunk)
        if self._limit is not None and self._size > self._limit:
            raise _too_large(self._op, self._limit, "passed")
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise IrodsTimeoutError(
                f"the reply to {self._op.name} was still arriving {self._within:g} s after its headers "
                f"({self._size} bytes so far; the read timeout bounds the whole body): not read further",
                operation=self._op.name,
                path=self._op.path,
            )
        if self._keep:
            self._chunks.append(chunk)

    @property
    def content(self) -> bytes:
        """Everything collected so far."""
        return b"".join(self._chunks)


class QueryBound:
    """Counts the rows and time of one paged GenQuery; raises once a bound is passed."""

    def __init__(self, limits: ReplyLimits, max_rows: int | None) -> None:
        self._rows_cap = max_rows if max_rows is not None else limits.query_rows
        self._seconds = limits.query_seconds
        self._started = time.monotonic()
        self._rows = 0

    def page(self, op: Operation[Any], rows: int, asked: int) -> None:
        """Account for one page of ``rows`` rows (``asked`` were requested)."""
        self._rows += rows
        if rows > asked:
            raise IrodsProtocolError(
                f"{op.name} page holds {rows} rows, more than the {asked} asked for", operation=op.name
            )
        if self._rows_cap is not None and self._rows > self._rows_cap:
            raise IrodsProtocolError(
                f"{op.name} returned more than {self._rows_cap} rows (max_rows / reply_limits.query_rows)",
                operation=op.name,
            )
        if self._seconds is not None and time.monotonic() - self._started > self._seconds:
            raise IrodsProtocolError(
                f"{op.name} paging took over {self._seconds} s (reply_limits.query_seconds)",
                operation=op.name,
            )
