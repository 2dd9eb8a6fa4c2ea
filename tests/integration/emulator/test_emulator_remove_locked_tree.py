"""A recursive removal for good of a tree holding an object another client is writing: partly done, yet 0.

``collections remove`` with ``recurse=1`` calls ``fs::client::remove_all`` and ignores what it returns
(irods_client_http_api endpoints/collections/src/main.cpp:440-446 at 0.5.0, 0.6.0 and 0.7.0), and
``remove_impl`` turns rcRmColl's status into a bool (irods 4.3.4 lib/filesystem/src/filesystem.cpp:294, the
same 4.3.0-5.0.2): the answer is 200 with status_code 0 whatever the server did. With ``no-trash=1`` rsRmColl
walks the tree (_rsPhyRmColl, server/api/src/rsRmColl.cpp:352-440): rsDataObjUnlink refuses an object whose
replica is intermediate or write-locked (``try_lock``: LOCKED_DATA_OBJECT_ACCESS -406000,
rsDataObjUnlink.cpp:283-290, logical_locking.cpp:286-314), the walk goes on, every other object is unlinked,
every collection emptied is unregistered, and the collections still holding the locked object stay
(svrUnregColl of a non-empty one fails). The emulator used to delete the whole tree, the open object too.
"""

from __future__ import annotations

from emulator_http import ZONE, Api, code

TREE = f"/{ZONE}/home/rods/tree"


def _paths(api: Api) -> tuple[list[str], list[str]]:
    """(collections, data objects) at or under ``TREE``, as the rodsadmin's GenQuery lists them."""
    cond = f"COLL_NAME = '{TREE}' || like '{TREE}/%'"
    colls = api.get("query", op="execute_genquery", query=f"select COLL_NAME where {cond}").json()["rows"]
    query = f"select COLL_NAME, DATA_NAME where {cond}"
    objs = api.get("query", op="execute_genquery", query=query).json()["rows"]
    return sorted(c[0] for c in colls), sorted(f"{c}/{d}" for c, d in objs)


def test_the_walk_removes_around_an_object_being_written_and_answers_zero(api: Api) -> None:
    for coll in (TREE, f"{TREE}/a", f"{TREE}/b"):
        assert code(api.post("collections", op="create", lpath=coll)) == 0
    for name in ("a/other.txt", "b/x.txt", "top.txt"):
        assert code(api.write(f"{TREE}/{name}", b"x")) == 0
    init = api.post(
        "data-objects", op="parallel_write_init", lpath=f"{TREE}/a/locked.bin", **{"stream-count": 1}
    )
    handle = init.json()["parallel_write_handle"]

    answer = api.post("collections", op="remove", lpath=TREE, recurse=1, **{"no-trash": 1})
    assert answer.status_code == 200
    assert code(answer) == 0, answer.text
    assert _paths(api) == ([TREE, f"{TREE}/a"], [f"{TREE}/a/locked.bin"])

    shutdown = api.post("data-objects", op="parallel_write_shutdown", **{"parallel-write-handle": handle})
    assert code(shutdown) == 0
    assert code(api.post("collections", op="remove", lpath=TREE, recurse=1, **{"no-trash": 1})) == 0
    assert _paths(api) == ([], [])
