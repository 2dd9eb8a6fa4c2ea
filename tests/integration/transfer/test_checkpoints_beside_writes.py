"""A resumable upload's checkpoints (the committed prefix recorded on the temporary every 8 chunks) are
written beside the upload, not in its way: while one is being recorded the other writes go on and the
handle is shut down; what the finalize drops, or a failure's cleanup replaces, is the record on the object
once the one being written has landed. Against the emulator over real sockets.

Each test holds a checkpoint's answer (bounded by ``WAIT``) until an event the old order made impossible
(the shutdown sent, the source failed), so nothing here measures time.
"""

from __future__ import annotations

import io
import json
import random
import threading
from typing import Any

import pytest

from irods_provider.client import EntryKind
from irods_provider.client._sync._session import IrodsSession
from irods_provider.client.transfer import TransferConfig, upload_object
from irods_provider.client.transfer._resume import HANDLE_ATTRIBUTE, RESUME_ATTRIBUTE, ResumeState, temp_name

HOME = "/tempZone/home/rods"
CHUNK = 64 * 1024
WAIT = 5.0  # bounded waits: a regression fails after this long instead of hanging
# Checkpoints every 2 chunks, through a parallel-write handle of two streams.
CFG = TransferConfig(
    streams=2, queue_depth=1, chunk_size=CHUNK, small_file_threshold=CHUNK, resume_checkpoint_bytes=2 * CHUNK
)

pytestmark = pytest.mark.timeout(60)


def _adds_a_resume_record(op: Any) -> bool:
    """Whether ``op`` is a metadata call adding a resume record (a checkpoint, not the finalize)."""
    if op.name != "data_objects.modify_metadata":
        return False
    fields = dict(op.fields)
    operations = json.loads(fields.get("operations", "[]"))
    return any(o.get("operation") == "add" and o.get("attribute") == RESUME_ATTRIBUTE for o in operations)


class HeldCheckpoint:
    """Holds the first checkpoint (applied by the server, its answer kept from the client) until
    ``release`` is set (at most ``wait`` seconds); records the operations sent from its sending until then
    and whether it was released (not timed out). ``release_on``: operation names whose sending releases it."""

    def __init__(
        self, monkeypatch: pytest.MonkeyPatch, release_on: tuple[str, ...], wait: float = WAIT
    ) -> None:
        self.release = threading.Event()
        self.held = threading.Event()
        self.released_in_time: bool | None = None
        self.sent_while_held: list[str] = []
        self._lock = threading.Lock()
        real = IrodsSession._send

        def send(session: Any, op: Any, *args: Any, **kwargs: Any) -> Any:
            if self.held.is_set() and not self.release.is_set():
                with self._lock:
                    self.sent_while_held.append(op.name)
                if op.name in release_on:
                    self.release.set()
            first = not self.held.is_set() and _adds_a_resume_record(op)
            if first:
                self.held.set()  # from its sending on: whatever goes out next did not wait for it
            reply = real(session, op, *args, **kwargs)
            if first:
                self.released_in_time = self.release.wait(wait)
            return reply

        monkeypatch.setattr(IrodsSession, "_send", send)


def _resume_records(session: Any, path: str) -> list[ResumeState | None]:
    avus = session.metadata.list(path, kind=EntryKind.DATA_OBJECT)
    return [ResumeState.from_value(a.value) for a in avus if a.attribute == RESUME_ATTRIBUTE]


def test_a_checkpoint_being_recorded_holds_neither_the_writes_nor_the_shutdown(
    session, irods_emulator, monkeypatch
) -> None:
    coll = f"{HOME}/cp-beside"
    session.collections.create(coll)
    data = random.Random(11).randbytes(7 * CHUNK + 5)
    # Held until the zone is asked for the checksum: past the shutdown, and the finalize comes right after.
    held = HeldCheckpoint(monkeypatch, release_on=("data_objects.calculate_checksum",))
    path = f"{coll}/a.bin"
    upload_object(session, io.BytesIO(data), path, size=len(data), config=CFG, resume_key="k")
    # The handle was shut down (every write answered) while the checkpoint was unanswered.
    assert held.released_in_time is True
    assert "data_objects.parallel_write_shutdown" in held.sent_while_held
    # The finalize dropped the record that landed last: the published object carries no transfer AVU.
    avus = session.metadata.list(path, kind=EntryKind.DATA_OBJECT)
    assert [a for a in avus if a.attribute in (HANDLE_ATTRIBUTE, RESUME_ATTRIBUTE)] == []
    assert session.data_objects.read(path) == data


def test_the_finalize_drops_the_record_a_late_checkpoint_left(session, irods_emulator, monkeypatch) -> None:
    coll = f"{HOME}/cp-late"
    session.collections.create(coll)
    data = random.Random(13).randbytes(7 * CHUNK + 5)
    # Answered when the finalize's metadata call goes out (which must wait for it), else after a second.
    held = HeldCheckpoint(monkeypatch, release_on=("data_objects.modify_metadata",), wait=1.0)
    path = f"{coll}/a.bin"
    upload_object(session, io.BytesIO(data), path, size=len(data), config=CFG, resume_key="k")
    assert "data_objects.parallel_write_shutdown" in held.sent_while_held
    assert held.released_in_time is False  # no AVU call left while the checkpoint was unanswered
    avus = session.metadata.list(path, kind=EntryKind.DATA_OBJECT)
    assert [a for a in avus if a.attribute in (HANDLE_ATTRIBUTE, RESUME_ATTRIBUTE)] == []
    assert session.data_objects.read(path) == data


class FailsAfter(io.RawIOBase):
    """Gives ``good`` bytes of ``data`` (the last of them once a checkpoint is held), then fails."""

    def __init__(self, data: bytes, good: int, held: HeldCheckpoint) -> None:
        self.data, self.good, self.pos, self.held = data, good, 0, held
        self.held_at_failure = False

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1, /) -> bytes:
        if self.pos >= self.good:
            self.held_at_failure = self.held.held.is_set() and not self.held.release.is_set()
            raise OSError(5, "Input/output error (injected)")
        if self.pos + n > self.good - CHUNK:
            self.held.held.wait(WAIT)  # the last good chunk is read once a checkpoint is in flight
        data = self.data[self.pos : min(self.pos + n, self.good)]
        self.pos += len(data)
        return data


def test_a_failure_keeps_one_record_the_committed_prefix_after_a_checkpoint_in_flight(
    session, irods_emulator, monkeypatch
) -> None:
    coll = f"{HOME}/cp-failure"
    session.collections.create(coll)
    data = random.Random(12).randbytes(8 * CHUNK)
    # The held checkpoint is answered when the failure's cleanup sends its own record (which must then wait
    # for it), else after a second: a cleanup that waits for it is held that long.
    held = HeldCheckpoint(monkeypatch, release_on=("data_objects.modify_metadata",), wait=1.0)
    source = FailsAfter(data, 4 * CHUNK, held)
    path = f"{coll}/a.bin"
    with pytest.raises(OSError, match="injected"):
        upload_object(session, source, path, size=len(data), config=CFG, resume_key="k")
    assert source.held_at_failure
    assert held.released_in_time is False  # the cleanup recorded nothing while the checkpoint was unanswered
    temp = temp_name(path, "k")
    # One record, the whole committed prefix: the cleanup replaced the checkpoint once it had landed.
    assert _resume_records(session, temp) == [ResumeState(committed=4 * CHUNK, source_size=len(data))]
    assert irods_emulator.open_parallel_write_handles() == 0

    result = upload_object(session, io.BytesIO(data), path, size=len(data), config=CFG, resume_key="k")
    assert result.resumed_from == 4 * CHUNK
    assert session.data_objects.read(path) == data
    assert _resume_records(session, path) == []


@pytest.mark.parametrize(("resume_key", "expected"), [(None, False), ("k", True)], ids=["no-key", "keyed"])
def test_only_a_temporary_a_retry_finds_again_gets_checkpoints(
    session, irods_emulator, monkeypatch, resume_key, expected
) -> None:
    """Without a resume key a file object's temporary has a random name: no later attempt finds it (a
    failure removes it), so recording its prefix would only cost requests."""
    coll = f"{HOME}/cp-key-{resume_key}"
    session.collections.create(coll)
    data = random.Random(14).randbytes(7 * CHUNK + 5)
    checkpoints: list[str] = []
    real = IrodsSession._send

    def send(session_: Any, op: Any, *args: Any, **kwargs: Any) -> Any:
        if _adds_a_resume_record(op):
            checkpoints.append(op.name)
        return real(session_, op, *args, **kwargs)

    monkeypatch.setattr(IrodsSession, "_send", send)
    path = f"{coll}/a.bin"
    upload_object(session, io.BytesIO(data), path, size=len(data), config=CFG, resume_key=resume_key)
    assert bool(checkpoints) is expected
    assert session.data_objects.read(path) == data
