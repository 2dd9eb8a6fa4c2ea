"""GenQuery2 grammar of the emulator against iRODS 4.3.4 ``server/genquery2/dsl/{lexer.l,parser.y}``.

Error codes from ``server/api/src/rs_genquery2.cpp``: a parse failure returns SYS_LIBRARY_ERROR (-167000);
an unknown column makes ``to_sql`` (genquery2_sql.cpp) return "" → SYS_INVALID_INPUT_PARAM (-130000),
except with ``sql_only`` where the empty SQL string is returned with status 0.
"""

from __future__ import annotations

import pytest

from irods_provider.testing._genquery2 import (
    Column,
    Condition,
    Function,
    GenQuery2Error,
    Logical,
    execute_genquery2,
    parse_genquery2,
    to_sql,
)


def test_select_where_order_range_forms() -> None:
    s = parse_genquery2(
        "select no distinct COLL_NAME, count(DATA_ID) where DATA_NAME like 'a%' and "
        "(DATA_SIZE > '5' or not DATA_NAME in ('x', 'y')) group by COLL_NAME "
        "order by COLL_NAME desc, DATA_ID limit 5 offset 2"
    )
    assert s.distinct is False
    assert s.projections == [Column("COLL_NAME"), Function("count", (Column("DATA_ID"),))]
    assert s.group_by == ["COLL_NAME"]
    assert s.order_by == [(Column("COLL_NAME"), False), (Column("DATA_ID"), True)]
    assert (s.limit, s.offset) == (5, 2)
    assert isinstance(s.where, Logical)
    assert s.where.op == "and"
    # parser.y range forms: OFFSET n [LIMIT m | FETCH FIRST m ROWS ONLY], FETCH FIRST m ROWS ONLY [OFFSET n],
    # LIMIT m [OFFSET n]; a range may come before ORDER BY.
    for text, expected in (
        ("offset 3", (None, 3)),
        ("offset 3 limit 4", (4, 3)),
        ("offset 3 fetch first 4 rows only", (4, 3)),
        ("fetch first 4 rows only offset 3", (4, 3)),
        ("limit 4 order by COLL_NAME", (4, 0)),
    ):
        s = parse_genquery2(f"SELECT COLL_NAME {text}")
        assert (s.limit, s.offset) == expected


def test_literals_keywords_and_casts() -> None:
    s = parse_genquery2(
        r"SeLeCt cast(DATA_SIZE as varchar(10)) where DATA_NAME = 'it''s \x41' and DATA_ID is not null"
    )
    assert s.projections == [Column("DATA_SIZE", "varchar(10)")]
    assert isinstance(s.where, Logical)
    assert s.where.left == Condition(Column("DATA_NAME"), "=", ("it's A",))
    assert s.where.right == Condition(Column("DATA_ID"), "null", (), True)
    # <> is the same token as != (lexer.l).
    assert parse_genquery2("select COLL_NAME where COLL_NAME <> 'a'").where == Condition(
        Column("COLL_NAME"), "!=", ("a",)
    )


@pytest.mark.parametrize(
    "query",
    [
        "",  # no SELECT
        "select",  # empty projection list
        "select COLL_NAME where",  # no condition
        "select COLL_NAME where COLL_NAME = 'a",  # missing closing quote
        "select COLL_NAME where COLL_NAME = a",  # literal must be quoted
        "select COLL_NAME\r",  # \r is not whitespace in lexer.l
        "select COLL_NAME limit -1",  # NEGATIVE_INTEGER where POSITIVE_INTEGER is expected
        "select COLL_NAME limit 1 limit 2",
        "select COLL_NAME order by COLL_NAME order by COLL_NAME",
        "select COLL_NAME where COLL_NAME not = 'a'",  # NOT only before LIKE/IN/BETWEEN
        "select COLL_NAME; drop table R_COLL_MAIN",  # ';' is an invalid character
    ],
)
def test_syntax_errors_are_sys_library_error(query: str) -> None:
    with pytest.raises(GenQuery2Error) as info:
        parse_genquery2(query)
    assert (info.value.name, info.value.code) == ("SYS_LIBRARY_ERROR", -167000)


def test_unknown_column_and_unjoinable_tables() -> None:
    def no_rows(tables: tuple[str, ...], columns: frozenset[str]) -> list[dict[str, str]]:
        raise AssertionError("the catalog must not be queried")

    for query in (
        "select coll_name",
        "select TICKET_STRING",
        "select USER_NAME, DATA_NAME",
        "select COLL_NAME, RESC_NAME",
    ):
        with pytest.raises(GenQuery2Error) as info:
            execute_genquery2(query, no_rows, sql_only=False)
        assert info.value.code == -130000
        assert execute_genquery2(query, no_rows, sql_only=True) == ""


def test_sql_shape() -> None:
    sql = to_sql(parse_genquery2("select COLL_NAME where COLL_NAME like '/z/%' order by COLL_NAME desc"))
    assert sql.startswith("select distinct c.coll_name from R_COLL_MAIN c where c.coll_name like ?")
    assert sql.endswith(" order by c.coll_name desc fetch first 256 rows only")
