"""The version table and ``auto`` discovery, without a server where no server can produce the case.

Expectations come from irods-http-api-versions.md section 2 (the server source at each tag), not from
the emulator. MockTransport serves only what no emulator profile can: a 0.8.0 server, a server that
answers nothing, and counting probes under concurrency.
"""

from __future__ import annotations

import json
import logging
import threading

import httpx2
import pytest

from irods_provider.client import IrodsSession, RetryPolicy, StaticToken, api_version_facts
from irods_provider.client._discovery import (
    discover_api_version,
    forget_discovered_versions,
    resolve_base_url,
)
from irods_provider.client._operation import Reply, decode_reply
from irods_provider.client._ops_fs import do_parallel_write_init, do_read, do_truncate, do_write
from irods_provider.client._ops_misc import decode_limits
from irods_provider.client._versions import KNOWN_VERSIONS, version_from_url
from irods_provider.exceptions import (
    IrodsBadRequestError,
    IrodsConnectionError,
    IrodsProtocolError,
    IrodsResponseError,
    IrodsUsageError,
)

P = "/tempZone/home/rods/a.bin"


@pytest.fixture(autouse=True)
def _fresh_caches():
    api_version_facts.cache_clear()
    forget_discovered_versions()
    yield
    api_version_facts.cache_clear()
    forget_discovered_versions()


def test_known_versions_are_probed_newest_first():
    assert KNOWN_VERSIONS == ("0.7.0", "0.6.0", "0.5.0", "0.4.0")


@pytest.mark.parametrize(
    ("version", "header", "extra_stream", "info_key", "expiry"),
    [
        # 0.4.0's endpoints are 0.5.0's (git diff 0.4.0 0.5.0 -- endpoints: authentication only).
        ("0.4.0", False, True, "max_number_of_parallel_write_streams", "new-data-expiry"),
        ("0.5.0", False, True, "max_number_of_parallel_write_streams", "new-data-expiry"),
        ("0.6.0", True, True, "max_number_of_parallel_write_streams", "new-data-expiry"),
        ("0.7.0", True, False, "max_number_of_streams_per_parallel_write_handle", "new-data-expiry-time"),
    ],
)
def test_table_rows(version, header, extra_stream, info_key, expiry):
    row = api_version_facts(version)
    assert (row.version, row.behaves_as, row.known) == (version, version, True)
    assert row.header_form_writes is header
    assert row.parallel_write_extra_stream is extra_stream
    assert row.info_streams_per_handle_key == info_key
    assert row.modify_replica_fields(expiry="01700000000") == ((expiry, "01700000000"),)
    # Whatever the server opens, the client uses exactly the streams it asked for.
    assert list(row.stream_indexes(3)) == [0, 1, 2]


@pytest.mark.parametrize(
    ("op", "parameter"),
    [
        (do_read(P, resource="demoResc"), "resource"),
        (do_read(P, replica_number=1), "replica-number"),
        (do_write(P, b"x", replica_number=0), "replica-number"),  # header form
        (do_write(P, b"x", replica_number=0, header_form=False), "replica-number"),  # multipart
        (do_parallel_write_init(P, stream_count=2, resource="demoResc"), "resource"),
        (do_parallel_write_init(P, stream_count=2, replica_number=1), "replica-number"),
    ],
)
@pytest.mark.parametrize("old", ["0.4.0", "0.5.0"])
def test_targeting_is_refused_before_0_6_0(op, parameter, old):
    with pytest.raises(IrodsUsageError) as caught:
        api_version_facts(old).check(op)
    message = str(caught.value)
    assert f"iRODS HTTP API {old} silently ignores" in message
    assert repr(parameter) in message
    assert "nothing was sent" in message
    assert caught.value.operation == op.name
    assert caught.value.path == P
    for version in ("0.6.0", "0.7.0"):
        api_version_facts(version).check(op)  # honoured there: no error


def test_write_resource_is_honoured_by_0_5_0():
    # 0.5.0 honours ``resource`` on write (only replica-number is ignored there).
    api_version_facts("0.5.0").check(do_write(P, b"x", resource="demoResc", header_form=False))


def test_truncate_operation_is_refused_before_0_6_0():
    with pytest.raises(IrodsUsageError, match=r"0\.5\.0 has no truncate operation"):
        api_version_facts("0.5.0").check(do_truncate(P, 3))
    with pytest.raises(IrodsUsageError, match=r"0\.4\.0 has no truncate operation"):
        api_version_facts("0.4.0").check(do_truncate(P, 3))
    api_version_facts("0.6.0").check(do_truncate(P, 3))


def test_write_form_follows_the_row():
    header = do_write(P, b"data", offset=4, truncate=False)
    assert ("irods-api-request-op", "write") in header.headers
    assert header.content == b"data"
    multipart = do_write(P, b"data", offset=4, truncate=False, header_form=False)
    assert multipart.content is None
    assert multipart.headers == ()
    assert dict(multipart.fields) == {
        "op": "write",
        "lpath": P,
        "offset": "4",
        "truncate": "0",
        "bytes": b"data",
    }


def test_0_5_0_empty_500_on_write_reads_as_0_7_0_invalid_handle():
    row = api_version_facts("0.5.0")
    op = do_write(P, b"x", header_form=False)
    canonical = row.canonical_reply(op, Reply(500, {}, b""))
    with pytest.raises(IrodsResponseError) as caught:
        decode_reply(op, canonical)
    # The same error an 0.7.0 server's "200 + INVALID_HANDLE" gives, not a retryable HTTP 500.
    seven = Reply(200, {}, json.dumps({"irods_response": {"status_code": -175000}}).encode())
    with pytest.raises(IrodsResponseError) as expected:
        decode_reply(op, seven)
    assert type(caught.value) is type(expected.value)
    assert (caught.value.irods_code, caught.value.irods_name) == (-175000, "INVALID_HANDLE")
    assert "0.5.0 answered HTTP 500 with an empty body" in str(caught.value)


def test_0_5_0_empty_500_on_read_reads_as_0_6_0_400():
    op = do_read(P)
    canonical = api_version_facts("0.5.0").canonical_reply(op, Reply(500, {}, b""))
    with pytest.raises(IrodsBadRequestError) as caught:
        decode_reply(op, canonical)
    assert caught.value.http_status == 400


def test_other_replies_are_left_alone():
    op = do_write(P, b"x", header_form=False)
    body = Reply(500, {}, b'{"irods_response": {"status_code": -1}}')
    assert api_version_facts("0.5.0").canonical_reply(op, body) is body  # a 500 with a body
    empty = Reply(500, {}, b"")
    assert api_version_facts("0.7.0").canonical_reply(op, empty) is empty  # a real 500 on 0.7.0


def test_newer_server_behaves_as_newest_with_one_warning(caplog):
    caplog.set_level(logging.WARNING, logger="irods_provider.client")
    rows = [api_version_facts("0.8.0") for _ in range(3)]
    assert rows[0] is rows[2]
    assert (rows[0].version, rows[0].behaves_as, rows[0].known) == ("0.8.0", "0.7.0", False)
    assert rows[0].header_form_writes is True
    warnings = [r.getMessage() for r in caplog.records if "0.8.0" in r.getMessage()]
    assert warnings == [
        "iRODS HTTP API 0.8.0 is newer than every known version (0.7.0, 0.6.0, 0.5.0, 0.4.0); "
        "using the behaviour of 0.7.0"
    ]


@pytest.mark.parametrize(
    ("version", "behaves_as"),
    [("0.3.0", "0.4.0"), ("0.4.1", "0.4.0"), ("0.6.5", "0.6.0"), ("1.0.0", "0.7.0")],
)
def test_unknown_versions_behave_as_the_nearest_older_known(version, behaves_as):
    row = api_version_facts(version)
    assert (row.version, row.behaves_as, row.known) == (version, behaves_as, False)


def test_version_from_url():
    assert version_from_url("https://h:443/irods-http-api/0.6.0") == "0.6.0"
    assert version_from_url("https://h:443/proxy/api/0.5.0/") == "0.5.0"
    assert version_from_url("https://h:443/irods-http-api") is None
    assert version_from_url("https://h:443") is None


def test_info_per_handle_key_follows_the_reported_version():
    # 0.7.0 re-purposed max_number_of_parallel_write_streams as the server-wide cap.
    seven = decode_limits(
        {
            "api_version": "0.7.0",
            "max_number_of_parallel_write_streams": 15,
            "max_number_of_streams_per_parallel_write_handle": 4,
        }
    )
    assert seven.max_streams_per_handle == 4
    five = decode_limits({"api_version": "0.5.0", "max_number_of_parallel_write_streams": 5})
    assert (five.api_version, five.max_streams_per_handle) == ("0.5.0", 5)


# ---- discovery ---------------------------------------------------------------------------------------


class InfoServer:
    """A MockTransport answering ``/info`` under ``versions`` only (404 with an empty body elsewhere)."""

    def __init__(self, *versions: str) -> None:
        self.versions = versions
        self.requests: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        with self._lock:
            self.requests.append(str(request.url))
        parts = request.url.path.strip("/").split("/")
        is_info = request.method == "GET" and len(parts) == 3 and parts[0] == "irods-http-api"
        if is_info and parts[1] in self.versions and parts[2] == "info":
            return httpx2.Response(200, json={"api_version": parts[1], "irods_zone": "tempZone"})
        if request.method == "POST" and parts[-1] == "data-objects" and parts[1] in self.versions:
            return httpx2.Response(200, json={"irods_response": {"status_code": 0}})
        return httpx2.Response(404)

    @property
    def transport(self) -> httpx2.MockTransport:
        return httpx2.MockTransport(self)


def test_discovery_probes_newest_first_and_caches():
    server = InfoServer("0.6.0")
    root = "http://h:9/irods-http-api"
    assert discover_api_version(root, transport=server.transport) == "0.6.0"
    assert server.requests == [f"{root}/0.7.0/info", f"{root}/0.6.0/info"]
    assert discover_api_version(root + "/", transport=server.transport) == "0.6.0"
    assert len(server.requests) == 2  # cached: no second probe


def test_concurrent_callers_share_one_probe():
    server = InfoServer("0.5.0")
    root = "http://h:9/irods-http-api"
    results: list[str] = []
    barrier = threading.Barrier(8)

    def call() -> None:
        barrier.wait(timeout=10)
        results.append(discover_api_version(root, transport=server.transport))

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert results == ["0.5.0"] * 8
    assert server.requests == [f"{root}/{v}/info" for v in ("0.7.0", "0.6.0", "0.5.0")]


def test_no_known_version_answers_names_every_url():
    server = InfoServer("0.8.0")
    with pytest.raises(IrodsProtocolError) as caught:
        discover_api_version("http://h:9/irods-http-api", transport=server.transport)
    assert str(caught.value).startswith(
        "no iRODS HTTP API found under http://h:9/irods-http-api/{0.7.0,0.6.0,0.5.0,0.4.0}/info "
        "(answers: HTTP 404, HTTP 404, HTTP 404, HTTP 404)"
    )
    assert "set api_version explicitly" in str(caught.value)


def test_unreachable_host_fails_at_once_and_is_not_cached():
    calls = []

    def refuse(request: httpx2.Request) -> httpx2.Response:
        calls.append(request.url)
        raise httpx2.ConnectError("connection refused", request=request)

    with pytest.raises(IrodsConnectionError):
        discover_api_version(
            "http://h:9/irods-http-api", transport=httpx2.MockTransport(refuse), retry=RetryPolicy.never()
        )
    assert len(calls) == 1  # no point probing the other versions
    server = InfoServer("0.7.0")
    assert discover_api_version("http://h:9/irods-http-api", transport=server.transport) == "0.7.0"


def test_busy_or_failing_info_is_retried_not_skipped():
    # A 503/500 under load must not make discovery move on to an older version (or fail).
    answers = iter([503, 500])
    server = InfoServer("0.7.0")
    sleeps: list[float] = []

    def flaky(request: httpx2.Request) -> httpx2.Response:
        status = next(answers, None)
        return httpx2.Response(status) if status is not None else server(request)

    policy = RetryPolicy(sleep=sleeps.append, initial_backoff=0.01)
    root = "http://h:9/irods-http-api"
    assert discover_api_version(root, transport=httpx2.MockTransport(flaky), retry=policy) == "0.7.0"
    assert len(sleeps) == 2
    assert server.requests == [f"{root}/0.7.0/info"]


def test_resolve_base_url_adds_the_api_path_to_a_bare_host():
    server = InfoServer("0.6.0")
    assert resolve_base_url("http://h:9", transport=server.transport) == "http://h:9/irods-http-api/0.6.0"
    assert resolve_base_url("http://h:9/irods-http-api/0.5.0", transport=server.transport).endswith("0.5.0")


def test_session_on_a_newer_server_uses_newest_behaviour(caplog):
    caplog.set_level(logging.WARNING, logger="irods_provider.client")
    server = InfoServer("0.8.0")
    seen: list[httpx2.Request] = []

    def record(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return server(request)

    url = "http://h:9/irods-http-api/0.8.0"
    with IrodsSession(url, auth=StaticToken("t"), transport=httpx2.MockTransport(record)) as session:
        assert (session.api.version, session.api.behaves_as) == ("0.8.0", "0.7.0")
        session.data_objects.write(P, b"abc")
        session.data_objects.write(P, b"def")
    writes = [r for r in seen if r.method == "POST"]
    assert [r.headers.get("irods-api-request-op") for r in writes] == ["write", "write"]
    assert sum("0.8.0 is newer" in r.getMessage() for r in caplog.records) == 1
