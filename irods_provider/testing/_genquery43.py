"""GenQuery1 as iRODS 4.3 reads a query string: the client library's string splitter, then the catalog.

On 4.3.x the HTTP API's ``irods::query`` calls ``fillGenQueryInpFromStrCond`` (irods 4.3.4
``lib/core/include/irods/irods_query.hpp:172``; ``lib/core/src/rcMisc.cpp:3214-3301``), a substring search
rather than a grammar, and the catalog then reads each condition text (``plugins/database/src/
general_query.cpp``: ``compoundConditionSpecified`` :925, ``handleCompoundCondition`` :966,
``checkCondition`` :1156, ``addInClauseToWhereFor{In,ParentOf}`` :1230/:1340, ``addBetweenClauseToWhere``
:1403, ``insertWhere`` :1460). The rules this module follows, all observable over HTTP:

- The select list starts 7 characters after the first ``select`` (else the first ``SELECT``; neither →
  INPUT_ARG_NOT_WELL_FORMED_ERR) and ends at the first ``where`` after it (else the first ``WHERE``),
  wherever that is, inside a quoted value too. Keywords in any other case are not keywords.
- Select items are split at every ``,``, trimmed; ``fn(COL)`` takes the text before ``(`` as the function
  (exactly ``sum``/``SUM`` … ``order_desc``/``ORDER_DESC``) and the text up to ``)`` as the column. An unknown
  function is INVALID_GENQUERY_AGGREGATE_FUNCTION from 4.3.4 on; before, it selects the plain column
  (``getSelVal`` returned 1, and knew no ``order_asc``).
- Conditions start 6 characters after the keyword and are split at `` and `` / `` AND `` where the text
  before it has balanced quotes and parentheses (``goodStrExpr``). Each is trimmed and split at its first
  space into the column name (exact, else NO_COLUMN_NAME_FOUND) and the condition text; no space →
  INPUT_ARG_NOT_WELL_FORMED_ERR.
- The catalog binds the text between a condition's **first and last quote, verbatim** (``''`` stays two
  quotes); the text before the first quote is the SQL operator (at most 10 characters, only ``<>=!``,
  ``begin_of``, ``parent_of``, ``not``, ``between``, ``like``, ``in`` allowed, else CAT_INVALID_ARGUMENT).
  A text starting with ``in``/``between`` takes every quoted string as a value. ``||``/``&&`` outside
  quotes join several such texts on the same column.
"""

from __future__ import annotations

import re

from irods_provider.testing._genquery_ast import Condition, GenQuery, GenQueryError, Predicate, Projection
from irods_provider.testing._genquery_columns import columns_known

__all__ = ["catalog_alternatives", "fill_genquery1_43"]

_FUNCTIONS_BEFORE_434 = {
    **{name: name for name in ("sum", "min", "max", "avg", "count")},
    **{name.upper(): name for name in ("sum", "min", "max", "avg", "count")},
    "order": "order",
    "ORDER": "order",
    "order_desc": "order_desc",
    "ORDER_DESC": "order_desc",
}
# 4.3.4 added order_asc and made an unknown function an error (rcMisc.cpp:3084-3115 at 4.3.4 vs 4.3.3).
_STRICT_FUNCTIONS_SINCE = (4, 3, 4)
_FUNCTIONS_434 = {**_FUNCTIONS_BEFORE_434, "order_asc": "order", "ORDER_ASC": "order"}
# The C locale's isspace(), which trimWS (stringOpr.cpp:279) uses.
_C_SPACE = " \t\n\v\f\r"
# SQL comparison operators the database accepts between a column and a bind variable.
_SQL_OPERATORS = {
    "=": "=",
    "!=": "!=",
    "<>": "!=",
    "<": "<",
    "<=": "<=",
    ">": ">",
    ">=": ">=",
    "like": "like",
}
_SQL_OPERATORS["not like"] = "not like"
# checkCondition blanks the first occurrence of each, in this order (general_query.cpp:1182-1221).
_ALLOWED_WORDS = ("begin_of", "parent_of", "not", "NOT", "between", "BETWEEN", "like", "LIKE", "in", "IN")


def _fill_error(name: str, message: str) -> GenQueryError:
    return GenQueryError(name, message, stage="fill")


def _catalog_error(name: str, message: str) -> GenQueryError:
    return GenQueryError(name, message, stage="query")


def _find_keyword(text: str, word: str) -> int:
    """``strstr`` for the lower-case spelling, then the upper-case one: the first match of either rule."""
    index = text.find(word)
    return index if index >= 0 else text.find(word.upper())


def _balanced(expr: str) -> bool:
    """``goodStrExpr``: quotes (single and double, each ignoring the other inside) and parentheses pair."""
    quote: str | None = None
    counts = {"'": 0, '"': 0}
    depth = 0
    for char in expr:
        if quote is not None:
            if char == quote:
                quote = None
                counts[char] += 1
        elif char in counts:
            quote = char
            counts[char] += 1
        elif char == "(":
            depth += 1
        elif char == ")" and depth > 0:
            depth -= 1
    return depth == 0 and counts["'"] % 2 == 0 and counts['"'] % 2 == 0


def _split_conditions(text: str) -> list[str]:
    """Split at each `` and ``/`` AND `` the text before which is balanced (``getCondFromString``)."""
    parts: list[str] = []
    start = search = 0
    while True:
        hits = [i for i in (text.find(" and ", search), text.find(" AND ", search)) if i >= 0]
        if not hits:
            break
        at = min(hits)
        if _balanced(text[start:at]):
            parts.append(text[start:at])
            start = search = at + 5
        else:
            search = at + 1
    parts.append(text[start:])
    return parts


def _known(column: str, known: frozenset[str]) -> str:
    """The column if ``getAttrIdFromAttrName`` finds it in this release's rodsGenQueryNames.h."""
    if column not in known:
        raise _fill_error("NO_COLUMN_NAME_FOUND", f"column [{column}] not supported")
    return column


def _projection(item: str, functions: dict[str, str], *, strict: bool, known: frozenset[str]) -> Projection:
    item = item.strip(_C_SPACE)
    function: str | None = None
    column = item
    if (open_at := item.find("(")) >= 0:
        name, column = item[:open_at], item[open_at + 1 :]
        column = column[: column.find(")")] if ")" in column else column
        function = functions.get(name)
        if function is None and strict:
            raise _fill_error(
                "INVALID_GENQUERY_AGGREGATE_FUNCTION", f"aggregate function [{name}] not supported"
            )
    return Projection(_known(column, known), function)


def _condition(text: str, known: frozenset[str]) -> tuple[str, str]:
    text = text.strip(_C_SPACE)
    column, space, rest = text.partition(" ")
    if not space:
        raise _fill_error("INPUT_ARG_NOT_WELL_FORMED_ERR", f"condition [{text}] has no space")
    return _known(column, known), rest


def _mask_quoted(text: str) -> str:
    """Blank what lies between each pair of quotes (``mask_query_arguments``, general_query.cpp:109-136)."""
    return re.sub(r"'[^']*'", lambda m: "'" + " " * (len(m.group()) - 2) + "'", text)


def _quoted_strings(text: str) -> list[str]:
    """Every pair of quotes' content, verbatim (``addInClauseToWhereForIn``'s scan)."""
    return re.findall(r"'([^']*)'", text)


def _starts_with_word(condition: str, word: str) -> bool:
    """insertWhere's test: the first ``word`` (else ``WORD``) anywhere is at the first non-blank."""
    found = _find_keyword(condition, word)
    return found >= 0 and found == len(condition) - len(condition.lstrip(" "))


def _operator(text: str) -> str:
    """The SQL operator before the first quote, checked as ``checkCondition`` does, then as SQL would."""
    if len(text) > 10:
        raise _catalog_error("CAT_INVALID_ARGUMENT", f"[{text}] is too long for a condition operator")
    probe = " " + text
    for char in "<>=!":
        probe = probe.replace(char, " ")
    for word in _ALLOWED_WORDS:
        if (at := probe.find(word)) >= 0:
            probe = probe[:at] + " " * len(word) + probe[at + len(word) :]
    if probe.strip(" "):
        raise _catalog_error("CAT_INVALID_ARGUMENT", f"[{text}] is not a condition operator")
    if "begin_of" in text:
        return "begin_of"
    if "parent_of" in text:
        return "parent_of"
    sql = " ".join(text.split()).lower()
    if sql not in _SQL_OPERATORS:
        # The text went into the SQL as written (``col <text> ?``): the database refuses it.
        raise _catalog_error("CAT_SQL_ERR", f"the database cannot run [col {text} ?]")
    return _SQL_OPERATORS[sql]


def _predicate(condition: str) -> Predicate:
    """One condition text as ``insertWhere`` reads it."""
    if _starts_with_word(condition, "in"):
        values = _quoted_strings(condition)
        if not values:
            raise _catalog_error("CAT_INVALID_ARGUMENT", f"no quoted value in [{condition}]")
        return Predicate("in", tuple(values))
    if _starts_with_word(condition, "between"):
        values = _quoted_strings(condition)
        if len(values) != 2:
            raise _catalog_error("CAT_INVALID_ARGUMENT", f"between needs two quoted values: [{condition}]")
        return Predicate("between", tuple(values))
    if condition in ("IS NULL", "IS NOT NULL"):
        return Predicate(condition.lower(), ())
    first, last = condition.find("'"), condition.rfind("'")
    if first < 0 or last == first:
        raise _catalog_error("CAT_INVALID_ARGUMENT", f"no quoted value in [{condition}]")
    return Predicate(_operator(condition[:first]), (condition[first + 1 : last],))


def catalog_alternatives(condition: str) -> tuple[tuple[Predicate, ...], ...]:
    """Read a condition text as the catalog does: ``a || b && c`` (outside quotes) → OR of ANDs.

    Every release's catalog runs this same code (general_query.cpp, unchanged from 4.3.4 to 5.0.1).
    """
    stripped = condition.lstrip(" ")
    if stripped[:2] in ("n<", "n>", "n="):  # an integer cast of the column (general_query.cpp:1945-1955)
        condition = condition.replace("n", " ", 1)
    masked = _mask_quoted(condition)
    # compoundConditionSpecified (:925-958) also blanks everything after an unpaired quote.
    visible = masked[: masked.rfind("'")] if masked.count("'") % 2 else masked
    if "||" not in visible and "&&" not in visible:
        return ((_predicate(condition),),)
    groups: list[list[Predicate]] = [[]]
    while (split := re.search(r"\|\||&&", masked)) is not None:
        groups[-1].append(_predicate(condition[: split.start()]))
        if split.group() == "||":
            groups.append([])
        condition, masked = condition[split.end() :], masked[split.end() :]
    groups[-1].append(_predicate(condition))
    return tuple(tuple(group) for group in groups)


def fill_genquery1_43(query: str, *, release: tuple[int, int, int]) -> GenQuery:
    """Parse ``query`` as iRODS 4.3 ``release`` does (which names it knows; from 4.3.4 the strict rule for
    unknown functions).

    Errors raised while splitting the string have ``stage == "fill"``, those the catalog would raise while
    reading a condition ``stage == "query"``; every fill error comes before any catalog error.
    """
    start = _find_keyword(query, "select")
    if start < 0:
        raise _fill_error("INPUT_ARG_NOT_WELL_FORMED_ERR", "no select keyword")
    rest = query[start:]
    where = _find_keyword(rest, "where")
    select_text = rest[7:where] if where >= 0 else rest[7:]
    strict, known = release >= _STRICT_FUNCTIONS_SINCE, columns_known(release)
    functions = _FUNCTIONS_434 if strict else _FUNCTIONS_BEFORE_434
    projections = tuple(
        _projection(item, functions, strict=strict, known=known) for item in select_text.split(",")
    )
    if where < 0:
        return GenQuery(projections, ())
    texts = [_condition(part, known) for part in _split_conditions(rest[where + 6 :])]
    conditions = tuple(Condition(column, catalog_alternatives(text)) for column, text in texts)
    return GenQuery(projections, conditions)
