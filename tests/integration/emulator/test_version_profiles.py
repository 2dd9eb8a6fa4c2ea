"""Each API-version profile answers over real HTTP as that release of the server does at its branching points.

Expectations come from the server's C++ source at the tag (irods/irods_client_http_api; ``data_objects`` is
``endpoints/data_objects/src/main.cpp``), cited file:line in each test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import httpx2
import pytest
from emulator_http import ZONE, Api, code

from irods_provider.testing import EmulatorConfig, EmulatorServer

VERSIONS = ("0.4.0", "0.5.0", "0.6.0", "0.7.0")
# 0.4.0's endpoints are byte-identical to 0.5.0's (git diff 0.4.0 0.5.0 -- endpoints changes only the
# OpenID code of endpoints/authentication), so the 0.5.0 line numbers below hold at 0.4.0 too.
BEFORE_0_6_0 = ("0.4.0", "0.5.0")
INVALID_HANDLE = -175000
CAT_NO_ACCESS_PERMISSION = -818000
NOT_A_DATA_OBJECT = -171000  # upstream irods_error_codes.py:9; the suite asserts it for missing objects
COMMON_INFO_KEYS = {
    "api_version",
    "build",
    "irods_zone",
    "max_number_of_rows_per_catalog_query",
    "max_size_of_request_body_in_bytes",
    "openid_connect_enabled",
}


@pytest.fixture
def api_at(irods_emulator_at: Callable[[str], EmulatorServer]) -> Iterator[Callable[[str], Api]]:
    """``api_at("0.5.0")``: a raw client on a fresh emulator of that version, with rodsuser alice."""
    with httpx2.Client(timeout=10) as http:

        def make(version: str) -> Api:
            server = irods_emulator_at(version)
            server.add_user("alice", "alice")
            return Api(server, http)

        yield make


def _stat_size(api: Api, path: str) -> int:
    r = api.get("data-objects", "alice", op="stat", lpath=path)
    assert code(r) == 0, r.text
    size: int = r.json()["size"]
    return size


@pytest.mark.parametrize("version", VERSIONS)
def test_only_the_versions_own_base_path_is_served(api_at: Callable[[str], Api], version: str) -> None:
    # core/CMakeLists.txt:42 (0.4.0), :44 (0.5.0), :46 (0.6.0/0.7.0): base = /irods-http-api/<version>;
    # routing is an exact map lookup (core/src/session.cpp req_handlers_->find), unknown paths 404 with an
    # empty body.
    api = api_at(version)
    assert api.server.base_url == f"{api.server.url}/irods-http-api/{version}"
    r = api.http.get(f"{api.server.url}/irods-http-api/{version}/info")
    assert r.status_code == 200
    assert r.json()["api_version"] == version
    for other in [v for v in VERSIONS if v != version] + ["latest"]:
        r = api.http.get(f"{api.server.url}/irods-http-api/{other}/info")
        assert (r.status_code, r.content) == (404, b"")
        r = api.http.post(
            f"{api.server.url}/irods-http-api/{other}/authenticate", auth=("rods", "rods-emulator")
        )
        assert (r.status_code, r.content) == (404, b"")
    assert api.http.get(f"{api.server.url}/irods-http-api/{version}/info/").status_code == 404


@pytest.mark.parametrize(
    ("version", "streams_key", "server_version"),
    [
        # endpoints/information/src/main.cpp:40-47 at 0.4.0, 0.5.0 and 0.6.0: per-handle cap under the old
        # name, no irods_server_version.
        ("0.4.0", "max_number_of_parallel_write_streams", False),
        ("0.5.0", "max_number_of_parallel_write_streams", False),
        ("0.6.0", "max_number_of_parallel_write_streams", False),
        # information/src/main.cpp:44 at 0.7.0 renames the key; :51-53 adds irods_server_version only when
        # resolve_client_identity succeeds (a valid token).
        ("0.7.0", "max_number_of_streams_per_parallel_write_handle", True),
    ],
)
def test_info_keys_per_version(
    api_at: Callable[[str], Api], version: str, streams_key: str, server_version: bool
) -> None:
    api = api_at(version)
    anonymous = api.http.get(f"{api.base}/info").json()
    assert set(anonymous) == COMMON_INFO_KEYS | {streams_key}
    assert anonymous[streams_key] == 3
    authenticated = api.http.get(f"{api.base}/info", headers=api.headers("alice")).json()
    expected = COMMON_INFO_KEYS | {streams_key} | ({"irods_server_version"} if server_version else set())
    assert set(authenticated) == expected
    if server_version:
        assert authenticated["irods_server_version"].startswith("rods")
    bad = api.http.get(f"{api.base}/info", headers={"Authorization": "Bearer not-a-token"}).json()
    assert "irods_server_version" not in bad


@pytest.mark.parametrize("version", VERSIONS)
def test_header_form_writes_exist_from_0_6_0(api_at: Callable[[str], Api], version: str) -> None:
    # 0.6.0 core/src/session.cpp:120-121 intercepts POST .../data-objects with irods-api-request-op: write.
    # 0.5.0 has no such branch: the body goes to the form parser, which rejects a content type that is
    # neither multipart nor urlencoded with 400 and an empty body (core/src/common.cpp:441-457 at 0.5.0).
    api = api_at(version)
    path = f"/{ZONE}/home/alice/header.bin"
    r = api.write(path, b"header form", user="alice")
    if version in BEFORE_0_6_0:
        assert (r.status_code, r.content) == (400, b"")
        assert code(api.get("data-objects", "alice", op="stat", lpath=path)) == NOT_A_DATA_OBJECT
        return
    assert (r.status_code, code(r)) == (200, 0)
    assert api.read(path, "alice").content == b"header form"


@pytest.mark.parametrize("version", VERSIONS)
def test_header_form_writes_are_intercepted_under_any_prefix(
    api_at: Callable[[str], Api], version: str
) -> None:
    # 0.6.0 core/src/session.cpp:118-123: before routing, any POST whose last path segment is "data-objects"
    # and that carries irods-api-request-op: write goes to op_write_streaming, whatever the prefix. Other
    # requests under a foreign prefix still 404 (session.cpp:170-178).
    api = api_at(version)
    path = f"/{ZONE}/home/alice/anywhere.bin"
    headers = {**api.headers("alice"), "irods-api-request-op": "write", "irods-api-request-lpath": path}
    r = api.http.post(f"{api.server.url}/some/proxy/prefix/data-objects", content=b"abc", headers=headers)
    if version in BEFORE_0_6_0:
        assert (r.status_code, r.content) == (404, b"")
        return
    assert (r.status_code, code(r)) == (200, 0)
    assert api.read(path, "alice").content == b"abc"
    form = api.http.post(
        f"{api.server.url}/some/proxy/prefix/data-objects",
        data={"op": "write", "lpath": path, "bytes": "x"},
        headers=api.headers("alice"),
    )
    assert (form.status_code, form.content) == (404, b"")


@pytest.mark.parametrize("version", ["0.4.0", "0.5.0", "0.6.0"])
def test_parallel_write_init_opens_one_stream_more_before_0_7_0(
    api_at: Callable[[str], Api], version: str
) -> None:
    # data_objects:1089 (0.5.0) / :1413 (0.6.0): a primary stream, then `for (i = 0; i < stream_count; ++i)`
    # more, so N + 1 streams and stream-index N is valid; N <= 0 is not checked (one stream). std::stoi on a
    # non-integer throws → catch std::exception → 500 (:1037, :1151-1154 at 0.5.0); N above
    # max_number_of_parallel_write_streams (3) → 400 (:1038-1049). No server-wide cap exists (no 503).
    api = api_at(version)
    path = f"/{ZONE}/home/alice/pw.bin"
    r = api.post("data-objects", "alice", op="parallel_write_init", lpath=path, **{"stream-count": "2"})
    assert code(r) == 0, r.text
    handle = r.json()["parallel_write_handle"]
    assert api.server.open_parallel_write_streams() == 3
    fields = {"parallel-write-handle": handle, "offset": "0", "stream-index": "2", "bytes": b"third stream"}
    assert code(api.post_multipart("data-objects", "alice", op="write", **fields)) == 0
    assert (
        code(
            api.post(
                "data-objects", "alice", op="parallel_write_shutdown", **{"parallel-write-handle": handle}
            )
        )
        == 0
    )
    assert api.read(path, "alice").content == b"third stream"
    for count, streams in (("0", 1), ("-1", 1)):
        r = api.post("data-objects", "alice", op="parallel_write_init", lpath=path, **{"stream-count": count})
        assert code(r) == 0, (count, r.text)
        assert api.server.open_parallel_write_streams() == streams
        handle = r.json()["parallel_write_handle"]
        api.post("data-objects", "alice", op="parallel_write_shutdown", **{"parallel-write-handle": handle})
    assert (
        api.post(
            "data-objects", "alice", op="parallel_write_init", lpath=path, **{"stream-count": "4"}
        ).status_code
        == 400
    )
    r = api.post("data-objects", "alice", op="parallel_write_init", lpath=path, **{"stream-count": "two"})
    assert (r.status_code, r.content) == (500, b"")
    api.server.set_limits(max_streams=3)
    handles = []
    for name in ("a", "b"):
        r = api.post(
            "data-objects", "alice", op="parallel_write_init", lpath=f"{path}.{name}", **{"stream-count": "3"}
        )
        assert code(r) == 0, r.text
        handles.append(r.json()["parallel_write_handle"])
    assert api.server.open_parallel_write_streams() == 8
    for handle in handles:
        api.post("data-objects", "alice", op="parallel_write_shutdown", **{"parallel-write-handle": handle})


def test_parallel_write_init_opens_exactly_n_streams_in_0_7_0(api_at: Callable[[str], Api]) -> None:
    # 0.7.0 data_objects:1366 stream-count < 1 → 400; :1465 `for (int i = 1; ...)` opens exactly N;
    # :1395-1401 the server-wide max_number_of_parallel_write_streams → 503.
    api = api_at("0.7.0")
    path = f"/{ZONE}/home/alice/pw.bin"
    r = api.post("data-objects", "alice", op="parallel_write_init", lpath=path, **{"stream-count": "2"})
    handle = r.json()["parallel_write_handle"]
    assert api.server.open_parallel_write_streams() == 2
    fields = {"parallel-write-handle": handle, "offset": "0", "stream-index": "2", "bytes": b"x"}
    assert api.post_multipart("data-objects", "alice", op="write", **fields).status_code == 400
    api.post("data-objects", "alice", op="parallel_write_shutdown", **{"parallel-write-handle": handle})
    for count in ("0", "-1", "4"):
        r = api.post("data-objects", "alice", op="parallel_write_init", lpath=path, **{"stream-count": count})
        assert (r.status_code, r.content) == (400, b""), count
    api.server.set_limits(max_streams=3)
    r = api.post("data-objects", "alice", op="parallel_write_init", lpath=path, **{"stream-count": "2"})
    assert code(r) == 0
    r2 = api.post(
        "data-objects", "alice", op="parallel_write_init", lpath=f"{path}.2", **{"stream-count": "2"}
    )
    assert r2.status_code == 503
    api.post(
        "data-objects",
        "alice",
        op="parallel_write_shutdown",
        **{"parallel-write-handle": r.json()["parallel_write_handle"]},
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_open_failures_per_version(api_at: Callable[[str], Api], version: str) -> None:
    # alice cannot create in rods' home, so the output stream does not open.
    # write: 0.5.0 data_objects:911-915 → HTTP 500, empty body; 0.6.0 :1182-1193 → 200 + INVALID_HANDLE
    # "Output stream to data object is in a bad state."; 0.7.0 the same unless built against iRODS >= 5.1.
    # parallel_write_init: 0.5.0 crashes (see test_parallel_write_init_open_failure_crashes_before_0_6_0);
    # 0.6.0 :1424-1435 → 200 + the code thrown by the stream constructor, INVALID_HANDLE "Could not open
    # output stream to [path]." (:150).
    api = api_at(version)
    api.server.set_limits(dstream_exposes_irods_error_codes=True)  # a 0.7.0-only build feature
    path = f"/{ZONE}/home/rods/denied.bin"
    write = api.post_multipart("data-objects", "alice", op="write", lpath=path, bytes=b"x")
    if version in BEFORE_0_6_0:
        assert (write.status_code, write.content) == (500, b"")
        return
    init = api.post("data-objects", "alice", op="parallel_write_init", lpath=path, **{"stream-count": "1"})
    if version == "0.6.0":
        assert write.status_code == 200
        assert write.json()["irods_response"] == {
            "status_code": INVALID_HANDLE,
            "status_message": "Output stream to data object is in a bad state.",
        }
        assert init.status_code == 200
        assert init.json()["irods_response"] == {
            "status_code": INVALID_HANDLE,
            "status_message": f"Could not open output stream to [{path}].",
        }
        return
    assert (write.status_code, code(write)) == (200, CAT_NO_ACCESS_PERMISSION)
    api.server.set_limits(dstream_exposes_irods_error_codes=False)
    write = api.post_multipart("data-objects", "alice", op="write", lpath=path, bytes=b"x")
    assert (write.status_code, code(write)) == (200, INVALID_HANDLE)


@pytest.mark.parametrize("version", BEFORE_0_6_0)
def test_parallel_write_init_open_failure_crashes_before_0_6_0(
    api_at: Callable[[str], Api], version: str
) -> None:
    # #402 (fixed in 0.6.0 by d3f53ca): when the stream cannot open, the constructor frees its transport
    # (`tp_.reset()`, data_objects:117-120 at 0.5.0) and throws; unwinding destroys the odstream, whose
    # buffer's close() calls `transport_->is_open()` through the freed pointer (irods 4.3.2
    # lib/core/include/irods/dstream.hpp:71-74, 192-194): the process dies with no reply, and whatever it
    # held in memory (Basic tokens, parallel-write handles: data_objects:168-169) is gone after a restart.
    api = api_at(version)
    home = f"/{ZONE}/home/alice"
    held = api.post(
        "data-objects", "alice", op="parallel_write_init", lpath=f"{home}/open.bin", **{"stream-count": "1"}
    )
    assert code(held) == 0
    handle = held.json()["parallel_write_handle"]
    with pytest.raises(httpx2.TransportError):
        api.post(
            "data-objects",
            "alice",
            op="parallel_write_init",
            lpath=f"/{ZONE}/home/rods/denied.bin",
            **{"stream-count": "1"},
        )
    assert api.server.crashes == 1
    stale = api.http.post(
        f"{api.base}/data-objects",
        data={"op": "parallel_write_shutdown", "parallel-write-handle": handle},
        headers=api.headers("alice"),
    )
    assert stale.status_code == 401  # the token died with the process
    api._tokens.clear()
    again = api.post_multipart(
        "data-objects",
        "alice",
        op="write",
        bytes=b"x",
        offset=0,
        **{"parallel-write-handle": handle, "stream-index": 0},
    )
    assert (again.status_code, again.content) == (400, b"")  # data_objects:811-814: an unknown handle


@pytest.mark.parametrize("version", VERSIONS)
def test_a_write_on_a_bad_stream_per_version(api_at: Callable[[str], Api], version: str) -> None:
    # A stream whose write failed keeps its badbit. 0.5.0 meets it at `if (!*out_ptr)` before reading the
    # bytes (data_objects:911-915 at 0.5.0) → 500, empty body; 0.6.0/0.7.0 answer 200 + INVALID_HANDLE
    # "Output stream to data object is in a bad state." (:1182-1193 at 0.6.0, :1196-1211 at 0.7.0).
    api = api_at(version)
    path = f"/{ZONE}/home/alice/bad-stream.bin"
    init = api.post("data-objects", "alice", op="parallel_write_init", lpath=path, **{"stream-count": "1"})
    handle = init.json()["parallel_write_handle"]
    fields = {"parallel-write-handle": handle, "stream-index": 0}
    api.server.set_vault_free("demoResc", 10)
    try:
        api.post_multipart("data-objects", "alice", op="write", bytes=b"a" * 100, offset=0, **fields)
        later = api.post_multipart("data-objects", "alice", op="write", bytes=b"b", offset=100, **fields)
    finally:
        api.server.set_vault_free("demoResc", None)
    if version in BEFORE_0_6_0:
        assert (later.status_code, later.content) == (500, b"")
    else:
        assert (later.status_code, code(later)) == (200, INVALID_HANDLE)
    api.post("data-objects", "alice", op="parallel_write_shutdown", **{"parallel-write-handle": handle})


@pytest.mark.parametrize("version", ["0.4.0", "0.5.0", "0.6.0"])
def test_parallel_write_init_ticket_failure_before_0_7_0(api_at: Callable[[str], Api], version: str) -> None:
    # The ticket is enabled inside the stream constructor: THROW(ec, "Error enabling ticket on connection.")
    # (data_objects:104 at 0.5.0, :130 at 0.6.0). 0.5.0 catches it as an open failure → 500, empty body
    # (:1091-1100); 0.6.0 answers 200 with that code and message (:1424-1435). The code itself comes from
    # iRODS (not pinned here).
    api = api_at(version)
    path = f"/{ZONE}/home/alice/ticketed.bin"
    r = api.post(
        "data-objects",
        "alice",
        op="parallel_write_init",
        lpath=path,
        **{"stream-count": "1", "ticket": "nope"},
    )
    if version in BEFORE_0_6_0:
        assert (r.status_code, r.content) == (500, b"")
        return
    assert r.status_code == 200
    assert r.json()["irods_response"]["status_message"] == "Error enabling ticket on connection."
    assert code(r) < 0
    assert code(r) != INVALID_HANDLE


@pytest.mark.parametrize("version", VERSIONS)
def test_replica_targeting_is_silently_ignored_before_0_6_0(
    api_at: Callable[[str], Api], version: str
) -> None:
    # 0.5.0 read (data_objects:482-760) opens `io::idstream in{tp, lpath}`: no resource / replica-number;
    # write (:896-906) honours resource only; parallel_write_init (:1003-1161) neither. 0.6.0 read
    # :862-880 (non-integer replica-number → 400), a missing replica fails to open → 400 (:966-970).
    api = api_at(version)
    path = f"/{ZONE}/home/alice/targets.bin"
    assert code(api.post_multipart("data-objects", "alice", op="write", lpath=path, bytes=b"abc")) == 0
    read_missing = api.read(path, "alice", **{"replica-number": "7"})
    read_bad = api.read(path, "alice", **{"replica-number": "seven"})
    write_missing = api.post_multipart(
        "data-objects", "alice", op="write", lpath=path, bytes=b"xyz", **{"replica-number": "7"}
    )
    init_missing = api.post(
        "data-objects",
        "alice",
        op="parallel_write_init",
        lpath=path,
        **{"stream-count": "1", "replica-number": "7"},
    )
    if version in BEFORE_0_6_0:
        assert (read_missing.status_code, read_missing.content) == (200, b"abc")
        assert (read_bad.status_code, read_bad.content) == (200, b"abc")
        assert code(write_missing) == 0
        assert code(init_missing) == 0
        handle = init_missing.json()["parallel_write_handle"]
        api.post("data-objects", "alice", op="parallel_write_shutdown", **{"parallel-write-handle": handle})
        assert _stat_size(api, path) == 0  # the init truncated the default replica
        return
    assert (read_missing.status_code, read_missing.content) == (400, b"")
    assert (read_bad.status_code, read_bad.content) == (400, b"")
    assert (write_missing.status_code, code(write_missing)) == (200, INVALID_HANDLE)
    assert (init_missing.status_code, code(init_missing)) == (200, INVALID_HANDLE)
    assert api.read(path, "alice").content == b"abc"


@pytest.mark.parametrize("version", VERSIONS)
def test_replicate_src_replica_number_is_ignored_before_0_6_0(
    api_at: Callable[[str], Api], version: str
) -> None:
    # 0.5.0 op_replicate (data_objects:1250-1327) passes dst-resource, src-resource and admin only;
    # 0.6.0 :1636-1638 adds src-replica-number as REPL_NUM_KW, so a replica that does not exist fails
    # (the exact iRODS code comes from rcDataObjRepl and is not pinned here).
    api = api_at(version)
    created = api.post(
        "resources",
        op="create",
        name="otherResc",
        type="unixfilesystem",
        host="localhost",
        **{"vault-path": "/v"},
    )
    assert code(created) == 0, created.text
    path = f"/{ZONE}/home/alice/repl.bin"
    assert code(api.post_multipart("data-objects", "alice", op="write", lpath=path, bytes=b"abc")) == 0
    r = api.post(
        "data-objects",
        "alice",
        op="replicate",
        lpath=path,
        **{"dst-resource": "otherResc", "src-replica-number": "7"},
    )
    if version in BEFORE_0_6_0:
        assert code(r) == 0, r.text
        query = "SELECT DATA_REPL_NUM, DATA_RESC_NAME WHERE DATA_NAME = 'repl.bin'"
        rows = api.get("query", "alice", op="execute_genquery", query=query).json()["rows"]
        assert sorted(rows) == [["0", "demoResc"], ["1", "otherResc"]]
        return
    assert r.status_code == 200
    assert code(r) < 0


@pytest.mark.parametrize("version", VERSIONS)
def test_resource_stat_parent_context_from_0_7_0(api_at: Callable[[str], Api], version: str) -> None:
    # endpoints/resources/src/main.cpp:598 / :651-653 at 0.7.0 add "parent_context" to the info object;
    # the 0.6.0 and 0.5.0 info objects end with last_modified_millis.
    api = api_at(version)
    info = api.get("resources", op="stat", name="demoResc").json()["info"]
    assert {"name", "type", "parent_id", "last_modified_millis"} <= set(info)
    assert info["name"] == "demoResc"
    assert ("parent_context" in info) is (version == "0.7.0")


@pytest.mark.parametrize("version", VERSIONS)
def test_read_without_a_good_replica_is_500_in_every_version(
    api_at: Callable[[str], Api], version: str
) -> None:
    # A data object whose only replica is stale: read asks fs::client::data_object_size first (0.5.0, 0.6.0
    # and 0.7.0 data_objects read op, line 82 of it), which finds no DATA_REPL_STATUS = '1' row and throws
    # SYS_NO_GOOD_REPLICA (irods 4.3.4 filesystem.cpp:760-763); the op answers a filesystem_error with 500
    # and an empty body (0.7.0 data_objects:1013-1016), before any stream is opened.
    api = api_at(version)
    path = f"/{ZONE}/home/alice/stale.bin"
    assert code(api.post_multipart("data-objects", "alice", op="write", lpath=path, bytes=b"abc")) == 0
    r = api.post(
        "data-objects",
        op="modify_replica",
        lpath=path,
        **{"replica-number": "0", "new-data-replica-status": "0"},
    )
    assert code(r) == 0, r.text
    r = api.read(path, "alice")
    assert (r.status_code, r.content) == (500, b"")


@pytest.mark.parametrize("version", [v for v in VERSIONS if v not in BEFORE_0_6_0])
def test_read_open_failure_status(api_at: Callable[[str], Api], version: str) -> None:
    # The stream cannot be opened (no replica 7): 0.6.0 :966-970 and 0.7.0 → 400 with an empty body (#460);
    # 0.5.0 (:712-716 → 500) ignores replica-number, so nothing there fails the open this way.
    api = api_at(version)
    path = f"/{ZONE}/home/alice/one.bin"
    assert code(api.post_multipart("data-objects", "alice", op="write", lpath=path, bytes=b"abc")) == 0
    r = api.read(path, "alice", **{"replica-number": "7"})
    assert (r.status_code, r.content) == (400, b"")


@pytest.mark.parametrize("version", VERSIONS)
def test_truncate_op_exists_from_0_6_0(api_at: Callable[[str], Api], version: str) -> None:
    # 0.5.0 data_objects:211-236 has no "truncate" in handlers_for_post, so it is an unknown op: 400 with an
    # empty body (core/src/common.cpp execute_operation); 0.6.0 :245 dispatches op_truncate.
    api = api_at(version)
    path = f"/{ZONE}/home/alice/trunc.bin"
    assert code(api.post_multipart("data-objects", "alice", op="write", lpath=path, bytes=b"abcdef")) == 0
    r = api.post("data-objects", "alice", op="truncate", lpath=path, size="2")
    if version in BEFORE_0_6_0:
        assert (r.status_code, r.content) == (400, b"")
        assert _stat_size(api, path) == 6
    else:
        assert (r.status_code, code(r)) == (200, 0)
        assert api.read(path, "alice").content == b"ab"


@pytest.mark.parametrize(
    ("version", "accepted", "ignored"),
    [
        # 0.5.0 data_objects:2299-2316 lists new-data-expiry and no access time; 0.6.0 :2715-2739 adds
        # new-data-access-time; 0.7.0 :2822-2843 renames to new-data-expiry-time. A request naming only
        # unknown properties has none → 400 "No properties provided." (:2325-2328 at 0.5.0).
        ("0.4.0", ["new-data-expiry"], ["new-data-expiry-time", "new-data-access-time"]),
        ("0.5.0", ["new-data-expiry"], ["new-data-expiry-time", "new-data-access-time"]),
        ("0.6.0", ["new-data-expiry", "new-data-access-time"], ["new-data-expiry-time"]),
        ("0.7.0", ["new-data-expiry-time", "new-data-access-time"], ["new-data-expiry"]),
    ],
)
def test_modify_replica_property_names(
    api_at: Callable[[str], Api], version: str, accepted: list[str], ignored: list[str]
) -> None:
    api = api_at(version)
    path = f"/{ZONE}/home/alice/replica.bin"
    assert code(api.post_multipart("data-objects", "alice", op="write", lpath=path, bytes=b"abc")) == 0
    for name in accepted:
        r = api.post(
            "data-objects", op="modify_replica", lpath=path, **{"replica-number": "0", name: "1700000000"}
        )
        assert (r.status_code, code(r)) == (200, 0), name
    for name in ignored:
        r = api.post(
            "data-objects", op="modify_replica", lpath=path, **{"replica-number": "0", name: "1700000000"}
        )
        assert (r.status_code, r.content) == (400, b""), name


def test_unsupported_api_version_is_refused() -> None:
    with pytest.raises(ValueError, match=r"0\.4\.0, 0\.5\.0, 0\.6\.0, 0\.7\.0"):
        EmulatorServer(EmulatorConfig(api_version="0.3.0"))


def test_command_line_serves_the_chosen_version_only(tmp_path) -> None:
    command = [
        sys.executable,
        "-m",
        "irods_provider.testing",
        "serve",
        "--port",
        "0",
        "--spool",
        str(tmp_path),
    ]
    refused = subprocess.run(
        [*command, "--api-version", "0.3.0"], check=False, capture_output=True, text=True, timeout=30
    )
    assert refused.returncode == 2
    assert "invalid choice: '0.3.0'" in refused.stderr
    proc = subprocess.Popen(
        [*command, "--api-version", "0.4.0"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().split(": ", 1)[1].strip()
        assert base.endswith("/irods-http-api/0.4.0")
        root = base.rsplit("/irods-http-api/", 1)[0]
        deadline = time.monotonic() + 15
        while True:
            try:
                info = httpx2.get(f"{base}/info", timeout=5)
                break
            except httpx2.ConnectError:
                assert time.monotonic() < deadline, "emulator did not start"
                time.sleep(0.05)
        assert info.status_code == 200
        assert info.json()["api_version"] == "0.4.0"
        assert "max_number_of_parallel_write_streams" in info.json()
        newer = httpx2.get(f"{root}/irods-http-api/0.7.0/info", timeout=5)
        assert (newer.status_code, newer.content) == (404, b"")
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
