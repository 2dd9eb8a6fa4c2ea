"""A ``+`` download survives an unclear failure of its read alias's copy (a lost reply, a bare HTTP 500).

Found by an adversarial run: the server-side copy that makes the alias (a POST, not idempotent) was not
resent and its outcome not read back, so one lost reply failed the whole download. The HTTP API's
whole-request deadline (``requests.timeout_in_seconds``, 30 s by default: the connection is closed and the
operation goes on, irods-http-api-versions.md section 2.1) makes this the normal case for a large object,
whose copy takes longer. Now the alias is looked up: present and good, it is read (its bytes are still
checked against the original's checksum); absent, the copy is sent again; locked, its copy is still running
and is waited for.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import time
from pathlib import Path

import httpx2
import pytest

from irods_provider.client import BasicAuth, IrodsSession, RetryPolicy
from irods_provider.client.transfer import TransferConfig, download_object, open_reader
from irods_provider.client.transfer._alias import ALIAS_PREFIX

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from op_counter import request_op

pytestmark = pytest.mark.timeout(120)

HOME = "/tempZone/home/rods"
PATH = f"{HOME}/run-2026-12-06T10:00:00+01:00.h5"
CFG = TransferConfig(chunk_size=1 << 20, small_file_threshold=1 << 20)


class UnclearCopy(httpx2.HTTPTransport):
    """The first ``data_objects.copy`` fails without saying whether the server acted: ``lost`` (applied,
    reply lost), ``bare-500`` (applied, an empty HTTP 500), ``never`` (never reached the server, but the
    failure looks the same), ``late`` (held, and reaches the server only right before the client's next copy:
    a request queued behind others, which the client gave up on)."""

    def __init__(self, how: str) -> None:
        super().__init__()
        self.how = how
        self.copies = 0
        self.held: httpx2.Request | None = None

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if request_op(request) != "copy":
            return super().handle_request(request)
        self.copies += 1
        if self.copies > 1:
            if self.held is not None:
                super().handle_request(self.held).read()
                self.held = None
            return super().handle_request(request)
        if self.how in ("never", "late"):
            self.held = request if self.how == "late" else None
            raise httpx2.ReadTimeout("no reply", request=request)
        response = super().handle_request(request)
        response.read()
        response.close()
        if self.how == "lost":
            raise httpx2.ReadTimeout("reply lost after the server acted", request=request)
        return httpx2.Response(500, request=request)


def aliases(session: IrodsSession) -> list[str]:
    return [
        e.name
        for e in session.collections.iterate(HOME, include_temporaries=True)
        if e.name.startswith(ALIAS_PREFIX)
    ]


@pytest.fixture
def data(irods_emulator) -> bytes:
    payload = os.urandom(3 * (1 << 20) + 5)
    with IrodsSession(irods_emulator.base_url, auth=BasicAuth("rods", "rods-emulator")) as admin:
        admin.data_objects.write(PATH, payload)
    return payload


def _session(server, transport: httpx2.BaseTransport) -> IrodsSession:
    return IrodsSession(
        server.base_url,
        auth=BasicAuth("rods", "rods-emulator"),
        transport=transport,
        retry=RetryPolicy(initial_backoff=0.0, max_backoff=0.0),
    )


@pytest.mark.parametrize(("how", "copies"), [("lost", 1), ("bare-500", 1), ("never", 2), ("late", 2)])
def test_a_download_survives_an_unclear_alias_copy(irods_emulator, data, tmp_path, how, copies) -> None:
    transport = UnclearCopy(how)
    with _session(irods_emulator, transport) as session:
        download_object(session, PATH, tmp_path / "out.h5", config=CFG)
        assert hashlib.sha256((tmp_path / "out.h5").read_bytes()).digest() == hashlib.sha256(data).digest()
        assert transport.copies == copies  # sent again only when the alias was not there
        assert aliases(session) == []


def test_random_access_reads_survive_an_unclear_alias_copy(irods_emulator, data) -> None:
    with _session(irods_emulator, UnclearCopy("lost")) as session:
        with open_reader(session, PATH, config=CFG) as reader:
            assert reader.read() == data
        assert aliases(session) == []


class StillCopying(UnclearCopy):
    """The first copy's reply is lost while the server is still writing the alias (the whole-request
    deadline cut it off): its replica stays intermediate for ``busy_for`` seconds, then becomes good."""

    def __init__(self, server, busy_for: float) -> None:
        super().__init__("lost")
        self.server, self.busy_for = server, busy_for
        self.finisher: threading.Thread | None = None

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        first = request_op(request) == "copy" and self.copies == 0
        try:
            return super().handle_request(request)
        finally:
            if first:
                self._intermediate("2")
                self.finisher = threading.Thread(target=self._finish)
                self.finisher.start()

    def _intermediate(self, status: str) -> None:
        with self.server.model.lock:
            for path, obj in self.server.model.data_objects.items():
                if ALIAS_PREFIX in path:
                    for replica in obj.replicas:
                        replica.status = status

    def _finish(self) -> None:
        time.sleep(self.busy_for)
        self._intermediate("1")


def test_a_copy_still_running_after_its_reply_was_lost_is_waited_for(irods_emulator, data, tmp_path) -> None:
    transport = StillCopying(irods_emulator, busy_for=0.6)
    with _session(irods_emulator, transport) as session:
        download_object(session, PATH, tmp_path / "out.h5", config=CFG)
        assert (tmp_path / "out.h5").read_bytes() == data
        assert transport.copies == 1  # waited for, not sent again
        assert aliases(session) == []


def test_a_copy_that_stays_locked_is_given_up_naming_the_copy_and_the_wait(
    irods_emulator, data, tmp_path
) -> None:
    from irods_provider.client import OutcomeWait
    from irods_provider.exceptions import IrodsOutcomeUnknownError, IrodsTimeoutError

    transport = StillCopying(irods_emulator, busy_for=3.0)
    with _session(irods_emulator, transport) as session:
        session.outcome_wait = OutcomeWait(min_seconds=0.5)
        with pytest.raises(IrodsOutcomeUnknownError) as caught:
            download_object(session, PATH, tmp_path / "out.h5", config=CFG)
        error = caught.value
        assert (error.operation, error.path) == ("data_objects.copy", PATH)
        assert error.waited >= 0.5
        assert isinstance(error.__cause__, IrodsTimeoutError)
        assert ALIAS_PREFIX in str(error)
        assert "still being written" in str(error)
        assert transport.copies == 1  # never sent again while it ran
        assert not (tmp_path / "out.h5").exists()
        transport.finisher.join()
