"""GenQuery1 as iRODS 4.3 reads a query string (the emulator's default release), against 5.0's grammar.

Sources: irods 4.3.4 lib/core/src/rcMisc.cpp:3043-3301 (fillGenQueryInpFromStrCond and helpers; getSelVal at
4.3.3 for the older function rule) and plugins/database/src/general_query.cpp:925-1612 (the catalog's reading
of each condition). The table of the first test was confirmed by an adversarial review against those sources.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from irods_provider._error_codes import error_code
from irods_provider.client._genquery import match_condition
from irods_provider.testing._genquery import (
    COLUMN_TABLES,
    DEFAULT_RELEASE,
    GenQueryError,
    execute_genquery1,
    parse_genquery1,
)

IRODS_432, IRODS_434, IRODS_5 = (4, 3, 2), (4, 3, 4), (5, 0, 1)


def data_row(name: str, *, coll: str = "/z/home/u", size: str = "1", data_id: str = "1") -> dict[str, str]:
    row = {c: "" for c, g in COLUMN_TABLES.items() if g in ("COLL", "DATA")}
    row.update(
        COLL_ID="1", COLL_NAME=coll, DATA_ID=data_id, DATA_NAME=name, DATA_REPL_NUM="0", DATA_SIZE=size
    )
    return row


ROWS = [
    data_row("f1.txt", size="3", data_id="1"),
    data_row("nowhere.txt", size="10", data_id="2"),
    data_row("a'b", size="7", data_id="3"),
    data_row("a''b", size="8", data_id="4"),
]


def source(rows: list[dict[str, str]] = ROWS) -> Any:
    return lambda tables: rows


def run(
    query: str, release: tuple[int, int, int], rows: list[dict[str, str]] = ROWS, **kw: Any
) -> list[list[str]]:
    return execute_genquery1(query, source(rows), release=release, count=1000, **kw)


def failure(query: str, release: tuple[int, int, int], **kw: Any) -> GenQueryError:
    with pytest.raises(GenQueryError) as info:
        run(query, release, **kw)
    return info.value


def test_the_emulator_defaults_to_the_4_3_release_it_reports() -> None:
    assert DEFAULT_RELEASE == IRODS_432


# (query, 4.3 error name): each answers rows on 5.0 and fails on 4.3.4 with the code the real library returns.
STRICTER_ON_43 = [
    ("select DATA_NAME where DATA_NAME='f1.txt'", "INPUT_ARG_NOT_WELL_FORMED_ERR"),  # no space after column
    ("select DATA_NAME where DATA_NAME= 'f1.txt'", "NO_COLUMN_NAME_FOUND"),  # column read as "DATA_NAME="
    ("Select DATA_NAME Where DATA_NAME = 'f1.txt'", "INPUT_ARG_NOT_WELL_FORMED_ERR"),  # only select/SELECT
    ("select Count(DATA_NAME)", "INVALID_GENQUERY_AGGREGATE_FUNCTION"),  # only count/COUNT
    (
        "select DATA_NAME WHERE DATA_NAME = 'nowhere.txt'",
        "NO_COLUMN_NAME_FOUND",
    ),  # 'where' found in the value
]


@pytest.mark.parametrize(("query", "name"), STRICTER_ON_43)
def test_queries_the_4_3_splitter_refuses_and_5_0_accepts(query: str, name: str) -> None:
    error = failure(query, IRODS_434)
    assert (error.name, error.code, error.stage) == (name, error_code(name), "fill")
    assert error.status_message(query) == f"{name}: query fill failed for [{query}]\n\n"
    assert run(query, IRODS_5)


def test_before_4_3_4_an_unknown_function_selects_the_plain_column() -> None:
    """getSelVal returned 1 (no function) for any unknown name until 4.3.4, and knew no order_asc."""
    assert run("select Count(DATA_NAME)", IRODS_432) == [["a''b"], ["a'b"], ["f1.txt"], ["nowhere.txt"]]
    assert run("select order_desc(DATA_SIZE), order_asc(DATA_NAME)", IRODS_432)[0] == ["10", "nowhere.txt"]
    assert run("select order_asc(DATA_SIZE)", IRODS_434) == [["3"], ["7"], ["8"], ["10"]]
    assert run("select ORDER_DESC(DATA_SIZE)", IRODS_432) == [["10"], ["8"], ["7"], ["3"]]
    assert run("select COUNT(DATA_ID), SUM(DATA_SIZE), MAX(DATA_ID)", IRODS_432) == [["4", "28", "4"]]


def test_keywords_are_found_by_substring_search() -> None:
    # Lower-case keywords come first, so 'where', 'select' and ' and ' inside values are harmless.
    assert run("select DATA_NAME where DATA_NAME = 'nowhere.txt'", IRODS_434) == [["nowhere.txt"]]
    rows = [data_row("select where and WHERE AND x")]
    assert run(
        "select DATA_NAME where DATA_NAME = 'select where and WHERE AND x' and DATA_SIZE = '1'",
        IRODS_434,
        rows,
    )
    # An upper-case SELECT loses to a lower-case 'select' in a value, and text before the keyword is ignored.
    assert failure("SELECT DATA_NAME WHERE DATA_NAME = 'select'", IRODS_434).name == "NO_COLUMN_NAME_FOUND"
    assert run("anything select DATA_NAME where DATA_NAME = 'f1.txt'", IRODS_434) == [["f1.txt"]]
    assert failure("DATA_NAME", IRODS_434).name == "INPUT_ARG_NOT_WELL_FORMED_ERR"
    # Select items are split at ',' and trimmed; a space inside an item makes it an unknown column.
    assert run("select  DATA_NAME ,DATA_SIZE where DATA_NAME = 'f1.txt'", IRODS_434) == [["f1.txt", "3"]]
    assert failure("select DATA_NAME DATA_SIZE", IRODS_434).name == "NO_COLUMN_NAME_FOUND"
    assert failure("select count (DATA_NAME)", IRODS_434).name == "INVALID_GENQUERY_AGGREGATE_FUNCTION"
    assert failure("select DATA_NAME where", IRODS_434).name == "INPUT_ARG_NOT_WELL_FORMED_ERR"
    # ' and ' is a condition separator wherever the text before it is balanced, so BETWEEN 'a' and 'b' splits.
    query = "select DATA_NAME where DATA_SIZE BETWEEN '4' and '9'"
    assert failure(query, IRODS_434).name == "INPUT_ARG_NOT_WELL_FORMED_ERR"


def test_conditions_split_at_and_outside_quotes_and_parentheses() -> None:
    query = "select DATA_NAME where DATA_NAME = 'f1.txt' AND DATA_SIZE = '3'"
    assert run(query, IRODS_434) == [["f1.txt"]]
    parsed = parse_genquery1("select DATA_NAME where DATA_NAME in ('a and b', 'c') and DATA_SIZE > '1'")
    assert [c.column for c in parsed.conditions] == ["DATA_NAME", "DATA_SIZE"]
    assert parsed.conditions[0].alternatives[0][0].values == ("a and b", "c")


def test_the_catalog_binds_the_text_between_the_first_and_last_quote_verbatim() -> None:
    """insertWhere: '' is no escape on 4.3 (5.0's grammar makes it one quote)."""
    assert run("select DATA_NAME where DATA_NAME = 'a''b'", IRODS_434) == [["a''b"]]
    assert run("select DATA_NAME where DATA_NAME = 'a''b'", IRODS_5) == [["a'b"]]
    assert run("select DATA_NAME where DATA_SIZE > '1' and DATA_NAME = 'a'b'", IRODS_434) == [["a'b"]]
    # Not last: the odd quote keeps the next ' and ' inside this condition, so it binds the rest too.
    assert run("select DATA_NAME where DATA_NAME = 'a'b' and DATA_SIZE > '1'", IRODS_434) == []
    assert run("select DATA_NAME where DATA_NAME = '\\x61''b'", IRODS_434) == []


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("DATA_NAME in ('f1.txt', 'a''b')", ["a", "b", "f1.txt"]),  # every quoted string is a value
        ("DATA_SIZE between '4' '9'", ["a''b", "a'b"]),
        ("DATA_SIZE n> '5'", ["a''b", "a'b", "nowhere.txt"]),
        ("DATA_NAME = 'f1.txt' || = 'nowhere.txt'", ["f1.txt", "nowhere.txt"]),
        ("DATA_SIZE > '5' && < '9'", ["a''b", "a'b"]),
        ("DATA_NAME = 'x || y' || like 'f%'", ["f1.txt"]),
        ("DATA_NAME NOT LIKE '%.txt'", ["a''b", "a'b"]),
        ("DATA_NAME <> 'f1.txt' && not like 'a%'", ["nowhere.txt"]),
        ("DATA_NAME IS NOT NULL", ["a''b", "a'b", "f1.txt", "nowhere.txt"]),
        ("COLL_NAME begin_of '/z/home/u/sub'", ["a''b", "a'b", "f1.txt", "nowhere.txt"]),
    ],
)
def test_catalog_condition_forms(condition: str, expected: list[str]) -> None:
    rows = [*ROWS, data_row("a"), data_row("b")] if "in (" in condition else ROWS
    found = sorted(r[0] for r in run(f"select DATA_NAME where {condition}", IRODS_434, rows))
    assert found == expected


@pytest.mark.parametrize(
    ("condition", "name"),
    [
        ("DATA_NAME 'f1.txt'", "CAT_SQL_ERR"),  # 'col  ?': the database refuses (code not verified)
        ("DATA_NAME == 'f1.txt'", "CAT_SQL_ERR"),
        ("DATA_NAME = f1", "CAT_INVALID_ARGUMENT"),  # no quoted value
        ("DATA_NAME contains 'f'", "CAT_INVALID_ARGUMENT"),  # checkCondition: not an allowed word
        ("DATA_NAME = 'a' || = ", "CAT_INVALID_ARGUMENT"),
        (
            "DATA_NAME      like       'f%'",
            "CAT_INVALID_ARGUMENT",
        ),  # more than 10 characters before the quote
        ("DATA_NAME in ()", "CAT_INVALID_ARGUMENT"),
        ("DATA_NAME between 'a'", "CAT_INVALID_ARGUMENT"),
        ("DATA_NAME IN ('nothing')", "CAT_INVALID_ARGUMENT"),  # the first 'in' is inside the value
    ],
)
def test_conditions_the_catalog_refuses(condition: str, name: str) -> None:
    error = failure(f"select DATA_NAME where {condition}", IRODS_434)
    assert (error.name, error.stage) == (name, "query")
    assert error.status_message("q") == f"{name}: query failed for [q] type [0]\n\n"


def test_case_insensitive_begin_of_is_refused_on_4_3() -> None:
    """The HTTP API upper-cases the whole query; the catalog looks for a lower-case begin_of."""
    query = "select DATA_NAME where COLL_NAME begin_of '/z/home/u/sub'"
    assert failure(query, IRODS_434, case_sensitive=False).name == "CAT_INVALID_ARGUMENT"
    assert run(query, IRODS_5, case_sensitive=False)
    assert run("select DATA_NAME where DATA_NAME like 'F1%'", IRODS_434, case_sensitive=False) == [["f1.txt"]]


HOSTILE = " '\"&=%_#?;,+~!$()[]{}@^`|\\x41" + "äöüßé漢字🙂"
WORDS = st.sampled_from(
    ["where", "WHERE", "select", "SELECT", " and ", " AND ", "||", "&&", "like", "in", "''"]
)
VALUES = st.lists(
    st.one_of(st.text(alphabet=HOSTILE + "abc", min_size=1, max_size=4), WORDS), min_size=1, max_size=5
)


@settings(max_examples=200, deadline=None)
@given(parts=VALUES)
@pytest.mark.parametrize("release", [IRODS_432, IRODS_434, IRODS_5])
def test_the_clients_exact_match_conditions_find_any_name_on_every_release(
    release: tuple[int, int, int], parts: list[str]
) -> None:
    """match_condition (client) → the emulator's parser of each release: the row is found, and any extra
    row the widened ``like`` lets through is one the client's exact re-check drops."""
    name = "".join(parts)
    rows = [
        data_row(name, coll="/z/it's where"),
        data_row("other"),
        data_row(name + "x", coll="/z/it's where"),
    ]
    coll, _ = match_condition("COLL_NAME", "/z/it's where")
    data, recheck = match_condition("DATA_NAME", name)
    found = run(f"select COLL_NAME, DATA_NAME where {coll} and {data}", release, rows)
    assert ["/z/it's where", name] in found
    assert recheck or found == [["/z/it's where", name]]
