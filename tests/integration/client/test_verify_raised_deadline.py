"""A verification on a site that raised its whole-request deadline (``requests.timeout_in_seconds``, told to
the client as ``OutcomeWait.server_deadline``) is sent once: the server hashes every checked replica within
the request and registers nothing, so a resend while the first still runs hashes them all twice.

Time is scaled as in tests/support/deadline_site.py (server work at 4 MiB/s, a client read timeout of
0.8 s), with the deadline raised from 0.4 s to 4 s: a 6 MiB object hashes for 1.5 s, past the client's
read timeout and a gateway's, within the server's deadline.
"""

from __future__ import annotations

import base64
import hashlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from irods_provider.client import BasicAuth, IrodsSession, OutcomeWait
from irods_provider.exceptions import IrodsOutcomeUnknownError
from irods_provider.testing import EmulatorServer

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from deadline_site import BIG, MIB, scaled_session, slow_site
from op_counter import request_op

pytestmark = pytest.mark.timeout(120)

PATH = "/tempZone/home/rods/raised.bin"
RAISED = 4.0  # the site's raised deadline, in the scaled time
GATEWAY_READ = 0.3  # a reverse proxy's own read timeout, shorter than the deadline


class Counter(httpx2.HTTPTransport):
    """A real transport counting verifications; with ``gateway`` it answers a bare 504 when the server
    has not replied within ``GATEWAY_READ`` s, as a reverse proxy does (the server goes on hashing)."""

    def __init__(self, *, gateway: bool = False) -> None:
        super().__init__()
        self.gateway = gateway
        self.verifications = 0

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if request_op(request) != "verify_checksum":
            return super().handle_request(request)
        self.verifications += 1
        if self.gateway:
            timeouts = dict(request.extensions.get("timeout", {}), read=GATEWAY_READ)
            request.extensions = {**request.extensions, "timeout": timeouts}
        try:
            return super().handle_request(request)
        except httpx2.ReadTimeout:
            if not self.gateway:
                raise
            return httpx2.Response(504, request=request)


@pytest.fixture
def raised(irods_emulator_resources: EmulatorServer) -> Iterator[tuple[EmulatorServer, bytes]]:
    with slow_site(irods_emulator_resources) as server:
        server.set_limits(request_timeout_seconds=RAISED)
        data = os.urandom(2 * BIG)
        with IrodsSession(server.base_url, auth=BasicAuth("rods", "rods-emulator")) as plain:
            for offset in range(0, len(data), MIB):
                plain.data_objects.write(
                    PATH, data[offset : offset + MIB], offset=offset, truncate=offset == 0
                )
            stored = plain.data_objects.calculate_checksum(PATH)
        assert stored == "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()
        yield server, data


def test_a_read_timeout_shorter_than_the_raised_deadline_does_not_resend(raised) -> None:
    """The client waits for the verification as long as the server may work on it (its read timeout,
    0.8 s, is shorter than the deadline it was told): one request, and the server's report."""
    server, _ = raised
    counter = Counter()
    wait = OutcomeWait(server_deadline=RAISED)
    with scaled_session(server, transport=counter, outcome_wait=wait) as session:
        report = session.data_objects.verify_checksum(PATH)
    assert counter.verifications == 1
    assert report.ok is True
    assert server.wait_idle()


def test_a_gateways_504_before_the_deadline_is_not_resent(raised) -> None:
    """A proxy gave up (504) while the server still hashes: nothing registers a verification to read
    back, and a resend would hash the object again. Typed, naming the path and the proxy's status."""
    server, _ = raised
    counter = Counter(gateway=True)
    wait = OutcomeWait(server_deadline=RAISED)
    with (
        scaled_session(server, transport=counter, outcome_wait=wait) as session,
        pytest.raises(IrodsOutcomeUnknownError) as caught,
    ):
        session.data_objects.verify_checksum(PATH)
    assert counter.verifications == 1
    assert caught.value.path == PATH
    assert caught.value.http_status == 504
    assert caught.value.operation == "data_objects.verify_checksum"
    assert "not sent again" in str(caught.value)
    assert server.wait_idle()
