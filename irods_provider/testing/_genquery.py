"""GenQuery1 for the emulator: parse a query string as the configured iRODS release does, then evaluate it.

Which parser reads the string depends on the iRODS release (the library the HTTP API runs with, in
practice the server's release): 4.3.x splits the string by substring search (``_genquery43``), 5.0+ has
the flex/bison grammar below (``lib/genquery1/dsl``, irods 5.0.1), which writes each condition back as
text with its values between bare quotes (parser.y:153-173) for the catalog to read as on 4.3: a value
holding a quote (``''`` or ``\x27``) splits there in ``in``/``between``. Evaluation follows the
catalog's SQL generation (``general_query.cpp``): distinct rows, ORDER BY the user-ordered columns then
COLL_NAME, DATA_NAME, DATA_REPL_NUM, GROUP BY the non-aggregated columns, upper-cased WHERE when the
query is case-insensitive, and one extra metadata join per extra ``META_*_ATTR_NAME`` condition.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from operator import itemgetter

from irods_provider.testing._genquery43 import catalog_alternatives, fill_genquery1_43
from irods_provider.testing._genquery_ast import (
    Condition,
    GenQuery,
    GenQueryError,
    Predicate,
    Projection,
)
from irods_provider.testing._genquery_columns import (
    COLUMN_TABLES,
    INTEGER_COLUMNS,
    META_OWNER_COLUMN,
    UNKNOWN_TABLE_COLUMNS,
    columns_known,
    tables_for,
)
from irods_provider.testing._genquery_links import sql_names_table, tables_link
from irods_provider.testing._versions import DEFAULT_IRODS_SERVER_VERSION, IrodsRelease, irods_release

__all__ = [
    "COLUMN_TABLES",
    "DEFAULT_RELEASE",
    "Condition",
    "GenQuery",
    "GenQueryError",
    "Predicate",
    "Projection",
    "ascii_upper",
    "checks_collection_access",
    "coll_name_filter",
    "execute_genquery1",
    "parse_genquery1",
]

Row = Mapping[str, str]


# --------------------------------------------------------------------------------------------- lexer

_KEYWORDS = frozenset({"SELECT", "WHERE", "LIKE", "IN", "BETWEEN", "AND", "NOT", "BEGIN_OF", "PARENT_OF"})
_PUNCTUATION = ("!=", "<>", "<=", ">=", "||", "&&", "=", "<", ">", ",", "(", ")")
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_HEX_ESCAPE = re.compile(r"\\x([0-9A-Fa-f]{2})")
_WHITESPACE = " \t\n"


@dataclass(frozen=True)
class _Token:
    kind: str  # "KEYWORD", "IDENTIFIER", "STRING", "PUNCT" or "END"
    text: str
    position: int


def _syntax_error(message: str, position: int) -> GenQueryError:
    return GenQueryError("INPUT_ARG_NOT_WELL_FORMED_ERR", f"{message} at position {position + 1}")


def _read_string(query: str, start: int) -> tuple[str, int]:
    """Read the literal opening at ``start``: ``''`` is a quote and ``\\xHH`` a byte; return (value, end)."""
    buffer = bytearray()
    index = start + 1
    while index < len(query):
        char = query[index]
        if char == "'":
            if query.startswith("''", index):
                buffer += b"'"
                index += 2
                continue
            return buffer.decode("utf-8", errors="replace"), index + 1
        escape = _HEX_ESCAPE.match(query, index)
        if escape:
            buffer.append(int(escape.group(1), 16))
            index = escape.end()
            continue
        buffer += char.encode("utf-8", errors="surrogatepass")
        index += 1
    raise _syntax_error(f"missing closing single quote: [{buffer.decode('utf-8', 'replace')}]", start)


def _tokenize(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    index = 0
    while index < len(query):
        char = query[index]
        if char in _WHITESPACE:
            index += 1
        elif char == "'":
            value, end = _read_string(query, index)
            tokens.append(_Token("STRING", value, index))
            index = end
        elif match := _IDENTIFIER.match(query, index):
            word = match.group()
            kind = "KEYWORD" if word.upper() in _KEYWORDS else "IDENTIFIER"
            tokens.append(_Token(kind, word.upper() if kind == "KEYWORD" else word, index))
            index = match.end()
        else:
            punct = next((p for p in _PUNCTUATION if query.startswith(p, index)), None)
            if punct is None:
                raise _syntax_error(f"invalid character: {char}", index)
            tokens.append(_Token("PUNCT", punct, index))
            index += len(punct)
    tokens.append(_Token("END", "", len(query)))
    return tokens


# --------------------------------------------------------------------------------------------- parser

_FUNCTIONS = {
    "order": "order",
    "order_asc": "order",
    "order_desc": "order_desc",
    "min": "min",
    "max": "max",
    "sum": "sum",
    "avg": "avg",
    "count": "count",
}
_COMPARISONS = frozenset({"=", "!=", "<>", "<", "<=", ">", ">="})


class _Parser:
    """Recursive descent over the token list, mirroring the bison grammar rule by rule."""

    def __init__(self, tokens: list[_Token], known: frozenset[str]) -> None:
        self._tokens = tokens
        self._index = 0
        self._known = known

    def _check_column(self, column: str) -> str:
        if column not in self._known:
            raise GenQueryError("NO_COLUMN_NAME_FOUND", f"column [{column}] not supported")
        return column

    def _peek(self) -> _Token:
        return self._tokens[self._index]

    def _next(self) -> _Token:
        token = self._tokens[self._index]
        if token.kind != "END":
            self._index += 1
        return token

    def _at(self, kind: str, text: str | None = None) -> bool:
        token = self._peek()
        return token.kind == kind and (text is None or token.text == text)

    def _expect(self, kind: str, text: str | None = None) -> _Token:
        if not self._at(kind, text):
            token = self._peek()
            found = "end of input" if token.kind == "END" else repr(token.text)
            raise _syntax_error(f"syntax error, unexpected {found}, expecting {text or kind}", token.position)
        return self._next()

    def parse(self) -> GenQuery:
        self._expect("KEYWORD", "SELECT")
        projections = [self._projection()]
        while self._at("PUNCT", ","):
            self._next()
            projections.append(self._projection())
        texts: list[tuple[str, str]] = []
        if self._at("KEYWORD", "WHERE"):
            self._next()
            texts.append(self._condition())
            while self._at("KEYWORD", "AND"):
                self._next()
                texts.append(self._condition())
        self._expect("END")
        # The catalog reads each condition text only once the whole string parsed (query stage).
        conditions = tuple(Condition(column, catalog_alternatives(text)) for column, text in texts)
        return GenQuery(tuple(projections), conditions)

    def _projection(self) -> Projection:
        name = self._expect("IDENTIFIER").text
        if not self._at("PUNCT", "("):
            return Projection(self._check_column(name))
        self._next()
        column = self._expect("IDENTIFIER").text
        self._expect("PUNCT", ")")
        self._check_column(column)
        function = _FUNCTIONS.get(name.lower())
        if function is None:
            raise GenQueryError(
                "INVALID_GENQUERY_AGGREGATE_FUNCTION", f"aggregate function [{name}] not supported"
            )
        return Projection(column, function)

    def _condition(self) -> tuple[str, str]:
        """A column and its condition text, written back as parser.y does (values between bare quotes)."""
        column = self._expect("IDENTIFIER").text
        text = self._predicate()
        while self._at("PUNCT", "||") or self._at("PUNCT", "&&"):
            text = f"{text} {self._next().text} {self._predicate()}"
        self._check_column(column)
        return column, text

    def _predicate(self) -> str:
        token = self._next()
        if token.kind == "PUNCT" and token.text in _COMPARISONS:
            op = "!=" if token.text == "<>" else token.text
            return f"{op} '{self._string()}'"
        if token.kind == "KEYWORD":
            if token.text in ("LIKE", "BEGIN_OF", "PARENT_OF"):
                return f"{token.text.lower()} '{self._string()}'"
            if token.text == "NOT":
                self._expect("KEYWORD", "LIKE")
                return f"not like '{self._string()}'"
            if token.text == "BETWEEN":
                return f"between '{self._string()}' '{self._string()}'"
            if token.text == "IN":
                return f"in {self._string_list()}"
        found = "end of input" if token.kind == "END" else repr(token.text)
        raise _syntax_error(f"syntax error, unexpected {found}, expecting an operator", token.position)

    def _string(self) -> str:
        return self._expect("STRING").text

    def _string_list(self) -> str:
        parenthesised = self._at("PUNCT", "(")
        if parenthesised:
            self._next()
        values = [f"'{self._string()}'"]
        while self._at("PUNCT", ","):
            self._next()
            values.append(f"'{self._string()}'")
        if parenthesised:
            self._expect("PUNCT", ")")
        listed = ", ".join(values)
        return f"({listed})" if parenthesised else listed


#: iRODS 5.0 replaced 4.3's string splitter with this grammar (irods commit d248a471e, first in 5.0.0).
_BISON_PARSER_SINCE: IrodsRelease = (5, 0, 0)
DEFAULT_RELEASE = irods_release(DEFAULT_IRODS_SERVER_VERSION)


def parse_genquery1(query: str, *, release: IrodsRelease = DEFAULT_RELEASE) -> GenQuery:
    """Parse a GenQuery1 string as the iRODS ``release`` does; raise :class:`GenQueryError` on bad syntax
    or unknown columns (4.3: see ``_genquery43``; 5.0+: the flex/bison grammar above)."""
    if release >= _BISON_PARSER_SINCE:
        return _Parser(_tokenize(query), columns_known(release)).parse()
    return fill_genquery1_43(query, release=release)


# --------------------------------------------------------------------------------------------- evaluator

_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")
_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_META_NAME_COLUMNS = {group: f"{group}_ATTR_NAME" for group in META_OWNER_COLUMN}
_META_VALUE_COLUMNS = {group: f"{group}_ATTR_VALUE" for group in META_OWNER_COLUMN}

_SortKey = tuple[int, Decimal, str]


def ascii_upper(text: str) -> str:
    """Upper-case ASCII letters only, as ``boost::algorithm::to_upper`` does in the C locale."""
    return text.translate(_ASCII_UPPER)


def _key(value: str, *, numeric: bool) -> _SortKey:
    """Order numbers before text for numeric columns (as integers), else compare code points."""
    if numeric and _NUMBER.fullmatch(value.strip()):
        return (0, Decimal(value.strip()), "")
    return (1, Decimal(0), value)


@functools.lru_cache(maxsize=256)
def _like_regex(pattern: str) -> re.Pattern[str]:
    """Translate a SQL LIKE pattern (``%``, ``_``, backslash escapes as in PostgreSQL) into a regex."""
    parts: list[str] = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            parts.append(re.escape(next(chars, "\\")))
        elif char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL)


@functools.lru_cache(maxsize=256)
def _parent_paths(path: str) -> frozenset[str]:
    """The collections ``parent_of`` accepts: every ancestor of ``path`` and ``path`` itself."""
    parts = re.split("/+", path)
    result: set[str] = set()
    current = ""
    for part in parts:
        if not part:
            current += "/"
        else:
            current += ("/" if current and not current.endswith("/") else "") + part
        result.add(current)
    return frozenset(result)


def _test(predicate: Predicate, value: str, *, numeric: bool) -> bool:
    op, literals = predicate.op, predicate.values
    if op in ("like", "not like"):
        return (_like_regex(literals[0]).fullmatch(value) is not None) == (op == "like")
    if op in ("is null", "is not null"):  # 4.3 only; the emulator's stand-in for NULL is ""
        return (value == "") == (op == "is null")
    if op == "begin_of":
        return bool(value) and literals[0].startswith(value)
    if op == "parent_of":
        return value in _parent_paths(literals[0])
    key = _key(value, numeric=numeric)
    bounds = [_key(literal, numeric=numeric) for literal in literals]
    if op == "in":
        return key in bounds
    if op == "between":
        return bounds[0] <= key <= bounds[1]
    return {
        "=": key == bounds[0],
        "!=": key != bounds[0],
        "<": key < bounds[0],
        "<=": key <= bounds[0],
        ">": key > bounds[0],
        ">=": key >= bounds[0],
    }[op]


def _matches(condition: Condition, row: Row, fold: Callable[[str], str]) -> bool:
    value = fold(row[condition.column])
    numeric = condition.column in INTEGER_COLUMNS
    return any(
        all(_test(predicate, value, numeric=numeric) for predicate in group)
        for group in condition.alternatives
    )


@dataclass(frozen=True)
class _ExtraAvuJoin:
    """The k-th (k >= 2) ``META_*_ATTR_NAME`` condition with its paired value condition: iRODS joins
    another copy of the metadata tables for it, so it tests *any* AVU of the same object."""

    group: str
    conditions: tuple[Condition, ...]


def _split_avu_conditions(conditions: Sequence[Condition]) -> tuple[list[Condition], list[_ExtraAvuJoin]]:
    """Pair the n-th attribute-name and n-th attribute-value condition of each metadata group, as
    ``handleMulti*AVUConditions`` does; the first pair (and all else) stays on the row itself."""
    direct = list(conditions)
    joins: list[_ExtraAvuJoin] = []
    for group, name_column in _META_NAME_COLUMNS.items():
        names = [c for c in conditions if c.column == name_column]
        values = [c for c in conditions if c.column == _META_VALUE_COLUMNS[group]]
        for k in range(1, len(names)):
            paired = (names[k], values[k]) if k < len(values) else (names[k],)
            joins.append(_ExtraAvuJoin(group, paired))
            direct = [c for c in direct if all(c is not p for p in paired)]
    return direct, joins


def _avus_by_owner(rows: Sequence[Row], group: str) -> dict[str, set[tuple[str, str]]]:
    owner, name, value = META_OWNER_COLUMN[group], _META_NAME_COLUMNS[group], _META_VALUE_COLUMNS[group]
    index: dict[str, set[tuple[str, str]]] = {}
    for row in rows:
        index.setdefault(row[owner], set()).add((row[name], row[value]))
    return index


def _filter(rows: Sequence[Row], conditions: Sequence[Condition], fold: Callable[[str], str]) -> list[Row]:
    direct, joins = _split_avu_conditions(conditions)
    indexes = {join.group: _avus_by_owner(rows, join.group) for join in joins}

    def extra_join_holds(join: _ExtraAvuJoin, row: Row) -> bool:
        name_column, value_column = _META_NAME_COLUMNS[join.group], _META_VALUE_COLUMNS[join.group]
        avus = indexes[join.group].get(row[META_OWNER_COLUMN[join.group]], set())
        return any(
            all(_matches(c, {name_column: n, value_column: v}, fold) for c in join.conditions)
            for n, v in avus
        )

    return [
        row
        for row in rows
        if all(_matches(c, row, fold) for c in direct) and all(extra_join_holds(j, row) for j in joins)
    ]


def _postgres_average(total: int, count: int) -> str:
    """Format ``total / count`` with the scale PostgreSQL's ``avg(bigint)`` uses (``1.5000000000000000``)."""

    def weight_and_first_digit(number: int) -> tuple[int, int]:
        digits = str(abs(number))
        weight = (len(digits) - 1) // 4  # PostgreSQL numerics use base-10000 digits
        return weight, int(digits[: len(digits) - 4 * weight])

    weight1, first1 = weight_and_first_digit(total)
    weight2, first2 = weight_and_first_digit(count)
    qweight = weight1 - weight2 - (1 if first1 <= first2 else 0)
    scale = min(max(16 - 4 * qweight, 0), 1000)
    quotient = (Decimal(total) / Decimal(count)).quantize(Decimal(1).scaleb(-scale), rounding="ROUND_HALF_UP")
    return f"{quotient:f}"


def _aggregate(projection: Projection, rows: Sequence[Row]) -> str:
    values = [row[projection.column] for row in rows]
    if projection.function == "count":
        return str(len(values))
    if not values:
        return ""
    numeric = projection.column in INTEGER_COLUMNS
    if projection.function == "min":
        return min(values, key=lambda v: _key(v, numeric=numeric))
    if projection.function == "max":
        return max(values, key=lambda v: _key(v, numeric=numeric))
    integers = [int(v) for v in values if _NUMBER.fullmatch(v.strip())]
    if not integers:
        return ""
    if projection.function == "sum":
        return str(sum(integers))
    return _postgres_average(sum(integers), len(integers))


def _project(query: GenQuery, rows: Sequence[Row]) -> list[tuple[str, ...]]:
    """Select the columns; with aggregates, GROUP BY the non-aggregated columns."""
    projections = query.projections
    if not any(p.aggregated for p in projections):
        return [tuple(row[p.column] for p in projections) for row in rows]
    plain = [p for p in projections if not p.aggregated]
    groups: dict[tuple[str, ...], list[Row]] = {}
    for row in rows:
        groups.setdefault(tuple(row[p.column] for p in plain), []).append(row)
    if not plain and not groups:
        groups[()] = []  # an aggregate without GROUP BY yields one row even over no rows
    result: list[tuple[str, ...]] = []
    for key, members in groups.items():
        plain_values = iter(key)
        result.append(
            tuple(_aggregate(p, members) if p.aggregated else next(plain_values) for p in projections)
        )
    return result


def _order_keys(projections: Sequence[Projection]) -> list[tuple[int, bool]]:
    """(select index, descending) from most to least significant: the user's order()/order_desc() columns,
    then COLL_NAME, DATA_NAME, DATA_REPL_NUM as iRODS adds them, then every column for a stable result."""
    keys = [
        (i, p.function == "order_desc")
        for i, p in enumerate(projections)
        if p.function in ("order", "order_desc")
    ]
    for column in ("COLL_NAME", "DATA_NAME", "DATA_REPL_NUM"):
        keys += [(i, False) for i, p in enumerate(projections) if p.column == column and not p.aggregated]
    keys += [(i, False) for i in range(len(projections))]
    # A column already ordered on by a more significant key cannot break a tie of its own: once is enough.
    unique: dict[int, tuple[int, bool]] = {}
    for index, descending in keys:
        unique.setdefault(index, (index, descending))
    return list(unique.values())


def _sort(query: GenQuery, rows: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    numeric = [
        p.column in INTEGER_COLUMNS or p.function in ("count", "sum", "avg") for p in query.projections
    ]
    for index, descending in reversed(_order_keys(query.projections)):
        # Text keys compare as the strings themselves (``_key`` puts every text in the same class).
        key = functools.partial(_row_key, index=index, numeric=True) if numeric[index] else itemgetter(index)
        rows.sort(key=key, reverse=descending)
    return rows


def _row_key(row: tuple[str, ...], *, index: int, numeric: bool) -> _SortKey:
    return _key(row[index], numeric=numeric)


def _check_tables(query: GenQuery) -> None:
    """CAT_UNKNOWN_TABLE for a name the catalog cannot place (``generateSQL``, general_query.cpp:1906-1910
    for the select list, then :1958-1962 for the conditions, at 4.3.4), before any SQL runs."""
    for column in [p.column for p in query.projections] + [c.column for c in query.conditions]:
        if column in UNKNOWN_TABLE_COLUMNS:
            raise GenQueryError("CAT_UNKNOWN_TABLE", f"no table for column [{column}]", stage="query")


#: generateSQL builds the extra joins of a second AVU condition for data objects and collections only;
#: a second user, resource or resource-group name condition is CAT_INVALID_ARGUMENT (general_query.cpp
#: :1924-1939 counts them, :2004-2015 refuses, at 4.3.4; the same at 5.0.2).
_SINGLE_AVU_NAME_COLUMNS = ("META_USER_ATTR_NAME", "META_RESC_ATTR_NAME", "META_RESC_GROUP_ATTR_NAME")


def _check_links(query: GenQuery) -> None:
    """CAT_FAILED_TO_LINK_TABLES when the catalog's table tree does not join the query's tables
    (general_query.cpp:1984-1987, see ``_genquery_links``), then the AVU conditions it cannot join twice."""
    selected = tuple(p.column for p in query.projections)
    conditions = tuple(c.column for c in query.conditions)
    if not tables_link(selected, conditions):
        raise GenQueryError("CAT_FAILED_TO_LINK_TABLES", "no join of these tables", stage="query")
    for column in _SINGLE_AVU_NAME_COLUMNS:
        if conditions.count(column) > 1:
            raise GenQueryError("CAT_INVALID_ARGUMENT", f"more than one [{column}] condition", stage="query")


def _check_aggregates(query: GenQuery) -> None:
    for projection in query.projections:
        if projection.function in ("sum", "avg") and projection.column not in INTEGER_COLUMNS:
            raise GenQueryError(
                "CAT_SQL_ERR",
                f"{projection.function}() needs a numeric column, not [{projection.column}]",
                stage="query",
            )


def coll_name_filter(
    query: str, *, case_sensitive: bool = True, release: IrodsRelease = DEFAULT_RELEASE
) -> Callable[[str], bool] | None:
    """The query's ``COLL_NAME`` conditions as a test on a collection path (None: the query has none).

    A row source may skip what fails it before building rows, as the catalog's index on the collection
    name does: the rows that survive and the answer are the same, a listing of one collection among
    100,000 objects just stops costing a scan of all of them.
    """
    parsed = parse_genquery1(query if case_sensitive else ascii_upper(query), release=release)
    conditions = [c for c in parsed.conditions if c.column == "COLL_NAME"]
    if not conditions:
        return None
    fold: Callable[[str], str] = (lambda v: v) if case_sensitive else ascii_upper
    return lambda path: all(_matches(c, {"COLL_NAME": path}, fold) for c in conditions)


def checks_collection_access(
    query: str, *, case_sensitive: bool = True, release: IrodsRelease = DEFAULT_RELEASE
) -> bool:
    """Whether the catalog checks the caller's read access on the collection of each row: for a non-admin
    under the default STRICT ACL policy (core.re.template:93 at 4.3.4), genqAppendAccessCheck adds the
    R_COLL_MAIN test whenever the SQL names that table (general_query.cpp:1676-1694), as it adds the
    R_DATA_MAIN one (:1656-1674). A query selecting only data-object columns checks the object alone."""
    parsed = parse_genquery1(query if case_sensitive else ascii_upper(query), release=release)
    selected = tuple(p.column for p in parsed.projections)
    conditions = tuple(c.column for c in parsed.conditions)
    return sql_names_table(selected, conditions, "R_COLL_MAIN")


def execute_genquery1(
    query: str,
    fetch_rows: Callable[[frozenset[str]], Iterable[Row]],
    *,
    case_sensitive: bool = True,
    release: IrodsRelease = DEFAULT_RELEASE,
    distinct: bool = True,
    offset: int = 0,
    count: int = 15,
) -> list[list[str]]:
    """Run a GenQuery1 query over the rows ``fetch_rows(table_groups)`` supplies; return one page of rows.

    Case-insensitive mode upper-cases the whole query (literals too) and compares upper-cased values.
    """
    parsed = parse_genquery1(query if case_sensitive else ascii_upper(query), release=release)
    _check_tables(parsed)
    _check_links(parsed)
    _check_aggregates(parsed)
    fold: Callable[[str], str] = (lambda v: v) if case_sensitive else ascii_upper
    touched = parsed.columns
    # A row lacking a touched column is one the source could not join: like SQL, it yields nothing.
    joinable = [row for row in fetch_rows(tables_for(touched)) if all(c in row for c in touched)]
    rows = _filter(joinable, parsed.conditions, fold)
    projected = _project(parsed, rows)
    if distinct:
        projected = list(dict.fromkeys(projected))
    start = max(offset, 0)
    return [list(row) for row in _sort(parsed, projected)[start : start + max(count, 0)]]
