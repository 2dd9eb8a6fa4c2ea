"""Which GenQuery1 column sets the catalog links, as generateSQL/tScan decide (irods 4.3.4
plugins/database/src/general_query.cpp:336-462, 1892-1987; tables and links general_query_setup.cpp:39-181,
585-705, the same from 4.3.0 to 5.0.2)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pytest

from irods_provider._error_codes import error_code
from irods_provider.testing._genquery import GenQueryError, checks_collection_access, execute_genquery1
from irods_provider.testing._genquery_links import sql_names_table, tables_link

NOT_LINKED = [
    # R_ZONE_MAIN and R_TOKN_MAIN take part in no sFklink at all (general_query_setup.cpp:585-705).
    "select ZONE_NAME, COLL_NAME",
    "select COLL_NAME where ZONE_NAME = 'tempZone'",
    "select TOKEN_NAME where COLL_NAME = '/tempZone'",
    "select USER_NAME, TOKEN_ID",
    # Two cyclers (sTable(..., 1), :109-111 and :179-181) and no other table: tScan starts on the first,
    # finds it and stops there (general_query.cpp:355-376), the second stays unfound.
    "select TICKET_COLL_NAME, TICKET_DATA_COLL_NAME",
    "select QUOTA_USER_NAME, QUOTA_RESC_NAME",
    # R_RULE_EXEC, R_SERVER_LOAD and R_SERVER_LOAD_DIGEST link to nothing either.
    "select RULE_EXEC_NAME, USER_NAME",
    "select SL_HOST_NAME, SLD_RESC_NAME",
]

LINKED = [
    "select COLL_NAME, DATA_NAME, RESC_NAME, META_DATA_ATTR_NAME",
    # R_USER_MAIN -> r_data_access -> R_DATA_MAIN -> R_COLL_MAIN (:666, :598, :585).
    "select COLL_NAME where USER_NAME = 'rods'",
    # The same two cyclers beside a non-cycler: tScan starts on R_TICKET_MAIN and reaches both.
    "select TICKET_STRING, TICKET_COLL_NAME, TICKET_DATA_COLL_NAME",
    "select QUOTA_USER_NAME, QUOTA_LIMIT",
    "select ZONE_NAME, ZONE_TYPE where ZONE_NAME = 'tempZone'",
    # DATA_RESC_HIER is sent as DATA_RESC_ID (rsGenQuery.cpp:434-472 at 4.3.4): a column of R_DATA_MAIN.
    "select DATA_RESC_HIER, COLL_NAME",
]


class NoRows:
    """A row source that records what it was asked for and holds nothing."""

    def __init__(self) -> None:
        self.asked: list[frozenset[str]] = []

    def __call__(self, tables: frozenset[str]) -> Iterable[Mapping[str, str]]:
        self.asked.append(tables)
        return []


@pytest.mark.parametrize("query", NOT_LINKED)
def test_tables_the_catalog_cannot_link_are_cat_failed_to_link_tables(query: str) -> None:
    """generateSQL answers CAT_FAILED_TO_LINK_TABLES (-825000) before any SQL runs (general_query.cpp:
    1984-1987): a query stage error, and no row source is asked."""
    source = NoRows()
    with pytest.raises(GenQueryError) as caught:
        execute_genquery1(query, source)
    assert (caught.value.code, caught.value.stage) == (error_code("CAT_FAILED_TO_LINK_TABLES"), "query")
    assert caught.value.code == -825000  # rodsErrorTable.h:477 at 4.3.4
    assert source.asked == []


@pytest.mark.parametrize("query", LINKED)
def test_tables_the_catalog_links_run(query: str) -> None:
    assert execute_genquery1(query, NoRows()) in ([], [["0"]])


@pytest.mark.parametrize("release", [(4, 3, 0), (4, 3, 4), (5, 0, 1)])
def test_both_parsers_hand_the_catalog_the_same_link_decision(release: tuple[int, int, int]) -> None:
    """4.3's string splitter and 5.0's grammar both end in generateSQL (general_query.cpp is the same
    tree walk at 4.3.0 and 5.0.2)."""
    with pytest.raises(GenQueryError) as caught:
        execute_genquery1("select ZONE_NAME where COLL_NAME = '/x'", NoRows(), release=release)
    assert caught.value.code == error_code("CAT_FAILED_TO_LINK_TABLES")


def test_unknown_table_comes_before_the_link() -> None:
    """setTable's CAT_UNKNOWN_TABLE returns inside the column loops (general_query.cpp:1906-1910,
    1958-1962), before tScan runs."""
    with pytest.raises(GenQueryError) as caught:
        execute_genquery1("select ZONE_NAME, RESC_GROUP_NAME where COLL_NAME = '/x'", NoRows())
    assert caught.value.code == error_code("CAT_UNKNOWN_TABLE")


def test_the_walk_follows_the_select_list_then_the_conditions() -> None:
    """The start table is the last non-cycler of the select list, then of the conditions (:1913-1916,
    1963-1965); a cycler selected first is only the start when nothing else is."""
    assert tables_link(("TICKET_COLL_NAME", "TICKET_STRING"), ())
    assert tables_link(("TICKET_COLL_NAME",), ("TICKET_DATA_COLL_NAME", "TICKET_ID"))
    assert not tables_link(("TICKET_COLL_NAME",), ("TICKET_DATA_COLL_NAME",))
    assert tables_link(("QUOTA_RESC_NAME",), ())


# Whether generateSQL's select list or where clause names R_COLL_MAIN, which makes genqAppendAccessCheck
# add the collection read check for a rodsuser (general_query.cpp:1676-1694 at 4.3.4): a column of the
# table (:696-698, 742-744) or a link whose connecting SQL names it (tScan, :391-395, 430-434).
NAMES_COLL_MAIN = [
    ("select COLL_NAME", True),
    ("select DATA_NAME where COLL_NAME = '/z'", True),
    # R_DATA_MAIN -> R_COLL_MAIN -> r_coll_metamap (general_query_setup.cpp:585, 591)
    ("select DATA_NAME where META_COLL_ATTR_NAME = 'a'", True),
    # R_USER_MAIN -> r_data_access -> R_DATA_MAIN: no collection in the SQL
    ("select DATA_NAME, USER_NAME", False),
    ("select DATA_NAME, DATA_SIZE where DATA_NAME = 'x'", False),
    ("select DATA_NAME, DATA_ACCESS_NAME, RESC_NAME", False),
    # the ticket's collection aliases are written as r_ticket_*coll_main (:179-181), never R_COLL_MAIN
    ("select TICKET_STRING, TICKET_COLL_NAME", False),
]


@pytest.mark.parametrize(("query", "names"), NAMES_COLL_MAIN)
def test_the_sql_names_r_coll_main_as_generate_sql_writes_it(query: str, names: bool) -> None:
    assert checks_collection_access(query) is names


def test_the_ticket_data_collection_link_names_r_data_main() -> None:
    """general_query_setup.cpp:704: the link's SQL goes through R_DATA_MAIN, a table at neither end."""
    assert sql_names_table(("TICKET_STRING", "TICKET_DATA_COLL_NAME"), (), "R_DATA_MAIN")
    assert not sql_names_table(("TICKET_STRING", "TICKET_COLL_NAME"), (), "R_DATA_MAIN")
