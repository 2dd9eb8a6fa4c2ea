"""Objects without a good replica, as iRODS 4.3 treats them: written over, hashed, copied, renamed.

A write that failed (its agent died: initServer.cpp ``finalize_replica_opened_for_create_or_write``) leaves
the object's replicas stale; the HTTP API's stat and read then refuse it (SYS_NO_GOOD_REPLICA, 500), but
the operations that resolve a replica by voting use the stale one: a stale replica votes low, not zero,
for an open or a write (irods 4.3.4 server/core/src/voting.cpp:42-93, ``calculate_with_repl_status``),
so ``iput -f`` onto such an object works. An object another client is writing is refused a rename
(rsDataObjRename.cpp:146-156: ``try_lock`` → LOCKED_DATA_OBJECT_ACCESS).

A close that changed nothing keeps the replica's status (replica_close.cpp:246-257 for the HTTP API's
streams, rsDataObjClose.cpp:361-380 for a copy of an empty object).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator

import httpx2
import pytest
from emulator_http import ZONE, Api, code

from irods_provider._error_codes import error_code
from irods_provider.testing import EmulatorServer

HOME = f"/{ZONE}/home/alice"
NO_GOOD_REPLICA = error_code("SYS_NO_GOOD_REPLICA")


@pytest.fixture
def rapi(irods_emulator_resources: EmulatorServer) -> Iterator[Api]:
    """A raw client against the preset-resources zone (``archiveResc`` beside ``demoResc``), as alice."""
    irods_emulator_resources.add_user("alice", "alice")
    with httpx2.Client(timeout=10) as http:
        yield Api(irods_emulator_resources, http)


def statuses(api: Api, name: str) -> list[tuple[str, str, str]]:
    """(replica number, DATA_REPL_STATUS, DATA_SIZE) of each replica of ``HOME/name``."""
    where = f"COLL_NAME = '{HOME}' and DATA_NAME = '{name}'"
    query = f"select DATA_REPL_NUM, DATA_REPL_STATUS, DATA_SIZE where {where}"
    answer = api.get("query", "alice", op="execute_genquery", query=query)
    assert answer.status_code == 200, answer.text
    return [(r[0], r[1], r[2]) for r in answer.json()["rows"]]


def mtime_and_checksum(api: Api, name: str) -> list[tuple[str, str]]:
    query = f"select DATA_MODIFY_TIME, DATA_CHECKSUM where COLL_NAME = '{HOME}' and DATA_NAME = '{name}'"
    rows = api.get("query", "alice", op="execute_genquery", query=query).json()["rows"]
    return [(r[0], r[1]) for r in rows]


def left_stale(api: Api, server: EmulatorServer, name: str, data: bytes) -> str:
    """``HOME/name``, its only replica left stale by a writer that died mid-way (``data`` half written)."""
    path = f"{HOME}/{name}"
    init = api.post("data-objects", "alice", op="parallel_write_init", lpath=path, **{"stream-count": 1})
    handle = init.json()["parallel_write_handle"]
    fields = {"op": "write", "parallel-write-handle": handle, "stream-index": 0, "offset": 0}
    assert code(api.post_multipart("data-objects", "alice", **fields, bytes=data)) == 0
    assert server.drop_parallel_writes(path) == 1
    assert statuses(api, name) == [("0", "0", str(len(data)))]
    stat = api.get("data-objects", "alice", op="stat", lpath=path)
    assert (stat.status_code, code(stat)) == (200, NO_GOOD_REPLICA)
    return path


def rename(api: Api, old: str, new: str) -> httpx2.Response:
    return api.post("data-objects", "alice", op="rename", **{"old-lpath": old, "new-lpath": new})


def shutdown(api: Api, handle: str) -> httpx2.Response:
    fields = {"parallel-write-handle": handle}
    return api.post("data-objects", "alice", op="parallel_write_shutdown", **fields)


def sha2(data: bytes) -> str:
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_a_write_onto_an_object_left_stale_opens_the_stale_replica_and_makes_it_good(
    rapi: Api, irods_emulator_resources: EmulatorServer
) -> None:
    path = left_stale(rapi, irods_emulator_resources, "failed.bin", b"half of it")
    answer = rapi.write(path, b"written again", "alice")
    assert (answer.status_code, code(answer)) == (200, 0)
    assert statuses(rapi, "failed.bin") == [("0", "1", "13")]
    assert rapi.read(path, "alice").content == b"written again"


def test_a_checksum_of_an_object_left_stale_hashes_the_stale_replica(
    rapi: Api, irods_emulator_resources: EmulatorServer
) -> None:
    # rsDataObjChksum.cpp:134-146 (check_replica_accessibility): a stale replica may be hashed.
    path = left_stale(rapi, irods_emulator_resources, "hashed.bin", b"half of it")
    answer = rapi.post("data-objects", "alice", op="calculate_checksum", lpath=path, force=1)
    assert code(answer) == 0, answer.text
    assert answer.json()["checksum"] == sha2(b"half of it")
    every = rapi.post("data-objects", "alice", op="calculate_checksum", lpath=path, all=1)
    assert code(every) == NO_GOOD_REPLICA  # all: the good replicas only (:441-445)


def test_a_copy_onto_an_object_left_stale_overwrites_it(
    rapi: Api, irods_emulator_resources: EmulatorServer
) -> None:
    path = left_stale(rapi, irods_emulator_resources, "target.bin", b"half of it")
    src = f"{HOME}/src.bin"
    assert code(rapi.write(src, b"the whole new content", "alice")) == 0
    fields = {"src-lpath": src, "dst-lpath": path, "overwrite": 1}
    assert code(rapi.post("data-objects", "alice", op="copy", **fields)) == 0
    assert statuses(rapi, "target.bin") == [("0", "1", "21")]
    assert rapi.read(path, "alice").content == b"the whole new content"


def test_an_object_left_stale_may_be_renamed_but_one_being_written_may_not(
    rapi: Api, irods_emulator_resources: EmulatorServer
) -> None:
    path = left_stale(rapi, irods_emulator_resources, "aside.bin", b"half")
    moved = rename(rapi, path, f"{path}.old")
    assert code(moved) == 0
    busy = f"{HOME}/busy.bin"
    init = rapi.post("data-objects", "alice", op="parallel_write_init", lpath=busy, **{"stream-count": 1})
    assert code(init) == 0
    renamed = rename(rapi, busy, f"{busy}.old")
    assert (renamed.status_code, code(renamed)) == (200, error_code("LOCKED_DATA_OBJECT_ACCESS"))
    handle = init.json()["parallel_write_handle"]
    shut = shutdown(rapi, handle)
    assert code(shut) == 0
    renamed = rename(rapi, busy, f"{busy}.old")
    assert code(renamed) == 0


def test_a_write_of_no_bytes_keeps_the_replica_status_and_stales_its_siblings(
    rapi: Api, irods_emulator_resources: EmulatorServer
) -> None:
    # replica_close.cpp:246-257 (4.3.4): nothing written, size unchanged → the status from before the open,
    # mtime and checksum kept; unlock_and_publish_replica(..., STALE_REPLICA) stales the siblings.
    path = f"{HOME}/probe.bin"
    assert code(rapi.write(path, b"old bytes", "alice")) == 0
    assert code(rapi.post("data-objects", "alice", op="calculate_checksum", lpath=path)) == 0
    answer = rapi.post("data-objects", "alice", op="replicate", lpath=path, **{"dst-resource": "archiveResc"})
    assert code(answer) == 0
    before = mtime_and_checksum(rapi, "probe.bin")[0]  # one distinct row: both replicas alike
    assert code(rapi.write(path, b"", "alice", truncate="0")) == 0
    # The vote writes archiveResc's replica 1 (first root in name order, irods_resource_redirect.cpp:175-243)
    assert statuses(rapi, "probe.bin") == [("0", "0", "9"), ("1", "1", "9")]
    assert before in mtime_and_checksum(rapi, "probe.bin")

    stale = left_stale(rapi, irods_emulator_resources, "still-stale.bin", b"half")
    assert code(rapi.write(stale, b"", "alice", truncate="0")) == 0
    assert statuses(rapi, "still-stale.bin") == [("0", "0", "4")]  # nothing written: not made good


def test_a_parallel_write_of_no_bytes_keeps_the_replica_status(
    rapi: Api, irods_emulator_resources: EmulatorServer
) -> None:
    stale = left_stale(rapi, irods_emulator_resources, "idle.bin", b"half")
    init = rapi.post(
        "data-objects", "alice", op="parallel_write_init", lpath=stale, truncate=0, **{"stream-count": 2}
    )
    handle = init.json()["parallel_write_handle"]
    shut = shutdown(rapi, handle)
    assert code(shut) == 0
    assert statuses(rapi, "idle.bin") == [("0", "0", "4")]


def test_a_copy_of_an_empty_object_keeps_the_statuses_of_the_destination(
    rapi: Api, irods_emulator_resources: EmulatorServer
) -> None:
    # rsDataObjCopy.cpp:206 reports the source's size (0) as bytes written; finalize_data_object then
    # restores the destination replica's status and its siblings' (rsDataObjClose.cpp:361-380 at 4.3.4).
    dst = f"{HOME}/dst.bin"
    assert code(rapi.write(dst, b"old bytes", "alice")) == 0
    answer = rapi.post("data-objects", "alice", op="replicate", lpath=dst, **{"dst-resource": "archiveResc"})
    assert code(answer) == 0
    src = f"{HOME}/empty.bin"
    assert code(rapi.write(src, b"", "alice")) == 0
    fields = {"src-lpath": src, "dst-lpath": dst, "overwrite": 1}
    assert code(rapi.post("data-objects", "alice", op="copy", **fields)) == 0
    assert sorted(s for _, s, _ in statuses(rapi, "dst.bin")) == ["1", "1"]
    assert sorted(size for _, _, size in statuses(rapi, "dst.bin")) == ["0", "9"]


def test_a_checksum_of_an_object_being_written_finds_no_replica_to_vote_for(rapi: Api) -> None:
    # Intermediate and write-locked replicas vote zero (voting.cpp:55-78); all zero is HIERARCHY_ERROR
    # (irods_resource_redirect.cpp:244-246), before rsDataObjChksum looks at any replica.
    path = f"{HOME}/busy.bin"
    assert code(rapi.write(path, b"old bytes", "alice")) == 0
    init = rapi.post("data-objects", "alice", op="parallel_write_init", lpath=path, **{"stream-count": 1})
    assert code(init) == 0
    answer = rapi.post("data-objects", "alice", op="calculate_checksum", lpath=path)
    assert (answer.status_code, code(answer)) == (200, error_code("HIERARCHY_ERROR"))
    assert code(shutdown(rapi, init.json()["parallel_write_handle"])) == 0
