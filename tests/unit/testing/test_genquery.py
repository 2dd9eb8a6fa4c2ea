"""GenQuery1 parser (iRODS 5.0's grammar) and evaluator of the emulator, over synthetic row sources.

iRODS 4.3's string splitter, the emulator's default, is tested in test_genquery43.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from irods_provider._error_codes import error_code
from irods_provider.testing._genquery import (
    COLUMN_TABLES,
    GenQuery,
    GenQueryError,
    Predicate,
)
from irods_provider.testing._genquery import execute_genquery1 as _execute_genquery1
from irods_provider.testing._genquery import parse_genquery1 as _parse_genquery1

IRODS_5 = (5, 0, 1)


def execute_genquery1(query: str, source: FakeSource, **options: Any) -> list[list[str]]:
    """The evaluator with iRODS 5.0's parser unless a test names another release."""
    options.setdefault("release", IRODS_5)
    return _execute_genquery1(query, source, **options)


def parse_genquery1(query: str) -> GenQuery:
    return _parse_genquery1(query, release=IRODS_5)


SYNTAX = error_code("INPUT_ARG_NOT_WELL_FORMED_ERR")
NO_COLUMN = error_code("NO_COLUMN_NAME_FOUND")


class FakeSource:
    """A fetch_rows stand-in: returns fixed rows and records the table groups asked for."""

    def __init__(self, rows: Iterable[Mapping[str, str]]) -> None:
        self.rows = [dict(r) for r in rows]
        self.requests: list[frozenset[str]] = []

    def __call__(self, tables: frozenset[str]) -> list[dict[str, str]]:
        self.requests.append(tables)
        return self.rows


def data_row(coll: str, name: str, **extra: str) -> dict[str, str]:
    """A data-object row with every COLL/DATA column set, overridable by keyword."""
    row = {c: "" for c, g in COLUMN_TABLES.items() if g in ("COLL", "DATA")}
    row.update(
        COLL_ID="1",
        COLL_NAME=coll,
        DATA_ID="10",
        DATA_NAME=name,
        DATA_REPL_NUM="0",
        DATA_SIZE="0",
        DATA_PATH=f"/vault{coll}/{name}",
        RESC_NAME="demoResc",
        DATA_MODIFY_TIME="01700000000",
    )
    row.update(extra)
    return row


SIZES = FakeSource(
    [
        data_row("/z/home/u", "a.txt", DATA_ID="1", DATA_SIZE="2"),
        data_row("/z/home/u", "b.txt", DATA_ID="2", DATA_SIZE="10"),
        data_row("/z/home/u", "c.dat", DATA_ID="3", DATA_SIZE="100"),
        data_row("/z/home/v", "it's_%.txt", DATA_ID="4", DATA_SIZE="7"),
    ]
)


def names(query: str, source: FakeSource = SIZES, **options: object) -> list[str]:
    return [row[0] for row in execute_genquery1(query, source, **options)]  # type: ignore[arg-type]


def error_of(query: str, **options: object) -> GenQueryError:
    with pytest.raises(GenQueryError) as info:
        execute_genquery1(query, SIZES, **options)  # type: ignore[arg-type]
    return info.value


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("DATA_SIZE = '10'", ["b.txt"]),
        ("DATA_SIZE != '10'", ["a.txt", "c.dat", "it's_%.txt"]),
        ("DATA_SIZE <> '10'", ["a.txt", "c.dat", "it's_%.txt"]),
        ("DATA_SIZE < '10'", ["a.txt", "it's_%.txt"]),
        ("DATA_SIZE <= '10'", ["a.txt", "b.txt", "it's_%.txt"]),
        ("DATA_SIZE > '7'", ["b.txt", "c.dat"]),
        ("DATA_SIZE >= '7'", ["b.txt", "c.dat", "it's_%.txt"]),
        ("DATA_SIZE between '3' '10'", ["b.txt", "it's_%.txt"]),
        ("DATA_NAME like '%.txt'", ["a.txt", "b.txt", "it's_%.txt"]),
        ("DATA_NAME like '_.txt'", ["a.txt", "b.txt"]),
        ("DATA_NAME not like '%.txt'", ["c.dat"]),
        ("DATA_NAME like '%\\_\\%%'", ["it's_%.txt"]),
        ("DATA_NAME in ('a.txt', 'c.dat', 'zzz')", ["a.txt", "c.dat"]),
        ("DATA_NAME in 'a.txt', 'c.dat'", ["a.txt", "c.dat"]),
        ("DATA_NAME = 'it''s_%.txt'", ["it's_%.txt"]),
        ("DATA_NAME = '\\x61.txt'", ["a.txt"]),
        ("DATA_SIZE > '5' && < '50'", ["b.txt", "it's_%.txt"]),
        ("DATA_NAME = 'a.txt' || = 'c.dat'", ["a.txt", "c.dat"]),
        ("DATA_NAME = 'a.txt' || > '5' && < '50'", ["a.txt"]),
        ("DATA_SIZE = '2' || > '5' && < '50'", ["a.txt", "b.txt", "it's_%.txt"]),
        ("COLL_NAME = '/z/home/u' and DATA_SIZE > '2'", ["b.txt", "c.dat"]),
        ("COLL_NAME begin_of '/z/home/v/sub'", ["it's_%.txt"]),
        ("COLL_NAME parent_of '/z/home/u'", ["a.txt", "b.txt", "c.dat"]),
        ("COLL_NAME parent_of '/z/home'", []),
        ("DATA_NAME = 'x || y' || = 'a.txt'", ["a.txt"]),
        ("DATA_NAME = 'select where and'", []),
    ],
)
def test_each_operator_filters_rows(condition: str, expected: list[str]) -> None:
    assert names(f"select DATA_NAME where {condition}") == expected


def test_integer_columns_compare_numerically_and_times_as_strings() -> None:
    assert names("select DATA_NAME where DATA_SIZE < '9'") == ["a.txt", "it's_%.txt"]
    # DATA_NAME is text: '10' sorts before '9'.
    assert names("select DATA_NAME where DATA_NAME < '9'", FakeSource([data_row("/c", "10")])) == ["10"]
    # Times are zero-padded strings in the catalog: an unpadded literal compares as text, as in iRODS.
    assert names("select DATA_NAME where DATA_MODIFY_TIME > '1600000000'") == []
    assert names("select DATA_NAME where DATA_MODIFY_TIME > '01600000000'") == [
        "a.txt",
        "b.txt",
        "c.dat",
        "it's_%.txt",
    ]


@pytest.mark.parametrize(
    ("query", "tables"),
    [
        ("select COLL_NAME", {"COLL"}),
        ("select DATA_NAME where COLL_NAME = 'x'", {"COLL", "DATA"}),
        ("select COLL_NAME where META_COLL_ATTR_NAME = 'a'", {"COLL", "META_COLL"}),
        ("select COLL_NAME, DATA_NAME where META_DATA_ATTR_NAME = 'a'", {"COLL", "DATA", "META_DATA"}),
        ("select RESC_NAME", {"RESC"}),
        ("select RESC_NAME, RESC_LOC", {"RESC"}),
        ("select DATA_NAME, RESC_NAME", {"COLL", "DATA"}),
        ("select RESC_NAME where DATA_NAME = 'x'", {"COLL", "DATA"}),
        ("select TICKET_STRING, TICKET_TYPE", {"TICKET"}),
        ("select USER_NAME", {"USER"}),
        ("select USER_NAME where META_USER_ATTR_NAME = 'a'", {"USER", "META_USER"}),
        ("select META_USER_ATTR_VALUE", {"USER", "META_USER"}),
        ("select RESC_NAME where META_RESC_ATTR_NAME = 'a'", {"RESC", "META_RESC"}),
        ("select META_RESC_ATTR_UNITS where META_RESC_ATTR_ID = '5'", {"RESC", "META_RESC"}),
        ("select DATA_NAME where DATA_ACCESS_NAME = 'own'", {"COLL", "DATA", "DATA_ACCESS"}),
        # r_coll_access and r_data_access are two tables (general_query_setup.cpp:54-55 at 4.3.4); R_USER_MAIN
        # reaches a collection only through r_data_access and R_DATA_MAIN (:666, 598, 585).
        ("select COLL_ACCESS_NAME, USER_NAME", {"COLL", "COLL_ACCESS", "DATA", "USER"}),
        ("select USER_NAME, META_COLL_ATTR_NAME", {"COLL", "DATA", "META_COLL", "USER"}),
        # ... and a resource through r_data_access, R_DATA_MAIN and R_RESC_MAIN.resc_id (:666, 598, 589)
        ("select USER_NAME, RESC_NAME", {"COLL", "DATA", "USER"}),
        ("select USER_NAME where RESC_LOC = 'h'", {"COLL", "DATA", "RESC", "USER"}),
    ],
)
def test_fetch_rows_is_asked_for_the_touched_table_groups(query: str, tables: set[str]) -> None:
    source = FakeSource([])
    assert execute_genquery1(query, source) == []
    assert source.requests == [frozenset(tables)]


CASE_ROWS = FakeSource([data_row("/tempZone/home/alice", "test_GenQuery1_CaSE_SENsiTIvE.TxT")])


def test_case_insensitive_mode_upper_cases_query_and_values() -> None:
    query = "select DATA_NAME where COLL_NAME = '/TEMPZONE/HOME/ALICE' and DATA_NAME = '{}'"
    lower = query.format("test_genquery1_case_sensitive.txt")
    assert names(lower, CASE_ROWS, case_sensitive=False) == ["test_GenQuery1_CaSE_SENsiTIvE.TxT"]
    assert names(lower, CASE_ROWS, case_sensitive=True) == []
    assert names("select data_name where coll_name like '%alice'", CASE_ROWS, case_sensitive=False) == [
        "test_GenQuery1_CaSE_SENsiTIvE.TxT"
    ]


def test_keywords_are_case_insensitive_but_column_names_are_not() -> None:
    assert names("SeLeCt DATA_NAME WHERE DATA_SIZE = '2' AnD DATA_NAME LIKE 'a%'") == ["a.txt"]
    assert error_of("select data_name").code == NO_COLUMN


REPLICAS = FakeSource(
    [
        data_row("/z/c", "f", DATA_REPL_NUM="1", DATA_PATH="/v2/f", RESC_NAME="other", DATA_SIZE="5"),
        data_row("/z/c", "f", DATA_REPL_NUM="0", DATA_PATH="/v1/f", RESC_NAME="demoResc", DATA_SIZE="5"),
        data_row("/z/a", "g", DATA_ID="11", DATA_REPL_NUM="0", DATA_SIZE="12"),
        data_row("/z/b", "f", DATA_ID="12", DATA_REPL_NUM="0", DATA_SIZE="3"),
    ]
)


def test_distinct_collapses_duplicate_rows_and_no_distinct_keeps_them() -> None:
    query = "select DATA_NAME where COLL_NAME = '/z/c'"
    assert execute_genquery1(query, REPLICAS) == [["f"]]
    assert execute_genquery1(query, REPLICAS, distinct=False) == [["f"], ["f"]]


def test_default_order_follows_irods_then_select_order() -> None:
    assert execute_genquery1("select DATA_REPL_NUM, DATA_PATH where COLL_NAME = '/z/c'", REPLICAS) == [
        ["0", "/v1/f"],
        ["1", "/v2/f"],
    ]
    # iRODS orders by COLL_NAME before DATA_NAME whatever the select order.
    assert execute_genquery1("select DATA_NAME, COLL_NAME", REPLICAS) == [
        ["g", "/z/a"],
        ["f", "/z/b"],
        ["f", "/z/c"],
    ]
    # Integer columns sort numerically, text columns by code point.
    assert names("select DATA_SIZE", REPLICAS) == ["3", "5", "12"]
    assert names("select DATA_NAME", FakeSource([data_row("/c", "10"), data_row("/c", "9")])) == ["10", "9"]


def test_user_order_comes_first_and_order_desc_reverses() -> None:
    assert execute_genquery1("select order_desc(DATA_SIZE), DATA_NAME", REPLICAS) == [
        ["12", "g"],
        ["5", "f"],
        ["3", "f"],
    ]
    assert execute_genquery1("select COLL_NAME, order_asc(DATA_SIZE)", REPLICAS) == [
        ["/z/b", "3"],
        ["/z/c", "5"],
        ["/z/a", "12"],
    ]
    assert names("select ORDER(DATA_SIZE)", REPLICAS) == ["3", "5", "12"]


def test_aggregates_group_by_the_plain_columns() -> None:
    assert execute_genquery1("select DATA_NAME, count(DATA_ID), sum(DATA_SIZE)", REPLICAS) == [
        ["f", "3", "13"],
        ["g", "1", "12"],
    ]
    assert execute_genquery1(
        "select min(DATA_SIZE), max(DATA_SIZE), max(COLL_NAME), count(DATA_NAME)", REPLICAS
    ) == [["3", "12", "/z/c", "4"]]
    assert execute_genquery1("select avg(DATA_SIZE) where COLL_NAME = '/z/c'", REPLICAS) == [
        ["5.0000000000000000"]
    ]
    assert execute_genquery1("select avg(DATA_SIZE) where DATA_NAME = 'f'", REPLICAS) == [
        ["4.3333333333333333"]
    ]
    assert execute_genquery1("select avg(DATA_REPL_NUM)", REPLICAS) == [["0.25000000000000000000"]]


def test_aggregates_over_no_rows() -> None:
    empty = FakeSource([])
    assert execute_genquery1("select count(DATA_ID), max(DATA_SIZE), sum(DATA_SIZE)", empty) == [
        ["0", "", ""]
    ]
    assert execute_genquery1("select COLL_NAME, count(DATA_ID)", empty) == []


def test_rows_lacking_a_touched_column_are_not_joinable() -> None:
    source = FakeSource([data_row("/c", "x"), {**data_row("/c", "y"), "USER_NAME": "alice"}])
    assert names("select DATA_NAME where USER_NAME = 'alice'", source) == ["y"]
    assert names("select DATA_NAME, USER_NAME", source) == ["y"]
    assert names("select DATA_NAME", source) == ["x", "y"]


def test_sum_over_a_text_column_is_an_sql_error() -> None:
    assert error_of("select sum(DATA_NAME)").code == error_code("CAT_SQL_ERR")


def test_paging_skips_offset_rows_and_returns_at_most_count() -> None:
    source = FakeSource([data_row("/c", f"n{i:02d}") for i in range(40)])
    assert len(execute_genquery1("select DATA_NAME", source)) == 15
    assert names("select DATA_NAME", source, offset=15, count=3) == ["n15", "n16", "n17"]
    assert names("select DATA_NAME", source, offset=38, count=15) == ["n38", "n39"]
    assert names("select DATA_NAME", source, offset=40) == []
    assert names("select DATA_NAME", source, offset=-5, count=1) == ["n00"]


AVUS = FakeSource(
    [
        {**data_row("/c", "both", DATA_ID="1"), **avu}
        for avu in (
            {"META_DATA_ATTR_NAME": "a", "META_DATA_ATTR_VALUE": "1", "META_DATA_ATTR_UNITS": "u"},
            {"META_DATA_ATTR_NAME": "b", "META_DATA_ATTR_VALUE": "2", "META_DATA_ATTR_UNITS": ""},
        )
    ]
    + [
        {
            **data_row("/c", "only_a", DATA_ID="2"),
            "META_DATA_ATTR_NAME": "a",
            "META_DATA_ATTR_VALUE": "1",
            "META_DATA_ATTR_UNITS": "u",
        }
    ]
)


def test_single_avu_condition_set_matches_one_avu() -> None:
    query = "select DATA_NAME where META_DATA_ATTR_NAME = 'a' and META_DATA_ATTR_VALUE = '1'"
    assert names(query, AVUS) == ["both", "only_a"]
    assert names(query + " and META_DATA_ATTR_UNITS = 'u'", AVUS) == ["both", "only_a"]
    assert (
        names("select DATA_NAME where META_DATA_ATTR_NAME = 'a' and META_DATA_ATTR_VALUE = '2'", AVUS) == []
    )


def test_several_avu_name_conditions_each_match_their_own_avu() -> None:
    query = (
        "select DATA_NAME, META_DATA_ATTR_VALUE"
        " where META_DATA_ATTR_NAME = 'a' and META_DATA_ATTR_VALUE = '1'"
        " and META_DATA_ATTR_NAME = 'b' and META_DATA_ATTR_VALUE = '2'"
    )
    assert execute_genquery1(query, AVUS) == [["both", "1"]]
    assert names(query.replace("'2'", "'3'"), AVUS) == []


def owner_avu_rows(group: str, owners: dict[str, dict[str, str]], avus: dict[str, list[tuple[str, ...]]]):
    """Rows of a ``USER``/``RESC`` table joined with its ``META_USER``/``META_RESC`` AVUs (one per AVU)."""
    rows = []
    for name, row in owners.items():
        for i, (attribute, value, units) in enumerate(avus.get(name, [])):
            rows.append(
                {
                    **row,
                    f"{group}_ATTR_ID": str(100 + i),
                    f"{group}_ATTR_NAME": attribute,
                    f"{group}_ATTR_VALUE": value,
                    f"{group}_ATTR_UNITS": units,
                }
            )
    return FakeSource(rows)


USER_AVUS = owner_avu_rows(
    "META_USER",
    {
        "alice": {"USER_ID": "1", "USER_NAME": "alice", "USER_TYPE": "rodsuser"},
        "bob": {"USER_ID": "2", "USER_NAME": "bob", "USER_TYPE": "rodsuser"},
        "staff": {"USER_ID": "3", "USER_NAME": "staff", "USER_TYPE": "rodsgroup"},
    },
    {
        "alice": [("a1", "v1", "u1"), ("a2", "v2", "")],
        "bob": [("a1", "v1", "")],
        "staff": [("a1", "v1", "u1")],
    },
)
RESC_AVUS = owner_avu_rows(
    "META_RESC",
    {
        "demoResc": {"RESC_ID": "10", "RESC_NAME": "demoResc", "RESC_TYPE_NAME": "unixfilesystem"},
        "repl": {"RESC_ID": "11", "RESC_NAME": "repl", "RESC_TYPE_NAME": "replication"},
    },
    {"demoResc": [("a1", "v1", "u1")], "repl": [("a1", "v2", "u1"), ("tier", "fast", "")]},
)


def test_user_metadata_joins_users_and_groups() -> None:
    query = "select USER_NAME where META_USER_ATTR_NAME = 'a1' and META_USER_ATTR_VALUE = 'v1'"
    assert names(query, USER_AVUS) == ["alice", "bob", "staff"]
    assert names(query + " and META_USER_ATTR_UNITS = 'u1'", USER_AVUS) == ["alice", "staff"]
    assert names(query + " and USER_TYPE = 'rodsgroup'", USER_AVUS) == ["staff"]
    assert execute_genquery1(
        "select META_USER_ATTR_NAME, META_USER_ATTR_VALUE where USER_NAME = 'alice'", USER_AVUS
    ) == [["a1", "v1"], ["a2", "v2"]]
    assert USER_AVUS.requests[-1] == frozenset({"USER", "META_USER"})


@pytest.mark.parametrize("group", ["USER", "RESC", "RESC_GROUP"])
def test_a_second_user_or_resource_avu_name_condition_is_cat_invalid_argument(group: str) -> None:
    """generateSQL joins a second AVU name condition for data objects and collections only; for users,
    resources and resource groups it answers CAT_INVALID_ARGUMENT (general_query.cpp:2004-2015 at 4.3.4,
    the same at 5.0.2), after linking the tables."""
    query = (
        f"select USER_NAME where META_{group}_ATTR_NAME = 'a1' and META_{group}_ATTR_VALUE = 'v1'"
        f" and META_{group}_ATTR_NAME = 'a2'"
    )
    if group != "USER":
        query = query.replace("USER_NAME", "RESC_NAME" if group == "RESC" else "META_RESC_GROUP_ATTR_ID")
    with pytest.raises(GenQueryError) as caught:
        execute_genquery1(query, USER_AVUS)
    assert (caught.value.code, caught.value.stage) == (error_code("CAT_INVALID_ARGUMENT"), "query")


def test_resource_metadata_joins_resources() -> None:
    query = "select RESC_NAME where META_RESC_ATTR_NAME = 'a1' and META_RESC_ATTR_UNITS = 'u1'"
    assert names(query, RESC_AVUS) == ["demoResc", "repl"]
    assert names(query + " and META_RESC_ATTR_VALUE = 'v1'", RESC_AVUS) == ["demoResc"]
    assert execute_genquery1(
        "select RESC_NAME, count(META_RESC_ATTR_ID) where RESC_TYPE_NAME = 'replication'", RESC_AVUS
    ) == [["repl", "2"]]
    assert RESC_AVUS.requests[-1] == frozenset({"RESC", "META_RESC"})


# Where the codes come from on the real server: the HTTP API's genquery1 path builds an irods::query
# (irods_client_http_api 0.7.0 endpoints/query/src/main.cpp:241) whose constructor throws the code of the
# client-side fillGenQueryInpFromStrCond (irods 4.3.2 lib/core/include/irods/irods_query.hpp:172-177), and the
# endpoint returns it as 200/E (query/src/main.cpp:253-262). That function (lib/core/src/rcMisc.cpp:3205-3280)
# gives INPUT_ARG_NOT_WELL_FORMED_ERR without "select" (:3249) or for a condition without a space (:3257,
# :3271), and NO_COLUMN_NAME_FOUND for a name not in the column table (:3043 via :3229-3233, :3262-3266).
# Its status_message is "query fill failed for [...]" (irods_query.hpp:176), so no message text is pinned.
VERIFIED_MALFORMED = ["", "COLL_NAME", "select COLL_NAME where COLL_NAME"]
# UNVERIFIED: these pass the client-side fill (or hit undefined behaviour in it) and are refused, if at all,
# by the catalog's SQL generation on the server; the code there is not read. The emulator's choice is pinned.
UNVERIFIED_MALFORMED = [
    "select",
    "select COLL_NAME,",
    "select COLL_NAME where",
    "select COLL_NAME where COLL_NAME = 'a' and",
    "select COLL_NAME where COLL_NAME = 'unterminated",
    "select COLL_NAME where DATA_SIZE > 5",
    'select COLL_NAME where COLL_NAME = "a"',
    "select COLL_NAME where COLL_NAME not in ('a')",
    "select COLL_NAME where COLL_NAME in ()",
    "select COLL_NAME where COLL_NAME between 'a'",
    "select COLL_NAME where COLL_NAME = 'a' or COLL_NAME = 'b'",
    "select COLL_NAME where COLL_NAME = 'a' ||",
    "select count(COLL_NAME",
    "select COLL_NAME; drop table",
    "select COLL_NAME where COLL_NAME == 'a'",
    "select COLL_NAME\rwhere COLL_NAME = 'a'",
]


@pytest.mark.parametrize("query", VERIFIED_MALFORMED)
def test_malformed_queries_are_input_arg_not_well_formed(query: str) -> None:
    assert error_of(query).code == SYNTAX == -1084000


@pytest.mark.parametrize("query", UNVERIFIED_MALFORMED)
def test_other_malformed_queries_unverified_code(query: str) -> None:
    """UNVERIFIED code (see above): pins the emulator's answer so a change is deliberate."""
    assert error_of(query).code == SYNTAX


def test_unknown_column_is_no_column_name_found() -> None:
    """Verified: a name not in the server's column table (rcMisc.cpp:3043, see above)."""
    assert error_of("select NO_SUCH_COLUMN").code == NO_COLUMN == -1107000
    assert error_of("select COLL_NAME where NO_SUCH_COLUMN = 'a'").code == NO_COLUMN


@pytest.mark.parametrize(
    ("query", "expected"),
    [("select COLL_NAME where META_RESC_GROUP_ATTR_NAME = 'a'", []), ("select max(RULE_EXEC_ID)", [[""]])],
)
def test_columns_of_tables_a_new_zone_leaves_empty_answer_no_rows(
    query: str, expected: list[list[str]]
) -> None:
    """The server knows these columns (irods 4.3.4 rodsGenQueryNames.h, general_query_setup.cpp:320-325,
    :362) and reads them from tables nothing fills (icatSysInserts.sql): no rows; max() over none is NULL."""
    assert execute_genquery1(query, SIZES) == expected


def test_names_without_a_table_are_cat_unknown_table() -> None:
    """RESC_GROUP_* lost their sColumn in 4.1 (general_query_setup.cpp:355-357 at 4.3.4): generateSQL
    answers CAT_UNKNOWN_TABLE (general_query.cpp:1906-1910), after the fill accepted the name."""
    error = error_of("select RESC_GROUP_NAME")
    assert (error.code, error.stage) == (error_code("CAT_UNKNOWN_TABLE"), "query")


def test_unknown_function_is_invalid_aggregate_function() -> None:
    assert error_of("select ignored(COLL_NAME)").code == error_code("INVALID_GENQUERY_AGGREGATE_FUNCTION")


def test_parse_exposes_the_structure() -> None:
    parsed = parse_genquery1("select order_desc(DATA_SIZE) where DATA_NAME not like 'x%' || in 'a', 'b'")
    assert parsed.projections[0].column == "DATA_SIZE"
    assert parsed.projections[0].function == "order_desc"
    assert parsed.conditions[0].alternatives == (
        (Predicate("not like", ("x%",)),),
        (Predicate("in", ("a", "b")),),
    )


def quote(value: str) -> str:
    """Write ``value`` as a GenQuery1 literal: double quotes, hide backslashes from the ``\\xHH`` escape."""
    return "'" + value.replace("\\", "\\x5c").replace("'", "''") + "'"


def like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)


@settings(max_examples=60, deadline=None)
@given(values=st.lists(TEXT, min_size=1, max_size=5), pick=st.integers(min_value=0))
def test_escaped_like_and_equality_select_the_same_rows(values: list[str], pick: int) -> None:
    source = FakeSource([data_row("/c", v, DATA_ID=str(i)) for i, v in enumerate(values)])
    target = values[pick % len(values)]
    by_equal = names(f"select DATA_NAME where DATA_NAME = {quote(target)}", source, distinct=False)
    by_like = names(
        f"select DATA_NAME where DATA_NAME like {quote(like_escape(target))}", source, distinct=False
    )
    assert by_equal == by_like == [v for v in values if v == target]


ALL_COLUMNS = [*sorted(c for c, g in COLUMN_TABLES.items() if g in ("COLL", "DATA")), "RESC_NAME"]


@settings(max_examples=60, deadline=None)
@given(columns=st.lists(st.sampled_from(ALL_COLUMNS), min_size=1, max_size=8))
def test_select_of_any_columns_returns_rows_of_that_width(columns: list[str]) -> None:
    source = FakeSource(
        [data_row("/c", "x", DATA_ID="1"), data_row("/d", "y", DATA_ID="2", DATA_REPL_NUM="3")]
    )
    rows = execute_genquery1("select " + ", ".join(columns), source, distinct=False)
    assert len(rows) == 2
    assert all(len(row) == len(columns) for row in rows)
    assert {tuple(row) for row in rows} == {tuple(r[c] for c in columns) for r in source.rows}
