"""Every GenQuery1 name an iRODS 4.3/5.0 catalog knows, answered as that catalog answers it, over real HTTP.

The names are rodsGenQueryNames.h's (333 at irods 4.3.4, 330 at 4.3.0, 337 at 5.0.x); where each lives is
general_query_setup.cpp (``sColumn``), what a new zone holds is icatSysInserts.sql plus the schema updates
(scripts/irods/database_upgrade.py), all at tag 4.3.4 unless a line says otherwise.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator

import httpx2
import pytest
from emulator_http import Api, code

from irods_provider._error_codes import error_code
from irods_provider.testing import EmulatorServer


def rows(api: Api, query: str, who: str = "rods", **params: str) -> list[list[str]]:
    answer = api.get("query", who, op="execute_genquery", query=query, **params)
    assert answer.status_code == 200
    assert code(answer) == 0, answer.text
    found: list[list[str]] = answer.json()["rows"]
    return found


def failure(api: Api, query: str) -> int:
    answer = api.get("query", op="execute_genquery", query=query)
    assert answer.status_code == 200
    assert "rows" not in answer.json(), answer.text
    return code(answer)


@pytest.fixture
def api_of(irods_emulator_variants: Callable[..., EmulatorServer]) -> Iterator[Callable[[str], Api]]:
    """``api_of("rods4.3.0")``: a raw client of a fresh emulator answering as that iRODS release."""
    with httpx2.Client(timeout=10) as http:
        yield lambda version: Api(irods_emulator_variants(irods_server_version=version), http)


# ---- R_TOKN_MAIN: the TOKEN_* columns --------------------------------------------------------------------


def test_the_token_table_holds_the_setup_rows_for_every_user(api: Api) -> None:
    """icatSysInserts.sql:3-184 inserts 169 R_TOKN_MAIN rows (id 1622 twice); general_query.cpp:1618-1700
    restricts R_DATA_MAIN, R_COLL_MAIN and ticket strings only, so a rodsuser counts the same rows."""
    assert rows(api, "select count(TOKEN_ID)") == [["169"]]
    assert rows(api, "select count(TOKEN_ID)", who="alice") == [["169"]]
    query = (
        "select TOKEN_NAME, TOKEN_VALUE, TOKEN_VALUE2, TOKEN_VALUE3, TOKEN_COMMENT where TOKEN_ID = '1634'"
    )
    assert rows(api, query) == [["tar file", "text/text", "|.tar|", "", ""]]  # icatSysInserts.sql:110
    # 'zone_type',100,'local','','native zone of this iCAT': the description is token_value2 (:16).
    query = "select TOKEN_VALUE, TOKEN_VALUE2 where TOKEN_NAMESPACE = 'zone_type' and TOKEN_NAME = 'local'"
    assert rows(api, query, who="alice") == [["", "native zone of this iCAT"]]
    query = "select TOKEN_ID, TOKEN_NAME where TOKEN_NAMESPACE = 'user_type'"  # :19-22
    users = [["200", "rodsgroup"], ["201", "rodsadmin"], ["202", "rodsuser"], ["204", "groupadmin"]]
    assert sorted(rows(api, query)) == users


def test_access_names_carry_the_schema_9_underscores_and_ids_sort_as_numbers(api: Api) -> None:
    """database_upgrade.py:113-121 renames eight access types at schema 9 (a new catalog is updated at the
    first server start, database_interface.py:38-53); token_id is INT64TYPE (icatSysTables.sql.pp.in:83),
    so order() sorts 0..10 numerically."""
    query = "select count(TOKEN_ID) where TOKEN_NAMESPACE = 'access_type' and TOKEN_NAME like '% %'"
    assert rows(api, query) == [["6"]]  # 14 of 19 had spaces (icatSysInserts.sql:48-65), 8 renamed
    query = "select TOKEN_ID where TOKEN_NAMESPACE = 'access_type' and TOKEN_NAME = 'read_object'"
    assert rows(api, query) == [["1050"]]
    query = "select order(TOKEN_ID) where TOKEN_NAMESPACE = 'token_namespace'"  # icatSysInserts.sql:3-13
    assert rows(api, query) == [[str(n)] for n in range(11)]


def test_token_times_are_the_setup_literals_from_4_3_1_on(api_of: Callable[[str], Api]) -> None:
    """TOKEN_CREATE_TIME / TOKEN_MODIFY_TIME enter rodsGenQueryNames.h at 4.3.1; the rows hold the file's
    unpadded strings (icatSysInserts.sql:173: 'gzipTar', '1324000000')."""
    query = "select TOKEN_CREATE_TIME, TOKEN_MODIFY_TIME where TOKEN_NAME = 'gzipTar'"
    assert rows(api_of("rods4.3.4"), query) == [["1324000000", "1324000000"]]
    assert failure(api_of("rods4.3.0"), query) == error_code("NO_COLUMN_NAME_FOUND")


# ---- RESC_MODIFY_TIME_MILLIS -------------------------------------------------------------------------------


def _resc_times(api: Api, name: str) -> tuple[str, str]:
    found = rows(api, f"select RESC_MODIFY_TIME, RESC_MODIFY_TIME_MILLIS where RESC_NAME = '{name}'")
    assert len(found) == 1
    return found[0][0], found[0][1]


def test_resource_modify_millis_are_stamped_with_each_change_and_match_stat(api: Api) -> None:
    """demoResc predates the column and has its default '000' (database_connect.py:487 inserts it, the
    schema-11 update adds ``modify_ts_millis varchar(3) default '000'``, database_upgrade.py:162-166);
    chlRegResc and every change stamp it with get_current_time's zero-padded milliseconds
    (db_plugin.cpp:249-258, :4000-4015, :8033-8305), which resources stat reports as last_modified_millis
    (resource_administration.cpp:115-137; resources main.cpp:649 at 0.7.0)."""
    assert _resc_times(api, "demoResc")[1] == "000"
    stat = api.get("resources", op="stat", name="demoResc").json()["info"]
    assert stat["last_modified_millis"] == 0
    assert code(api.post("resources", op="create", name="stamped", type="unixfilesystem")) == 0
    for step in range(2):
        seconds, millis = _resc_times(api, "stamped")
        assert re.fullmatch(r"[0-9]{3}", millis), millis
        info = api.get("resources", op="stat", name="stamped").json()["info"]
        assert (info["last_modified"], info["last_modified_millis"]) == (int(seconds), int(millis))
        if step == 0:
            changed = api.post("resources", op="modify", name="stamped", property="comments", value="c")
            assert code(changed) == 0


def test_resource_modify_millis_is_a_4_3_1_name(api_of: Callable[[str], Api]) -> None:
    """rodsGenQueryNames.h:54 (COL_R_MODIFY_TIME_MILLIS) first appears at 4.3.1."""
    query = "select RESC_MODIFY_TIME_MILLIS where RESC_NAME = 'demoResc'"
    assert rows(api_of("rods4.3.1"), query) == [["000"]]
    assert failure(api_of("rods4.3.0"), query) == error_code("NO_COLUMN_NAME_FOUND")


# ---- META_NAMESPACE_* --------------------------------------------------------------------------------------


def test_every_avu_has_an_empty_namespace(api: Api) -> None:
    """meta_namespace is never written (the one R_META_MAIN insert, db_plugin.cpp:1538, names no such
    column), so each AVU row reads it as "" (general_query_setup.cpp:303-307)."""
    home = "/tempZone/home/rods"
    assert code(api.write(f"{home}/f.txt", b"x")) == 0
    ops = json.dumps([{"operation": "add", "attribute": "a", "value": "v"}])
    for endpoint, key, name in (
        ("collections", "lpath", home),
        ("data-objects", "lpath", f"{home}/f.txt"),
        ("users-groups", "name", "rods"),
        ("resources", "name", "demoResc"),
    ):
        assert code(api.post(endpoint, op="modify_metadata", operations=ops, **{key: name})) == 0
    for kind in ("COLL", "DATA", "USER", "RESC"):
        query = f"select META_{kind}_ATTR_NAME, META_NAMESPACE_{kind} where META_{kind}_ATTR_VALUE = 'v'"
        assert rows(api, query) == [["a", ""]], kind


# ---- tables a new zone leaves empty ------------------------------------------------------------------------

# One column of each table (or its alias) that icatSysInserts.sql fills nothing into and the HTTP API
# never writes: audit, delay rules, server load, the 2.x rule/microservice tables, quotas, and the AVUs
# of rules, microservices, metadata and resource groups (general_query_setup.cpp:306-553).
EMPTY = [
    "AUDIT_OBJ_ID",
    "RULE_EXEC_NAME",
    "SL_HOST_NAME",
    "SLD_LOAD_FACTOR",
    "RULE_NAME",
    "RULE_BASE_MAP_BASE_NAME",
    "DVM_INT_MAP_PATH",
    "DVM_BASE_MAP_BASE_NAME",
    "FNM_EXT_FUNC_NAME",
    "FNM_BASE_MAP_BASE_NAME",
    "RULE_ACCESS_TYPE",
    "MSRVC_NAME",
    "MSRVC_HOST",
    "MSRVC_ACCESS_USER_ID",
    "QUOTA_LIMIT",
    "QUOTA_USAGE",
    "META_RULE_ATTR_NAME",
    "META_MSRVC_ATTR_UNITS",
    "META_MET2_ATTR_VALUE",
    "META_RESC_GROUP_ATTR_NAME",
    "META_NAMESPACE_RULE",
]


@pytest.mark.parametrize("column", EMPTY)
def test_a_column_of_an_empty_table_answers_no_rows(api: Api, column: str) -> None:
    """A known, placeable column over an empty table: CAT_NO_ROWS_FOUND, which the HTTP API answers as
    an empty row list (query/src/main.cpp:236-250 at 0.7.0); count() still answers one row."""
    assert rows(api, f"select {column}") == []
    assert rows(api, f"select count({column})", who="alice") == [["0"]]


def test_alias_tables_alone_read_their_base_table(api: Api) -> None:
    """QUOTA_USER_NAME and QUOTA_RESC_NAME name aliases of R_USER_MAIN / R_RESC_MAIN, RULE_ACCESS_NAME one
    of R_TOKN_MAIN (general_query_setup.cpp:109-111, 117, 500-503, 542-543): selected alone no join is
    needed and no access check applies; with a quota column they meet the empty R_QUOTA_MAIN."""
    assert sorted(rows(api, "select QUOTA_USER_NAME", who="alice")) == sorted(rows(api, "select USER_NAME"))
    assert rows(api, "select QUOTA_RESC_NAME") == [["bundleResc"], ["demoResc"]]
    query = "select RULE_ACCESS_NAME where RULE_TOKEN_NAMESPACE = 'zone_type'"
    assert sorted(rows(api, query)) == [["local"], ["remote"]]  # icatSysInserts.sql:16-17
    assert rows(api, "select QUOTA_USER_NAME, QUOTA_LIMIT") == []


# ---- names iRODS knows but cannot place --------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "select RESC_GROUP_NAME",  # sColumn commented out since 4.1 (general_query_setup.cpp:355-357)
        "select COLL_NAME where RESC_GROUP_ID = '1'",
        "select META_ACCESS_NAME",  # r_meta_tokn_accs is no sTable (general_query_setup.cpp:529-533)
        "select COLL_NAME where META_ACCESS_USER_ID = '1'",
    ],
)
def test_a_name_without_a_table_is_cat_unknown_table(api: Api, query: str) -> None:
    """generateSQL returns CAT_UNKNOWN_TABLE when setTable finds no table (general_query.cpp:1906-1910 for
    the select list, :1958-1962 for conditions); the name itself is known, so the fill succeeds."""
    assert failure(api, query) == error_code("CAT_UNKNOWN_TABLE")


def test_the_delay_rule_lock_columns_are_5_0_names(api_of: Callable[[str], Api]) -> None:
    """rodsGenQueryNames.h gains RULE_EXEC_LOCK_HOST, _LOCK_HOST_PID and _LOCK_TIME at 5.0.0."""
    query = "select RULE_EXEC_LOCK_HOST, RULE_EXEC_LOCK_HOST_PID, RULE_EXEC_LOCK_TIME"
    assert rows(api_of("rods5.0.1"), query) == []
    assert failure(api_of("rods4.3.4"), query) == error_code("NO_COLUMN_NAME_FOUND")
