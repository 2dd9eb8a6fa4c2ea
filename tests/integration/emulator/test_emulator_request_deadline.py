"""The server's whole-request deadline and the pace of server-side work, over real HTTP.

The iRODS HTTP API arms one expiry per request when it starts reading the headers (core/src/session.cpp:78
at 0.7.0, :63 at 0.5.0; ``http_server.requests.timeout_in_seconds``, README.md:334): a handler that outlasts
it still acts, and the write of its reply fails, closing the connection without a response (Boost.Beast
``basic_stream``: an operation started after the expiry fails with ``error::timeout`` and closes the socket).
A checksum is registered when the hash ends (irods 4.3.4 rsDataObjChksum.cpp:587-619); a copy's target is
opened for writing before its bytes move (rsDataObjCopy.cpp:314-331), so it is intermediate meanwhile.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator

import httpx2
import pytest
from emulator_http import ZONE, Api, code

MIB = 1024 * 1024
HOME = f"/{ZONE}/home/alice"
CUT = (httpx2.RemoteProtocolError, httpx2.ReadError)


#: The deadline of the request under test: far above what a small request takes on a loaded machine, far
#: below the paced server-side work (2 MiB at ``RATE``: 2 s). Everything else (uploads, tokens, inspection)
#: runs under the default 30 s, so only the request under test can be cut: a tight deadline for every call
#: had cut a 2 MiB upload's body or a plain request now and then on a busy CI machine.
DEADLINE = 1.0
RATE = MIB


@pytest.fixture
def slow(api: Api) -> Iterator[Api]:
    """Server-side work at 1 MiB/s: hashing or copying 2 MiB outlasts :data:`DEADLINE` (see :func:`tight`)."""
    api.server.set_limits(request_timeout_seconds=30.0, server_io_bytes_per_second=RATE)
    yield api
    assert api.server.wait_idle()  # no cut-off handler left to act on the next test's zone
    api.server.set_limits(request_timeout_seconds=30.0, server_io_bytes_per_second=0.0)


@contextlib.contextmanager
def tight(api: Api) -> Iterator[None]:
    """The requests started inside run under :data:`DEADLINE`. The server is idle first: the handler of a
    request answered just before (an upload) can still count as in flight for a moment after its reply, and
    a test waiting for its request under test to be in flight would see that one and leave too early (the
    slow-copy test's copy then ran under 30 s and was answered: it failed so, about one run in four)."""
    api.token("alice")  # fetched (and cached) before, under the default deadline
    assert api.server.wait_idle()
    api.server.set_limits(request_timeout_seconds=DEADLINE)
    try:
        yield
    finally:
        api.server.set_limits(request_timeout_seconds=30.0)


def _sha2(data: bytes) -> str:
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def _replica(api: Api, path: str, number: int = 0) -> dict[str, str]:
    """One replica's catalog row (as rods, by GenQuery): status, size, checksum."""
    parent, _, name = path.rpartition("/")
    query = (
        "select DATA_REPL_STATUS, DATA_SIZE, DATA_CHECKSUM, DATA_RESC_HIER "
        f"where COLL_NAME = '{parent}' and DATA_NAME = '{name}' and DATA_REPL_NUM = '{number}'"
    )
    rows = api.get("query", "rods", op="execute_genquery", query=query).json()["rows"]
    if not rows:
        return {}
    status, size, checksum, hierarchy = rows[0]
    return {"status": status, "size": size, "checksum": checksum, "hierarchy": hierarchy}


def _eventually(check: Callable[[], bool], *, within: float = 20.0) -> None:
    end = time.monotonic() + within
    while not check():
        assert time.monotonic() < end, "the server-side work never finished"
        time.sleep(0.05)


def _upload(api: Api, path: str, size: int) -> bytes:
    data = os.urandom(size)
    assert code(api.write(path, data, user="alice")) == 0
    return data


def test_a_checksum_outlasting_the_deadline_is_registered_but_never_answered(slow: Api) -> None:
    path = f"{HOME}/big.bin"
    data = _upload(slow, path, 2 * MIB)
    with tight(slow), pytest.raises(CUT):
        slow.post_multipart("data-objects", "alice", op="calculate_checksum", lpath=path)
    _eventually(lambda: _replica(slow, path).get("checksum") == _sha2(data))
    assert slow.server.wait_idle()  # a cut is recorded when its handler ends
    assert slow.server.injected_faults() == {"request_deadline": 1}
    assert slow.server.cut_requests() == ["data-objects calculate_checksum"]


def test_the_connection_closes_without_one_byte_of_a_response(slow: Api) -> None:
    path = f"{HOME}/big.bin"
    data = _upload(slow, path, 2 * MIB)
    body = f"op=calculate_checksum&lpath={path}&force=1".encode()
    request = (
        f"POST {slow.server.config.base_path}/data-objects HTTP/1.1\r\nHost: {slow.server.host}\r\n"
        f"Authorization: Bearer {slow.token('alice')}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    with tight(slow), socket.create_connection((slow.server.host, slow.server.port), timeout=10) as sock:
        sock.sendall(request)
        assert sock.recv(100) == b""  # closed, no status line: after the hash ended
        assert _replica(slow, path)["checksum"] == _sha2(data)


def test_a_request_within_the_deadline_is_answered(slow: Api) -> None:
    path = f"{HOME}/small.bin"
    data = _upload(slow, path, 64 * 1024)
    with tight(slow):
        reply = slow.post_multipart("data-objects", "alice", op="calculate_checksum", lpath=path)
    assert reply.json()["checksum"] == _sha2(data)
    assert slow.server.wait_idle()
    assert slow.server.injected_faults() == {}


def test_a_stored_checksum_is_answered_at_once_without_hashing(slow: Api) -> None:
    path = f"{HOME}/big.bin"
    _upload(slow, path, 2 * MIB)
    first = slow.post_multipart("data-objects", "alice", op="calculate_checksum", lpath=path).json()
    with tight(slow):
        again = slow.post_multipart("data-objects", "alice", op="calculate_checksum", lpath=path).json()
    assert again["checksum"] == first["checksum"]
    with tight(slow), pytest.raises(CUT):  # force hashes again
        slow.post_multipart("data-objects", "alice", op="calculate_checksum", lpath=path, force=1)


def test_a_slow_copy_holds_its_target_intermediate_then_finishes_without_a_reply(slow: Api) -> None:
    path, copy = f"{HOME}/big.bin", f"{HOME}/copy.bin"
    data = _upload(slow, path, 2 * MIB)  # copied in 2 s: time to look at the target
    errors: list[BaseException] = []

    def send() -> None:
        try:
            slow.post_multipart("data-objects", "alice", op="copy", **{"src-lpath": path, "dst-lpath": copy})
        except BaseException as exc:
            errors.append(exc)

    sender = threading.Thread(target=send)
    with tight(slow):  # until the copy is under way: its deadline was taken when it started
        sender.start()
        _eventually(lambda: _replica(slow, copy).get("status") == "2", within=5)
    # LOCKED_DATA_OBJECT_ACCESS: the copy holds the object open for writing.
    assert code(slow.post("data-objects", "alice", op="remove", lpath=copy, **{"catalog-only": 0})) == -406000
    sender.join(20)
    assert len(errors) == 1
    assert isinstance(errors[0], CUT)
    assert _replica(slow, copy) | {"hierarchy": ""} == {
        "status": "1",
        "size": str(len(data)),
        "checksum": "",
        "hierarchy": "",
    }
    assert slow.read(copy, "alice").content == data


def test_a_slow_replication_finishes_without_a_reply(slow: Api) -> None:
    slow.server.config.resources = ("archiveResc",)
    slow.server.reset()
    slow.server.add_user("alice", "alice")
    path = f"{HOME}/big.bin"
    data = _upload(slow, path, 2 * MIB)
    with tight(slow), pytest.raises(CUT):
        slow.post_multipart(
            "data-objects", "alice", op="replicate", lpath=path, **{"dst-resource": "archiveResc"}
        )
    _eventually(lambda: _replica(slow, path, 1).get("status") == "1")
    assert _replica(slow, path, 1)["hierarchy"] == "archiveResc"
    assert slow.read(path, "alice", **{"replica-number": 1}).content == data


def test_a_body_still_arriving_at_the_deadline_is_cut_off_and_never_acted_on(slow: Api) -> None:
    path = f"{HOME}/slow-body.bin"
    body = f"op=touch&lpath={path}".encode()
    head = (
        f"POST {slow.server.config.base_path}/data-objects HTTP/1.1\r\nHost: {slow.server.host}\r\n"
        f"Authorization: Bearer {slow.token('alice')}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with tight(slow), socket.create_connection((slow.server.host, slow.server.port), timeout=10) as sock:
        sock.sendall(head + body[:5])
        assert sock.recv(100) == b""  # the pending body read failed at the deadline
    assert _replica(slow, path) == {}
    assert slow.server.wait_idle()  # a cut is recorded when its handler ends
    assert slow.server.injected_faults() == {"request_deadline": 1}
    assert slow.server.cut_requests() == ["data-objects"]  # its op never read


def test_the_deadline_is_fixed_before_the_request_counts_as_in_flight(
    slow: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A test sees ``requests_in_flight() > 0`` and leaves :func:`tight`; the request must keep the deadline
    it arrived under. The emulator read it one statement after counting the request, so a thread switch there
    gave it the default 30 s and the request was answered, not cut. The switch is widened here to a pause
    of the event loop right after the count."""
    import asyncio

    path = f"{HOME}/big.bin"
    _upload(slow, path, 2 * MIB)
    app = slow.server.app
    serve = app._serve

    async def paused(*args: object) -> None:
        await asyncio.sleep(0.5)  # the test thread sees the request in flight and restores 30 s meanwhile
        await serve(*args)

    monkeypatch.setattr(app, "_serve", paused)
    errors: list[BaseException] = []

    def send() -> None:
        try:
            slow.post_multipart("data-objects", "alice", op="calculate_checksum", lpath=path, force=1)
        except BaseException as exc:
            errors.append(exc)

    sender = threading.Thread(target=send)
    with tight(slow):
        sender.start()
        _eventually(lambda: slow.server.requests_in_flight() > 0, within=5)
    sender.join(20)
    assert len(errors) == 1
    assert isinstance(errors[0], CUT)
    assert slow.server.wait_idle()
    assert slow.server.cut_requests() == ["data-objects calculate_checksum"]
