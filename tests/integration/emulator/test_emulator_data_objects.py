"""/data-objects over real HTTP: writes in every form, reads, checksums, parallel writes and their limits."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor

from emulator_http import ZONE, Api, code

HOME = f"/{ZONE}/home/alice"


def sha2(data: bytes) -> str:
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_writes_in_every_form_and_known_checksums(api: Api) -> None:
    cases = {
        "a": b"some data",
        "b": b"different data",
        "c": b"hello, this message was written via the iRODS HTTP API!",
    }
    assert code(api.post("data-objects", "alice", op="write", lpath=f"{HOME}/a", bytes="some data")) == 0
    assert (
        code(api.post_multipart("data-objects", "alice", op="write", lpath=f"{HOME}/b", bytes=cases["b"]))
        == 0
    )
    assert code(api.write(f"{HOME}/c", cases["c"], user="alice")) == 0
    expected = {
        "a": "sha2:EweZDmulyhRes16ZGCqb7EZTG8VN32VqYCx4D6AkDe4=",
        "b": "sha2:YIoGizPRi+g4vLB77QHjVSHTCED6JNsJGS5nv9GG5iE=",
        "c": "sha2:1SgRcbKcy3+4fjwMvf7xQNG5OZmiYzBVbNuMIgiWbBE=",
    }
    for name, checksum in expected.items():
        r = api.post("data-objects", "alice", op="calculate_checksum", lpath=f"{HOME}/{name}")
        assert r.json()["checksum"] == checksum
        stat = api.get("data-objects", "alice", op="stat", lpath=f"{HOME}/{name}").json()
        assert stat["size"] == len(cases[name])
        assert stat["checksum"] == checksum
        assert api.read(f"{HOME}/{name}", "alice").content == cases[name]
    assert code(api.get("data-objects", "alice", op="verify_checksum", lpath=f"{HOME}/a")) == 0
    api.write(f"{HOME}/d", b"x", user="alice")
    r = api.get("data-objects", "alice", op="verify_checksum", lpath=f"{HOME}/d").json()
    assert r["irods_response"]["status_code"] == -407000
    assert r["results"][0]["error_code"] == -862000
    r = api.post("data-objects", "alice", op="calculate_checksum", lpath=f"/{ZONE}/does/not/exist")
    assert code(r) == -808000


def test_offsets_truncate_append_and_reads(api: Api) -> None:
    path = f"{HOME}/f"
    api.write(path, b"0123456789", user="alice")
    assert code(api.write(path, b"AB", user="alice", offset="4", truncate="0")) == 0
    assert code(api.write(path, b"ZZ", user="alice", append="1")) == 0
    assert api.read(path, "alice").content == b"0123AB6789ZZ"
    assert api.read(path, "alice", offset=2, count=3).content == b"23A"
    r = api.read(path, "alice", offset=12)
    assert (r.status_code, r.content, r.headers["content-type"]) == (200, b"", "application/json")
    assert api.read(path, "alice", offset=-1).status_code == 400
    assert api.read(path, "alice", count="x").status_code == 400
    assert api.read(path, "alice", **{"replica-number": 100}).status_code == 400
    assert api.read(path, "alice", resource="nope").status_code == 400
    assert api.read(f"{HOME}/missing", "alice").status_code == 404
    # truncate=0 never creates; the default mode and append do.
    r = api.post("data-objects", "alice", op="write", lpath=f"{HOME}/new", bytes="x", truncate=0)
    assert code(r) == -175000
    r = api.post("data-objects", "alice", op="write", lpath=f"{HOME}/created", offset="bad", bytes="x")
    assert r.status_code == 400
    assert code(api.get("data-objects", "alice", op="stat", lpath=f"{HOME}/created")) == 0
    r = api.post("data-objects", "alice", op="truncate", lpath=path, size=3)
    assert r.json()["irods_response"]["status_code"] == 0
    assert api.read(path, "alice").content == b"012"
    assert api.post("data-objects", "alice", op="truncate", lpath=path).status_code == 400


def test_large_read_is_chunked_octet_stream(api: Api) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    assert code(api.write(f"{HOME}/big", data, user="alice")) == 0
    r = api.read(f"{HOME}/big", "alice")
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers.get("transfer-encoding") == "chunked"
    assert r.content == data
    assert (
        api.read(f"{HOME}/big", "alice", offset=1024 * 1024, count=10).content
        == data[1024 * 1024 : 1024 * 1024 + 10]
    )


def test_open_failures_are_invalid_handle_unless_real_codes_are_exposed(api: Api) -> None:
    target = f"/{ZONE}/home/not_allowed.txt"
    r = api.post("data-objects", "alice", op="write", lpath=target, bytes="x")
    assert r.json()["irods_response"] == {
        "status_code": -175000,
        "status_message": "Output stream to data object is in a bad state.",
    }
    api.server.set_limits(dstream_exposes_irods_error_codes=True)
    assert code(api.write(target, b"x", user="alice")) == -818000
    api.write(f"{HOME}/o", b"x", user="alice")
    assert code(api.write(f"{HOME}/o", b"x", user="alice", replica_number="100")) == -164000
    assert code(api.write(f"{HOME}/o", b"x", user="alice", resource="nope")) == -78000
    assert api.write(f"{HOME}/o", b"x", user="alice", replica_number="bad").status_code == 400
    assert code(api.get("data-objects", "alice", op="stat", lpath=target)) == -171000


def test_copy_rename_touch_remove_and_permissions(api: Api) -> None:
    api.write(f"{HOME}/src", b"some data", user="alice")
    api.write(f"{HOME}/dst", b"other", user="alice")
    r = api.post(
        "data-objects", "alice", op="copy", **{"src-lpath": f"{HOME}/src", "dst-lpath": f"{HOME}/dst"}
    )
    assert code(r) == -312000
    r = api.post(
        "data-objects",
        "alice",
        op="copy",
        overwrite=1,
        **{"src-lpath": f"{HOME}/src", "dst-lpath": f"{HOME}/dst"},
    )
    assert code(r) == 0
    assert api.read(f"{HOME}/dst", "alice").content == b"some data"
    r = api.post(
        "data-objects",
        "alice",
        op="copy",
        **{"src-lpath": f"{HOME}/src", "dst-lpath": f"/{ZONE}/home/public"},
    )
    assert code(r) == -818000
    r = api.post("data-objects", "alice", op="copy", **{"src-lpath": "/nope", "dst-lpath": "/x"})
    assert (r.status_code, code(r)) == (400, -171000)
    r = api.post(
        "data-objects", "alice", op="rename", **{"old-lpath": f"{HOME}/src", "new-lpath": f"{HOME}/nodir/x"}
    )
    assert (r.status_code, code(r)) == (200, -358000)
    assert (
        code(
            api.post(
                "data-objects",
                "alice",
                op="rename",
                **{"old-lpath": f"{HOME}/src", "new-lpath": f"{HOME}/moved"},
            )
        )
        == 0
    )
    r = api.post(
        "data-objects", "alice", op="touch", lpath=f"{HOME}/moved", **{"seconds-since-epoch": 1600000000}
    )
    assert code(r) == 0
    assert (
        api.get("data-objects", "alice", op="stat", lpath=f"{HOME}/moved").json()["modified_at"] == 1600000000
    )
    r = api.post("data-objects", "alice", op="touch", lpath=HOME)
    assert (r.status_code, code(r)) == (400, -171000)
    r = api.post(
        "data-objects",
        "alice",
        op="modify_permissions",
        lpath=f"{HOME}/moved",
        operations=json.dumps([{"entity_name": "public", "acl": "read"}]),
    )
    assert code(r) == 0
    api.server.add_user("bob", "bob")
    assert api.read(f"{HOME}/moved", "bob").status_code == 404  # the collection too (status(): rsObjStat's
    # access-checked GenQuery names COLL_NAME, irods 4.3.4 rsObjStat.cpp:155-202, general_query.cpp:1683-1689)
    ops = json.dumps([{"entity_name": "public", "acl": "read"}])
    assert code(api.post("collections", "alice", op="modify_permissions", lpath=HOME, operations=ops)) == 0
    assert api.read(f"{HOME}/moved", "bob").content == b"some data"  # via group public
    assert api.read(f"{HOME}/dst", "bob").status_code == 404
    r = api.post(
        "data-objects", "alice", op="remove", lpath=f"{HOME}/moved", **{"catalog-only": 1, "no-trash": 1}
    )
    assert (r.status_code, r.content) == (400, b"")
    assert api.post("data-objects", "alice", op="remove", lpath=f"{HOME}/moved").status_code == 400
    assert (
        code(api.post("data-objects", "alice", op="remove", lpath=f"{HOME}/moved", **{"catalog-only": 0}))
        == 0
    )
    trash = api.get("collections", "alice", op="list", lpath=f"/{ZONE}/trash/home/alice").json()["entries"]
    assert trash == [f"/{ZONE}/trash/home/alice/moved"]
    r = api.post(
        "data-objects", "alice", op="remove", lpath=f"{HOME}/dst", **{"catalog-only": 0, "no-trash": 1}
    )
    assert code(r) == 0
    assert code(api.get("data-objects", "alice", op="stat", lpath=f"{HOME}/dst")) == -171000


def _init(api: Api, path: str, streams: int, user: str = "alice") -> str:
    r = api.post("data-objects", user, op="parallel_write_init", lpath=path, **{"stream-count": streams})
    assert code(r) == 0, r.text
    handle: str = r.json()["parallel_write_handle"]
    return handle


def test_parallel_write_three_streams(api: Api) -> None:
    path = f"{HOME}/pw"
    handle = _init(api, path, 3)

    def put(i: int, letter: bytes) -> int:
        if i == 1:  # one stream through the form encoding, the others through headers
            r = api.post_multipart(
                "data-objects",
                "alice",
                op="write",
                offset=10,
                bytes=letter * 10,
                **{"parallel-write-handle": handle, "stream-index": 1},
            )
        else:
            r = api.write(
                "",
                letter * 10,
                user="alice",
                parallel_write_handle=handle,
                stream_index=str(i),
                offset=str(i * 10),
            )
        return code(r)

    with ThreadPoolExecutor(3) as pool:
        assert list(pool.map(put, range(3), (b"A", b"B", b"C"))) == [0, 0, 0]
    assert api.server.open_parallel_write_streams() == 3
    assert (
        code(
            api.post(
                "data-objects", "alice", op="parallel_write_shutdown", **{"parallel-write-handle": handle}
            )
        )
        == 0
    )
    assert api.server.open_parallel_write_streams() == 0
    assert api.read(path, "alice").content == b"A" * 10 + b"B" * 10 + b"C" * 10
    r = api.post("data-objects", "alice", op="calculate_checksum", lpath=path)
    assert r.json()["checksum"] == "sha2:40ghWJg094XKraNmQ+nnzxCJp0ugME9rfaZsVd/A4Sc="
    assert (
        code(
            api.post("data-objects", "alice", op="parallel_write_shutdown", **{"parallel-write-handle": "x"})
        )
        == 0
    )


def test_stream_limits_400_503_429_and_locking(api: Api) -> None:
    r = api.post("data-objects", "alice", op="parallel_write_init", lpath=f"{HOME}/x", **{"stream-count": 4})
    assert r.status_code == 400
    r = api.post(
        "data-objects", "alice", op="parallel_write_init", lpath=f"{HOME}/x", **{"stream-count": "two"}
    )
    assert r.status_code == 500
    handles = [_init(api, f"{HOME}/p{i}", 3) for i in range(5)]
    r = api.post(
        "data-objects", "alice", op="parallel_write_init", lpath=f"{HOME}/nope", **{"stream-count": 1}
    )
    assert (r.status_code, r.content) == (503, b"")
    assert code(api.get("data-objects", "alice", op="stat", lpath=f"{HOME}/nope")) == -171000
    for h in handles[1:]:
        api.post("data-objects", "alice", op="parallel_write_shutdown", **{"parallel-write-handle": h})
    # A locked object cannot be opened again.
    assert (
        code(
            api.post(
                "data-objects", "alice", op="parallel_write_init", lpath=f"{HOME}/p0", **{"stream-count": 1}
            )
        )
        == -175000
    )
    # All streams of a handle busy (held through the model) -> 429 when no stream-index is given.
    for i in range(3):
        api.server.model.acquire_stream(handles[0], i)
    r = api.write("", b"x", user="alice", parallel_write_handle=handles[0])
    assert r.status_code == 429
    for i in range(3):
        api.server.model.release_stream(handles[0], i, 0)
    assert code(api.write("", b"x", user="alice", parallel_write_handle=handles[0])) == 0
    assert api.write("", b"x", user="alice", parallel_write_handle="unknown").status_code == 400
    assert (
        api.write("", b"x", user="alice", parallel_write_handle=handles[0], stream_index="7").status_code
        == 400
    )
    api.post("data-objects", "alice", op="parallel_write_shutdown", **{"parallel-write-handle": handles[0]})
    assert api.server.open_parallel_write_handles() == 0


def test_register_trim_and_modify_replica(api: Api) -> None:
    tmp_path = api.server.config.register_root
    assert tmp_path is not None
    local = tmp_path / "local.txt"
    local.write_bytes(b"registered bytes")
    path = f"/{ZONE}/home/rods/reg.txt"
    r = api.post(
        "data-objects", "alice", op="register", lpath=f"{HOME}/r", ppath=str(local), resource="demoResc"
    )
    assert code(r) == -830000  # rodsadmin only
    r = api.post("data-objects", op="register", lpath=path, ppath=str(local), resource="demoResc", checksum=1)
    assert code(r) == 0
    assert api.read(path).content == b"registered bytes"
    q = "select DATA_PATH, RESC_NAME, DATA_CHECKSUM where DATA_NAME = 'reg.txt'"
    assert api.get("query", op="execute_genquery", query=q).json()["rows"] == [
        [str(local), "demoResc", sha2(b"registered bytes")]
    ]
    second = tmp_path / "second.txt"
    second.write_bytes(b"registered bytes")
    r = api.post(
        "data-objects",
        op="register",
        lpath=path,
        ppath=str(second),
        resource="demoResc",
        **{"as-additional-replica": 1},
    )
    assert code(r) == 0
    q = "select DATA_REPL_NUM, DATA_REPL_STATUS where DATA_NAME = 'reg.txt'"
    assert api.get("query", op="execute_genquery", query=q).json()["rows"] == [["0", "0"], ["1", "1"]]
    assert api.read(path, **{"replica-number": 1}).content == b"registered bytes"
    assert code(api.post("data-objects", op="trim", lpath=path, **{"replica-number": 0})) == 0
    # One replica left: rsDataObjTrim with the API's COPIES_KW "1" trims nothing and succeeds
    # (irods 4.3.4 rsDataObjTrim.cpp:163-167).
    assert code(api.post("data-objects", op="trim", lpath=path, **{"replica-number": 1})) == 0
    assert api.read(path, **{"replica-number": 1}).content == b"registered bytes"
    r = api.post(
        "data-objects",
        op="modify_replica",
        lpath=path,
        **{"replica-number": 1, "new-data-size": 3, "new-data-access-time": "01700000000"},
    )
    assert code(r) == 0
    # DATA_ACCESS_TIME is a GenQuery1 column from iRODS 5.0 on (test_emulator_genquery_catalog_tables.py).
    q = "select DATA_SIZE where DATA_NAME = 'reg.txt' and DATA_REPL_NUM = '1'"
    assert api.get("query", op="execute_genquery", query=q).json()["rows"] == [["3"]]
    assert (
        api.post("data-objects", op="modify_replica", lpath=path, **{"replica-number": 1}).status_code == 400
    )
    assert (
        api.post(
            "data-objects", op="modify_replica", lpath=path, **{"replica-number": "x", "new-data-size": 1}
        ).status_code
        == 500
    )
    r = api.post(
        "data-objects", "alice", op="modify_replica", lpath=path, **{"replica-number": 1, "new-data-size": 1}
    )
    assert code(r) == -830000
    assert code(api.post("data-objects", op="remove", lpath=path, **{"catalog-only": 1})) == 0
    assert not local.exists()  # trimming replica 0 deleted its (registered) file
    assert second.read_bytes() == b"registered bytes"  # unregistering leaves the file alone
    r = api.post(
        "data-objects",
        "alice",
        op="replicate",
        lpath=f"{HOME}/x",
        **{"dst-resource": "d", "src-replica-number": "bad"},
    )
    assert code(r) == -403000


def test_resource_hierarchy_replication_and_direct_child_access(api: Api) -> None:
    for name, kind in (("repl", "replication"), ("ufs0", "unixfilesystem"), ("ufs1", "unixfilesystem")):
        assert code(api.post("resources", op="create", name=name, type=kind)) == 0
    for child in ("ufs0", "ufs1"):
        assert (
            code(api.post("resources", op="add_child", **{"parent-name": "repl", "child-name": child})) == 0
        )
    assert code(api.post("resources", "alice", op="create", name="x", type="unixfilesystem")) == -13000
    stat = api.get("resources", op="stat", name="ufs0").json()["info"]
    assert stat["parent_id"] == api.get("resources", op="stat", name="repl").json()["info"]["id"]
    assert (
        api.post("resources", op="modify", name="ufs0", property="status", value="sideways").status_code
        == 400
    )
    path = f"{HOME}/replicated"
    assert (
        code(api.post("data-objects", "alice", op="write", lpath=path, resource="repl", bytes="twice")) == 0
    )
    q = "select DATA_REPL_NUM, RESC_NAME, DATA_RESC_HIER, DATA_REPL_STATUS where DATA_NAME = 'replicated'"
    rows = api.get("query", "alice", op="execute_genquery", query=q).json()["rows"]
    assert rows == [["0", "ufs0", "repl;ufs0", "1"], ["1", "ufs1", "repl;ufs1", "1"]]
    assert api.read(path, "alice", **{"replica-number": 1}).content == b"twice"
    r = api.post("data-objects", "alice", op="write", lpath=path, resource="ufs0", bytes="x")
    assert r.json()["irods_response"]["status_code"] == -175000
    api.server.set_limits(dstream_exposes_irods_error_codes=True)
    assert (
        code(api.post("data-objects", "alice", op="write", lpath=path, resource="ufs0", bytes="x"))
        == -1816000
    )
    # Replicate to demoResc, then a write to replica 0 makes the others stale until replicated again.
    assert (
        code(api.post("data-objects", "alice", op="replicate", lpath=path, **{"dst-resource": "demoResc"}))
        == 0
    )
    api.post("data-objects", "alice", op="write", lpath=path, bytes="new", resource="demoResc")
    assert api.read(path, "alice", resource="demoResc").content == b"new"
    # count defaults to (and is clamped at) the newest good replica's size, whatever replica is read.
    assert api.read(path, "alice", resource="repl", count=5).content == b"twi"
    r = api.post(
        "data-objects",
        "alice",
        op="replicate",
        lpath=path,
        **{"dst-resource": "repl", "src-resource": "demoResc"},
    )
    assert code(r) == 0
    assert api.read(path, "alice", resource="repl").content == b"new"
    assert code(api.post("resources", op="remove", name="ufs0")) == -835000  # has replicas / is a child


def test_renaming_a_data_object_needs_own_on_it(api: Api) -> None:
    """iRODS 4.3.2 chlRenameObject (db_plugin.cpp:10793) and chlMoveObject (:11170) select the object only
    for a user holding ``own`` on it (CAT_NO_ACCESS_PERMISSION otherwise, :11033): ``delete_object`` or
    ``modify_object`` is not enough. A rename in place asks nothing of the collection; a move wants
    ``modify_object`` on the new one (:11131)."""
    api.server.add_user("bob", "bob")
    api.write(f"{HOME}/shared", b"data", user="alice")
    api.write(f"{HOME}/bobs", b"his", user="alice")
    grants = [{"entity_name": "bob", "acl": "delete_object"}]
    for name in ("shared", "bobs"):
        operations = json.dumps(grants if name == "shared" else [{"entity_name": "bob", "acl": "own"}])
        r = api.post(
            "data-objects", "alice", op="modify_permissions", lpath=f"{HOME}/{name}", operations=operations
        )
        assert code(r) == 0
    r = api.post(
        "collections",
        "alice",
        op="modify_permissions",
        lpath=HOME,
        operations=json.dumps([{"entity_name": "bob", "acl": "read"}]),
    )
    assert code(r) == 0

    def rename(old: str, new: str) -> int:
        return code(api.post("data-objects", "bob", op="rename", **{"old-lpath": old, "new-lpath": new}))

    assert rename(f"{HOME}/bobs", f"{HOME}/renamed") == 0  # own, read on the collection: a rename in place
    r = api.post(
        "collections",
        "alice",
        op="modify_permissions",
        lpath=HOME,
        operations=json.dumps([{"entity_name": "bob", "acl": "write"}]),
    )
    assert code(r) == 0
    assert rename(f"{HOME}/shared", f"{HOME}/aside") == -818000  # delete_object, even with write on HOME
    readonly = f"{HOME}/readonly"  # bob reads it; group public owns /tempZone/home/public on a new zone
    assert code(api.post("collections", "alice", op="create", lpath=readonly)) == 0
    grant = json.dumps([{"entity_name": "bob", "acl": "read"}])
    assert (
        code(api.post("collections", "alice", op="modify_permissions", lpath=readonly, operations=grant)) == 0
    )
    assert rename(f"{HOME}/renamed", f"{readonly}/moved") == -818000  # a move: no write there
    assert api.read(f"{HOME}/shared", "alice").content == b"data"
    assert api.read(f"{HOME}/renamed", "alice").content == b"his"
