"""Handlers other than stat/read/list find an object or collection only where the caller may read it.

Every one of them meets the object first through an access-checked lookup run as the caller: the HTTP API's
``fs::client::is_data_object`` / ``is_collection`` (rsObjStat), the atomic plugins' ``get_object_id``
GenQuery, or the server's getDataObjInfo GenQuery. For anyone but the local rodsadmin that query gets
genqAppendAccessCheck's filter (irods 4.3.4 plugins/database/src/general_query.cpp:1663-1669 on R_DATA_MAIN,
:1683-1689 on R_COLL_MAIN): ``read_object`` or more on the object, and on its collection when the query names
COLL_NAME, as every data-object lookup does. ``read_metadata`` alone finds nothing, so the reply is the one
for a missing path. The emulator used to find such objects (read_metadata was enough) and then answered a
permission error, or did the operation.

Per handler, with the source line the expectation comes from (HTTP API 0.7.0, irods 4.3.4):
- modify_metadata: no pre-check (shared_api_operations.cpp:151-214); ``get_object_id``'s query
  (atomic_apply_metadata_operations.cpp:151-194) finds no row → 400 + SYS_INVALID_INPUT_PARAM,
  "Entity does not exist [entity_name=…]", operation null, index 0 (:495-502).
- modify_permissions / set_permission: is_data_object / is_collection first (shared_api_operations.cpp:69-88;
  data_objects/src/main.cpp:1837-1842, collections/src/main.cpp:580-585) → 400 + NOT_A_* with no message.
- rename: is_data_object(old) (data_objects:2262-2267), is_collection(old) (collections:502-507) → 400.
- remove: data objects go straight to rcDataObjUnlink (data_objects:2149-2206), whose getDataObjInfo
  (dataObjOpr.cpp:72-160) finds no row → 200 + CAT_NO_ROWS_FOUND; collections ask is_collection first
  (collections:426-431) → 400 + NOT_A_COLLECTION.
- copy: is_data_object(source) (data_objects:2359-2364) → 400 + NOT_A_DATA_OBJECT.
- calculate_checksum: rsDataObjChksum resolves the hierarchy with file_object_factory → getDataObjInfo
  (rsDataObjChksum.cpp:553-560, irods_file_object.cpp:335-358) → 200 + CAT_NO_ROWS_FOUND.
- touch: collections pass ``no_create`` (collections:770) and rs_touch's exists() is rsObjStat
  (touch.cpp:281-293): nothing found → 200 + 0, nothing changed. Data objects without ``no-create`` try to
  create the path, which fails silently, then status() finds nothing (touch.cpp:444-457) →
  CAT_NOT_A_DATAOBJ_AND_NOT_A_COLLECTION.
"""

from __future__ import annotations

import json

import httpx2
import pytest
from emulator_http import ZONE, Api, code

from irods_provider._error_codes import error_code

HOME = f"/{ZONE}/home/rods"
CLOSED = f"{HOME}/closed"
OBJ = f"{CLOSED}/x.txt"
SUB = f"{CLOSED}/sub"
AVU = json.dumps([{"operation": "add", "attribute": "k", "value": "v"}])


def _grant(api: Api, endpoint: str, path: str, permission: str) -> None:
    answer = api.post(
        endpoint, op="set_permission", lpath=path, **{"entity-name": "alice"}, permission=permission
    )
    assert code(answer) == 0, answer.text


@pytest.fixture
def closed(api: Api) -> Api:
    """rods's ``closed`` collection holding ``x.txt`` and ``sub``; alice may read rods's home."""
    assert code(api.post("collections", op="create", lpath=CLOSED)) == 0
    assert code(api.post("collections", op="create", lpath=SUB)) == 0
    assert code(api.write(OBJ, b"xyz")) == 0
    _grant(api, "collections", HOME, "read")
    return api


def _metadata_only(api: Api) -> None:
    """alice: read_object on ``closed``, read_metadata on ``x.txt`` and on ``sub``."""
    _grant(api, "collections", CLOSED, "read_object")
    _grant(api, "data-objects", OBJ, "read_metadata")
    _grant(api, "collections", SUB, "read_metadata")


def _failed(answer: httpx2.Response) -> tuple[int, int, object, int, str]:
    body = answer.json()["irods_response"]
    failed = body["failed_operation"]
    return (
        answer.status_code,
        body["status_code"],
        failed["operation"],
        failed["operation_index"],
        failed["error_message"],
    )


def _avus(api: Api, endpoint: str, path: str) -> list[str]:
    column = "META_COLL_ATTR_NAME" if endpoint == "collections" else "META_DATA_ATTR_NAME"
    where = (
        f"COLL_NAME = '{path}'" if endpoint == "collections" else f"DATA_NAME = '{path.rsplit('/', 1)[1]}'"
    )
    rows = api.get("query", op="execute_genquery", query=f"select {column} where {where}").json()["rows"]
    return [row[0] for row in rows]


@pytest.mark.parametrize(("endpoint", "path"), [("data-objects", OBJ), ("collections", SUB)])
def test_modify_metadata_does_not_find_what_the_caller_may_not_read(
    closed: Api, endpoint: str, path: str
) -> None:
    _metadata_only(closed)
    answer = closed.post(endpoint, "alice", op="modify_metadata", lpath=path, operations=AVU)
    message = f"Entity does not exist [entity_name={path}]"
    assert _failed(answer) == (400, error_code("SYS_INVALID_INPUT_PARAM"), None, 0, message)
    assert _avus(closed, endpoint, path) == []


def test_modify_metadata_wants_read_object_on_the_collection_too(closed: Api) -> None:
    """modify_object on the object is enough to change its AVUs only once its collection is readable."""
    _grant(closed, "data-objects", OBJ, "modify_object")
    _grant(closed, "collections", CLOSED, "read_metadata")
    answer = closed.post("data-objects", "alice", op="modify_metadata", lpath=OBJ, operations=AVU)
    assert _failed(answer)[:2] == (400, error_code("SYS_INVALID_INPUT_PARAM"))
    _grant(closed, "collections", CLOSED, "read_object")
    answer = closed.post("data-objects", "alice", op="modify_metadata", lpath=OBJ, operations=AVU)
    assert (answer.status_code, code(answer)) == (200, 0), answer.text
    assert _avus(closed, "data-objects", OBJ) == ["k"]


def test_read_object_finds_it_and_the_permission_check_answers(closed: Api) -> None:
    """Found, but without modify_object: catalog_utilities.cpp:95-102 → CAT_NO_ACCESS_PERMISSION."""
    _grant(closed, "collections", CLOSED, "read_object")
    _grant(closed, "data-objects", OBJ, "read_object")
    answer = closed.post("data-objects", "alice", op="modify_metadata", lpath=OBJ, operations=AVU)
    assert _failed(answer)[:2] == (400, error_code("CAT_NO_ACCESS_PERMISSION"))


def test_calculate_checksum_finds_no_row_without_read_object_on_the_collection(closed: Api) -> None:
    _grant(closed, "data-objects", OBJ, "read_object")
    _grant(closed, "collections", CLOSED, "read_metadata")
    answer = closed.post("data-objects", "alice", op="calculate_checksum", lpath=OBJ)
    assert (answer.status_code, code(answer)) == (200, error_code("CAT_NO_ROWS_FOUND"))
    assert "checksum" not in answer.json()
    _grant(closed, "collections", CLOSED, "read_object")
    answer = closed.post("data-objects", "alice", op="calculate_checksum", lpath=OBJ)
    assert code(answer) == 0, answer.text  # a reader may register a checksum (db_plugin.cpp:2414-2417)


def test_rename_pre_checks_the_old_path_as_the_caller(closed: Api) -> None:
    _metadata_only(closed)
    for endpoint, path, name in (
        ("data-objects", OBJ, "NOT_A_DATA_OBJECT"),
        ("collections", SUB, "NOT_A_COLLECTION"),
    ):
        answer = closed.post(endpoint, "alice", op="rename", **{"old-lpath": path, "new-lpath": f"{path}2"})
        assert (answer.status_code, code(answer)) == (400, error_code(name)), endpoint
    # An object alice owns, in a collection she may not read: renamed in place it needed only own (before).
    _grant(closed, "data-objects", OBJ, "own")
    _grant(closed, "collections", CLOSED, "read_metadata")
    answer = closed.post("data-objects", "alice", op="rename", **{"old-lpath": OBJ, "new-lpath": f"{OBJ}2"})
    assert (answer.status_code, code(answer)) == (400, error_code("NOT_A_DATA_OBJECT"))
    assert code(closed.get("data-objects", op="stat", lpath=OBJ)) == 0


def test_remove_finds_no_row_or_no_collection(closed: Api) -> None:
    _metadata_only(closed)
    answer = closed.post("data-objects", "alice", op="remove", lpath=OBJ, **{"catalog-only": "0"})
    assert (answer.status_code, code(answer)) == (200, error_code("CAT_NO_ROWS_FOUND"))
    answer = closed.post("collections", "alice", op="remove", lpath=SUB)
    assert (answer.status_code, code(answer)) == (400, error_code("NOT_A_COLLECTION"))
    # An object alice owns, in a collection she may not read: it used to go to the trash.
    _grant(closed, "data-objects", OBJ, "own")
    _grant(closed, "collections", CLOSED, "read_metadata")
    answer = closed.post("data-objects", "alice", op="remove", lpath=OBJ, **{"catalog-only": "0"})
    assert code(answer) == error_code("CAT_NO_ROWS_FOUND")
    assert code(closed.get("data-objects", op="stat", lpath=OBJ)) == 0


def test_copy_pre_checks_the_source_as_the_caller(closed: Api) -> None:
    _metadata_only(closed)
    dst = f"/{ZONE}/home/alice/copy.txt"
    answer = closed.post("data-objects", "alice", op="copy", **{"src-lpath": OBJ, "dst-lpath": dst})
    assert (answer.status_code, code(answer)) == (400, error_code("NOT_A_DATA_OBJECT"))
    _grant(closed, "data-objects", OBJ, "read_object")
    answer = closed.post("data-objects", "alice", op="copy", **{"src-lpath": OBJ, "dst-lpath": dst})
    assert code(answer) == 0, answer.text


@pytest.mark.parametrize(
    ("endpoint", "path", "name"),
    [("data-objects", OBJ, "NOT_A_DATA_OBJECT"), ("collections", SUB, "NOT_A_COLLECTION")],
)
def test_permission_changes_pre_check_the_path_as_the_caller(
    closed: Api, endpoint: str, path: str, name: str
) -> None:
    _metadata_only(closed)
    answer = closed.post(
        endpoint, "alice", op="set_permission", lpath=path, **{"entity-name": "alice"}, permission="own"
    )
    assert (answer.status_code, answer.json()) == (400, {"irods_response": {"status_code": error_code(name)}})
    ops = json.dumps([{"entity_name": "alice", "acl": "own"}])
    answer = closed.post(endpoint, "alice", op="modify_permissions", lpath=path, operations=ops)
    assert (answer.status_code, answer.json()) == (400, {"irods_response": {"status_code": error_code(name)}})


def test_touch_misses_what_the_caller_may_not_read(closed: Api) -> None:
    _metadata_only(closed)
    before = closed.get("collections", op="stat", lpath=SUB).json()["modified_at"]
    answer = closed.post("collections", "alice", op="touch", lpath=SUB, **{"seconds-since-epoch": "1000"})
    assert (answer.status_code, code(answer)) == (200, 0)
    assert closed.get("collections", op="stat", lpath=SUB).json()["modified_at"] == before
    answer = closed.post("data-objects", "alice", op="touch", lpath=OBJ, **{"no-create": "1"})
    assert (answer.status_code, code(answer)) == (200, 0)
    answer = closed.post("data-objects", "alice", op="touch", lpath=OBJ, **{"seconds-since-epoch": "1000"})
    assert code(answer) == error_code("CAT_NOT_A_DATAOBJ_AND_NOT_A_COLLECTION")
    assert closed.get("data-objects", op="stat", lpath=OBJ).json()["modified_at"] != 1000


def test_replicate_and_trim_find_no_row(closed: Api) -> None:
    """Both resolve the object through file_object_factory's getDataObjInfo (rsDataObjRepl.cpp:386-407,
    rsDataObjTrim.cpp:132-147) before any permission or replica check: CAT_NO_ROWS_FOUND, as if missing."""
    _metadata_only(closed)
    answer = closed.post("data-objects", "alice", op="replicate", lpath=OBJ, **{"dst-resource": "demoResc"})
    assert (answer.status_code, code(answer)) == (200, error_code("CAT_NO_ROWS_FOUND"))
    answer = closed.post("data-objects", "alice", op="trim", lpath=OBJ, **{"replica-number": "0"})
    assert (answer.status_code, code(answer)) == (200, error_code("CAT_NO_ROWS_FOUND"))


def test_set_inheritance_pre_checks_the_collection_as_the_caller(closed: Api) -> None:
    """is_collection before anything else (collections/src/main.cpp:682-687)."""
    _metadata_only(closed)
    answer = closed.post("collections", "alice", op="set_inheritance", lpath=SUB, enable="1")
    assert (answer.status_code, code(answer)) == (400, error_code("NOT_A_COLLECTION"))


@pytest.mark.parametrize("permission", ["read_object", "modify_metadata"])
def test_found_but_too_weak_to_rename_or_remove(closed: Api, permission: str) -> None:
    """Found (read_object or more), the server's own access-asking lookups answer: rsDataObjRename's
    getDataObjInfo(delete_object) (rsDataObjRename.cpp:139-144) and rsDataObjUnlink's O_WRONLY lookup,
    which asks modify_object (rsDataObjUnlink.cpp:358-359, dataObjOpr.cpp:1136-1138), fail in
    cmlCheckDataObjId (mid_level_routines.cpp:1761-1797): CAT_NO_ACCESS_PERMISSION at 200, nothing changed."""
    _grant(closed, "collections", CLOSED, "read_object")
    _grant(closed, "data-objects", OBJ, permission)
    answer = closed.post("data-objects", "alice", op="rename", **{"old-lpath": OBJ, "new-lpath": f"{OBJ}2"})
    assert (answer.status_code, code(answer)) == (200, error_code("CAT_NO_ACCESS_PERMISSION"))
    answer = closed.post("data-objects", "alice", op="remove", lpath=OBJ, **{"catalog-only": "0"})
    assert (answer.status_code, code(answer)) == (200, error_code("CAT_NO_ACCESS_PERMISSION"))
    assert code(closed.get("data-objects", op="stat", lpath=OBJ)) == 0


def test_truncate_is_told_the_object_does_not_exist(closed: Api) -> None:
    """rs_replica_truncate.cpp:78-91: resolve_resource_hierarchy's getDataObjInfo finds no row, and
    CAT_NO_ROWS_FOUND becomes OBJ_PATH_DOES_NOT_EXIST, sent with the API's additional_info
    (data_objects/src/main.cpp:2577-2583)."""
    _metadata_only(closed)
    answer = closed.post("data-objects", "alice", op="truncate", lpath=OBJ, size="1")
    assert (answer.status_code, code(answer)) == (200, error_code("OBJ_PATH_DOES_NOT_EXIST"))
    assert closed.read(OBJ).content == b"xyz"
