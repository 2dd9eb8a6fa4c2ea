"""GenQuery2 over real HTTP (``/query op=execute_genquery parser=genquery2``).

Expectations come from the 0.7.0 query endpoint (endpoints/query/src/main.cpp:137-171: rows/sql
inserted verbatim; a failed rc_genquery2 sets 400 and ``{"irods_response":{"status_code":ec}}``, then
``fmt::format`` of the null output throws and the ``std::exception`` handler turns it into HTTP 500
with that body — unverified against a live server) and from iRODS 4.3.4 ``rs_genquery2.cpp`` /
``genquery2_sql.cpp`` (permission join: non-admins see objects their own user can read; 256-row default).
"""

from __future__ import annotations

from collections.abc import Callable

import httpx2
from emulator_http import ZONE, Api, code

from irods_provider.testing import EmulatorServer

HOME = f"/{ZONE}/home/alice"


def gq2(api: Api, who: str, query: str, **extra: str) -> tuple[int, dict[str, object]]:
    r = api.get("query", who, op="execute_genquery", parser="genquery2", query=query, **extra)
    return r.status_code, r.json()


def test_rodsuser_sees_only_collections_their_own_user_can_read(api: Api) -> None:
    status, body = gq2(api, "alice", "select COLL_NAME")
    assert status == 200
    assert body["irods_response"] == {"status_code": 0}
    rows = body["rows"]
    assert [HOME] in rows
    assert [f"/{ZONE}/trash/home/alice"] in rows
    # rods' home has no ACL for alice; /tempZone/home/public is readable only through the group public.
    assert [f"/{ZONE}/home/rods"] not in rows
    assert [f"/{ZONE}/home/public"] not in rows
    _, admin = gq2(api, "rods", "select COLL_NAME")
    assert [f"/{ZONE}/home/rods"] in admin["rows"]
    assert [f"/{ZONE}/home/public"] in admin["rows"]


def test_data_objects_conditions_order_and_range(api: Api) -> None:
    for i in range(6):
        assert api.write(f"{HOME}/g{i}", b"x" * i, user="alice").status_code == 200
    q = f"select DATA_NAME, DATA_SIZE where COLL_NAME = '{HOME}' and DATA_SIZE >= '2' order by DATA_SIZE desc"
    _, body = gq2(api, "alice", q)
    assert body["rows"] == [["g5", "5"], ["g4", "4"], ["g3", "3"], ["g2", "2"]]
    _, body = gq2(api, "alice", q + " limit 2 offset 1")
    assert body["rows"] == [["g4", "4"], ["g3", "3"]]
    q = f"select count(DATA_ID), sum(DATA_SIZE) where COLL_NAME = '{HOME}' and DATA_NAME not in ('g0', 'g1')"
    assert gq2(api, "alice", q)[1]["rows"] == [["4", "14"]]
    # Another user's objects are invisible (no ACL for bob).
    api.server.add_user("bob", "bob")
    assert gq2(api, "bob", f"select DATA_NAME where COLL_NAME = '{HOME}'")[1]["rows"] == []


def test_metadata_is_left_joined(api: Api) -> None:
    api.write(f"{HOME}/tagged", b"1", user="alice")
    api.write(f"{HOME}/plain", b"2", user="alice")
    ops = '[{"operation": "add", "attribute": "a", "value": "v", "units": ""}]'
    r = api.post("data-objects", "alice", op="modify_metadata", lpath=f"{HOME}/tagged", operations=ops)
    assert code(r) == 0
    q = f"select DATA_NAME, META_DATA_ATTR_NAME where COLL_NAME = '{HOME}' order by DATA_NAME"
    assert gq2(api, "alice", q)[1]["rows"] == [["plain", ""], ["tagged", "a"]]
    q = "select DATA_NAME where META_DATA_ATTR_NAME = 'a' and META_DATA_ATTR_VALUE = 'v'"
    assert gq2(api, "alice", q)[1]["rows"] == [["tagged"]]


def test_admin_without_distinct_gets_one_row_per_acl_entry(api: Api) -> None:
    api.write(f"{HOME}/shared", b"s", user="alice")
    r = api.post(
        "data-objects",
        "alice",
        op="set_permission",
        lpath=f"{HOME}/shared",
        **{"entity-name": "rods", "permission": "read"},
    )
    assert code(r) == 0
    q = "select no distinct DATA_NAME where DATA_NAME = 'shared'"
    assert gq2(api, "rods", q)[1]["rows"] == [["shared"], ["shared"]]
    assert gq2(api, "alice", q)[1]["rows"] == [["shared"]]
    q = (
        "select DATA_ACCESS_USER_NAME, DATA_ACCESS_PERM_NAME where DATA_NAME = 'shared'"
        " order by DATA_ACCESS_USER_NAME"
    )
    assert gq2(api, "rods", q)[1]["rows"] == [["alice", "own"], ["rods", "read_object"]]
    # The permission join restricts a rodsuser to their own ACL entry.
    assert gq2(api, "alice", q)[1]["rows"] == [["alice", "own"]]


def test_sql_only_and_error_answers(api: Api) -> None:
    status, body = gq2(api, "alice", "select COLL_NAME", **{"sql-only": "1"})
    assert status == 200
    assert body["irods_response"] == {"status_code": 0}
    assert isinstance(body["sql"], str)
    assert body["sql"].startswith("select distinct ")
    # Syntax error: rs_genquery2 returns SYS_LIBRARY_ERROR; the endpoint answers HTTP 500 with the code.
    status, body = gq2(api, "alice", "select COLL_NAME where")
    assert (status, body) == (500, {"irods_response": {"status_code": -167000}})
    # Unknown column: the SQL generator gives up → SYS_INVALID_INPUT_PARAM; with sql-only, "" and 0.
    status, body = gq2(api, "alice", "select NO_SUCH_COLUMN")
    assert (status, body) == (500, {"irods_response": {"status_code": -130000}})
    status, body = gq2(api, "alice", "select NO_SUCH_COLUMN", **{"sql-only": "1"})
    assert (status, body) == (200, {"irods_response": {"status_code": 0}, "sql": ""})
    # GenQuery1-only parameters are not validated for GenQuery2 (count=x would be 400 for GenQuery1).
    assert gq2(api, "alice", "select COLL_NAME limit 1", count="x")[0] == 200
    r = api.get("query", "alice", op="execute_genquery", parser="genquery3", query="select COLL_NAME")
    assert (r.status_code, r.content) == (400, b"")


def test_unknown_zone_is_sys_invalid_zone_name(api: Api) -> None:
    # rs_genquery2.cpp:64-74 (irods 4.3.4): a zone that does not resolve → SYS_INVALID_ZONE_NAME, before the
    # query is parsed (so also for sql-only and for a bad query); the endpoint answers HTTP 500 with the code.
    for extra in ({}, {"sql-only": "1"}):
        status, body = gq2(api, "alice", "select COLL_NAME where", zone="noSuchZone", **extra)
        assert (status, body) == (500, {"irods_response": {"status_code": -26000}})
    status, body = gq2(api, "alice", "select COLL_NAME", zone=ZONE)
    assert status == 200
    assert [HOME] in body["rows"]


def test_the_5_0_column_map_adds_access_time_and_delay_rule_locks(
    irods_emulator_variants: Callable[..., EmulatorServer],
) -> None:
    """genquery2_table_column_mappings.hpp at 5.0.2 maps DATA_ACCESS_TIME (R_DATA_MAIN access_ts) and
    DELAY_RULE_LOCK_HOST/_PID/_TIME (R_RULE_EXEC); 4.3.2-4.3.4 map neither, so a 4.3 generator calls them
    unknown columns (SYS_INVALID_INPUT_PARAM; with sql-only, "" and 0)."""
    with httpx2.Client(timeout=10) as http:
        new = Api(irods_emulator_variants(irods_server_version="rods5.0.1"), http)
        assert new.write("/tempZone/home/rods/t.txt", b"x").status_code == 200
        status, body = gq2(new, "rods", "select DATA_NAME, DATA_ACCESS_TIME where DATA_NAME = 't.txt'")
        assert status == 200
        assert [row[0] for row in body["rows"]] == ["t.txt"]
        assert gq2(new, "rods", "select DELAY_RULE_LOCK_HOST, DELAY_RULE_LOCK_TIME") == (
            200,
            {"irods_response": {"status_code": 0}, "rows": []},
        )
        old = Api(irods_emulator_variants(irods_server_version="rods4.3.4"), http)
        for column in ("DATA_ACCESS_TIME", "DELAY_RULE_LOCK_HOST_PID"):
            assert gq2(old, "rods", f"select {column}") == (500, {"irods_response": {"status_code": -130000}})
            sql_only = gq2(old, "rods", f"select {column}", **{"sql-only": "1"})
            assert sql_only == (200, {"irods_response": {"status_code": 0}, "sql": ""})
