"""What a GenQuery1 string means once parsed, whichever parser read it (iRODS 4.3's or 5.0's).

Both parsers hand the catalog a list of select items and, per condition, one column with a condition text;
the emulator keeps the parsed form as these values and one error type carrying the iRODS code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from irods_provider.testing._error_table import error_code

__all__ = ["AGGREGATES", "Condition", "GenQuery", "GenQueryError", "Predicate", "Projection"]

AGGREGATES = frozenset({"min", "max", "sum", "avg", "count"})


class GenQueryError(Exception):
    """A GenQuery1 failure carrying the iRODS error code the server would report.

    ``stage`` says where a server fails: ``"fill"`` while the HTTP API's client library turns the string
    into a GenQuery input (irods_query.hpp:172-177 at 4.3.4), ``"query"`` when the catalog refuses the
    input it was sent (irods_query.hpp:466-468). Each stage has its own ``status_message``.
    """

    def __init__(self, name: str, message: str, *, stage: Literal["fill", "query"] = "fill") -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.code = error_code(name)
        self.message = message
        self.stage = stage

    def status_message(self, query: str) -> str:
        """The ``status_message`` the HTTP API sends: ``irods::exception::client_display_what()``
        (irods_exception.cpp:83-95 at 4.3.4) of the exception irods::query throws for this stage."""
        what = (
            f"query fill failed for [{query}]"
            if self.stage == "fill"
            else f"query failed for [{query}] type [0]"
        )
        return f"{self.name}: {what}\n\n"


@dataclass(frozen=True)
class Projection:
    """One select item: a column and its function (``order``, ``order_desc``, an aggregate, or None)."""

    column: str
    function: str | None = None

    @property
    def aggregated(self) -> bool:
        return self.function in AGGREGATES


@dataclass(frozen=True)
class Predicate:
    """One comparison against the column: ``op`` is ``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``like``,
    ``not like``, ``between``, ``in``, ``begin_of``, ``parent_of``, ``is null`` or ``is not null``."""

    op: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Condition:
    """``COLUMN expr [|| expr | && expr ...]``: an OR of ANDs of predicates (SQL precedence)."""

    column: str
    alternatives: tuple[tuple[Predicate, ...], ...]


@dataclass(frozen=True)
class GenQuery:
    """A parsed GenQuery1 query."""

    projections: tuple[Projection, ...]
    conditions: tuple[Condition, ...]

    @property
    def columns(self) -> frozenset[str]:
        """Every column the query touches, selected or in a condition."""
        return frozenset(p.column for p in self.projections) | {c.column for c in self.conditions}
