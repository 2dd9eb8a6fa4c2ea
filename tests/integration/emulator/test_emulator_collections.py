"""/collections over real HTTP: every op, its error codes and status asymmetries, strict ACL visibility."""

from __future__ import annotations

import json

from emulator_http import ZONE, Api, code

HOME = f"/{ZONE}/home/alice"


def test_create_stat_list_rename_remove_to_trash(api: Api) -> None:
    r = api.post("collections", "alice", op="create", lpath=f"{HOME}/c0/c1", **{"create-intermediates": 1})
    assert r.json() == {"irods_response": {"status_code": 0}, "created": True}
    assert api.post("collections", "alice", op="create", lpath=f"{HOME}/c0").json()["created"] is False
    assert code(api.post("data-objects", "alice", op="touch", lpath=f"{HOME}/c0/d0")) == 0
    stat = api.get("collections", "alice", op="stat", lpath=f"{HOME}/c0").json()
    assert stat["type"] == "collection"
    assert stat["registered"] is True
    assert stat["inheritance_enabled"] is False
    assert stat["permissions"] == [{"name": "alice", "zone": ZONE, "type": "rodsuser", "perm": "own"}]
    listing = api.get("collections", "alice", op="list", lpath=f"{HOME}/c0").json()["entries"]
    # Sub-collections first, then data objects (rclOpenCollection with flags 0: irods 4.3.4 miscUtil.cpp
    # readCollection "coll first, dataObj second"); recursion descends into each collection as it is listed.
    assert listing == [f"{HOME}/c0/c1", f"{HOME}/c0/d0"]
    deep = api.get("collections", "alice", op="list", lpath=HOME, recurse=1).json()["entries"]
    assert deep == [f"{HOME}/c0", f"{HOME}/c0/c1", f"{HOME}/c0/d0"]
    assert api.get("collections", "alice", op="list", lpath=f"{HOME}/c0/c1").json()["entries"] is None
    assert (
        code(
            api.post(
                "collections", "alice", op="rename", **{"old-lpath": f"{HOME}/c0", "new-lpath": f"{HOME}/r"}
            )
        )
        == 0
    )
    assert code(api.post("collections", "alice", op="remove", lpath=f"{HOME}/r")) == -79000  # not empty
    assert code(api.post("collections", "alice", op="remove", lpath=f"{HOME}/r", recurse=1)) == 0
    trash = api.get("collections", "alice", op="list", lpath=f"/{ZONE}/trash/home/alice", recurse=1).json()
    assert f"/{ZONE}/trash/home/alice/r/d0" in trash["entries"]
    assert api.get("collections", "alice", op="list", lpath=HOME).json()["entries"] is None


def test_not_a_collection_asymmetries(api: Api) -> None:
    assert code(api.post("data-objects", "alice", op="touch", lpath=f"{HOME}/obj")) == 0
    r = api.get("collections", "alice", op="stat", lpath=f"{HOME}/obj")
    assert r.status_code == 200
    assert r.json() == {"irods_response": {"status_code": -170000}}
    for op, extra in (("touch", {}), ("remove", {}), ("set_inheritance", {"enable": 1})):
        r = api.post("collections", "alice", op=op, lpath=f"{HOME}/obj", **extra)
        assert (r.status_code, code(r)) == (400, -170000), op
    assert api.get("collections", "alice", op="list", lpath=f"{HOME}/obj").status_code == 400
    r = api.post(
        "collections", "alice", op="rename", **{"old-lpath": f"{HOME}/nope", "new-lpath": f"{HOME}/x"}
    )
    assert (r.status_code, code(r)) == (400, -170000)
    api.post("collections", "alice", op="create", lpath=f"{HOME}/a")
    r = api.post(
        "collections", "alice", op="rename", **{"old-lpath": f"{HOME}/a", "new-lpath": f"{HOME}/a/b"}
    )
    assert (r.status_code, code(r)) == (400, -130000)
    r = api.post(
        "collections", "alice", op="rename", **{"old-lpath": f"{HOME}/a", "new-lpath": f"{HOME}/obj"}
    )
    assert (r.status_code, code(r)) == (400, -1105000)


def test_strict_acl_visibility_between_users(api: Api) -> None:
    api.post("collections", "rods", op="create", lpath=f"/{ZONE}/home/rods/private")
    assert code(api.get("collections", "alice", op="stat", lpath=f"/{ZONE}/home/rods")) == -170000
    assert code(api.get("collections", "alice", op="stat", lpath=f"/{ZONE}/home")) == -170000
    assert code(api.post("collections", "alice", op="create", lpath=f"/{ZONE}/home/rods/x")) == -358000
    r = api.post(
        "collections", "alice", op="create", lpath=f"/{ZONE}/home/rods/x/y", **{"create-intermediates": 1}
    )
    assert code(r) == -130000
    rows = api.get("query", "alice", op="execute_genquery", query="select COLL_NAME").json()["rows"]
    names = {row[0] for row in rows}
    assert f"/{ZONE}/home/alice" in names
    assert f"/{ZONE}/home/rods" not in names
    # Granting read makes it visible.
    r = api.post(
        "collections",
        "rods",
        op="set_permission",
        lpath=f"/{ZONE}/home/rods/private",
        **{"entity-name": "alice", "permission": "read"},
    )
    assert code(r) == 0
    stat = api.get("collections", "alice", op="stat", lpath=f"/{ZONE}/home/rods/private").json()
    assert {"name": "alice", "zone": ZONE, "type": "rodsuser", "perm": "read_object"} in stat["permissions"]
    bad = api.post(
        "collections",
        "rods",
        op="set_permission",
        lpath=f"/{ZONE}/home/rods",
        **{"entity-name": "alice", "permission": "bogus"},
    )
    assert (bad.status_code, bad.content) == (400, b"")
    r = api.post(
        "collections",
        "alice",
        op="set_permission",
        lpath=HOME,
        **{"entity-name": "ghost", "permission": "read"},
    )
    assert code(r) == -827000


def test_touch_inheritance_and_atomic_metadata_and_permissions(api: Api) -> None:
    r = api.post("collections", "alice", op="touch", lpath=HOME, **{"seconds-since-epoch": 1700000000})
    assert code(r) == 0
    assert api.get("collections", "alice", op="stat", lpath=HOME).json()["modified_at"] == 1700000000
    r = api.post(
        "collections", "alice", op="touch", lpath=HOME, **{"seconds-since-epoch": 1, "reference": HOME}
    )
    assert code(r) == -402000
    assert code(api.post("collections", "alice", op="touch", lpath=f"{HOME}/missing")) == 0
    assert (
        api.post("collections", "alice", op="touch", lpath=HOME, **{"seconds-since-epoch": "x"}).status_code
        == 400
    )
    assert code(api.post("collections", "alice", op="set_inheritance", lpath=HOME, enable=1)) == 0
    api.post(
        "collections",
        "alice",
        op="modify_permissions",
        lpath=HOME,
        operations=json.dumps([{"entity_name": "rods", "acl": "read"}]),
    )
    api.post("collections", "alice", op="create", lpath=f"{HOME}/child")
    perms = api.get("collections", "alice", op="stat", lpath=f"{HOME}/child").json()["permissions"]
    assert {p["name"] for p in perms} == {"alice", "rods"}
    ops = [
        {"operation": "add", "attribute": "a", "value": "v", "units": "u"},
        {"operation": "add", "attribute": "b", "value": "w"},
    ]
    r = api.post("collections", "alice", op="modify_metadata", lpath=HOME, operations=json.dumps(ops))
    assert r.json() == {"irods_response": {"status_code": 0, "failed_operation": {}}}
    q = f"select META_COLL_ATTR_NAME, META_COLL_ATTR_VALUE, META_COLL_ATTR_UNITS where COLL_NAME = '{HOME}'"
    assert api.get("query", "alice", op="execute_genquery", query=q).json()["rows"] == [
        ["a", "v", "u"],
        ["b", "w", ""],
    ]
    bad = [
        {"operation": "remove", "attribute": "a", "value": "v", "units": "u"},
        {"operation": "frob", "attribute": "x", "value": "y"},
    ]
    r = api.post("collections", "alice", op="modify_metadata", lpath=HOME, operations=json.dumps(bad))
    assert r.status_code == 400
    failed = r.json()["irods_response"]
    assert failed["status_code"] == -1811000
    assert failed["failed_operation"]["operation_index"] == 1
    assert (
        len(api.get("query", "alice", op="execute_genquery", query=q).json()["rows"]) == 2
    )  # all or nothing
    r = api.post(
        "collections",
        "alice",
        op="modify_permissions",
        lpath=HOME,
        operations=json.dumps([{"entity_name": "ghost", "acl": "read"}]),
    )
    assert (r.status_code, code(r)) == (400, -130000)
    r = api.post("collections", "alice", op="modify_metadata", lpath=HOME, operations="not json")
    assert (r.status_code, r.content) == (500, b"")


def test_the_root_collection_never_moves(api: Api) -> None:
    """irods::filesystem::rename refuses an old path that is an ancestor of the new one, by whole components
    (irods 4.3.4 lib/filesystem/src/filesystem.cpp:1028-1030, has_prefix :420-434): "/" is the ancestor of
    every other path. The HTTP API answers 400 with its code (collections/src/main.cpp:514-524 at 0.7.0).
    The emulator moved the whole tree, zone and all, into a collection of its own."""
    api.post("collections", "rods", op="create", lpath=f"/{ZONE}/home/rods/dst")
    r = api.post(
        "collections", "rods", op="rename", **{"old-lpath": "/", "new-lpath": f"/{ZONE}/home/rods/dst/x"}
    )
    assert (r.status_code, code(r)) == (400, -130000)
    assert api.get("collections", "rods", op="list", lpath="/").json()["entries"] == [f"/{ZONE}"]
    assert code(api.get("collections", "rods", op="stat", lpath=f"/{ZONE}/home/rods/dst")) == 0
