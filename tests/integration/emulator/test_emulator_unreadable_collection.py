"""stat, read and list of what sits in a collection a rodsuser may not read, though the object is hers.

The HTTP API's data-objects ``stat`` and ``read`` and collections ``stat`` and ``list`` ask
``fs::client::status`` first (endpoints/data_objects/src/main.cpp:724-735 read, :1904-2000 stat at 0.7.0;
collections likewise). That is rcObjStat: dataObjStat's GenQuery (irods 4.3.4 server/api/src/rsObjStat.cpp:
155-202) names COLL_NAME and data columns, collStat's (server/core/src/collection.cpp:271-306) COLL_NAME, and
both go through rsGenQuery, whose access check for anyone but the local rodsadmin wants ``read_object`` on
the object and on the collection (plugins/database/src/general_query.cpp:1663-1669, 1683-1689). With no row
rsObjStat answers USER_FILE_DOES_NOT_EXIST (rsObjStat.cpp:146-149), so the object is "not a data object":
stat 200 + NOT_A_DATA_OBJECT, read 404 with no body (main.cpp:726-734), and the collection is "not a
collection". The emulator used to answer from the object's own ACL and to show ``read_metadata`` entries.
"""

from __future__ import annotations

import pytest
from emulator_http import ZONE, Api, code

from irods_provider._error_codes import error_code

HOME = f"/{ZONE}/home/rods"
CLOSED = f"{HOME}/closed"
OBJ = f"{CLOSED}/x.txt"


def _grant(api: Api, endpoint: str, path: str, permission: str) -> None:
    answer = api.post(
        endpoint, op="set_permission", lpath=path, **{"entity-name": "alice"}, permission=permission
    )
    assert code(answer) == 0, answer.text


@pytest.fixture
def closed(api: Api) -> Api:
    """rods's ``closed`` collection holding ``x.txt``, which alice owns; alice may read rods's home."""
    assert code(api.post("collections", op="create", lpath=CLOSED)) == 0
    assert code(api.write(OBJ, b"xyz")) == 0
    _grant(api, "data-objects", OBJ, "own")
    _grant(api, "collections", HOME, "read")
    return api


@pytest.mark.parametrize("on_collection", [None, "read_metadata"])
def test_an_object_in_an_unreadable_collection_is_not_found(closed: Api, on_collection: str | None) -> None:
    if on_collection is not None:
        _grant(closed, "collections", CLOSED, on_collection)
    stat = closed.get("data-objects", "alice", op="stat", lpath=OBJ)
    assert (stat.status_code, code(stat)) == (200, error_code("NOT_A_DATA_OBJECT"))
    read = closed.read(OBJ, "alice")
    assert (read.status_code, read.content) == (404, b"")
    coll = closed.get("collections", "alice", op="stat", lpath=CLOSED)
    assert code(coll) == error_code("NOT_A_COLLECTION")
    listed = closed.get("collections", "alice", op="list", lpath=CLOSED)
    assert code(listed) == error_code("NOT_A_COLLECTION")
    parent = closed.get("collections", "alice", op="list", lpath=HOME)
    assert parent.json()["entries"] is None  # an empty listing: null, as the server's unset json


def test_read_object_on_the_collection_shows_the_object(closed: Api) -> None:
    _grant(closed, "collections", CLOSED, "read_object")
    stat = closed.get("data-objects", "alice", op="stat", lpath=OBJ)
    assert code(stat) == 0, stat.text
    assert closed.read(OBJ, "alice").content == b"xyz"
    assert closed.get("collections", "alice", op="list", lpath=CLOSED).json()["entries"] == [OBJ]
    assert CLOSED in closed.get("collections", "alice", op="list", lpath=HOME).json()["entries"]


def test_read_metadata_on_the_object_alone_hides_it(closed: Api) -> None:
    """The data check wants ``read_object`` too (general_query.cpp:1663-1669)."""
    _grant(closed, "collections", CLOSED, "read_object")
    _grant(closed, "data-objects", OBJ, "read_metadata")
    stat = closed.get("data-objects", "alice", op="stat", lpath=OBJ)
    assert code(stat) == error_code("NOT_A_DATA_OBJECT")
    assert closed.get("collections", "alice", op="list", lpath=CLOSED).json()["entries"] is None
