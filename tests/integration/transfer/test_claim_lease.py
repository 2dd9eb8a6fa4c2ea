"""The lease on an overwrite in place's claim (transfer/_claim): a live writer renews it, a dead one's lapses.

A writer killed after claiming a path (kill -9) left a claim that kept every *other* transfer of the path out
for a day. Now a live writer renews its claim every fifth of its lease (one atomic ``modify_metadata`` call,
rc_atomic_apply_metadata_operations: endpoints/data_objects/src/main.cpp:233 at HTTP API 0.5.0, :280 at
0.7.0), so a claim not renewed for its lease is a dead writer's and the next writer takes it over, by the
same exclusive rename (chlRenameObject refuses an existing name: db_plugin.cpp:10775-10786 at irods 4.3.4).
A writer that cannot read its claim says so, typed, instead of claiming it was taken over.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import irods_provider.exceptions as exceptions
from irods_provider.client import IrodsSession
from irods_provider.client._temporaries import LEASE_ATTRIBUTE
from irods_provider.client.transfer import OverwritePolicy, TransferConfig, _copyover, upload_object
from irods_provider.exceptions import IrodsError, IrodsPathClaimedError
from irods_provider.testing._http import DropConnection
from irods_provider.testing.pytest_plugin import irods_emulator_factory  # noqa: F401

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from claim_lease import in_thread, left, shared_object

pytestmark = pytest.mark.timeout(120)

HOME = "/tempZone/home/rods"
PATH = f"{HOME}/leased.bin"
CLAIM = _copyover.backup_name(PATH)
LEASE = 4.0  # seconds: renewed every 0.8 s
LIVE_LEASE = 8.0  # the live writer's: a renewal late by 6 s (a loaded machine) would let another take over
WAIT = 30.0
ROOT = Path(__file__).resolve().parents[3]


def _config(**lease: float) -> TransferConfig:
    return TransferConfig(chunk_size=1 << 20, small_file_threshold=1 << 20, **lease)  # type: ignore[arg-type]


@pytest.fixture(params=["0.5.0", "0.7.0"])
def emulator(request: pytest.FixtureRequest, irods_emulator_factory: Any) -> Any:  # noqa: F811
    from irods_provider.testing.pytest_plugin import _fresh

    return _fresh(irods_emulator_factory(request.param))


@pytest.fixture
def writers(emulator: Any) -> Iterator[list[IrodsSession]]:
    """rods's ``leased.bin`` (b"old"), which alice may modify but not rename: (rods, alice, alice's second
    session: another task of hers, writing another transfer of the path)."""
    with shared_object(emulator, PATH, ("alice", "apass"), ("alice", "apass")) as sessions:
        yield sessions


def upload(session: IrodsSession, data: bytes, config: TransferConfig) -> None:
    upload_object(
        session, io.BytesIO(data), PATH, size=len(data), config=config, overwrite=OverwritePolicy.OVERWRITE
    )


def last_renewed(session: IrodsSession) -> float:
    """The claim's latest renewal as another writer reads it (its record's time, or a later renewal)."""
    from irods_provider.client.transfer._claim import read_claim

    _, found, _ = read_claim(session, CLAIM, PATH)
    assert found is not None, "the claim records no writer"
    return found.last_renewed


def until(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` (bounded): a wait for an event, not a timed assertion."""
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.05)


@contextmanager
def held_at_verification(
    monkeypatch: pytest.MonkeyPatch, alice: IrodsSession, config: TransferConfig
) -> Iterator[None]:
    """alice's upload of her bytes in a thread, held at its first verification of its copy onto the path
    (her claim still hers) for the block; released, it must succeed."""
    reached, release = threading.Event(), threading.Event()
    verify = _copyover.verify_in_place

    def held(*args: Any, **kwargs: Any) -> Any:
        if not reached.is_set():
            reached.set()
            release.wait(WAIT)
        return verify(*args, **kwargs)

    monkeypatch.setattr(_copyover, "verify_in_place", held)
    thread, outcome = in_thread(lambda: upload(alice, b"alice's bytes", config))
    try:
        assert reached.wait(WAIT), f"alice never verified her copy onto the path: {outcome}"
        yield
    finally:
        release.set()
        thread.join(WAIT)
    assert outcome == [None]


def test_a_live_writer_renews_its_claim_and_no_other_transfer_takes_it_over(
    emulator, writers, monkeypatch
) -> None:
    """alice copied her bytes onto the path (unlocked again) and her verification of it is held for more
    than her lease; she renews her claim all along, so another transfer of hers is refused, her claim
    untouched; released, she publishes and nothing is left beside the path."""
    rods, alice, other = writers
    config = _config(claim_lease_seconds=LIVE_LEASE)
    with held_at_verification(monkeypatch, alice, config):
        first = last_renewed(other)
        until(lambda: last_renewed(other) >= first + LIVE_LEASE + 1, "alice's claim renewed past her lease")
        with pytest.raises(IrodsPathClaimedError) as caught:
            upload(other, b"other bytes", config)
        assert caught.value.path == PATH
        assert caught.value.claim == CLAIM
        assert rods.data_objects.read(PATH) == b"alice's bytes"
    assert rods.data_objects.read(PATH) == b"alice's bytes"
    assert left(emulator, HOME) == [PATH]


_KILLED_WRITER = textwrap.dedent(
    """
    import dataclasses, sys
    from irods_provider.client import BasicAuth, IrodsSession
    from irods_provider.client.transfer import OverwritePolicy, TransferConfig, upload_object

    url, path, source, lease = sys.argv[1:5]
    sys.stdin.read()  # the test's signal to start, once it watches for this worker's requests
    fields = {f.name for f in dataclasses.fields(TransferConfig)}
    extra = {"claim_lease_seconds": float(lease)} if "claim_lease_seconds" in fields else {}
    config = TransferConfig(chunk_size=1 << 20, small_file_threshold=1 << 20, **extra)
    with IrodsSession(url, auth=BasicAuth("alice", "apass")) as session:
        upload_object(session, source, path, config=config, overwrite=OverwritePolicy.OVERWRITE)
    """
)


class KillOnceClaimed:
    """SIGKILLs a worker at its first request after its claim exists (the check of its claim before its copy
    onto the path), before the server handles it: what ``kill -9`` leaves between claim and copy."""

    def __init__(self, emulator: Any) -> None:
        self.emulator, self.app = emulator, emulator.app
        self._original = emulator.app._api
        self.pid: int | None = None
        self.app._api = self._api

    async def _api(self, request: Any, path: str) -> Any:
        with self.emulator.model.lock:
            claimed = CLAIM in self.emulator.model.data_objects
        if self.pid is not None and claimed:
            os.kill(self.pid, signal.SIGKILL)
            self.pid = None
            raise DropConnection()
        return await self._original(request, path)

    def close(self) -> None:
        del self.app._api  # the class's method again


def test_a_killed_writers_claim_is_taken_over_by_another_transfer_once_its_lease_lapsed(
    emulator, writers, tmp_path
) -> None:
    """alice's worker is killed (SIGKILL) right after it claimed the path, before its copy onto it: the
    path holds its old bytes, her claim stays, no longer renewed. Once it was not renewed for its lease,
    her upload of other bytes (another transfer) takes it over and publishes (before: refused for a day),
    and the claim is gone."""
    rods, _alice, other = writers
    source = tmp_path / "alice.bin"
    source.write_bytes(b"alice's bytes")
    switch = KillOnceClaimed(emulator)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [sys.executable, "-c", _KILLED_WRITER, emulator.base_url, PATH, str(source), str(LEASE)]
    worker = subprocess.Popen(args, env=env, stdin=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        switch.pid = worker.pid
        assert worker.stdin is not None
        worker.stdin.close()  # go
        assert worker.wait(WAIT) == -signal.SIGKILL, "the worker was not killed after claiming the path"
    finally:
        switch.close()
        if worker.poll() is None:
            worker.kill()
            worker.wait(WAIT)
    assert emulator.wait_idle(WAIT)
    assert rods.data_objects.read(PATH) == b"old"
    renewed = last_renewed(other)
    until(lambda: time.time() - renewed >= LEASE, "alice's claim unrenewed for its lease")
    upload(other, b"other bytes", _config(claim_lease_seconds=LEASE))
    assert rods.data_objects.read(PATH) == b"other bytes"
    # The killed upload's own temporary is left for its retry or the cleanup; its claim is resolved.
    assert [p for p in left(emulator, HOME) if not p.startswith(f"{HOME}/.leased.bin.irods-part-")] == [PATH]


def test_a_failed_read_of_its_claim_is_reported_as_such_not_as_a_takeover(
    emulator, writers, monkeypatch
) -> None:
    """alice's check of her claim before her copy onto the path fails (HTTP 500 on every retry): she stops
    with a typed error naming the path, the claim and the failure (before: "another writer took over"),
    the path untouched."""
    rods, alice, _other = writers
    config = _config(claim_lease_seconds=LEASE)
    listing = alice.metadata.list

    def failing(path: str, **kwargs: Any) -> Any:
        with emulator.model.lock:
            claimed = CLAIM in emulator.model.data_objects
        if path != CLAIM or not claimed:
            return listing(path, **kwargs)
        emulator.set_faults(error_500=1.0)
        try:
            return listing(path, **kwargs)
        finally:
            emulator.set_faults(error_500=0.0)

    monkeypatch.setattr(alice.metadata, "list", failing)
    with pytest.raises(IrodsError) as caught:
        upload(alice, b"alice's bytes", config)
    assert not isinstance(caught.value, IrodsPathClaimedError), caught.value
    assert isinstance(caught.value, exceptions.IrodsClaimUnconfirmedError)
    assert caught.value.path == PATH
    assert caught.value.claim == CLAIM
    assert caught.value.http_status == 500
    assert "could not read the claim" in str(caught.value)
    assert rods.data_objects.read(PATH) == b"old"


def test_a_writer_that_cannot_renew_its_claim_in_time_stops_before_touching_the_path(
    emulator, writers, monkeypatch
) -> None:
    """alice's claim is three fifths of her lease old by the time she would copy onto the path and every
    renewal fails (HTTP 500): another writer may deem her dead, so she stops, typed, naming the path, the
    claim and the failure, the path untouched."""
    rods, alice, _other = writers
    lease = 1.0
    apply, rename = alice.metadata.apply, alice.data_objects.rename

    def failing_renewals(path: str, operations: Any, **kwargs: Any) -> Any:
        renewal = any(op.operation == "remove" and op.avu.attribute == LEASE_ATTRIBUTE for op in operations)
        if not renewal:  # the claim's own record goes through
            return apply(path, operations, **kwargs)
        emulator.set_faults(error_500=1.0)
        try:
            return apply(path, operations, **kwargs)
        finally:
            emulator.set_faults(error_500=0.0)

    def late_after_claiming(old: str, new: str) -> None:
        rename(old, new)
        if new == CLAIM:  # a paused worker: its claim ages before it goes on
            since = last_renewed(alice)
            until(lambda: time.time() >= since + 0.6 * lease + 0.1, "three fifths of the lease passed")

    monkeypatch.setattr(alice.metadata, "apply", failing_renewals)
    monkeypatch.setattr(alice.data_objects, "rename", late_after_claiming)
    with pytest.raises(IrodsError) as caught:
        upload(alice, b"alice's bytes", _config(claim_lease_seconds=lease))
    assert isinstance(caught.value, exceptions.IrodsClaimUnconfirmedError), caught.value
    assert (caught.value.path, caught.value.claim, caught.value.http_status) == (PATH, CLAIM, 500)
    assert "could not renew the claim" in str(caught.value)
    assert rods.data_objects.read(PATH) == b"old"


def test_the_cleanup_leaves_a_live_writers_claim_alone(emulator, writers, monkeypatch) -> None:
    """The cleanup of abandoned temporaries, run with no minimum age while alice verifies her copy onto the
    path, leaves her claim (she renews it) and counts it fresh (before: removed as a backup that had served,
    taking the claim from a live writer); she then publishes and releases it."""
    rods, alice, _other = writers
    with held_at_verification(monkeypatch, alice, _config(claim_lease_seconds=LEASE)):
        swept = rods.collections.remove_temporaries(HOME, min_age=0)
        assert CLAIM not in [t.path for t in swept.removed + swept.failed]
        assert swept.fresh >= 1
        assert alice.data_objects.read(CLAIM) == b"old"
    assert rods.data_objects.read(PATH) == b"alice's bytes"
    assert left(emulator, HOME) == [PATH]
