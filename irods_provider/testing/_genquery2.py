"""GenQuery2 for the emulator: the iRODS server's grammar and answers, evaluated over the catalog rows.

Read from irods/irods 4.3.4 ``server/genquery2``: the flex lexer (``dsl/lexer.l``), the bison grammar
(``dsl/parser.y``), the column mapping (``genquery2_table_column_mappings.hpp``) and the SQL generator
(``genquery2_sql.cpp``), plus ``server/api/src/rs_genquery2.cpp`` for the error codes:

* a lexer or grammar error → ``SYS_LIBRARY_ERROR`` (the parser throws ``std::invalid_argument``);
* an unknown column, or tables that cannot be joined → the generator logs, returns an empty SQL string
  and the API answers ``SYS_INVALID_INPUT_PARAM`` — but with ``sql-only=1`` it answers ``""`` and 0;
* a database error (e.g. an unknown SQL function) → ``SYS_LIBRARY_ERROR``.

Visibility is the generator's permission join: a rodsadmin sees every data object and collection that
has any ACL entry; anyone else only those on which *their own user* (not a group) holds at least
``read_object``. Metadata columns are LEFT joins (objects without AVUs yield empty values). Without
``LIMIT`` at most 256 rows come back. The SQL returned for ``sql-only`` is shaped like the server's
(``select distinct … from R_COLL_MAIN t0 … fetch first 256 rows only``) but is not byte-identical.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from irods_provider.testing._error_table import error_code
from irods_provider.testing._genquery_columns import INTEGER_COLUMNS, PERMISSION_IDS

__all__ = [
    "COLUMNS",
    "DEFAULT_ROWS",
    "PERMISSION_IDS",
    "GenQuery2Error",
    "execute_genquery2",
    "parse_genquery2",
    "to_sql",
]

DEFAULT_ROWS = 256  # rs_genquery2.cpp: opts.default_number_of_rows


class GenQuery2Error(Exception):
    """A GenQuery2 failure with the iRODS error the server's ``rc_genquery2`` returns."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.code = error_code(name)
        self.message = message


# --------------------------------------------------------------------------------------------- lexer

_KEYWORDS = frozenset(
    {
        "SELECT",
        "WHERE",
        "LIKE",
        "IN",
        "BETWEEN",
        "NO",
        "DISTINCT",
        "ORDER",
        "BY",
        "ASC",
        "DESC",
        "OFFSET",
        "LIMIT",
        "FETCH",
        "FIRST",
        "ROWS",
        "ONLY",
        "CASE",
        "WHEN",
        "ELSE",
        "END",
        "GROUP",
        "HAVING",
        "EXISTS",
        "IS",
        "NULL",
        "NOT",
        "AND",
        "OR",
        "CAST",
        "AS",
    }
)
_OPERATORS = ("!=", "<>", "<=", ">=", "=", "<", ">", ",", "(", ")")
_IDENT = re.compile(r"[a-zA-Z][a-zA-Z0-9_]*")
_INTEGER = re.compile(r"-?[0-9]+")
_HEX = re.compile(r"\\x[0-9A-Fa-f]{2}")


@dataclass(frozen=True)
class _Token:
    kind: str  # KEYWORD, IDENT, STRING, INT, OP, END
    text: str
    column: int


def _syntax_error(message: str) -> GenQuery2Error:
    return GenQuery2Error("SYS_LIBRARY_ERROR", message)


def _read_literal(query: str, start: int) -> tuple[str, int]:
    """A ``'…'`` literal from ``start``: ``''`` is a quote, ``\\xHH`` one byte, anything else itself."""
    out = bytearray()
    i = start + 1
    while i < len(query):
        if query.startswith("''", i):
            out += b"'"
            i += 2
        elif query[i] == "'":
            return out.decode("utf-8", "replace"), i + 1
        elif _HEX.match(query, i):
            out.append(int(query[i + 2 : i + 4], 16))
            i += 4
        else:
            out += query[i].encode()
            i += 1
    raise _syntax_error(f"missing closing single quote: [{out.decode('utf-8', 'replace')}]")


def _tokenize(query: str) -> list[_Token]:
    """Flex's longest-match rules of ``lexer.l``; only space, tab and newline are whitespace."""
    tokens: list[_Token] = []
    i = 0
    while i < len(query):
        char = query[i]
        if char in " \t\n":
            i += 1
        elif char == "'":
            value, end = _read_literal(query, i)
            tokens.append(_Token("STRING", value, i + 1))
            i = end
        elif match := _IDENT.match(query, i):
            word = match.group()
            kind = "KEYWORD" if word.upper() in _KEYWORDS else "IDENT"
            tokens.append(_Token(kind, word.upper() if kind == "KEYWORD" else word, i + 1))
            i = match.end()
        elif match := _INTEGER.match(query, i):
            tokens.append(_Token("INT", match.group(), i + 1))
            i = match.end()
        else:
            op = next((o for o in _OPERATORS if query.startswith(o, i)), None)
            if op is None:
                raise _syntax_error(f"invalid character: {char}")
            tokens.append(_Token("OP", "!=" if op == "<>" else op, i + 1))
            i += len(op)
    tokens.append(_Token("END", "", len(query) + 1))
    return tokens


# ---------------------------------------------------------------------------------------------- AST


@dataclass(frozen=True)
class Column:
    """A column, optionally ``cast(COL as type)``."""

    name: str
    cast: str = ""


@dataclass(frozen=True)
class Function:
    """``name(arg, …)``: arguments are literals (str), integers (int), columns or functions."""

    name: str
    args: tuple[str | int | Column | Function, ...]


Expression = Column | Function


@dataclass(frozen=True)
class Condition:
    """``lhs op literals`` with op one of = != < <= > >= like in between null; ``negated`` for NOT …"""

    lhs: Expression
    op: str
    literals: tuple[str, ...] = ()
    negated: bool = False


@dataclass(frozen=True)
class Logical:
    """``and``/``or`` of two sub-trees, or ``not`` of one (``right`` None)."""

    op: str
    left: Tree
    right: Tree | None = None


Tree = Condition | Logical


@dataclass
class Select:
    """A parsed GenQuery2 statement."""

    projections: list[Expression]
    distinct: bool = True
    where: Tree | None = None
    group_by: list[str] = field(default_factory=list)
    order_by: list[tuple[Expression, bool]] = field(default_factory=list)  # (expr, ascending)
    limit: int | None = None
    offset: int = 0


# ------------------------------------------------------------------------------------------- parser


class _Parser:
    """Recursive descent over the token list, accepting exactly what ``parser.y`` accepts."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self, offset: int = 0) -> _Token:
        return self.tokens[min(self.pos + offset, len(self.tokens) - 1)]

    def at(self, kind: str, text: str | None = None, offset: int = 0) -> bool:
        token = self.peek(offset)
        return token.kind == kind and (text is None or token.text == text)

    def accept(self, kind: str, text: str | None = None) -> _Token | None:
        if self.at(kind, text):
            self.pos += 1
            return self.tokens[self.pos - 1]
        return None

    def expect(self, kind: str, text: str | None = None) -> _Token:
        token = self.accept(kind, text)
        if token is None:
            bad = self.peek()
            what = bad.text or "end of input"
            raise _syntax_error(f"syntax error, unexpected {what} at position {bad.column}")
        return token

    def positive(self) -> int:
        token = self.expect("INT")
        if token.text.startswith("-"):
            raise _syntax_error(f"syntax error, unexpected {token.text} at position {token.column}")
        return int(token.text)

    def parse(self) -> Select:
        self.expect("KEYWORD", "SELECT")
        distinct = not (self.accept("KEYWORD", "NO") and self.expect("KEYWORD", "DISTINCT"))
        select = Select(self.comma_list(self.expression), distinct)
        if self.accept("KEYWORD", "WHERE"):
            select.where = self.or_tree()
        if self.accept("KEYWORD", "GROUP"):
            self.expect("KEYWORD", "BY")
            select.group_by = [t.name for t in self.comma_list(lambda: Column(self.expect("IDENT").text))]
        # parser.y: [order_by] [range], or range then order_by; each at most once.
        if self.at("KEYWORD", "ORDER"):
            self.order_by(select)
            if not self.at("END"):
                self.range(select)
        elif not self.at("END"):
            self.range(select)
            if self.at("KEYWORD", "ORDER"):
                self.order_by(select)
        self.expect("END")
        return select

    def comma_list(self, item: Callable[[], Column | Expression]) -> list[Expression]:
        items = [item()]
        while self.accept("OP", ","):
            items.append(item())
        return items

    def expression(self) -> Expression:
        if self.accept("KEYWORD", "CAST"):
            self.expect("OP", "(")
            name = self.expect("IDENT").text
            self.expect("KEYWORD", "AS")
            type_name = self.expect("IDENT").text
            if self.accept("OP", "("):
                type_name += f"({self.positive()})"
                self.expect("OP", ")")
            self.expect("OP", ")")
            return Column(name, type_name)
        name = self.expect("IDENT").text
        if not self.accept("OP", "("):
            return Column(name)
        args: list[str | int | Column | Function] = []
        if not self.at("OP", ")"):
            while True:
                if token := self.accept("STRING"):
                    args.append(token.text)
                elif token := self.accept("INT"):
                    args.append(int(token.text))
                else:
                    args.append(self.expression())
                if not self.accept("OP", ","):
                    break
        self.expect("OP", ")")
        return Function(name, tuple(args))

    def or_tree(self) -> Tree:
        tree = self.and_tree()
        while self.accept("KEYWORD", "OR"):
            tree = Logical("or", tree, self.and_tree())
        return tree

    def and_tree(self) -> Tree:
        tree = self.not_tree()
        while self.accept("KEYWORD", "AND"):
            tree = Logical("and", tree, self.not_tree())
        return tree

    def not_tree(self) -> Tree:
        if self.accept("KEYWORD", "NOT"):
            return Logical("not", self.not_tree())
        if self.accept("OP", "("):
            tree = self.or_tree()
            self.expect("OP", ")")
            return tree
        return self.condition(self.expression())

    def condition(self, lhs: Expression) -> Condition:
        negated = bool(self.accept("KEYWORD", "NOT"))
        if self.accept("KEYWORD", "LIKE"):
            return Condition(lhs, "like", (self.expect("STRING").text,), negated)
        if self.accept("KEYWORD", "IN"):
            self.expect("OP", "(")
            values = [self.expect("STRING").text]
            while self.accept("OP", ","):
                values.append(self.expect("STRING").text)
            self.expect("OP", ")")
            return Condition(lhs, "in", tuple(values), negated)
        if self.accept("KEYWORD", "BETWEEN"):
            low = self.expect("STRING").text
            self.expect("KEYWORD", "AND")
            return Condition(lhs, "between", (low, self.expect("STRING").text), negated)
        if negated:
            self.expect("KEYWORD", "LIKE")  # NOT must be followed by LIKE, IN or BETWEEN
        if self.accept("KEYWORD", "IS"):
            is_not = bool(self.accept("KEYWORD", "NOT"))
            self.expect("KEYWORD", "NULL")
            return Condition(lhs, "null", (), is_not)
        op = self.expect("OP")
        if op.text not in ("=", "!=", "<", "<=", ">", ">="):
            raise _syntax_error(f"syntax error, unexpected {op.text} at position {op.column}")
        return Condition(lhs, op.text, (self.expect("STRING").text,))

    def order_by(self, select: Select) -> None:
        self.expect("KEYWORD", "ORDER")
        self.expect("KEYWORD", "BY")
        while True:
            expr = self.expression()
            ascending = not self.accept("KEYWORD", "DESC")
            if ascending:
                self.accept("KEYWORD", "ASC")
            select.order_by.append((expr, ascending))
            if not self.accept("OP", ","):
                return

    def range(self, select: Select) -> None:
        if self.accept("KEYWORD", "OFFSET"):
            select.offset = self.positive()
            if self.accept("KEYWORD", "LIMIT"):
                select.limit = self.positive()
            elif self.at("KEYWORD", "FETCH"):
                select.limit = self.fetch_first()
        elif self.at("KEYWORD", "FETCH"):
            select.limit = self.fetch_first()
            if self.accept("KEYWORD", "OFFSET"):
                select.offset = self.positive()
        else:
            self.expect("KEYWORD", "LIMIT")
            select.limit = self.positive()
            if self.accept("KEYWORD", "OFFSET"):
                select.offset = self.positive()

    def fetch_first(self) -> int:
        self.expect("KEYWORD", "FETCH")
        self.expect("KEYWORD", "FIRST")
        rows = self.positive()
        self.expect("KEYWORD", "ROWS")
        self.expect("KEYWORD", "ONLY")
        return rows


def parse_genquery2(query: str) -> Select:
    """Parse a GenQuery2 string; a lexer or grammar error raises SYS_LIBRARY_ERROR."""
    return _Parser(_tokenize(query)).parse()


# ------------------------------------------------------------------------------------------ columns

# GenQuery2 column -> (server table, emulator row key). Row keys are the GenQuery1 row columns of
# _queryrows.py; a key absent from a row reads as the catalog's default (see _DEFAULTS).
_COLUMNS: dict[str, tuple[str, str]] = {
    **{c: ("R_COLL_MAIN", c) for c in ("COLL_ID", "COLL_NAME", "COLL_PARENT_NAME", "COLL_INHERITANCE")},
    **{c: ("R_COLL_MAIN", c) for c in ("COLL_CREATE_TIME", "COLL_MODIFY_TIME", "COLL_TYPE", "COLL_MAP_ID")},
    **{c: ("R_COLL_MAIN", c) for c in ("COLL_COMMENTS", "COLL_INFO1", "COLL_INFO2")},
    "DATA_COLL_ID": ("R_DATA_MAIN", "COLL_ID"),
    **{
        c: ("R_DATA_MAIN", c)
        for c in (
            "DATA_ID",
            "DATA_NAME",
            "DATA_REPL_NUM",
            "DATA_VERSION",
            "DATA_TYPE_NAME",
            "DATA_SIZE",
            "DATA_PATH",
            "DATA_REPL_STATUS",
            "DATA_STATUS",
            "DATA_CHECKSUM",
            "DATA_EXPIRY",
            "DATA_MAP_ID",
            "DATA_COMMENTS",
            "DATA_CREATE_TIME",
            "DATA_MODIFY_TIME",
            "DATA_MODE",
        )
    },
    "DATA_RESC_ID": ("R_DATA_MAIN", "RESC_ID"),
    "DATA_RESC_HIER": ("R_DATA_MAIN", "DATA_RESC_HIER"),
    "DATA_ACCESS_PERM_ID": ("R_DATA_MAIN", "DATA_ACCESS_PERM_ID"),
    "DATA_ACCESS_PERM_NAME": ("R_DATA_MAIN", "DATA_ACCESS_NAME"),
    "DATA_ACCESS_USER_ID": ("R_DATA_MAIN", "DATA_ACCESS_USER_ID"),
    "DATA_ACCESS_USER_NAME": ("R_DATA_MAIN", "USER_NAME"),
    "DATA_ACCESS_USER_ZONE": ("R_DATA_MAIN", "USER_ZONE"),
    "COLL_ACCESS_PERM_ID": ("R_COLL_MAIN", "COLL_ACCESS_PERM_ID"),
    "COLL_ACCESS_PERM_NAME": ("R_COLL_MAIN", "COLL_ACCESS_NAME"),
    "COLL_ACCESS_USER_ID": ("R_COLL_MAIN", "COLL_ACCESS_USER_ID"),
    "COLL_ACCESS_USER_NAME": ("R_COLL_MAIN", "USER_NAME"),
    "COLL_ACCESS_USER_ZONE": ("R_COLL_MAIN", "USER_ZONE"),
    **{
        f"META_{k}_{s}": (t, f"META_{k}_{s}")
        for k, t in (("DATA", "R_DATA_MAIN"), ("COLL", "R_COLL_MAIN"))
        for s in ("ATTR_NAME", "ATTR_VALUE", "ATTR_UNITS", "ATTR_ID", "CREATE_TIME", "MODIFY_TIME")
    },
    **{
        f"META_{k}_{s}": (t, f"META_{k}_{s}")
        for k, t in (("RESC", "R_RESC_MAIN"), ("USER", "R_USER_MAIN"))
        for s in ("ATTR_NAME", "ATTR_VALUE", "ATTR_UNITS", "ATTR_ID", "CREATE_TIME", "MODIFY_TIME")
    },
    **{c: ("R_USER_MAIN", c) for c in ("USER_ID", "USER_NAME", "USER_TYPE", "USER_ZONE", "USER_INFO")},
    **{c: ("R_USER_MAIN", c) for c in ("USER_COMMENT", "USER_CREATE_TIME", "USER_MODIFY_TIME")},
    "USER_DN_INVALID": ("R_USER_MAIN", "USER_COMMENT"),
    "USER_AUTH_ID": ("R_USER_AUTH", "USER_ID"),
    "USER_DN": ("R_USER_AUTH", "USER_DN"),
    **{
        c: ("R_RESC_MAIN", c)
        for c in (
            "RESC_ID",
            "RESC_NAME",
            "RESC_ZONE_NAME",
            "RESC_TYPE_NAME",
            "RESC_CLASS_NAME",
            "RESC_VAULT_PATH",
            "RESC_FREE_SPACE",
            "RESC_FREE_SPACE_TIME",
            "RESC_INFO",
            "RESC_COMMENT",
            "RESC_STATUS",
            "RESC_CREATE_TIME",
            "RESC_MODIFY_TIME",
            "RESC_MODIFY_TIME_MILLIS",
            "RESC_CHILDREN",
            "RESC_CONTEXT",
            "RESC_PARENT_ID",
            "RESC_PARENT_CONTEXT",
        )
    },
    "RESC_HOSTNAME": ("R_RESC_MAIN", "RESC_LOC"),
    **{
        c: ("R_ZONE_MAIN", c)
        for c in ("ZONE_ID", "ZONE_NAME", "ZONE_TYPE", "ZONE_CONNECTION", "ZONE_COMMENT")
    },
    **{c: ("R_ZONE_MAIN", c) for c in ("ZONE_CREATE_TIME", "ZONE_MODIFY_TIME")},
    "GROUP_ID": ("R_USER_GROUP", "GROUP_ID"),
    "GROUP_MEMBER_ID": ("R_USER_GROUP", "GROUP_MEMBER_ID"),
    **{
        c: ("R_RULE_EXEC", c)
        for c in (
            "DELAY_RULE_ID",
            "DELAY_RULE_NAME",
            "DELAY_RULE_REI_FILE_PATH",
            "DELAY_RULE_USER_NAME",
            "DELAY_RULE_EXE_ADDRESS",
            "DELAY_RULE_EXE_TIME",
            "DELAY_RULE_EXE_FREQUENCY",
            "DELAY_RULE_PRIORITY",
            "DELAY_RULE_ESTIMATED_EXE_TIME",
            "DELAY_RULE_NOTIFICATION_ADDR",
            "DELAY_RULE_LAST_EXE_TIME",
            "DELAY_RULE_STATUS",
            "DELAY_RULE_LOCK_HOST",
            "DELAY_RULE_LOCK_HOST_PID",
            "DELAY_RULE_LOCK_TIME",
        )
    },
    "DATA_ACCESS_TIME": ("R_DATA_MAIN", "DATA_ACCESS_TIME"),
}
# The 5.0 mapping adds these four (genquery2_table_column_mappings.hpp at 5.0.2 against 4.3.4; 4.3.2-4.3.4
# have the same 115 names): a 4.3 server's generator calls them unknown columns.
_COLUMNS_SINCE_5_0 = frozenset(
    {"DATA_ACCESS_TIME", "DELAY_RULE_LOCK_HOST", "DELAY_RULE_LOCK_HOST_PID", "DELAY_RULE_LOCK_TIME"}
)
COLUMNS: frozenset[str] = frozenset(_COLUMNS) - _COLUMNS_SINCE_5_0
"""Every column name GenQuery2 (iRODS 4.3.4) knows; any other name is an unknown column."""
_RELEASE_4_3: tuple[int, int, int] = (4, 3, 4)


def _known(release: tuple[int, int, int]) -> frozenset[str]:
    """The column names the GenQuery2 of iRODS ``release`` maps."""
    return frozenset(_COLUMNS) if release >= (5, 0, 0) else COLUMNS


_DEFAULTS = {"COLL_MAP_ID": "0", "DATA_MAP_ID": "0"}
_NUMERIC = INTEGER_COLUMNS | {"DATA_ACCESS_PERM_ID", "COLL_ACCESS_PERM_ID", "ZONE_ID", "RESC_PARENT_ID"}
_JOINABLE = (  # table sets the generator's join graph connects (R_COLL_MAIN - R_DATA_MAIN - R_RESC_MAIN)
    {"R_COLL_MAIN", "R_DATA_MAIN"},
    {"R_DATA_MAIN", "R_RESC_MAIN"},
    {"R_COLL_MAIN", "R_DATA_MAIN", "R_RESC_MAIN"},
)
_SQL_FUNCTIONS: dict[str, Callable[[list[str]], str]] = {
    "lower": lambda a: a[0].lower(),
    "upper": lambda a: a[0].upper(),
    "length": lambda a: str(len(a[0])),
    "concat": "".join,
}
_AGGREGATES = frozenset({"count", "min", "max", "sum", "avg"})


def _columns_of(expr: Expression | str | int) -> list[Column]:
    if isinstance(expr, Column):
        return [expr]
    if isinstance(expr, Function):
        return [c for a in expr.args for c in _columns_of(a)]
    return []


def _tree_columns(tree: Tree | None) -> list[Column]:
    if tree is None:
        return []
    if isinstance(tree, Condition):
        return _columns_of(tree.lhs)
    return _tree_columns(tree.left) + _tree_columns(tree.right)


@dataclass(frozen=True)
class _Plan:
    """The tables a query touches, or why the generator would refuse it (an empty SQL string)."""

    tables: tuple[str, ...]
    error: str = ""


def _plan(select: Select, known: frozenset[str]) -> _Plan:
    columns = [c for p in select.projections for c in _columns_of(p)] + _tree_columns(select.where)
    tables: list[str] = []
    for column in columns:
        if column.name not in known:
            return _Plan((), f"unknown column: {column.name}")
        table = _COLUMNS[column.name][0]
        if table not in tables:
            tables.append(table)
    unknown = [c for c in select.group_by if c not in known] + [
        c.name for e, _ in select.order_by for c in _columns_of(e) if c.name not in known
    ]
    if unknown:
        return _Plan((), f"unknown column: {unknown[0]}")
    if len(tables) > 1 and set(tables) not in _JOINABLE:
        return _Plan((), "invalid general query")
    return _Plan(tuple(tables))


# ---------------------------------------------------------------------------------------------- SQL

_ALIASES = {"R_COLL_MAIN": "c", "R_DATA_MAIN": "d", "R_RESC_MAIN": "r", "R_USER_MAIN": "u"}


def _sql_expr(expr: Expression | str | int) -> str:
    if isinstance(expr, str):
        return f"'{expr}'"
    if isinstance(expr, int):
        return str(expr)
    if isinstance(expr, Function):
        return f"{expr.name}({', '.join(_sql_expr(a) for a in expr.args)})"
    table = _COLUMNS[expr.name][0]
    ref = f"{_ALIASES.get(table, table.lower())}.{expr.name.lower()}"
    return f"cast({ref} as {expr.cast})" if expr.cast else ref


def _sql_tree(tree: Tree) -> str:
    if isinstance(tree, Logical):
        if tree.op == "not":
            return f"not {_sql_tree(tree.left)}"
        assert tree.right is not None
        return f"({_sql_tree(tree.left)} {tree.op} {_sql_tree(tree.right)})"
    lhs, negation = _sql_expr(tree.lhs), "not " if tree.negated else ""
    if tree.op == "null":
        return f"{lhs} is {negation}null"
    if tree.op == "in":
        return f"{lhs} {negation}in ({', '.join('?' for _ in tree.literals)})"
    if tree.op == "between":
        return f"{lhs} {negation}between ? and ?"
    return f"{lhs} {negation}{tree.op} ?"


def to_sql(select: Select, *, release: tuple[int, int, int] = _RELEASE_4_3) -> str:
    """SQL in the server's shape (bind markers for literals); "" where the generator gives up."""
    plan = _plan(select, _known(release))
    if plan.error:
        return ""
    first = plan.tables[0]
    columns = ", ".join(_sql_expr(p) for p in select.projections)
    sql = (
        f"select {'distinct ' if select.distinct else ''}{columns}"
        f" from {first} {_ALIASES.get(first, first.lower())}"
    )
    for table in plan.tables[1:]:
        sql += f" inner join {table} {_ALIASES.get(table, table.lower())}"
    if select.where is not None:
        sql += f" where {_sql_tree(select.where)}"
    if select.group_by:
        sql += f" group by {', '.join(_sql_expr(Column(c)) for c in select.group_by)}"
    if select.order_by:
        keys = [f"{_sql_expr(e)}{'' if asc else ' desc'}" for e, asc in select.order_by]
        sql += f" order by {', '.join(keys)}"
    sql += f" fetch first {DEFAULT_ROWS if select.limit is None else select.limit} rows only"
    if select.offset:
        sql += f" offset {select.offset}"
    return sql


# --------------------------------------------------------------------------------------- evaluation

Row = Mapping[str, str]
_SortKey = tuple[int, Decimal, str]
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


def _key(value: str, numeric: bool) -> _SortKey:
    if numeric and _NUMBER.fullmatch(value):
        return (0, Decimal(value), "")
    return (1, Decimal(0), value)


def _value(expr: Expression | str | int, row: Row) -> str:
    if isinstance(expr, str):
        return expr
    if isinstance(expr, int):
        return str(expr)
    if isinstance(expr, Column):
        key = _COLUMNS[expr.name][1]
        return row.get(key, _DEFAULTS.get(expr.name, ""))
    function = _SQL_FUNCTIONS.get(expr.name.lower())
    if function is None or expr.name.lower() in _AGGREGATES:
        raise GenQuery2Error("SYS_LIBRARY_ERROR", f"function {expr.name} cannot be evaluated here")
    return function([_value(a, row) for a in expr.args])


def _numeric(expr: Expression | str | int) -> bool:
    if isinstance(expr, Column):
        return expr.name in _NUMERIC and not expr.cast
    return isinstance(expr, Function) and expr.name.lower() in ("count", "sum", "avg", "length")


def _like(pattern: str) -> re.Pattern[str]:
    parts = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            parts.append(re.escape(next(chars, "\\")))
        else:
            parts.append({"%": ".*", "_": "."}.get(char, re.escape(char)))
    return re.compile("".join(parts), re.DOTALL)


def _holds(tree: Tree, row: Row) -> bool:
    if isinstance(tree, Logical):
        if tree.op == "not":
            return not _holds(tree.left, row)
        assert tree.right is not None
        both = (_holds(tree.left, row), _holds(tree.right, row))
        return all(both) if tree.op == "and" else any(both)
    value = _value(tree.lhs, row)
    if tree.op == "null":  # the emulator stores absent values as "" (NULL in a LEFT JOIN)
        return (value != "") if tree.negated else (value == "")
    numeric = _numeric(tree.lhs)
    key = _key(value, numeric)
    bounds = [_key(v, numeric) for v in tree.literals]
    result = {
        "like": lambda: _like(tree.literals[0]).fullmatch(value) is not None,
        "in": lambda: key in bounds,
        "between": lambda: bounds[0] <= key <= bounds[1],
        "=": lambda: key == bounds[0],
        "!=": lambda: key != bounds[0],
        "<": lambda: key < bounds[0],
        "<=": lambda: key <= bounds[0],
        ">": lambda: key > bounds[0],
        ">=": lambda: key >= bounds[0],
    }[tree.op]()
    return result != tree.negated


def _aggregate(function: Function, rows: Sequence[Row]) -> str:
    name = function.name.lower()
    if len(function.args) != 1:
        raise GenQuery2Error("SYS_LIBRARY_ERROR", f"{function.name} takes one argument")
    values = [_value(function.args[0], r) for r in rows]
    if name == "count":
        return str(sum(1 for v in values if v != ""))
    values = [v for v in values if v != ""]
    if not values:
        return ""
    numeric = _numeric(function.args[0])
    if name in ("min", "max"):
        return (min if name == "min" else max)(values, key=lambda v: _key(v, numeric))
    if not all(_NUMBER.fullmatch(v) for v in values):
        raise GenQuery2Error("SYS_LIBRARY_ERROR", f"{function.name}() needs a numeric argument")
    total = sum(Decimal(v) for v in values)
    return str(total if name == "sum" else total / len(values))


def _is_aggregate(expr: Expression) -> bool:
    return isinstance(expr, Function) and expr.name.lower() in _AGGREGATES


def _project(select: Select, rows: Sequence[Row]) -> list[tuple[str, ...]]:
    if not any(_is_aggregate(p) for p in select.projections) and not select.group_by:
        return [tuple(_value(p, r) for p in select.projections) for r in rows]
    grouped = {Column(c) for c in select.group_by}
    for p in select.projections:
        if not _is_aggregate(p) and p not in grouped:  # PostgreSQL: "must appear in the GROUP BY clause"
            raise GenQuery2Error("SYS_LIBRARY_ERROR", f"{_sql_expr(p)} must appear in the GROUP BY clause")
    groups: dict[tuple[str, ...], list[Row]] = {}
    for r in rows:
        groups.setdefault(tuple(_value(Column(c), r) for c in select.group_by), []).append(r)
    if not select.group_by and not groups:
        groups[()] = []
    return [
        tuple(
            _aggregate(p, members) if isinstance(p, Function) else _value(p, members[0])
            for p in select.projections
        )
        for members in groups.values()
    ]


def _sort(select: Select, pairs: list[tuple[tuple[str, ...], Row]], grouped: bool) -> list[tuple[str, ...]]:
    """ORDER BY over (projected row, source row) pairs; PostgreSQL's rules for what may be ordered."""
    for expr, ascending in reversed(select.order_by):
        numeric = _numeric(expr)
        if expr in select.projections:
            index = select.projections.index(expr)
            pairs.sort(key=lambda p, i=index, n=numeric: _key(p[0][i], n), reverse=not ascending)  # type: ignore[misc]
        elif grouped or select.distinct:
            raise GenQuery2Error("SYS_LIBRARY_ERROR", "ORDER BY expressions must appear in the select list")
        else:
            pairs.sort(key=lambda p, e=expr, n=numeric: _key(_value(e, p[1]), n), reverse=not ascending)  # type: ignore[misc]
    return [p[0] for p in pairs]


def execute_genquery2(
    query: str,
    fetch: Callable[[tuple[str, ...], frozenset[str]], list[Row]],
    *,
    sql_only: bool,
    release: tuple[int, int, int] = _RELEASE_4_3,
) -> list[list[str]] | str:
    """Run ``query`` over ``fetch(tables, columns)`` (rows already filtered for the caller's visibility)
    with the column map of iRODS ``release``.

    Returns the SQL with ``sql_only`` (``""`` where the server's generator gives up), else the rows.
    """
    select = parse_genquery2(query)
    plan = _plan(select, _known(release))
    if sql_only:
        return to_sql(select, release=release)
    if plan.error:
        raise GenQuery2Error("SYS_INVALID_INPUT_PARAM", plan.error)
    columns = [c for p in select.projections for c in _columns_of(p)] + _tree_columns(select.where)
    columns += [Column(c) for c in select.group_by] + [c for e, _ in select.order_by for c in _columns_of(e)]
    source = fetch(plan.tables, frozenset(c.name for c in columns))
    source = [r for r in source if select.where is None or _holds(select.where, r)]
    grouped = bool(select.group_by) or any(_is_aggregate(p) for p in select.projections)
    projected = _project(select, source)
    pairs = list(zip(projected, source, strict=True)) if not grouped else [(p, {}) for p in projected]
    if select.distinct:
        pairs = [(p, {}) for p in dict.fromkeys(p for p, _ in pairs)]
    rows = _sort(select, pairs, grouped)
    limit = DEFAULT_ROWS if select.limit is None else select.limit
    return [list(r) for r in rows[select.offset : select.offset + limit]]
