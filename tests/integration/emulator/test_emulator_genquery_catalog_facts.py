"""Catalog facts a real zone shows through GenQuery, read from the iRODS server source (irods/irods).

- A data object the HTTP API creates: ``db_reg_data_obj_op`` binds data_version from a zeroed DataObjInfo
  (""), data_mode from the open's createMode, which the HTTP API's transport sets to 0600 = "384"
  (default_transport.hpp:348, rsDataObjOpen.cpp:253), and data_expiry_ts "00000000000"
  (db_plugin.cpp:2847-2870 at 4.3.4, :2639-2660 at 5.0.2; test_isysmeta.py:34 "initialized with zeros").
- DATA_USER_NAME / COLL_USER_NAME (rodsGenQuery.h:341-346) are no owner alias: R_*_MAIN -> R_OBJT_ACCESS
  -> R_USER_GROUP -> R_USER_MAIN (general_query_setup.cpp:393-397, :597-598, :621-623, :649-650 at
  4.3.4), one row per user an ACL entry names, a group's entry naming the group and each member.
  GenQuery2 knows neither (genquery2_table_column_mappings.hpp:83-84, :105-106 at 5.0.2: commented out).
- USER_DN reads R_USER_AUTH (general_query_setup.cpp:203), filled only by ``iadmin aua``; RESC_ACCESS_*
  read r_resc_access (:269-273), and mkresc adds no R_OBJT_ACCESS row (db_plugin.cpp:4012-4014).
- The local zone's ZONE_ID is the first R_ObjectId value, 10000 (icatSysTables.sql.pp.in:177,
  database_connect.py:377-383 at 4.3.4).
- A rodsuser may read resource columns: GenQuery1 restricts only R_DATA_MAIN, R_COLL_MAIN and
  R_TICKET_MAIN rows (general_query.cpp:1612-1730 at 4.3.4), GenQuery2 only data objects and collections
  (genquery2_sql.cpp:407-470 at 5.0.2); the HTTP API's query endpoint checks no user type.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx2
import pytest
from emulator_http import ZONE, Api, code

from irods_provider.testing import EmulatorServer

pytestmark = pytest.mark.timeout(60)

HOME = f"/{ZONE}/home/alice"
NEW_OBJECT = ["", "384", "00000000000"]  # DATA_VERSION, DATA_MODE, DATA_EXPIRY


def rows(api: Api, who: str, query: str, parser: str = "genquery1") -> list[list[str]]:
    r = api.get("query", who, op="execute_genquery", query=query, parser=parser)
    assert (r.status_code, code(r)) == (200, 0), r.text
    value: list[list[str]] = r.json()["rows"]
    return value


@pytest.mark.parametrize("release", ["rods4.3.2", "rods5.0.1"])
@pytest.mark.parametrize("parser", ["genquery1", "genquery2"])
def test_a_new_data_object_has_the_catalog_defaults(
    irods_emulator_variants: Callable[..., EmulatorServer], release: str, parser: str
) -> None:
    with httpx2.Client(timeout=10) as http:
        api = Api(irods_emulator_variants(irods_server_version=release), http)
        api.server.add_user("alice", "alice")
        assert api.write(f"{HOME}/new.txt", b"abc", user="alice").status_code == 200
        q = "select DATA_VERSION, DATA_MODE, DATA_EXPIRY where DATA_NAME = 'new.txt'"
        assert rows(api, "alice", q, parser) == [NEW_OBJECT]
        touched = api.post("data-objects", "alice", op="touch", lpath=f"{HOME}/touched.txt")
        assert code(touched) == 0  # touch.cpp:326-327 creates through the same transport (0600)
        q = "select DATA_VERSION, DATA_MODE, DATA_EXPIRY where DATA_NAME = 'touched.txt'"
        assert rows(api, "alice", q, parser) == [NEW_OBJECT]


def test_modify_replica_sets_mode_version_and_expiry_of_that_replica(api: Api) -> None:
    api.write(f"{HOME}/m.txt", b"abc", user="alice")
    changes = {"new-data-mode": "420", "new-data-version": "7", "new-data-expiry-time": "00000000016"}
    changes["replica-number"] = "0"
    r = api.post("data-objects", "rods", op="modify_replica", lpath=f"{HOME}/m.txt", **changes)
    assert code(r) == 0
    q = "select DATA_VERSION, DATA_MODE, DATA_EXPIRY where DATA_NAME = 'm.txt'"
    assert rows(api, "alice", q) == [["7", "420", "00000000016"]]  # test_iadmin.py:2166-2179 sets these


def test_data_and_coll_user_name_expand_acl_entries_through_groups(api: Api) -> None:
    api.server.add_user("bob", "bob")
    assert code(api.post("users-groups", "rods", op="create_group", name="team")) == 0
    assert code(api.post("users-groups", "rods", op="add_to_group", group="team", user="bob", zone=ZONE)) == 0
    api.write(f"{HOME}/shared.txt", b"x", user="alice")
    r = api.post(
        "data-objects",
        "alice",
        op="set_permission",
        lpath=f"{HOME}/shared.txt",
        permission="read",
        **{"entity-name": "team"},
    )
    assert code(r) == 0
    q = "select DATA_USER_NAME, DATA_ZONE_NAME, DATA_ACCESS_NAME where DATA_NAME = 'shared.txt'"
    assert sorted(rows(api, "alice", q)) == [
        ["alice", ZONE, "own"],
        ["bob", ZONE, "read_object"],
        ["team", ZONE, "read_object"],
    ]
    # DATA_USER_NAME is no owner column: the owner is DATA_OWNER_NAME, one row per replica.
    assert rows(api, "alice", "select DATA_OWNER_NAME where DATA_NAME = 'shared.txt'") == [["alice"]]
    q = f"select COLL_USER_NAME, COLL_ZONE_NAME where COLL_NAME = '{HOME}'"
    assert rows(api, "alice", q) == [["alice", ZONE]]


GENQUERY1_ONLY = ["DATA_USER_NAME", "COLL_USER_NAME", "DATA_OWNER_NAME", "RESC_ACCESS_NAME"]


@pytest.mark.parametrize("column", GENQUERY1_ONLY)
def test_genquery2_does_not_know_the_genquery1_only_columns(api: Api, column: str) -> None:
    r = api.get("query", "alice", op="execute_genquery", parser="genquery2", query=f"select {column}")
    assert (r.status_code, code(r)) == (500, -130000)  # SYS_INVALID_INPUT_PARAM: unknown column


def test_user_dn_and_resource_acl_columns_are_known_and_have_no_rows(api: Api) -> None:
    assert rows(api, "rods", "select USER_NAME, USER_DN") == []
    for column in ("RESC_ACCESS_TYPE", "RESC_ACCESS_NAME", "RESC_TOKEN_NAMESPACE", "RESC_ACCESS_USER_ID"):
        assert rows(api, "rods", f"select RESC_NAME, {column}") == []
    assert rows(api, "alice", "select USER_DN", "genquery2") == []


def test_the_local_zone_id_is_the_first_catalog_object_id(api: Api) -> None:
    assert rows(api, "alice", "select ZONE_ID, ZONE_NAME, ZONE_TYPE") == [["10000", ZONE, "local"]]
    assert rows(api, "alice", "select ZONE_ID", "genquery2") == [["10000"]]
    others = [int(r[0]) for r in rows(api, "rods", "select USER_ID") + rows(api, "rods", "select COLL_ID")]
    assert min(others) > 10000


@pytest.mark.parametrize("parser", ["genquery1", "genquery2"])
def test_a_rodsuser_reads_resource_status(api: Api, parser: str) -> None:
    r = api.post("resources", "rods", op="modify", name="demoResc", property="status", value="down")
    assert code(r) == 0
    q = "select RESC_NAME, RESC_STATUS where RESC_NAME = 'demoResc'"
    assert rows(api, "alice", q, parser) == [["demoResc", "down"]]


def test_a_registered_object_has_mode_zero_and_its_added_replica_copies_it(api: Api) -> None:
    # The HTTP API registers from a zeroed DataObjInp (createMode 0, data_objects:2072 at 0.7.0):
    # initDataObjInfoWithInp gives data_mode "0" (register_physical_path.cpp:306, objDesc.cpp:378 at 4.3.4);
    # an additional replica copies the first one's info and row (:233; db_plugin.cpp:3012-3035, :3144).
    root = api.server.config.register_root
    assert root is not None
    first, second = root / "reg-first.txt", root / "reg-second.txt"
    first.write_bytes(b"registered")
    second.write_bytes(b"registered")
    path = f"/{ZONE}/home/rods/reg.txt"
    r = api.post("data-objects", op="register", lpath=path, ppath=str(first), resource="demoResc")
    assert code(r) == 0
    q = "select DATA_REPL_NUM, DATA_VERSION, DATA_MODE, DATA_EXPIRY where DATA_NAME = 'reg.txt'"
    assert rows(api, "rods", q) == [["0", "", "0", "00000000000"]]
    extra = {"as-additional-replica": "1"}
    r = api.post("data-objects", op="register", lpath=path, ppath=str(second), resource="demoResc", **extra)
    assert code(r) == 0
    assert rows(api, "rods", q) == [["0", "", "0", "00000000000"], ["1", "", "0", "00000000000"]]


MODE_VERSION_EXPIRY = "select DATA_REPL_NUM, DATA_VERSION, DATA_MODE, DATA_EXPIRY where DATA_NAME = '{}'"


def test_a_replicated_replica_takes_the_source_replicas_mode_version_and_expiry(api: Api) -> None:
    # A new replica made by replicate is registered through filePathRegRepl, whose destination info is a
    # copy of the object's (sorted) replica info read from the catalog (irods 4.3.4 register_physical_path.cpp
    # :233-241), and db_reg_replica_op inserts the source row with that data_mode (db_plugin.cpp:3012-3035,
    # :3144); the open's L1 info is then replaced by the registered replica (rsDataObjOpen.cpp:419-425), which
    # the close publishes. So data_version, data_mode and data_expiry_ts are the source replica's.
    api.write(f"/{ZONE}/home/rods/r.txt", b"abc")
    changes = {"new-data-mode": "420", "new-data-version": "7", "new-data-expiry-time": "00000000016"}
    r = api.post(
        "data-objects",
        op="modify_replica",
        lpath=f"/{ZONE}/home/rods/r.txt",
        **changes,
        **{"replica-number": "0"},
    )
    assert code(r) == 0
    r = api.post("resources", op="create", name="second", type="unixfilesystem", host="localhost")
    assert code(r) == 0
    r = api.post(
        "data-objects", op="replicate", lpath=f"/{ZONE}/home/rods/r.txt", **{"dst-resource": "second"}
    )
    assert code(r) == 0
    expected = [["0", "7", "420", "00000000016"], ["1", "7", "420", "00000000016"]]
    assert sorted(rows(api, "rods", MODE_VERSION_EXPIRY.format("r.txt"))) == expected


@pytest.mark.parametrize(("source_mode", "copied_mode"), [("420", "420"), ("63", "0")])
def test_a_copy_takes_the_source_mode_when_it_is_a_mode_and_starts_version_and_expiry_afresh(
    api: Api, source_mode: str, copied_mode: str
) -> None:
    # rsDataObjCopy sets the destination's createMode from the source's data_mode when it is >= 0100
    # (irods 4.3.4 rsDataObjCopy.cpp:319-322; the HTTP API's dataObjCopyInp_t is zeroed, main.cpp:2332 at
    # 0.7.0, so createMode stays 0 otherwise). The new object is registered through initDataObjInfoWithInp
    # (register_physical_path.cpp:306: memset, so version "", data_mode createMode, objDesc.cpp:378) and
    # db_reg_data_obj_op, which writes data_expiry_ts "00000000000" (db_plugin.cpp:2847).
    src = f"/{ZONE}/home/rods/c.txt"
    api.write(src, b"abc")
    changes = {"new-data-mode": source_mode, "new-data-version": "7", "new-data-expiry-time": "00000000016"}
    assert (
        code(api.post("data-objects", op="modify_replica", lpath=src, **changes, **{"replica-number": "0"}))
        == 0
    )
    r = api.post("data-objects", op="copy", **{"src-lpath": src, "dst-lpath": f"/{ZONE}/home/rods/d.txt"})
    assert code(r) == 0
    assert rows(api, "rods", MODE_VERSION_EXPIRY.format("d.txt")) == [["0", "", copied_mode, "00000000000"]]
    assert api.read(f"/{ZONE}/home/rods/d.txt").content == b"abc"
