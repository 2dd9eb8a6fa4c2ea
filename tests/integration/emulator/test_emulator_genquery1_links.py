"""GenQuery1 over HTTP when the catalog cannot link the query's tables: what the HTTP API sends back.

The query endpoint runs irods::query, whose query stage throws the catalog's code (irods_query.hpp:466-468
at 4.3.4), and answers HTTP 200 with that code and ``client_display_what()`` in ``irods_response``
(irods_client_http_api endpoints/query/src/main.cpp:253-263 at 0.6.0 and 0.7.0, :252-262 at 0.4.0 and
0.5.0: the same catch).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import httpx2
import pytest
from emulator_http import Api

from irods_provider.testing import EmulatorServer

CAT_FAILED_TO_LINK_TABLES = -825000  # irods 4.3.4 lib/core/include/irods/rodsErrorTable.h:477


@pytest.fixture
def api_at(irods_emulator_at: Callable[[str], EmulatorServer]) -> Iterator[Callable[[str], Api]]:
    with httpx2.Client(timeout=10) as http:
        yield lambda version: Api(irods_emulator_at(version), http)


@pytest.mark.parametrize("version", ["0.5.0", "0.6.0", "0.7.0"])
def test_unlinkable_tables_answer_200_with_the_catalog_code(
    api_at: Callable[[str], Api], version: str
) -> None:
    """R_ZONE_MAIN has no foreign-key link (general_query_setup.cpp:585-705), so generateSQL answers
    CAT_FAILED_TO_LINK_TABLES (general_query.cpp:1984-1987 at 4.3.4) instead of rows."""
    api = api_at(version)
    query = "select ZONE_NAME, COLL_NAME"
    answer = api.get("query", op="execute_genquery", query=query)
    assert answer.status_code == 200
    assert answer.json() == {
        "irods_response": {
            "status_code": CAT_FAILED_TO_LINK_TABLES,
            "status_message": f"CAT_FAILED_TO_LINK_TABLES: query failed for [{query}] type [0]\n\n",
        }
    }


def test_the_case_insensitive_query_is_echoed_upper_cased(api: Api) -> None:
    """case-sensitive=0 upper-cases the query before irods::query sees it (main.cpp:210-213 at 0.7.0)."""
    answer = api.get(
        "query",
        op="execute_genquery",
        query="select TOKEN_NAME where COLL_NAME = 'x'",
        **{"case-sensitive": "0"},
    )
    body = answer.json()["irods_response"]
    assert body["status_code"] == CAT_FAILED_TO_LINK_TABLES
    assert body["status_message"].startswith("CAT_FAILED_TO_LINK_TABLES: query failed for [SELECT TOKEN_NAME")


def test_two_ticket_path_columns_link_only_beside_a_ticket_column(api: Api) -> None:
    """Both are cycler aliases of R_COLL_MAIN (general_query_setup.cpp:179-181): alone they never link,
    with TICKET_STRING the walk starts on R_TICKET_MAIN and reaches both (general_query.cpp:336-462)."""
    alone = api.get("query", op="execute_genquery", query="select TICKET_COLL_NAME, TICKET_DATA_COLL_NAME")
    assert alone.json()["irods_response"]["status_code"] == CAT_FAILED_TO_LINK_TABLES
    query = "select TICKET_STRING, TICKET_COLL_NAME, TICKET_DATA_COLL_NAME"
    beside = api.get("query", op="execute_genquery", query=query)
    assert beside.json() == {"irods_response": {"status_code": 0}, "rows": []}


def test_data_resc_name_is_the_resource_tables_name(api: Api) -> None:
    """DATA_RESC_NAME is R_RESC_MAIN.resc_name like RESC_NAME (general_query_setup.cpp:216, 241 at 4.3.4):
    alone it reads every resource row (no R_DATA_MAIN, so no access check, general_query.cpp:1614-1730);
    with a data column it is the replica's resource, joined on resc_id (:589)."""

    def rows(query: str, who: str) -> list[list[str]]:
        found: list[list[str]] = api.get("query", who, op="execute_genquery", query=query).json()["rows"]
        return found

    assert rows("select DATA_RESC_NAME", "alice") == [["bundleResc"], ["demoResc"]]
    assert api.write("/tempZone/home/alice/x", b"x", "alice").status_code == 200
    assert rows("select DATA_NAME, DATA_RESC_NAME", "alice") == [["x", "demoResc"]]


def test_user_columns_reach_data_objects_and_collections_through_data_acls(api: Api) -> None:
    """R_USER_MAIN's only link towards objects is r_data_access (general_query_setup.cpp:666; r_data_access
    to R_DATA_MAIN :598, R_DATA_MAIN to R_COLL_MAIN :585): USER_NAME beside a data or collection column
    names each user or group with an ACL entry on a data object (in that collection)."""
    api.server.add_user("bob", "bob")
    home = "/tempZone/home/alice"
    assert api.write(f"{home}/x", b"x", "alice").status_code == 200
    grant = json.dumps([{"entity_name": "bob", "acl": "read"}])
    api.post("data-objects", "alice", op="modify_permissions", lpath=f"{home}/x", operations=grant)

    def rows(query: str) -> list[list[str]]:
        found: list[list[str]] = api.get("query", "alice", op="execute_genquery", query=query).json()["rows"]
        return found

    assert rows("select DATA_NAME, USER_NAME") == [["x", "alice"], ["x", "bob"]]
    assert rows(f"select COLL_NAME, USER_NAME where COLL_NAME = '{home}'") == [[home, "alice"], [home, "bob"]]


def test_user_columns_reach_resources_through_data_acls_and_replicas(api: Api) -> None:
    """USER_* beside RESC_* alone: tScan links R_USER_MAIN to R_RESC_MAIN through r_data_access and
    R_DATA_MAIN (general_query_setup.cpp:666, 598, 589 at 4.3.4), so the rows are each user or group with an
    ACL entry on a data object, with the resource of each of its replicas; a resource holding no replica
    (bundleResc) has none. The SQL names R_DATA_MAIN, so a rodsuser sees the entries of objects she may read
    (genqAppendAccessCheck, general_query.cpp:1656-1674), and not R_COLL_MAIN, so no collection check."""
    api.server.add_user("bob", "bob")
    assert api.get("query", op="execute_genquery", query="select USER_NAME, RESC_NAME").json()["rows"] == []
    assert api.write("/tempZone/home/alice/x", b"x", "alice").status_code == 200
    assert api.write("/tempZone/home/bob/y", b"y", "bob").status_code == 200
    grant = json.dumps([{"entity_name": "bob", "acl": "read"}])
    api.post(
        "data-objects", "alice", op="modify_permissions", lpath="/tempZone/home/alice/x", operations=grant
    )

    def rows(query: str, who: str) -> list[list[str]]:
        found: list[list[str]] = api.get("query", who, op="execute_genquery", query=query).json()["rows"]
        return sorted(found)

    assert rows("select USER_NAME, RESC_NAME", "rods") == [["alice", "demoResc"], ["bob", "demoResc"]]
    assert rows("select USER_NAME, RESC_NAME", "alice") == [["alice", "demoResc"], ["bob", "demoResc"]]
    assert rows("select USER_NAME, RESC_NAME", "bob") == [["alice", "demoResc"], ["bob", "demoResc"]]
    assert rows("select USER_NAME where RESC_NAME = 'bundleResc'", "rods") == []
    count = "select count(USER_NAME) where RESC_NAME = 'demoResc'"
    assert (rows(count, "rods"), rows(count, "alice")) == ([["3"]], [["2"]])  # bob's y: alice may not read it


@pytest.mark.parametrize("release", ["4.3.0", "4.3.4"])
def test_user_columns_reach_collection_acls_and_avus_through_data_acls(
    irods_emulator_variants: Callable[..., EmulatorServer], release: str
) -> None:
    """generateSQL joins the tables on tScan's path (general_query.cpp:336-462 at 4.3.4). R_USER_MAIN's only
    link towards objects is r_data_access (general_query_setup.cpp:666), so USER_* beside r_coll_access
    (:597, 620-621), the collection's AVUs (:591, 613) or r_coll_user_main (:649) names the users of the
    collection's data objects' ACLs (through R_DATA_MAIN, :598, 585), not the collection's ACL entries; and
    r_coll_access beside r_data_access joins both objects' ACLs (the same links at 4.3.0)."""
    server = irods_emulator_variants(irods_server_version=release)
    server.add_user("alice", "alice")
    server.add_user("bob", "bob")
    with httpx2.Client(timeout=10) as http:
        api = Api(server, http)
        home = "/tempZone/home/alice"  # its ACL: alice own (and no one else)
        assert api.write(f"{home}/x", b"x", "alice").status_code == 200
        grant = json.dumps([{"entity_name": "bob", "acl": "read"}])
        api.post("data-objects", "alice", op="modify_permissions", lpath=f"{home}/x", operations=grant)
        avu = json.dumps([{"operation": "add", "attribute": "a", "value": "v"}])
        api.post("collections", "alice", op="modify_metadata", lpath=home, operations=avu)

        def rows(select: str) -> list[list[str]]:
            query = f"select {select} where COLL_NAME = '{home}'"
            answer = api.get("query", "alice", op="execute_genquery", query=query).json()
            assert answer["irods_response"]["status_code"] == 0, answer
            return sorted(answer["rows"])

        assert rows("COLL_ACCESS_NAME, USER_NAME") == [["own", "alice"], ["own", "bob"]]
        assert rows("USER_NAME, COLL_USER_NAME") == [["alice", "alice"], ["bob", "alice"]]
        assert rows("USER_NAME, META_COLL_ATTR_NAME") == [["alice", "a"], ["bob", "a"]]
        assert rows("DATA_ACCESS_NAME, COLL_ACCESS_NAME") == [["own", "own"], ["read_object", "own"]]
        # R_USER_MAIN -> R_USER_GROUP -> r_group_main (:667-668): each group of those users, themselves and
        # public included (chlRegUserRE makes a user its own member, db_plugin.cpp:8789-8799; mkuser adds it
        # to public, packaging/core.re.template:20)
        assert rows("USER_GROUP_NAME, DATA_NAME") == [["alice", "x"], ["bob", "x"], ["public", "x"]]
