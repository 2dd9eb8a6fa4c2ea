"""Tickets, ACLs and AVUs as iRODS 4.3.4 and the HTTP API 0.7.0 decide them, pinned over real HTTP.

Expectations are read from the servers' sources (file:line in each test), never from the emulator:
irods/irods 4.3.4 (server/db_plugin/src/db_plugin.cpp, server/icat/src/mid_level_routines.cpp,
server/core/src/catalog_utilities.cpp, plugins/api/src/atomic_apply_*_operations.cpp) and
irods_client_http_api 0.7.0 (endpoints/tickets/src/main.cpp, endpoints/shared/src/shared_api_operations.cpp).
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
from emulator_http import ZONE, Api, code

RODS = f"/{ZONE}/home/rods"
ALICE = f"/{ZONE}/home/alice"


def _grant(api: Api, path: str, entity: str, permission: str, *, endpoint: str = "data-objects") -> None:
    r = api.post(
        endpoint, "rods", op="set_permission", lpath=path, **{"entity-name": entity}, permission=permission
    )
    assert code(r) == 0, r.text


def _tickets(api: Api, who: str = "rods") -> list[list[str]]:
    q = "select TICKET_STRING, TICKET_DATA_NAME, TICKET_ALLOWED_USER_NAME"
    rows: list[list[str]] = api.get("query", who, op="execute_genquery", query=q).json()["rows"]
    return rows


def _failed(r: httpx2.Response) -> tuple[int, int, Any, int]:
    body = r.json()["irods_response"]
    failed = body["failed_operation"]
    return r.status_code, body["status_code"], failed["operation"], failed["operation_index"]


# ---- finding 2: a ticket needs own ------------------------------------------------------------------


def test_ticket_create_needs_own_without_an_admin_bypass(api: Api) -> None:
    # db_plugin.cpp:14547-14563 (4.3.4): cmlCheckDataObjOnly(ACCESS_OWN), else cmlCheckDir(ACCESS_OWN) on the
    # same path, neither in admin mode; cmlCheckDir (mid_level_routines.cpp:843-912) answers
    # CAT_UNKNOWN_COLLECTION for a path that is no collection, CAT_NO_ACCESS_PERMISSION for one not owned.
    api.write(f"{RODS}/shared.txt", b"x")
    assert code(api.post("collections", "rods", op="create", lpath=f"{RODS}/coll")) == 0
    _grant(api, f"{RODS}/shared.txt", "alice", "write")
    _grant(api, f"{RODS}/coll", "alice", "write", endpoint="collections")
    for ticket_type in ("read", "write"):
        r = api.post("tickets", "alice", op="create", lpath=f"{RODS}/shared.txt", type=ticket_type)
        assert (r.status_code, code(r)) == (200, -814000)  # write is not own; a data object → -814000
    r = api.post("tickets", "alice", op="create", lpath=f"{RODS}/coll")
    assert code(r) == -818000
    assert code(api.post("tickets", "rods", op="create", lpath=f"{RODS}/missing.txt")) == -814000
    # A rodsadmin gets no bypass: rods has no ACL entry on alice's home.
    assert code(api.post("tickets", "rods", op="create", lpath=ALICE)) == -818000
    assert _tickets(api) == []
    _grant(api, f"{RODS}/shared.txt", "alice", "own")
    assert code(api.post("tickets", "alice", op="create", lpath=f"{RODS}/shared.txt", type="write")) == 0


# ---- finding 9: users and groups are added after the ticket exists -------------------------------------


def test_ticket_with_an_unknown_user_or_group_fails_but_stays_in_the_catalog(api: Api) -> None:
    # tickets/src/main.cpp:222-305 (0.7.0): create_ticket, then one add_ticket_constraint per user and group;
    # icatGetTicketUserId / icatGetTicketGroupId (db_plugin.cpp:1822-1912, 4.3.4) fail for an unknown name
    # (users: groups excluded, line 1853), so the reply is an error and the ticket is already committed.
    api.write(f"{ALICE}/t.txt", b"x", user="alice")
    assert code(api.post("users-groups", "rods", op="create_group", name="team")) == 0
    r = api.post("tickets", "alice", op="create", lpath=f"{ALICE}/t.txt", users="rods,nosuchuser")
    assert (r.status_code, code(r)) == (200, -827000)
    assert "ticket" not in r.json()
    rows = _tickets(api, "alice")
    assert [row[1:] for row in rows] == [["t.txt", "rods"]]  # rods was added before the failure
    r = api.post("tickets", "alice", op="create", lpath=f"{ALICE}/t.txt", groups="nosuchgroup")
    assert code(r) == -829000
    r = api.post("tickets", "alice", op="create", lpath=f"{ALICE}/t.txt", users="team")
    assert code(r) == -827000
    q = "select TICKET_STRING where TICKET_DATA_NAME = 't.txt'"
    assert len(api.get("query", "alice", op="execute_genquery", query=q).json()["rows"]) == 3


# ---- finding 3: modify_metadata needs modify_object ---------------------------------------------------


def test_modify_metadata_on_objects_needs_modify_object(api: Api) -> None:
    # catalog_utilities.cpp:95-102 (4.3.4): access_type_id >= modify_object; the failure is
    # atomic_apply_metadata_operations.cpp:523-527: CAT_NO_ACCESS_PERMISSION, operation null, index 0.
    api.write(f"{RODS}/mp.txt", b"x")
    # The plugin finds the object with alice's own GenQuery first (lines 151-194), which wants read_object
    # on the collection too (general_query.cpp:1683-1689): else the answer is "Entity does not exist".
    _grant(api, RODS, "alice", "read", endpoint="collections")
    ops = json.dumps([{"operation": "add", "attribute": "k", "value": "v"}])
    for permission in (
        "read_object",
        "create_metadata",
        "modify_metadata",
        "delete_metadata",
        "create_object",
    ):
        _grant(api, f"{RODS}/mp.txt", "alice", permission)
        r = api.post("data-objects", "alice", op="modify_metadata", lpath=f"{RODS}/mp.txt", operations=ops)
        assert _failed(r) == (400, -818000, None, 0), permission
    _grant(api, f"{RODS}/mp.txt", "alice", "modify_object")
    r = api.post("data-objects", "alice", op="modify_metadata", lpath=f"{RODS}/mp.txt", operations=ops)
    assert (r.status_code, code(r)) == (200, 0)


# ---- finding 4: AVU fields are JSON strings, checked in the plugin's order ----------------------------


def test_modify_metadata_refuses_non_string_json_values(api: Api) -> None:
    # atomic_apply_metadata_operations.cpp:372-434 (4.3.4): .get<std::string>() of attribute, value and units
    # throws json::type_error → JSON_VALIDATION_ERROR with the operation; nothing of the batch is applied.
    api.write(f"{RODS}/m.txt", b"x")

    def mm(*ops: Any) -> httpx2.Response:
        return api.post(
            "data-objects", "rods", op="modify_metadata", lpath=f"{RODS}/m.txt", operations=json.dumps(ops)
        )

    for bad in (
        {"operation": "add", "attribute": "n", "value": 42},
        {"operation": "add", "attribute": "n", "value": None},
        {"operation": "add", "attribute": 1, "value": "v"},
        {"operation": "add", "attribute": "n", "value": "v", "units": 7},
        {"operation": 1, "attribute": "n", "value": "v"},
    ):
        r = mm({"operation": "add", "attribute": "ok", "value": "1"}, bad)
        assert _failed(r) == (400, -172000, bad, 1), bad
    q = f"select META_DATA_ATTR_NAME where DATA_NAME = 'm.txt' and COLL_NAME = '{RODS}'"
    assert api.get("query", "rods", op="execute_genquery", query=q).json()["rows"] == []
    # Lines 374-381: an empty attribute or value is SYS_INVALID_INPUT_PARAM before the operation is read.
    bogus = {"operation": "bogus", "attribute": "n", "value": ""}
    assert _failed(mm(bogus)) == (400, -130000, bogus, 0)
    no_op = {"attribute": "", "value": "v"}
    assert _failed(mm(no_op)) == (400, -130000, no_op, 0)
    assert _failed(mm({"operation": "bogus", "attribute": "n", "value": "v"}))[1] == -1811000


# ---- finding 5: the atomic ACL call takes every 4.3 level ---------------------------------------------


def test_modify_permissions_accepts_every_access_level_name(api: Api) -> None:
    # atomic_apply_acl_operations.cpp:66-77 (4.3.4) acl_to_id; any other name is SYS_INVALID_INPUT_PARAM
    # (:205-209).
    api.write(f"{RODS}/p.txt", b"x")
    names = ["read_metadata", "read_object", "create_metadata", "modify_metadata", "delete_metadata"]
    names += ["create_object", "modify_object", "delete_object", "own", "read", "write", "null"]
    for name in names:
        ops = json.dumps([{"entity_name": "alice", "acl": name}])
        r = api.post("data-objects", "rods", op="modify_permissions", lpath=f"{RODS}/p.txt", operations=ops)
        assert (r.status_code, code(r)) == (200, 0), name
    perms = api.get("data-objects", "rods", op="stat", lpath=f"{RODS}/p.txt").json()["permissions"]
    assert [p["name"] for p in perms] == ["rods"]  # the final null removed alice's entry
    ops = json.dumps([{"entity_name": "alice", "acl": "modify_object"}])
    api.post("data-objects", "rods", op="modify_permissions", lpath=f"{RODS}/p.txt", operations=ops)
    perms = api.get("data-objects", "rods", op="stat", lpath=f"{RODS}/p.txt").json()["permissions"]
    assert {p["name"]: p["perm"] for p in perms}["alice"] == "modify_object"
    bad = {"entity_name": "alice", "acl": "admin"}
    r = api.post(
        "data-objects", "rods", op="modify_permissions", lpath=f"{RODS}/p.txt", operations=json.dumps([bad])
    )
    assert _failed(r) == (400, -130000, bad, 0)


# ---- finding 6: the shape of operations, and the own check before any operation -----------------------


def test_atomic_operations_that_are_not_a_list(api: Api) -> None:
    # Both plugins loop `for i < operations.size()` over operations[i] (acl: :546-573, metadata: :531-558,
    # 4.3.4): null and {} have size 0 → success; another non-array throws type_error 305 at operations[0],
    # caught as SYS_INTERNAL_ERR with operation null. HTTP 400 for any non-zero code
    # (shared_api_operations.cpp:110-117 and 224-231, 0.7.0).
    api.write(f"{RODS}/p.txt", b"x")
    for op in ("modify_permissions", "modify_metadata"):
        for raw in ("null", "{}"):
            r = api.post("data-objects", "rods", op=op, lpath=f"{RODS}/p.txt", operations=raw)
            assert (r.status_code, r.json()) == (
                200,
                {"irods_response": {"status_code": 0, "failed_operation": {}}},
            )
        for raw in ('{"entity_name": "alice", "acl": "read"}', '"hello"', "5"):
            r = api.post("data-objects", "rods", op=op, lpath=f"{RODS}/p.txt", operations=raw)
            assert _failed(r) == (400, -154000, None, 0), (op, raw)


def test_acl_operation_json_errors_are_sys_internal_err(api: Api) -> None:
    # atomic_apply_acl_operations.cpp:383-392 (4.3.4): _op.at("acl").get<std::string>(), then
    # _op.at("entity_name"); a json::exception is caught at :420-423 as SYS_INTERNAL_ERR with the operation.
    api.write(f"{RODS}/p.txt", b"x")
    for bad in ({"entity_name": "alice"}, {"entity_name": "alice", "acl": 1}, {"acl": "read"}, "read"):
        ops = json.dumps([{"entity_name": "alice", "acl": "read"}, bad])
        r = api.post("data-objects", "rods", op="modify_permissions", lpath=f"{RODS}/p.txt", operations=ops)
        assert _failed(r) == (400, -154000, bad, 1), bad
    perms = api.get("data-objects", "rods", op="stat", lpath=f"{RODS}/p.txt").json()["permissions"]
    assert [p["name"] for p in perms] == ["rods"]  # all-or-nothing


def test_modify_permissions_checks_own_before_any_operation(api: Api) -> None:
    # atomic_apply_acl_operations.cpp:516-542 (4.3.4): user_has_permission_to_modify_acls (own) before the
    # loop; the failure carries make_error_object(json{}, 0, ...): operation null, index 0 — even for [].
    api.write(f"{RODS}/p.txt", b"x")
    _grant(api, f"{RODS}/p.txt", "alice", "write")
    # shared_api_operations.cpp:69-77 (0.7.0) asks is_data_object as alice first: rsObjStat wants read_object
    # on the collection too (general_query.cpp:1683-1689), else 400 + NOT_A_DATA_OBJECT before the plugin.
    _grant(api, RODS, "alice", "read", endpoint="collections")
    for ops in ([], [{"entity_name": "alice", "acl": "own"}]):
        r = api.post(
            "data-objects",
            "alice",
            op="modify_permissions",
            lpath=f"{RODS}/p.txt",
            operations=json.dumps(ops),
        )
        assert _failed(r) == (400, -818000, None, 0), ops
    # :518-530: admin mode by a non-administrator is CAT_INSUFFICIENT_PRIVILEGE_LEVEL in the same shape.
    r = api.post(
        "data-objects", "alice", op="modify_permissions", lpath=f"{RODS}/p.txt", operations="[]", admin="1"
    )
    assert _failed(r) == (400, -830000, None, 0)
