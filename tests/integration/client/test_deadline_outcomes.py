"""Checksums, copies and replications that outlast the server's whole-request deadline, over real HTTP.

The iRODS HTTP API closes the connection without a reply when a handler outlasts
``requests.timeout_in_seconds`` (30 s by default; core/src/session.cpp:78 at 0.7.0) and still finishes the
work: a checksum is registered when its hash ends (irods 4.3.4 rsDataObjChksum.cpp:587-619), a copy's
target is good once it closes. Resending hashes from the start again (a forced checksum never finishes)
or fails on the first try's target (a copy), so the client reads the outcome from the catalog. The site is
scaled down (tests/support/deadline_site.py): a 0.4 s deadline, 3 MiB of server-side work taking 0.75 s.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from irods_provider.client import BasicAuth, IrodsSession, OutcomeWait, Timeouts
from irods_provider.exceptions import IrodsOutcomeUnknownError, IrodsSourceChangedError, IrodsTimeoutError
from irods_provider.testing import EmulatorServer
from irods_provider.testing._locks import WriteHold

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from deadline_site import BIG, DEADLINE, cut_work, scaled_session, slow_site
from op_counter import request_op

pytestmark = pytest.mark.timeout(120)

HOME = "/tempZone/home/rods"
PATH = f"{HOME}/big.bin"


#: Read timeout of a request whose server is held by the test: far beyond any hold here (bounded by the
#: test's own timeout), so the server's close, not the client's timeout, ends the wait.
WAITS_FOR_THE_SERVER = Timeouts(connect=5.0, read=60.0, write=5.0, pool=5.0)


def sha2(data: bytes) -> str:
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


class OpCounter(httpx2.HTTPTransport):
    """A real transport counting requests per iRODS operation."""

    def __init__(self) -> None:
        super().__init__()
        self.ops: dict[str, int] = {}

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        op = request_op(request)
        self.ops[op] = self.ops.get(op, 0) + 1
        return super().handle_request(request)


@pytest.fixture
def site(
    irods_emulator_resources: EmulatorServer,
) -> Iterator[tuple[EmulatorServer, IrodsSession, OpCounter]]:
    counter = OpCounter()
    with slow_site(irods_emulator_resources) as server, scaled_session(server, transport=counter) as session:
        yield server, session, counter


def _put(session: IrodsSession, path: str = PATH, size: int = BIG) -> bytes:
    data = os.urandom(size)
    with IrodsSession(session.base_url, auth=session.auth) as plain:  # no deadline-scaled retry budget needed
        offset = 0
        while offset < size:
            piece = data[offset : offset + 1024 * 1024]
            plain.data_objects.write(path, piece, offset=offset, truncate=offset == 0)
            offset += len(piece)
    return data


def _stored(server: EmulatorServer, path: str = PATH, number: int = 0) -> str:
    with server.model.lock:
        return next(r.checksum for r in server.model.data_objects[path].replicas if r.number == number)


@pytest.mark.parametrize("force", [False, True], ids=["stored-or-computed", "forced"])
def test_a_checksum_cut_off_by_the_deadline_is_read_from_the_catalog(site, force) -> None:
    server, session, counter = site
    data = _put(session)
    assert session.data_objects.calculate_checksum(PATH, force=force) == sha2(data)
    assert counter.ops["calculate_checksum"] == 1  # never sent again: a resend would hash from the start
    assert cut_work(server) == ["data-objects calculate_checksum"]  # the server did cut it off


def test_a_checksum_the_client_gave_up_on_first_is_waited_for(site) -> None:
    """The client's read timeout (0.8 s) ends before the hash (1.5 s), which the server goes on with: the
    checksum is polled for until it is registered."""
    _, session, counter = site
    data = _put(session, size=2 * BIG)
    assert session.data_objects.calculate_checksum(PATH) == sha2(data)
    assert counter.ops["calculate_checksum"] == 1
    assert counter.ops["execute_genquery"] >= 2  # looked at more than once


def test_a_forced_checksum_equal_to_the_stored_one_is_proven_by_the_bytes(site) -> None:
    """The catalog cannot show that a forced checksum recomputed the value it already held: the replica's
    bytes are read back and hashed."""
    server, session, counter = site
    data = _put(session)
    server.set_limits(request_timeout_seconds=30.0)
    assert session.data_objects.calculate_checksum(PATH) == sha2(data)
    server.set_limits(request_timeout_seconds=DEADLINE)
    counter.ops.clear()
    assert session.data_objects.calculate_checksum(PATH, force=True) == sha2(data)
    assert counter.ops["calculate_checksum"] == 1
    assert counter.ops["read"] == 1 + BIG // (8 * 1024 * 1024)


def _release_past_the_deadline(hold: WriteHold) -> None:
    """Let the held checksum register once its request's deadline has certainly passed (it was armed when
    the request arrived, before the hold was reached)."""
    if hold.wait_reached(30):
        time.sleep(DEADLINE)
    hold.release()


def test_a_forced_checksum_of_a_damaged_replica_answers_the_new_value(site) -> None:
    """Bit rot behind the catalog's back: the server's forced hash registers another value, which is the
    answer (no read back), so a caller comparing it with what it wrote sees the damage. The hash is held
    until the deadline passed, and the client waits for the server's close: the server ends first whatever
    the load (the client's read timeout ending first is the next test)."""
    server, session, counter = site
    data = _put(session)
    server.set_limits(request_timeout_seconds=30.0)
    stored = session.data_objects.calculate_checksum(PATH)
    server.set_limits(request_timeout_seconds=DEADLINE)
    server.corrupt_replica(PATH, "demoResc")
    releaser = threading.Thread(
        target=_release_past_the_deadline, args=(server.hold_writes(PATH, operation="checksum"),)
    )
    releaser.start()
    counter.ops.clear()
    answer = session.data_objects.calculate_checksum(PATH, force=True, timeout=WAITS_FOR_THE_SERVER)
    releaser.join(30)
    assert stored == sha2(data)
    assert answer == _stored(server) != stored
    assert "read" not in counter.ops
    assert counter.ops["calculate_checksum"] == 1
    assert cut_work(server) == ["data-objects calculate_checksum"]  # its reply was lost


def test_a_forced_checksum_of_a_damaged_replica_still_hashing_at_the_clients_timeout(site) -> None:
    """The client's read timeout ends first (the server still hashes; the catalog holds the old value): the
    bytes read back do not hash to it, so the client waits, and answers the value the server registers."""
    server, session, counter = site
    _put(session)
    server.set_limits(request_timeout_seconds=30.0)
    stored = session.data_objects.calculate_checksum(PATH)
    server.set_limits(request_timeout_seconds=DEADLINE)
    server.corrupt_replica(PATH, "demoResc")
    hold = server.hold_writes(PATH, operation="checksum")
    counter.ops.clear()

    def release_once_read_back() -> None:
        give_up = time.monotonic() + 30
        while "read" not in counter.ops and time.monotonic() < give_up:
            time.sleep(0.01)
        hold.release()

    releaser = threading.Thread(target=release_once_read_back)
    releaser.start()
    answer = session.data_objects.calculate_checksum(PATH, force=True)  # the site's 0.8 s read timeout
    releaser.join(30)
    assert answer == _stored(server) != stored
    assert counter.ops["read"] == 1  # read back once, while the server was held
    assert counter.ops["calculate_checksum"] == 1


def test_an_object_written_while_its_checksum_ran_is_refused(site) -> None:
    _, session, _ = site
    _put(session, size=2 * BIG)  # 1.5 s of hashing

    def overwrite() -> None:
        time.sleep(0.3)
        with IrodsSession(session.base_url, auth=session.auth) as other:
            other.data_objects.write(PATH, b"rewritten meanwhile")

    writer = threading.Thread(target=overwrite)
    writer.start()
    with pytest.raises(IrodsSourceChangedError) as caught:
        session.data_objects.calculate_checksum(PATH, force=True)
    writer.join()
    assert caught.value.path == PATH
    assert caught.value.operation == "data_objects.calculate_checksum"
    assert "size" in caught.value.changed


def test_a_checksum_that_never_shows_is_given_up_naming_the_path_and_the_wait(site) -> None:
    server, session, counter = site
    _put(session, size=2 * BIG)
    session.outcome_wait = OutcomeWait(min_seconds=0.3, bytes_per_second=1e12)
    server.set_limits(server_io_bytes_per_second=1024 * 1024)  # 6 s of hashing
    with pytest.raises(IrodsOutcomeUnknownError) as caught:
        session.data_objects.calculate_checksum(PATH, force=True)
    error = caught.value
    assert (error.operation, error.path) == ("data_objects.calculate_checksum", PATH)
    assert error.waited >= 0.3
    assert "waited=" in str(error)
    assert isinstance(error.__cause__, IrodsTimeoutError)  # the client's read timeout came first
    assert counter.ops["calculate_checksum"] == 1


def test_a_copy_cut_off_by_the_deadline_is_read_from_the_catalog(site) -> None:
    server, session, counter = site
    data = _put(session)
    session.data_objects.copy(PATH, f"{HOME}/copy.bin")
    assert session.data_objects.read(f"{HOME}/copy.bin") == data
    assert counter.ops["copy"] == 1
    assert cut_work(server) == ["data-objects copy"]


def test_an_overwriting_copy_cut_off_by_the_deadline_is_read_from_the_catalog(site) -> None:
    _, session, counter = site
    target = f"{HOME}/copy.bin"
    session.data_objects.write(target, b"old bytes")
    data = _put(session)
    session.data_objects.copy(PATH, target, overwrite=True)
    assert session.data_objects.read(target) == data
    assert counter.ops["copy"] == 1


def test_a_replication_cut_off_by_the_deadline_is_read_from_the_catalog(site) -> None:
    _, session, counter = site
    data = _put(session)
    session.data_objects.replicate(PATH, "archiveResc")
    replicas = {r.root: r for r in session.data_objects.replicas(PATH)}
    assert (replicas["archiveResc"].status, replicas["archiveResc"].size) == ("1", len(data))
    assert session.data_objects.read(PATH, resource="archiveResc") == data
    assert counter.ops["replicate"] == 1


class Gateway(httpx2.HTTPTransport):
    """A reverse proxy in front of the server, for checksums: ``502`` when the server closed without a
    reply (as nginx reports it), ``504`` when its own timeout (0.1 s) ends first, the server still at work."""

    def __init__(self, status: int) -> None:
        super().__init__()
        self.status = status
        self.forwarded = 0
        self.upstream: list[threading.Thread] = []

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if request_op(request) != "calculate_checksum":
            return super().handle_request(request)
        self.forwarded += 1
        if self.status == 502:
            try:
                return super().handle_request(request)
            except httpx2.RemoteProtocolError:
                return httpx2.Response(502, request=request)
        forward = threading.Thread(target=self._forward, args=(request,))
        forward.start()
        self.upstream.append(forward)
        forward.join(0.1)
        return httpx2.Response(504, request=request)

    @staticmethod
    def _forward(request: httpx2.Request) -> None:
        with httpx2.Client(timeout=30) as upstream, contextlib.suppress(httpx2.HTTPError):
            upstream.send(request)  # cut off by the server's deadline


@pytest.mark.parametrize("status", [502, 504])
def test_a_gateways_bare_502_or_504_is_a_lost_reply_too(irods_emulator, status) -> None:
    gateway = Gateway(status)
    with slow_site(irods_emulator) as server, scaled_session(server, transport=gateway) as session:
        data = _put(session)
        assert session.data_objects.calculate_checksum(PATH, force=True) == sha2(data)
        assert gateway.forwarded == 1
        for forward in gateway.upstream:
            forward.join(20)


async def test_the_async_session_reads_a_cut_off_forced_checksum_and_copy_back(irods_emulator) -> None:
    from irods_provider.client import AsyncIrodsSession, RetryPolicy, Timeouts

    with slow_site(irods_emulator) as server:
        async with AsyncIrodsSession(
            server.base_url,
            auth=BasicAuth("rods", "rods-emulator"),
            retry=RetryPolicy(total_timeout=DEADLINE, initial_backoff=0.02, max_backoff=0.05),
            timeout=Timeouts(connect=5.0, read=2 * DEADLINE, write=5.0, pool=5.0),
        ) as session:
            data = os.urandom(BIG)
            for offset in range(0, BIG, 1024 * 1024):
                piece = data[offset : offset + 1024 * 1024]
                await session.data_objects.write(PATH, piece, offset=offset, truncate=offset == 0)
            assert await session.data_objects.calculate_checksum(PATH, force=True) == sha2(data)
            await session.data_objects.copy(PATH, f"{HOME}/copy.bin")
            assert await session.data_objects.read(f"{HOME}/copy.bin") == data
        assert cut_work(server) == ["data-objects calculate_checksum", "data-objects copy"]
