"""modify_metadata on /users-groups and /resources over real HTTP, and the GenQuery columns showing it."""

from __future__ import annotations

import json

import pytest
from emulator_http import Api, code

# (endpoint, entity name, GenQuery column naming the entity, metadata column prefix)
ENTITIES = [
    pytest.param("users-groups", "alice", "USER_NAME", "META_USER", id="user"),
    pytest.param("users-groups", "public", "USER_NAME", "META_USER", id="group"),
    pytest.param("resources", "demoResc", "RESC_NAME", "META_RESC", id="resource"),
]
SUCCESS = {"irods_response": {"status_code": 0, "failed_operation": {}}}


def modify(api: Api, endpoint: str, name: str, ops: object, who: str = "rods", **extra: object):
    text = ops if isinstance(ops, str) else json.dumps(ops)
    return api.post(endpoint, who, op="modify_metadata", name=name, operations=text, **extra)


def avus(api: Api, column: str, meta: str, name: str, who: str = "rods") -> list[list[str]]:
    q = f"select {meta}_ATTR_NAME, {meta}_ATTR_VALUE, {meta}_ATTR_UNITS where {column} = '{name}'"
    r = api.get("query", who, op="execute_genquery", query=q)
    assert code(r) == 0
    rows: list[list[str]] = r.json()["rows"]
    return rows


@pytest.mark.parametrize(("endpoint", "name", "column", "meta"), ENTITIES)
def test_rodsadmin_adds_and_removes_avus_atomically(
    api: Api, endpoint: str, name: str, column: str, meta: str
) -> None:
    add = [
        {"operation": "add", "attribute": "a1", "value": "v1", "units": "u1"},
        {"operation": "add", "attribute": "a2", "value": "v2"},
        {"operation": "add", "attribute": "a1", "value": "v1", "units": "u1"},  # already there: no-op
    ]
    assert modify(api, endpoint, name, add).json() == SUCCESS
    assert avus(api, column, meta, name) == [["a1", "v1", "u1"], ["a2", "v2", ""]]
    assert avus(api, column, meta, name, who="alice") == [["a1", "v1", "u1"], ["a2", "v2", ""]]
    q = (
        f"select {column} where {meta}_ATTR_NAME = 'a1'"
        f" and {meta}_ATTR_VALUE = 'v1' and {meta}_ATTR_UNITS = 'u1'"
    )
    assert api.get("query", op="execute_genquery", query=q).json()["rows"] == [[name]]
    remove = [{"operation": "remove", "attribute": "a1", "value": "v1", "units": "u1"}]
    assert modify(api, endpoint, name, remove).json() == SUCCESS
    assert api.get("query", op="execute_genquery", query=q).json()["rows"] == []
    assert avus(api, column, meta, name) == [["a2", "v2", ""]]


@pytest.mark.parametrize(("endpoint", "name", "column", "meta"), ENTITIES)
def test_rodsusers_are_refused_with_the_server_codes(
    api: Api, endpoint: str, name: str, column: str, meta: str
) -> None:
    ops = [{"operation": "add", "attribute": "a", "value": "v"}]
    r = modify(api, endpoint, name, ops, who="alice")
    assert r.status_code == 400
    assert r.json()["irods_response"]["status_code"] == -818000  # CAT_NO_ACCESS_PERMISSION
    failed = r.json()["irods_response"]["failed_operation"]
    assert (failed["operation"], failed["operation_index"]) == (None, 0)
    assert "not allowed" in failed["error_message"]
    r = modify(api, endpoint, name, ops, who="alice", admin=1)
    assert (r.status_code, code(r)) == (400, -830000)  # CAT_INSUFFICIENT_PRIVILEGE_LEVEL
    assert avus(api, column, meta, name) == []
    r = modify(api, endpoint, "no_such_entity", ops)
    assert (r.status_code, code(r)) == (400, -130000)  # SYS_INVALID_INPUT_PARAM: entity not found
    assert r.json()["irods_response"]["failed_operation"]["operation"] is None


@pytest.mark.parametrize(("endpoint", "name", "column", "meta"), ENTITIES)
def test_bad_operations_fail_the_whole_batch(
    api: Api, endpoint: str, name: str, column: str, meta: str
) -> None:
    good = {"operation": "add", "attribute": "a", "value": "v"}
    r = modify(api, endpoint, name, [good, {"operation": "frob", "attribute": "x", "value": "y"}])
    assert (r.status_code, code(r)) == (400, -1811000)  # INVALID_OPERATION
    failed = r.json()["irods_response"]["failed_operation"]
    assert failed["operation_index"] == 1
    assert failed["operation"] == {"operation": "frob", "attribute": "x", "value": "y"}
    r = modify(api, endpoint, name, [good, {"operation": "add", "attribute": "x"}])
    assert (r.status_code, code(r)) == (400, -172000)  # JSON_VALIDATION_ERROR
    r = modify(api, endpoint, name, [good, {"operation": "add", "attribute": "", "value": "y"}])
    assert (r.status_code, code(r)) == (400, -130000)  # SYS_INVALID_INPUT_PARAM
    assert avus(api, column, meta, name) == []  # all or nothing
    r = modify(api, endpoint, name, "[{not json")
    assert (r.status_code, r.content) == (500, b"")
    r = api.post(endpoint, op="modify_metadata", operations=json.dumps([good]))
    assert (r.status_code, r.content) == (400, b"")  # no name


def test_resource_avus_follow_a_rename(api: Api) -> None:
    assert code(api.post("resources", op="create", name="r1", type="replication")) == 0
    assert (
        modify(api, "resources", "r1", [{"operation": "add", "attribute": "t", "value": "1"}]).json()
        == SUCCESS
    )
    assert code(api.post("resources", op="modify", name="r1", property="name", value="r2")) == 0
    assert avus(api, "RESC_NAME", "META_RESC", "r2") == [["t", "1", ""]]
