"""Trims, collection removes and verifications that outlast the server's whole-request deadline, over HTTP.

The iRODS HTTP API closes the connection without a reply when a handler outlasts
``requests.timeout_in_seconds`` (core/src/session.cpp:78 at 0.7.0) and the server goes on: a trim unlinks
its replica's file and then unregisters it (rsDataObjTrim), a recursive remove for good unlinks object after
object and then the collections (irods 4.3.4 rsRmColl.cpp:352-365, run in the HTTP API's background task:
collections main.cpp:396-466 at 0.7.0). Their outcome is read from the catalog. A verification registers
nothing, so nothing can be read back: it fails typed, naming the size and the time it was given. The site is
scaled down (tests/support/deadline_site.py): a 0.4 s deadline, server work at 4 MiB/s.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from irods_provider.client import BasicAuth, IrodsSession, OutcomeWait
from irods_provider.exceptions import IrodsOutcomeUnknownError, IrodsServerDeadlineError
from irods_provider.testing import EmulatorServer

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from deadline_site import BIG, DEADLINE, scaled_session, slow_site
from op_counter import request_op

pytestmark = pytest.mark.timeout(120)

HOME = "/tempZone/home/rods"
PATH = f"{HOME}/big.bin"
TREE = f"{HOME}/tree"
MEMBERS = [f"{TREE}/a/{n}.bin" for n in range(3)] + [f"{TREE}/b/{n}.bin" for n in range(3)]


class OpCounter(httpx2.HTTPTransport):
    """A real transport counting requests per iRODS operation (a POST's ``op``, with its endpoint)."""

    def __init__(self) -> None:
        super().__init__()
        self.ops: dict[str, int] = {}

    lose_reply_of = ""  # the first request of this operation is served, but its reply is dropped
    lost = 0

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        op = f"{request.url.path.rsplit('/', 1)[-1]}.{request_op(request)}"
        self.ops[op] = self.ops.get(op, 0) + 1
        response = super().handle_request(request)
        if op == self.lose_reply_of and not self.lost:
            self.lost += 1
            response.close()
            raise httpx2.RemoteProtocolError("Server disconnected without sending a response.")
        return response


@pytest.fixture
def site(
    irods_emulator_resources: EmulatorServer,
) -> Iterator[tuple[EmulatorServer, IrodsSession, OpCounter]]:
    counter = OpCounter()
    wait = OutcomeWait(min_seconds=10.0, first_poll=0.05, max_poll=0.2, server_deadline=DEADLINE)
    with (
        slow_site(irods_emulator_resources) as server,
        scaled_session(server, transport=counter, outcome_wait=wait) as session,
    ):
        yield server, session, counter


def _put(server: EmulatorServer, path: str, data: bytes) -> None:
    with IrodsSession(server.base_url, auth=BasicAuth("rods", "rods-emulator")) as plain:
        plain.data_objects.write(path, data)


def _tree(server: EmulatorServer) -> None:
    with IrodsSession(server.base_url, auth=BasicAuth("rods", "rods-emulator")) as plain:
        plain.collections.create(f"{TREE}/a", intermediates=True)
        plain.collections.create(f"{TREE}/b", intermediates=True)
        for member in MEMBERS:
            plain.data_objects.write(member, member.encode())


def test_a_trim_cut_off_by_the_deadline_is_read_from_the_catalog(site) -> None:
    server, session, counter = site
    _put(server, PATH, b"two replicas")
    session.data_objects.replicate(PATH, "archiveResc")
    server.set_limits(server_unlink_seconds=1.0)  # the file's removal outlasts the 0.4 s deadline
    session.data_objects.trim(PATH, 1)
    assert [(r.number, r.root, r.status) for r in session.data_objects.replicas(PATH)] == [
        (0, "demoResc", "1")
    ]
    assert counter.ops["data-objects.trim"] == 1  # never sent again
    assert server.injected_faults() == {"request_deadline": 1}


def test_a_recursive_remove_cut_off_by_the_deadline_is_read_from_the_catalog(site) -> None:
    server, session, counter = site
    _tree(server)
    server.set_limits(server_unlink_seconds=0.15)  # six objects: 0.9 s, the deadline 0.4 s
    session.collections.remove(TREE, recurse=True, no_trash=True)
    assert not session.collections.exists(TREE)
    assert not any(session.data_objects.exists(m) for m in MEMBERS)
    assert counter.ops["collections.remove"] == 1
    assert server.injected_faults() == {"request_deadline": 1}


def test_a_remove_whose_outcome_never_shows_names_what_is_left(
    irods_emulator_resources: EmulatorServer,
) -> None:
    counter = OpCounter()
    wait = OutcomeWait(min_seconds=0.2, first_poll=0.05, max_poll=0.1)
    with (
        slow_site(irods_emulator_resources) as server,
        scaled_session(server, transport=counter, outcome_wait=wait) as session,
    ):
        _tree(server)
        server.set_limits(server_unlink_seconds=2.0)  # no object leaves within the wait
        with pytest.raises(IrodsOutcomeUnknownError) as caught:
            session.collections.remove(TREE, recurse=True, no_trash=True)
        assert caught.value.path == TREE
        assert "6 data object replicas in 3 collections are left" in str(caught.value)
        assert counter.ops["collections.remove"] == 1
        server.set_limits(server_unlink_seconds=0.0)


def test_a_verification_the_deadline_cuts_off_fails_typed_and_is_not_resent(site) -> None:
    """Nothing in the catalog records a verification: a resend would hash every replica again and be cut
    off again. The error names the bytes and the time the server had."""
    server, session, counter = site
    _put(server, PATH, os.urandom(BIG))  # 0.75 s of hashing at the site's pace
    with pytest.raises(IrodsServerDeadlineError) as caught:
        session.data_objects.verify_checksum(PATH)
    error = caught.value
    assert (error.path, error.size, error.replicas) == (PATH, BIG, 1)
    assert 0.3 < error.elapsed < 2.0
    assert f"({BIG} bytes in 1 replica)" in str(error)
    assert f"deadline ({DEADLINE:g} s" in str(error)
    assert counter.ops["data-objects.verify_checksum"] == 1
    assert server.injected_faults() == {"request_deadline": 1}


def test_a_small_verification_whose_reply_was_lost_is_sent_again(site) -> None:
    """A lost reply the server's work cannot explain (a few bytes hashed in far less than the time that
    passed) is a network failure: sent again, as any read is."""
    server, session, counter = site
    _put(server, PATH, b"small")
    counter.lose_reply_of = "data-objects.verify_checksum"
    report = session.data_objects.verify_checksum(PATH)
    assert counter.ops["data-objects.verify_checksum"] == 2
    assert counter.lost == 1
    assert report.ok is False  # the server's answer: no checksum is stored to verify against
