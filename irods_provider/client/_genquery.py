"""Safe GenQuery1 literals and conditions (GenQuery1 has no bind parameters), and GenQuery2 paging checks."""

from __future__ import annotations

import re

from irods_provider.exceptions import IrodsUsageError

__all__ = [
    "GENQUERY2_DEFAULT_ROWS",
    "check_pageable_genquery2",
    "genquery_condition",
    "genquery_literal",
    "like_text",
    "match_condition",
    "modified_after_condition",
]

#: Rows a GenQuery2 query without LIMIT returns (rs_genquery2.cpp: ``default_number_of_rows``).
GENQUERY2_DEFAULT_ROWS = 256
_QUOTED = re.compile(r"'(?:[^']|'')*'")
_RANGE = re.compile(r"\b(?:limit|offset|fetch)\b", re.I)
_ORDER_BY = re.compile(r"\border\s+by\b", re.I)

# Characters an exact '=' literal cannot carry on both iRODS 4.3 and 5.0 (see match_condition).
_WIDENED = re.compile(r"[+']|\\x[0-9A-Fa-f]{2}")
_IN_LIKE = re.compile(r"[_%+'\\]")
_OPERATORS = frozenset({"=", "<>", "!=", "<", "<=", ">", ">=", "like", "not like"})


def genquery_literal(value: str) -> str:
    """Quote ``value`` as a GenQuery1 string literal, doubling single quotes (``it's`` → ``'it''s'``).

    A ``+`` cannot be sent: the query travels in a GET query string where the iRODS HTTP API turns
    ``+`` into a space. Use :func:`match_condition` (a ``like`` with ``_`` plus a client-side filter).

    A doubled quote is iRODS 5.0's escape: iRODS 4.3 binds the text between a condition's first and last
    quote verbatim, so ``'it''s'`` matches ``it''s`` there, and a lone quote would end the condition early
    (``general_query.cpp`` ``insertWhere``). For values that may hold a quote on either release, use
    :func:`match_condition`, which widens it to ``_`` and asks for a client-side check.
    """
    if "+" in value:
        raise IrodsUsageError(
            f"GenQuery literal {value!r} contains '+', which the iRODS HTTP API (every release, 0.4.0 to "
            "0.7.0) turns into a space in GET query strings; match it with 'like' and '_' instead (see "
            "match_condition)"
        )
    return "'" + value.replace("'", "''") + "'"


def genquery_condition(column: str, value: str, *, operator: str = "=") -> str:
    """``COLUMN op 'literal'`` with the literal safely quoted; ``column`` must be an identifier."""
    if not column.replace("_", "").isalnum():
        raise IrodsUsageError(f"not a GenQuery column name: {column!r}")
    if operator.lower() not in _OPERATORS:
        raise IrodsUsageError(f"unsupported GenQuery operator: {operator!r}")
    return f"{column} {operator} {genquery_literal(value)}"


def match_condition(column: str, value: str) -> tuple[str, bool]:
    """An exact-match condition for ``value`` that iRODS 4.3 and 5.0 read alike, and whether rows must be
    re-checked client-side.

    A value holding a character that one release or the transport reads differently becomes a ``like``
    pattern with ``_`` in its place, which may over-match; the caller then keeps only rows whose column
    equals ``value`` exactly. Those characters: ``+`` (a GET turns it into a space), ``'`` (5.0 wants it
    doubled, 4.3 binds the text between the first and last quote verbatim) and a ``\\xHH`` sequence (5.0
    reads it as one byte). Keywords inside the value (``where``, ``and``, ``select``) are harmless when
    the query is written as the provider writes it: lower-case ``select`` first, then lower-case
    ``where``, so 4.3's substring search finds the keywords before any value.
    """
    if not _WIDENED.search(value):
        return genquery_condition(column, value), False
    return f"{column} like '{_like_text(value)}'", True


def modified_after_condition(column: str, epoch: int) -> str:
    """``COLUMN > '01733480000'``: modified after ``epoch``, as the catalog compares its times.

    The catalog keeps times as 11-digit zero-padded epoch strings in ``varchar(32)`` columns (iRODS 4.3
    ``rcMisc.cpp`` ``getNowStr``: ``%011d``; ``db_plugin.cpp`` pads a client-set ``modify_ts`` the same
    way), and GenQuery1 binds the literal as a string (``general_query.cpp`` ``insertWhere``), so the
    database compares strings: right for equal-length zero-padded values. A value stored unpadded (fewer
    digits) compares greater, so it is over-matched, never missed: callers re-check numerically.
    """
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise IrodsUsageError(f"a modify time must be a non-negative integer epoch, got {epoch!r}")
    return genquery_condition(column, f"{epoch:011d}", operator=">")


def prefix_condition(column: str, prefix: str) -> str:
    """``COLUMN like 'prefix%'`` (may over-match on the widened ``+'\\``: filter rows client-side)."""
    return f"{column} like '{_like_text(prefix)}%'"


def like_text(value: str) -> str:
    """``value`` as the text of a quoted ``like`` pattern matching itself (see :func:`_like_text`)."""
    return _like_text(value)


def _like_text(value: str) -> str:
    """``value`` inside a quoted ``like`` pattern that reads the same on iRODS 4.3 and 5.0.

    ``_`` and ``%`` are escaped with a backslash (the default LIKE escape of PostgreSQL and MySQL, which
    receive the value as a bind variable; neither release reads ``\\_`` or ``\\%`` itself). ``+`` (which a
    GET cannot carry), ``'`` (quoted differently by the two releases) and ``\\`` (LIKE's escape, and the
    start of 5.0's ``\\xHH``) are each widened to ``_``, so the pattern may over-match on them, never miss.
    """
    return _IN_LIKE.sub(_like_char, value)


def _like_char(match: re.Match[str]) -> str:
    char = match.group()
    return "\\" + char if char in "_%" else "_"


def check_pageable_genquery2(query: str, page_size: int) -> None:
    """Refuse what paging by ``LIMIT``/``OFFSET`` cannot do right: no ``ORDER BY`` (pages would not be
    stable), a ``LIMIT``/``OFFSET``/``FETCH`` of its own, or a page size that is not a positive integer."""
    if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
        raise IrodsUsageError(f"page_size must be a positive integer, got {page_size!r}")
    keywords = _QUOTED.sub("''", query)  # keywords inside string literals do not count
    if _RANGE.search(keywords):
        raise IrodsUsageError(
            "a paged GenQuery2 query must not have LIMIT, OFFSET or FETCH: paging adds them"
        )
    if not _ORDER_BY.search(keywords):
        raise IrodsUsageError(
            "a paged GenQuery2 query needs ORDER BY: without it the database may order each page differently"
        )
