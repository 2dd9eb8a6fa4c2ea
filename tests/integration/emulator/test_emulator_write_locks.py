"""A data object being written is locked as iRODS 4.2.9+ locks it, for every write the emulator serves.

irods/irods 4.3.4 server/core/src/logical_locking.cpp ``lock_impl``: the replica opened for write becomes
INTERMEDIATE (2), every sibling WRITE_LOCKED (4), and each replica's DATA_STATUS keeps its status from
before as ``{"original_status":"1"}`` (``insert_data_status``). A good close makes the written replica good
and its siblings stale (rsDataObjClose.cpp ``finalize_data_object``); a replica its agent left open is
closed stale with the siblings' statuses restored (initServer.cpp
``finalize_replica_opened_for_create_or_write``); a replicate's destination takes the source's status and
the others get theirs back (rsDataObjClose.cpp ``finalize_destination_replica_for_replication``).

While locked no replica is good: stat answers SYS_NO_GOOD_REPLICA at HTTP 200 and read answers 500 with
no body (data_objects ``op_stat``/``op_read`` call ``fs::client::data_object_size``, which asks for
``DATA_REPL_STATUS = '1'``: irods 4.3.4 filesystem.cpp:735-781). Writes that finish within one request
are observed through the emulator's write hold (``EmulatorServer.hold_writes``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx2
import pytest
from emulator_http import ZONE, Api, code

from irods_provider._error_codes import error_code
from irods_provider.testing import EmulatorServer

HOME = f"/{ZONE}/home/alice"
NO_GOOD_REPLICA = error_code("SYS_NO_GOOD_REPLICA")
WAIT = 10.0


@pytest.fixture
def rapi(irods_emulator_resources: EmulatorServer) -> Iterator[Api]:
    """A raw client against the preset-resources zone (``archiveResc`` beside ``demoResc``), as alice."""
    irods_emulator_resources.add_user("alice", "alice")
    with httpx2.Client(timeout=10) as http:
        yield Api(irods_emulator_resources, http)


def replicas(api: Api, name: str) -> list[tuple[str, str, str, str]]:
    """(replica number, DATA_REPL_STATUS, DATA_STATUS, DATA_SIZE) of each replica of ``HOME/name``."""
    query = (
        "select DATA_REPL_NUM, DATA_REPL_STATUS, DATA_STATUS, DATA_SIZE "
        f"where COLL_NAME = '{HOME}' and DATA_NAME = '{name}'"
    )
    answer = api.get("query", "alice", op="execute_genquery", query=query)
    assert answer.status_code == 200, answer.text
    return [(r[0], r[1], r[2], r[3]) for r in answer.json()["rows"]]


def saved(status: str) -> str:
    return '{"original_status":"' + status + '"}'


def two_good_replicas(api: Api, name: str, data: bytes) -> str:
    path = f"{HOME}/{name}"
    assert code(api.write(path, data, "alice")) == 0
    answer = api.post("data-objects", "alice", op="replicate", lpath=path, **{"dst-resource": "archiveResc"})
    assert code(answer) == 0
    assert replicas(api, name) == [("0", "1", "", str(len(data))), ("1", "1", "", str(len(data)))]
    return path


def open_handle(api: Api, path: str, data: bytes) -> str:
    """A parallel-write handle on ``path`` (truncating) with ``data`` written at offset 0 on stream 0."""
    answer = api.post("data-objects", "alice", op="parallel_write_init", lpath=path, **{"stream-count": 1})
    assert code(answer) == 0, answer.text
    handle: str = answer.json()["parallel_write_handle"]
    fields = {"op": "write", "parallel-write-handle": handle, "stream-index": 0, "offset": 0, "bytes": data}
    assert code(api.post_multipart("data-objects", "alice", **fields)) == 0
    return handle


def assert_unreadable(api: Api, path: str) -> None:
    """Stat and read as the HTTP API answers an object without a good replica."""
    stat = api.get("data-objects", "alice", op="stat", lpath=path)
    assert (stat.status_code, code(stat)) == (200, NO_GOOD_REPLICA)
    read = api.read(path, "alice")
    assert (read.status_code, read.content) == (500, b"")


def test_a_parallel_write_locks_every_replica_until_it_is_shut_down(rapi: Api) -> None:
    path = two_good_replicas(rapi, "two.bin", b"old bytes")
    handle = open_handle(rapi, path, b"new, partial")
    # The catalog keeps the sizes of before until the close; the written replica is intermediate. The vote
    # picks archiveResc's replica 1: both roots vote 1.0 and the first in name order wins (irods 4.3.4
    # irods_resource_redirect.cpp:175-243).
    assert replicas(rapi, "two.bin") == [("0", "4", saved("1"), "9"), ("1", "2", saved("1"), "9")]
    assert_unreadable(rapi, path)
    touch = rapi.post("data-objects", "alice", op="touch", lpath=path)  # touch.cpp:372-383: good ones only
    assert code(touch) == NO_GOOD_REPLICA

    assert (
        code(
            rapi.post(
                "data-objects", "alice", op="parallel_write_shutdown", **{"parallel-write-handle": handle}
            )
        )
        == 0
    )
    assert replicas(rapi, "two.bin") == [("0", "0", "", "9"), ("1", "1", "", "12")]
    assert rapi.read(path, "alice").content == b"new, partial"


def test_a_dropped_handle_leaves_its_replica_stale_and_restores_the_others(
    rapi: Api, irods_emulator_resources: EmulatorServer
) -> None:
    path = two_good_replicas(rapi, "kept.bin", b"old bytes")
    open_handle(rapi, path, b"half")
    assert irods_emulator_resources.drop_parallel_writes(path) == 1
    # initServer.cpp:85-112: the vault's size, stale, no checksum; the sibling gets its status back.
    assert replicas(rapi, "kept.bin") == [("0", "1", "", "9"), ("1", "0", "", "4")]  # the voted one: 1
    assert rapi.read(path, "alice").content == b"old bytes"
    assert rapi.get("data-objects", "alice", op="stat", lpath=path).json()["size"] == 9

    new = f"{HOME}/new.bin"
    open_handle(rapi, new, b"half")
    assert replicas(rapi, "new.bin") == [("0", "2", saved("1"), "0")]
    assert irods_emulator_resources.drop_parallel_writes() == 1
    assert replicas(rapi, "new.bin") == [("0", "0", "", "4")]
    assert_unreadable(rapi, new)  # a stale replica is no good replica either


def _in_thread(
    action: Callable[[Api], httpx2.Response], server: EmulatorServer
) -> tuple[threading.Thread, list[int]]:
    """Run ``action`` with its own client in a thread (it waits at a hold); codes: its iRODS code."""
    codes: list[int] = []

    def run() -> None:
        with httpx2.Client(timeout=WAIT * 3) as http:
            api = Api(server, http)
            codes.append(code(action(api)))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, codes


@contextmanager
def _held(server: EmulatorServer, path: str, action: Callable[[Api], httpx2.Response]) -> Iterator[None]:
    """While ``action`` (run in a thread) waits at a hold on ``path``; it must then succeed."""
    hold = server.hold_writes(path)
    thread, codes = _in_thread(action, server)
    try:
        assert hold.wait_reached(WAIT), "the write never reached its hold"
        yield
    finally:
        hold.release()
        thread.join(WAIT)
    assert not thread.is_alive()
    assert codes == [0]


def test_a_single_write_locks_the_object_while_its_bytes_arrive(
    rapi: Api, irods_emulator_resources: EmulatorServer
) -> None:
    path = two_good_replicas(rapi, "one.bin", b"old bytes")
    with _held(irods_emulator_resources, path, lambda api: api.write(path, b"rewritten", "alice")):
        assert replicas(rapi, "one.bin") == [("0", "4", saved("1"), "9"), ("1", "2", saved("1"), "9")]
        assert_unreadable(rapi, path)
        again = rapi.write(path, b"another writer", "alice")  # default builds name a failed open so
        assert (again.status_code, code(again)) == (200, error_code("INVALID_HANDLE"))
    assert replicas(rapi, "one.bin") == [("0", "0", "", "9"), ("1", "1", "", "9")]
    assert rapi.read(path, "alice").content == b"rewritten"


def test_a_copy_onto_an_existing_object_locks_the_destination(
    rapi: Api, irods_emulator_resources: EmulatorServer
) -> None:
    dst = two_good_replicas(rapi, "dst.bin", b"old bytes")
    src = f"{HOME}/src.bin"
    assert code(rapi.write(src, b"copied in", "alice")) == 0
    fields = {"src-lpath": src, "dst-lpath": dst, "overwrite": 1}
    with _held(
        irods_emulator_resources, dst, lambda api: api.post("data-objects", "alice", op="copy", **fields)
    ):
        # The replica opened is the newest good one; whichever it is, one is written, the other locked.
        held = replicas(rapi, "dst.bin")
        assert sorted((status, saved_as, size) for _, status, saved_as, size in held) == [
            ("2", saved("1"), "9"),
            ("4", saved("1"), "9"),
        ]
        assert replicas(rapi, "src.bin") == [("0", "1", "", "9")]  # a read takes no lock
        assert_unreadable(rapi, dst)
    written = next(number for number, status, _, _ in held if status == "2")
    assert {number: status for number, status, _, _ in replicas(rapi, "dst.bin")} == {
        written: "1",
        "1" if written == "0" else "0": "0",
    }
    assert rapi.read(dst, "alice").content == b"copied in"


def test_a_replicate_locks_the_source_and_makes_the_new_replica_intermediate(
    rapi: Api, irods_emulator_resources: EmulatorServer
) -> None:
    path = f"{HOME}/tier.bin"
    assert code(rapi.write(path, b"tiered", "alice")) == 0
    fields = {"lpath": path, "dst-resource": "archiveResc"}
    with _held(
        irods_emulator_resources,
        path,
        lambda api: api.post("data-objects", "alice", op="replicate", **fields),
    ):
        assert [r[:3] for r in replicas(rapi, "tier.bin")] == [("0", "4", saved("1")), ("1", "2", saved("1"))]
        assert_unreadable(rapi, path)
    assert replicas(rapi, "tier.bin") == [("0", "1", "", "6"), ("1", "1", "", "6")]


def test_the_control_plane_holds_and_releases_a_write(
    rapi: Api, irods_emulator_resources: EmulatorServer
) -> None:
    server = irods_emulator_resources
    path = f"{HOME}/held.bin"
    headers = {"X-Emulator-Token": server.control_token}
    control = f"{server.url}/_emulator"
    armed = rapi.http.post(f"{control}/write-holds", json={"path": path}, headers=headers)
    assert armed.json() == [{"path": path, "prefix": False, "operation": None, "reached": False}]
    thread, codes = _in_thread(lambda api: api.write(path, b"x", "alice"), server)
    holds = server.model.write_holds
    assert holds[path].wait_reached(WAIT)
    assert rapi.http.get(f"{control}/write-holds", headers=headers).json() == [
        {"path": path, "prefix": False, "operation": None, "reached": True}
    ]
    assert replicas(rapi, "held.bin") == [("0", "2", saved("1"), "0")]
    released = rapi.http.post(f"{control}/write-holds/release", json={"path": path}, headers=headers)
    assert released.json() == {"released": [path]}
    thread.join(WAIT)
    assert codes == [0]
    assert replicas(rapi, "held.bin") == [("0", "1", "", "1")]


def test_a_prefix_hold_of_one_operation_stops_the_first_such_write_only(
    rapi: Api, irods_emulator_resources: EmulatorServer
) -> None:
    """``prefix`` and ``operation`` (control plane): a write onto a matching name goes through, the first
    copy onto one waits locked, a second copy under the prefix meanwhile goes through."""
    server = irods_emulator_resources
    headers = {"X-Emulator-Token": server.control_token}
    control = f"{server.url}/_emulator"
    prefix, src = f"{HOME}/.part-", f"{HOME}/src.bin"
    assert code(rapi.write(src, b"source", "alice")) == 0
    body = {"path": prefix, "prefix": True, "operation": "copy"}
    armed = rapi.http.post(f"{control}/write-holds", json=body, headers=headers)
    assert armed.json() == [{"path": prefix, "prefix": True, "operation": "copy", "reached": False}]
    assert code(rapi.write(f"{prefix}written", b"w", "alice")) == 0  # not a copy: unheld

    def copy(name: str) -> Callable[[Api], httpx2.Response]:
        fields = {"src-lpath": src, "dst-lpath": f"{prefix}{name}"}
        return lambda api: api.post("data-objects", "alice", op="copy", **fields)

    thread, codes = _in_thread(copy("held"), server)
    assert server.model.write_holds[prefix].wait_reached(WAIT)
    assert replicas(rapi, ".part-held") == [("0", "2", saved("1"), "0")]
    assert code(copy("second")(rapi)) == 0  # the hold took its one write
    assert rapi.read(f"{prefix}second", "alice").content == b"source"
    assert codes == []
    released = rapi.http.post(f"{control}/write-holds/release", json={"path": prefix}, headers=headers)
    assert released.json() == {"released": [prefix]}
    thread.join(WAIT)
    assert codes == [0]
    assert rapi.read(f"{prefix}held", "alice").content == b"source"
    refused = rapi.http.post(
        f"{control}/write-holds", json={"path": prefix, "operation": "trim"}, headers=headers
    )
    assert refused.status_code == 400


@pytest.mark.parametrize("release", ["rods4.3.4", "rods5.0.1"])
def test_genquery1_filters_and_aggregates_replica_statuses_in_both_parsers(
    irods_emulator_variants: Callable[..., EmulatorServer], release: str
) -> None:
    # The server's own queries do it: filesystem.cpp:745-750 (4.3.4 and 5.0.2), touch.cpp:372-378.
    server = irods_emulator_variants(irods_server_version=release)
    server.add_user("alice", "alice")
    with httpx2.Client(timeout=10) as http:
        api = Api(server, http)
        assert code(api.write(f"{HOME}/done.bin", b"done", "alice")) == 0
        open_handle(api, f"{HOME}/busy.bin", b"half")

        def rows(query: str) -> list[list[str]]:
            answer = api.get("query", "alice", op="execute_genquery", query=query)
            assert answer.status_code == 200, answer.text
            assert code(answer) == 0, answer.text
            result: list[list[str]] = answer.json()["rows"]
            return result

        where = f"where COLL_NAME = '{HOME}'"
        assert rows(f"select DATA_NAME {where} and DATA_REPL_STATUS = '1'") == [["done.bin"]]
        assert rows(f"select DATA_NAME {where} and DATA_REPL_STATUS = '2'") == [["busy.bin"]]
        assert rows(f"select DATA_NAME {where} and DATA_REPL_STATUS > '1'") == [["busy.bin"]]
        assert rows(f"select MAX(DATA_REPL_STATUS), COUNT(DATA_ID) {where}") == [["2", "2"]]
        server.drop_parallel_writes()
        assert rows(f"select MAX(DATA_REPL_STATUS) {where}") == [["1"]]


def test_genquery2_filters_on_the_replica_status(rapi: Api) -> None:
    # genquery2_table_column_mappings.hpp:71 (irods 5.0.2): DATA_REPL_STATUS is R_DATA_MAIN.data_is_dirty.
    assert code(rapi.write(f"{HOME}/done.bin", b"done", "alice")) == 0
    open_handle(rapi, f"{HOME}/busy.bin", b"half")
    query = f"select DATA_NAME, DATA_REPL_STATUS where COLL_NAME = '{HOME}' and DATA_REPL_STATUS = '2'"
    answer = rapi.get("query", "alice", op="execute_genquery", parser="genquery2", query=query)
    assert answer.status_code == 200, answer.text
    assert answer.json()["rows"] == [["busy.bin", "2"]]
