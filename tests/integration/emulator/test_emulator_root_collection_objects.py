"""A data object directly under ``/`` (``/a.txt``), as irods 4.3.4 answers it through the HTTP API.

Only rsCollCreate checks that a path starts with a known zone (validate_logical_path: server/core/src/
dataObjOpr.cpp:45-70, called from rsCollCreate.cpp:70 only), so ``collections create /x`` is refused but a
data object's open with O_CREAT is not: getZoneInfo takes a hint naming no zone for the local zone
(server/core/src/rodsConnect.cpp:570-617), the graft vault path of a one-element path is the vault plus its
name (physPath.cpp:335-378), and the catalog registers the object when the caller may modify ``/``
(db_reg_data_obj_op: plugins/database/src/db_plugin.cpp:2779-2805, cmlCheckDirAndGetInheritFlag with
ACCESS_MODIFY_OBJECT). The installer makes the rodsadmin the owner of ``/`` (scripts/irods/
database_connect.py:438-472), and no one else has an ACL entry on it. The same code at 4.3.0-4.3.3.
"""

from __future__ import annotations

from emulator_http import Api, code

OPEN_FAILURE = "Output stream to data object is in a bad state."


def test_the_rodsadmin_creates_a_data_object_in_the_root_collection(api: Api) -> None:
    """``/a.txt`` is registered in ``/`` (COLL_NAME '/'), listed, read back; and rsDataObjOpen sets the
    parent's mtime after a create (rsDataObjOpen.cpp:1262-1281; fs::zone_name("/a.txt") is "a.txt", which
    isLocalZone takes for the local zone, rodsConnect.cpp:770-787), so ``/``'s modified_at moves."""
    touched = api.post("collections", op="touch", lpath="/", **{"seconds-since-epoch": 1000})
    assert code(touched) == 0
    assert api.get("collections", op="stat", lpath="/").json()["modified_at"] == 1000

    written = api.write("/a.txt", b"xyz")
    assert (written.status_code, code(written)) == (200, 0)

    assert api.get("collections", op="stat", lpath="/").json()["modified_at"] > 1000
    assert "/a.txt" in api.get("collections", op="list", lpath="/").json()["entries"]
    assert api.read("/a.txt").content == b"xyz"
    stat = api.get("data-objects", op="stat", lpath="/a.txt").json()
    assert (code_of(stat), stat["type"], stat["size"]) == (0, "data_object", 3)
    query = "select COLL_NAME, DATA_NAME, DATA_SIZE where DATA_NAME = 'a.txt'"
    rows = api.get("query", op="execute_genquery", query=query).json()["rows"]
    assert rows == [["/", "a.txt", "3"]]


def test_a_rodsuser_cannot_create_in_the_root_collection(api: Api) -> None:
    """alice has no ACL entry on ``/``: the registration answers CAT_NO_ACCESS_PERMISSION, so the HTTP
    API's output stream fails to open (irods_client_http_api 0.7.0 endpoints/data_objects/src/main.cpp:
    1197-1212: INVALID_HANDLE -175000 with its fixed message, HTTP 200); ``touch``'s odstream fails
    silently and the missing object surfaces as CAT_NOT_A_DATAOBJ_AND_NOT_A_COLLECTION (plugins/api/src/
    touch.cpp:322-327, 452-457); nothing is registered. A collection there is refused before any
    permission check (rsCollCreate.cpp:70)."""
    written = api.write("/a.txt", b"xyz", "alice")
    assert written.status_code == 200
    assert written.json()["irods_response"] == {"status_code": -175000, "status_message": OPEN_FAILURE}
    assert code(api.post("data-objects", "alice", op="touch", lpath="/a.txt")) == -836000
    assert "/a.txt" not in api.get("collections", op="list", lpath="/").json()["entries"]
    created = api.post("collections", "alice", op="create", lpath="/x")
    assert code(created) == -130000  # SYS_INVALID_INPUT_PARAM


def code_of(body: dict[str, dict[str, int]]) -> int:
    return body["irods_response"]["status_code"]
