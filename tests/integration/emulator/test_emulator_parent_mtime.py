"""Parent collection mtimes after removes and renames, as irods 4.3.4 sets them (the same 4.3.0-5.0.2).

rsDataObjUnlink, rsRmColl and rsDataObjRename (data objects and collections alike) set the parent
collection's mtime after a success (server/api/src/rsDataObjUnlink.cpp:471-480, rsRmColl.cpp:127-141,
rsDataObjRename.cpp:446-466, both parents for a rename). A move to the trash is a rename
(rsDataObjUnlink.cpp:208, rsRmColl.cpp:757). chlMoveObject also sets a moved data object's modify_ts,
chlRenameObject (same collection) does not (plugins/database/src/db_plugin.cpp:11186-11193 vs 10806-10813).
The HTTP API 0.7.0 reaches them through rcDataObjUnlink, fs::client::remove(_all) and fs::client::rename
(endpoints/data_objects/src/main.cpp:2206, 2275; endpoints/collections/src/main.cpp:442-445, 516).
Every mtime starts at 1000 (touch), so "moved" is "no longer 1000", with no clock in the test.
"""

from __future__ import annotations

import pytest
from emulator_http import Api, code

HOME = "/tempZone/home/rods"
OLD = 1000


def _coll_mtime(api: Api, path: str) -> int:
    body = api.get("collections", op="stat", lpath=path).json()
    assert body["irods_response"]["status_code"] == 0, body
    value: int = body["modified_at"]
    return value


def _data_mtime(api: Api, path: str) -> int:
    value: int = api.get("data-objects", op="stat", lpath=path).json()["modified_at"]
    return value


def _age(api: Api, *paths: str) -> None:
    """Set each path's mtime to OLD (collections end with "/", the others are data objects)."""
    for path in paths:
        endpoint = "collections" if path.endswith("/") else "data-objects"
        touched = api.post(endpoint, op="touch", lpath=path.rstrip("/"), **{"seconds-since-epoch": OLD})
        assert code(touched) == 0, touched.text


@pytest.fixture
def tree(api: Api) -> Api:
    """``a/`` holding ``x.txt`` and ``sub/``, and an empty ``b/``, all under rods's home."""
    for coll in ("a", "a/sub", "b"):
        assert code(api.post("collections", op="create", lpath=f"{HOME}/{coll}")) == 0
    assert code(api.write(f"{HOME}/a/x.txt", b"xyz")) == 0
    return api


@pytest.mark.parametrize(
    "params", [{"no-trash": 1}, {"catalog-only": 1}, {}], ids=["no-trash", "unregister", "to-trash"]
)
def test_removing_a_data_object_stamps_its_collection(tree: Api, params: dict[str, int]) -> None:
    _age(tree, f"{HOME}/a/")
    removed = tree.post("data-objects", op="remove", lpath=f"{HOME}/a/x.txt", **{"catalog-only": 0, **params})
    assert code(removed) == 0, removed.text
    assert _coll_mtime(tree, f"{HOME}/a") > OLD


def test_a_data_object_moved_to_the_trash_is_stamped_with_the_trash_collection(tree: Api) -> None:
    """rsMvDataObjToTrash renames the object into /tempZone/trash/home/rods/a: chlMoveObject stamps the
    object and rsDataObjRename the trash collection."""
    assert code(tree.post("data-objects", op="remove", lpath=f"{HOME}/a/x.txt", **{"catalog-only": 0})) == 0
    trash = "/tempZone/trash/home/rods/a"
    assert (
        code(
            tree.post(
                "data-objects", op="rename", **{"old-lpath": f"{trash}/x.txt", "new-lpath": f"{trash}/y.txt"}
            )
        )
        == 0
    )
    _age(tree, f"{trash}/", f"{trash}/y.txt")
    assert code(tree.write(f"{HOME}/a/z.txt", b"z")) == 0
    assert code(tree.post("data-objects", op="remove", lpath=f"{HOME}/a/z.txt", **{"catalog-only": 0})) == 0
    assert _coll_mtime(tree, trash) > OLD
    assert _data_mtime(tree, f"{trash}/z.txt") > OLD
    assert _data_mtime(tree, f"{trash}/y.txt") == OLD


def test_renaming_a_data_object_in_place_stamps_the_collection_not_the_object(tree: Api) -> None:
    _age(tree, f"{HOME}/a/", f"{HOME}/b/", f"{HOME}/a/x.txt")
    renamed = tree.post(
        "data-objects", op="rename", **{"old-lpath": f"{HOME}/a/x.txt", "new-lpath": f"{HOME}/a/y.txt"}
    )
    assert code(renamed) == 0, renamed.text
    assert _coll_mtime(tree, f"{HOME}/a") > OLD
    assert _coll_mtime(tree, f"{HOME}/b") == OLD
    assert _data_mtime(tree, f"{HOME}/a/y.txt") == OLD


def test_moving_a_data_object_stamps_both_collections_and_the_object(tree: Api) -> None:
    _age(tree, f"{HOME}/a/", f"{HOME}/b/", f"{HOME}/a/x.txt")
    moved = tree.post(
        "data-objects", op="rename", **{"old-lpath": f"{HOME}/a/x.txt", "new-lpath": f"{HOME}/b/x.txt"}
    )
    assert code(moved) == 0, moved.text
    assert (_coll_mtime(tree, f"{HOME}/a") > OLD, _coll_mtime(tree, f"{HOME}/b") > OLD) == (True, True)
    assert _data_mtime(tree, f"{HOME}/b/x.txt") > OLD


@pytest.mark.parametrize("no_trash", [1, 0], ids=["no-trash", "to-trash"])
def test_removing_a_collection_stamps_its_parent(tree: Api, no_trash: int) -> None:
    _age(tree, f"{HOME}/a/", f"{HOME}/")
    removed = tree.post("collections", op="remove", lpath=f"{HOME}/a/sub", **{"no-trash": no_trash})
    assert code(removed) == 0, removed.text
    assert _coll_mtime(tree, f"{HOME}/a") > OLD
    assert _coll_mtime(tree, HOME) == OLD


def test_moving_a_collection_stamps_both_parents(tree: Api) -> None:
    _age(tree, f"{HOME}/a/", f"{HOME}/b/", f"{HOME}/a/sub/", f"{HOME}/")
    moved = tree.post(
        "collections", op="rename", **{"old-lpath": f"{HOME}/a/sub", "new-lpath": f"{HOME}/b/sub"}
    )
    assert code(moved) == 0, moved.text
    after = [_coll_mtime(tree, f"{HOME}/{p}") > OLD for p in ("a", "b", "b/sub")]
    assert after == [True, True, True]
    assert _coll_mtime(tree, HOME) == OLD
