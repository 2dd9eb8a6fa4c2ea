"""GenQuery1 columns of R_ZONE_MAIN and the R_COLL/R_DATA/R_RESC columns the emulator lacked, over HTTP.

Source: irods/irods 4.3.4. Names: ``lib/core/include/irods/rodsGenQueryNames.h:22-29`` (ZONE_*), :62
(DATA_COLL_ID), :78 (DATA_MAP_ID), :97-106 (COLL_MAP_ID, COLL_COMMENTS, COLL_INFO_1/2), :49
(RESC_FREE_SPACE_TIME), :56 (RESC_CHILDREN); tables: ``plugins/database/src/general_query_setup.cpp:185-191``
(zone_id, zone_name, zone_type_name, zone_conn_string, r_comment, create_ts, modify_ts), :223-235, :249,
:280-287. Values: the local zone row is ``(id, name, 'local', '', '', now, now)``
(``scripts/irods/database_connect.py:379``), a remote one ``(id, name, 'remote', conn, comment, now, now)``
(``db_plugin.cpp:5218``, chlRegZone); ``coll_map_id``/``data_map_id`` default to 0 and ``coll_info1/2``
are bound empty for a plain collection (``icatSysTables.sql.pp.in`` R_COLL_MAIN/R_DATA_MAIN,
``db_plugin.cpp:4663``); setting free space stamps ``free_space_ts`` (``db_plugin.cpp:8088``).
"""

from __future__ import annotations

from collections.abc import Callable

import httpx2
import pytest
from emulator_http import ZONE, Api, code

from irods_provider._error_codes import error_code
from irods_provider.testing import EmulatorServer

HOME = f"/{ZONE}/home/alice"


def rows(api: Api, who: str, query: str) -> list[list[str]]:
    r = api.get("query", who, op="execute_genquery", query=query)
    assert r.status_code == 200
    assert code(r) == 0, r.text
    value: list[list[str]] = r.json()["rows"]
    return value


def test_zone_columns_hold_the_local_zone_row_for_every_user(api: Api) -> None:
    local_id = api.get("zones", op="stat", name=ZONE).json()["info"]["id"]
    q = "select ZONE_ID, ZONE_NAME, ZONE_TYPE, ZONE_CONNECTION, ZONE_COMMENT"
    assert rows(api, "rods", q) == [[local_id, ZONE, "local", "", ""]]
    assert rows(api, "alice", f"select ZONE_NAME where ZONE_NAME = '{ZONE}'") == [[ZONE]]
    created, modified = rows(api, "alice", "select ZONE_CREATE_TIME, ZONE_MODIFY_TIME")[0]
    assert len(created) == 11
    assert created.isdigit()
    assert modified == created


def test_zone_columns_follow_add_modify_and_remove(api: Api) -> None:
    r = api.post("zones", op="add", name="otherZone", **{"connection-info": "other.example.org:1247"})
    assert code(r) == 0
    q = "select ZONE_NAME, ZONE_TYPE, ZONE_CONNECTION, ZONE_COMMENT where ZONE_TYPE = 'remote'"
    assert rows(api, "alice", q) == [["otherZone", "remote", "other.example.org:1247", ""]]
    assert code(api.post("zones", op="modify", name="otherZone", property="comment", value="hi")) == 0
    assert rows(api, "alice", q) == [["otherZone", "remote", "other.example.org:1247", "hi"]]
    remote_id = api.get("zones", op="stat", name="otherZone").json()["info"]["id"]
    assert rows(api, "rods", f"select ZONE_NAME where ZONE_ID = '{remote_id}'") == [["otherZone"]]
    assert rows(api, "rods", "select count(ZONE_ID)") == [["2"]]
    assert code(api.post("zones", op="remove", name="otherZone")) == 0
    assert rows(api, "rods", "select ZONE_NAME") == [[ZONE]]


def test_collection_and_data_catalog_columns(api: Api) -> None:
    assert code(api.write(f"{HOME}/c.txt", b"abc", user="alice")) == 0
    coll_id = rows(api, "alice", f"select COLL_ID where COLL_NAME = '{HOME}'")[0][0]
    q = f"select DATA_COLL_ID, DATA_MAP_ID where COLL_NAME = '{HOME}' and DATA_NAME = 'c.txt'"
    assert rows(api, "alice", q) == [[coll_id, "0"]]
    q = f"select COLL_MAP_ID, COLL_COMMENTS, COLL_INFO_1, COLL_INFO_2 where COLL_NAME = '{HOME}'"
    assert rows(api, "alice", q) == [["0", "", "", ""]]
    assert rows(api, "alice", f"select DATA_NAME where DATA_COLL_ID = '{coll_id}'") == [["c.txt"]]


def test_resource_free_space_time_and_children(api: Api) -> None:
    q = "select RESC_FREE_SPACE, RESC_FREE_SPACE_TIME, RESC_CHILDREN where RESC_NAME = 'demoResc'"
    assert rows(api, "rods", q) == [["", "", ""]]
    r = api.post("resources", op="modify", name="demoResc", property="free_space", value="1234")
    assert code(r) == 0
    free, stamped, children = rows(api, "rods", q)[0]
    assert (free, children) == ("1234", "")
    assert len(stamped) == 11
    assert stamped.isdigit()


def test_genquery2_reads_the_same_zone_rows(api: Api) -> None:
    # GenQuery2 maps ZONE_* onto the same R_ZONE_MAIN columns (irods 4.3.4
    # server/genquery2/include/irods/private/genquery2_table_column_mappings.hpp:21-27).
    assert code(api.post("zones", op="add", name="otherZone", comment="far")) == 0
    local_id = api.get("zones", op="stat", name=ZONE).json()["info"]["id"]
    q = "select ZONE_ID, ZONE_NAME, ZONE_TYPE, ZONE_COMMENT where ZONE_TYPE = 'local'"
    r = api.get("query", "alice", op="execute_genquery", parser="genquery2", query=q)
    assert r.status_code == 200
    assert r.json()["rows"] == [[local_id, ZONE, "local", ""]]


def test_a_reset_restores_the_local_zone_row(api: Api) -> None:
    r = api.post("zones", op="modify", name=ZONE, property="comment", value="changed")
    assert code(r) == 0
    assert api.get("zones", op="stat", name=ZONE).json()["info"]["comment"] == "changed"
    api.server.reset()
    api._tokens.clear()
    assert api.get("zones", op="stat", name=ZONE).json()["info"]["comment"] == ""
    assert rows(api, "rods", "select ZONE_COMMENT") == [[""]]


@pytest.mark.parametrize(
    ("release", "known"), [("rods4.3.2", False), ("rods4.3.4", False), ("rods5.0.1", True)]
)
def test_data_access_time_is_a_column_from_irods_5_0_on(
    irods_emulator_variants: Callable[..., EmulatorServer], release: str, known: bool
) -> None:
    # COL_D_ACCESS_TIME / "DATA_ACCESS_TIME" first appears in rodsGenQueryNames.h at 5.0.0 (:85); 4.3.4's
    # table has no such name, so the 4.3 string splitter fails (rcMisc.cpp getAttrIdFromAttrName).
    with httpx2.Client(timeout=10) as http:
        api = Api(irods_emulator_variants(irods_server_version=release), http)
        assert code(api.write("/tempZone/home/rods/t.txt", b"x")) == 0
        for query in ("select DATA_ACCESS_TIME", "select DATA_NAME where DATA_ACCESS_TIME > '0'"):
            answer = api.get("query", op="execute_genquery", query=query).json()
            if known:
                assert answer["irods_response"]["status_code"] == 0
                assert len(answer["rows"]) == 1
            else:
                assert answer["irods_response"]["status_code"] == error_code("NO_COLUMN_NAME_FOUND")
        if known:
            params = {"replica-number": 0, "new-data-access-time": "01700000000"}
            r = api.post("data-objects", op="modify_replica", lpath="/tempZone/home/rods/t.txt", **params)
            assert code(r) == 0
            q = "select DATA_ACCESS_TIME where DATA_NAME = 't.txt'"
            assert api.get("query", op="execute_genquery", query=q).json()["rows"] == [["01700000000"]]
