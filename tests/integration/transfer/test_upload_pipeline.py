"""What an upload overlaps and where it saves round trips, checked against the emulator over real sockets:

- the parallel-write handle opens, and is recorded on the temporary, while the first chunk is still being
  read (the record that lets a later attempt unlock the temporary still exists before any byte is written);
- the source's stability check (after the last read) is asked before the last write is answered;
- publishing asks no GenQuery (the handles to forget are known), yet the object carries no transfer AVU;
- the object's last chunk goes out as one request per stream; no checkpoint records the whole source.

Nothing here measures time: each overlap is proved by an order the server sees (a read that waits, bounded,
for the server to hold the recorded handle; a last write that waits, bounded, for the check).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import random
import threading
import time
from typing import Any

import pytest

from irods_provider.client._sync._session import IrodsSession
from irods_provider.client._temporaries import HANDLE_ATTRIBUTE, RESUME_ATTRIBUTE
from irods_provider.client.transfer import FileStatus, TransferConfig, upload_object

HOME = "/tempZone/home/rods"
KIB = 1024
CHUNK = 192 * KIB
WAIT = 5.0  # bounded waits: a regression fails after this long instead of hanging

pytestmark = pytest.mark.timeout(60)


def sha2(data: bytes) -> str:
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def config(**overrides: Any) -> TransferConfig:
    return TransferConfig(chunk_size=CHUNK, small_file_threshold=CHUNK, streams=3, **overrides)


def recorded_handle_on_a_temporary(model: Any, coll: str) -> bool:
    """Whether the server holds an open parallel-write handle recorded on a temporary under ``coll``."""
    with model.lock:
        return any(
            o.locked_by is not None
            and (HANDLE_ATTRIBUTE, o.locked_by) in [(a.attribute, a.value) for a in o.avus]
            for p, o in model.data_objects.items()
            if p.startswith(coll + "/.")
        )


class FirstReadWaits(io.RawIOBase):
    """A source whose first read returns only once ``ready()`` holds (or after ``WAIT`` seconds)."""

    def __init__(self, data: bytes, ready: Any) -> None:
        self._inner = io.BytesIO(data)
        self._ready = ready
        self.ready_at_first_read: bool | None = None

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1, /) -> bytes:
        if self.ready_at_first_read is None:
            deadline = time.monotonic() + WAIT
            while not (ready := self._ready()) and time.monotonic() < deadline:
                time.sleep(0.01)
            self.ready_at_first_read = ready
        return self._inner.read(n)


def test_the_handle_is_opened_and_recorded_while_the_first_chunk_is_read(session, irods_emulator) -> None:
    coll = f"{HOME}/early"
    session.collections.create(coll)
    data = random.Random(1).randbytes(4 * CHUNK + 7)
    source = FirstReadWaits(data, lambda: recorded_handle_on_a_temporary(irods_emulator.model, coll))
    result = upload_object(session, source, f"{coll}/a.bin", size=len(data), config=config())
    assert source.ready_at_first_read is True  # opened and recorded before the first byte was handed over
    assert result.status is FileStatus.TRANSFERRED
    assert session.data_objects.read(f"{coll}/a.bin") == data
    assert session.data_objects.calculate_checksum(f"{coll}/a.bin") == sha2(data)


def test_a_source_failing_before_its_first_chunk_leaves_no_handle_open(session, irods_emulator) -> None:
    coll = f"{HOME}/early-fail"
    session.collections.create(coll)

    class Broken(FirstReadWaits):
        def read(self, n: int = -1, /) -> bytes:
            super().read(0)
            raise OSError("the source's disk went away")

    source = Broken(b"", lambda: recorded_handle_on_a_temporary(irods_emulator.model, coll))
    with pytest.raises(OSError, match="disk went away"):
        upload_object(session, source, f"{coll}/a.bin", size=4 * CHUNK, config=config(), resume=False)
    assert source.ready_at_first_read is True
    with irods_emulator.model.lock:
        locked = [
            p for p, o in irods_emulator.model.data_objects.items() if p.startswith(coll) and o.locked_by
        ]
    assert locked == []  # the early handle was shut down by the failure cleanup
    assert session.collections.list(coll) == []  # and the unresumable temporary removed


def adds_a_resume_record(name: str, fields: dict[str, str]) -> bool:
    """Whether an operation is a checkpoint: a metadata call adding a resume record."""
    if name != "data_objects.modify_metadata":
        return False
    operations = json.loads(fields.get("operations", "[]"))
    return any(o.get("operation") == "add" and o.get("attribute") == RESUME_ATTRIBUTE for o in operations)


class OpLog:
    """Every HTTP operation the client sends (name, form fields, body length), in order; ``after`` is called
    with each once its answer came, before the caller sees it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, after: Any = None) -> None:
        self.ops: list[tuple[str, dict[str, str], int]] = []
        self._lock = threading.Lock()
        real = IrodsSession._send

        def send(session: Any, op: Any, *args: Any, **kwargs: Any) -> Any:
            fields = {k: v for k, v in op.fields if isinstance(v, str)}
            fields |= {
                k.removeprefix("irods-api-request-"): v for k, v in op.headers if k.startswith("irods-api")
            }
            body = op.content if op.content is not None else dict(op.fields).get("bytes", b"")
            entry = (op.name, fields, len(body))
            with self._lock:
                self.ops.append(entry)
            reply = real(session, op, *args, **kwargs)
            if after is not None:
                after(entry)
            return reply

        monkeypatch.setattr(IrodsSession, "_send", send)

    def names(self) -> list[str]:
        with self._lock:
            return [name for name, _, _ in self.ops]


def test_the_source_check_is_asked_before_the_last_write_is_answered(
    session, irods_emulator, monkeypatch
) -> None:
    coll = f"{HOME}/check"
    session.collections.create(coll)
    data = random.Random(2).randbytes(5 * CHUNK)
    checked = threading.Event()
    seen_by_last_write: list[bool] = []

    def after(entry: tuple[str, dict[str, str], int]) -> None:
        # The answer to the write that ends the object is held (bounded) until the check was asked.
        name, fields, length = entry
        if name == "data_objects.write" and int(fields.get("offset", 0)) + length == len(data):
            seen_by_last_write.append(checked.wait(WAIT))

    OpLog(monkeypatch, after)

    def check() -> str | None:
        checked.set()
        return None

    result = upload_object(
        session, io.BytesIO(data), f"{coll}/a.bin", size=len(data), config=config(), source_check=check
    )
    assert result.status is FileStatus.TRANSFERRED
    assert session.data_objects.read(f"{coll}/a.bin") == data
    assert seen_by_last_write == [True]


def test_a_source_changed_after_its_last_read_is_still_refused(session, irods_emulator) -> None:
    coll = f"{HOME}/changed"
    session.collections.create(coll)
    data = random.Random(3).randbytes(4 * CHUNK)
    from irods_provider.exceptions import IrodsSourceChangedError

    with pytest.raises(IrodsSourceChangedError, match="appended"):
        upload_object(
            session,
            io.BytesIO(data),
            f"{coll}/a.bin",
            size=len(data),
            config=config(),
            source_check=lambda: "appended",
        )
    assert session.collections.list(coll) == []  # neither published nor a temporary left


def test_publishing_asks_no_query_and_leaves_no_transfer_avu(session, irods_emulator, monkeypatch) -> None:
    coll = f"{HOME}/publish"
    session.collections.create(coll)
    data = random.Random(4).randbytes(20 * CHUNK + 3)  # checkpoints every 8 chunks: a resume AVU to drop
    # The session's first upload there lists its replicas once (TransferConfig.verify_replicas): not here.
    upload_object(session, io.BytesIO(b"x"), f"{coll}/first.bin", size=1, config=config())
    log = OpLog(monkeypatch)
    upload_object(session, io.BytesIO(data), f"{coll}/a.bin", size=len(data), config=config(), resume_key="k")
    # A checkpoint is recorded beside the writes: one may still be on its way as the handle shuts down.
    names = [name for name, fields, _ in log.ops if not adds_a_resume_record(name, fields)]
    tail = names[names.index("data_objects.parallel_write_shutdown") :]
    assert tail[0] == "data_objects.parallel_write_shutdown"
    # The resume record and the handle forgotten in one atomic call, while the checksum is verified.
    assert sorted(tail[1:3]) == ["data_objects.calculate_checksum", "data_objects.modify_metadata"]
    assert tail[3:] == ["data_objects.rename"]
    avus = session.metadata.list(f"{coll}/a.bin")
    assert [a for a in avus if a.attribute in (HANDLE_ATTRIBUTE, RESUME_ATTRIBUTE)] == []
    assert session.data_objects.read(f"{coll}/a.bin") == data


@pytest.mark.parametrize(
    ("size", "resume", "overlapped"),
    [(100, True, True), (20 * CHUNK + 3, False, True), (20 * CHUNK + 3, True, False)],
    ids=["one-request", "parallel-no-resume", "parallel-with-resume-record"],
)
def test_the_checksum_is_verified_while_the_avus_are_applied(
    session, irods_emulator, monkeypatch, size, resume, overlapped
) -> None:
    """The AVU call (the caller's AVUs, the handles dropped) leaves before the zone's checksum is answered:
    their round trips overlap (the checksum's answer is held here until it has, for at most 5 s), and the
    rename follows both. A resume record is dropped only once the checksum matched: a worker killed while
    the zone hashes a large object leaves the next attempt its whole prefix to resume."""
    coll = f"{HOME}/finish-{size}-{resume}"
    session.collections.create(coll)
    data = random.Random(7).randbytes(size)
    overlapped_expected, overlapped = overlapped, []

    def hold_the_checksum(entry: tuple[str, dict[str, str], int]) -> None:
        if entry[0] != "data_objects.calculate_checksum":
            return
        names = log.names()
        written = max(i for i, n in enumerate(names) if n.endswith(("write", "parallel_write_shutdown")))

        def sent_since() -> bool:  # an AVU call sent once written (earlier ones record handles; a
            # checkpoint may still be on its way)
            ops = list(log.ops)[written:]
            return any(n.endswith("modify_metadata") and not adds_a_resume_record(n, f) for n, f, _ in ops)

        deadline = time.monotonic() + (5.0 if overlapped_expected else 0.3)
        while not sent_since() and time.monotonic() < deadline:
            time.sleep(0.005)
        overlapped.append(sent_since())

    log = OpLog(monkeypatch, after=hold_the_checksum)
    path = f"{coll}/a.bin"
    upload_object(
        session,
        io.BytesIO(data),
        path,
        size=len(data),
        config=config(),
        metadata={"run": "7"},
        resume=resume,
        resume_key="k" if resume else None,
    )
    assert overlapped == [overlapped_expected]
    assert log.names()[-1] == "data_objects.rename"
    assert [(a.attribute, a.value) for a in session.metadata.list(path)] == [("run", "7")]
    assert session.data_objects.read(path) == data


def test_the_last_chunk_goes_out_as_one_request_per_stream(session, irods_emulator, monkeypatch) -> None:
    coll = f"{HOME}/tail"
    session.collections.create(coll)
    data = random.Random(5).randbytes(8 * CHUNK)  # the checkpoint would fall on the last byte
    log = OpLog(monkeypatch)
    upload_object(session, io.BytesIO(data), f"{coll}/a.bin", size=len(data), config=config(), resume_key="k")
    offsets = sorted(int(fields["offset"]) for name, fields, _ in log.ops if name == "data_objects.write")
    third = CHUNK // 3
    assert offsets == [i * CHUNK for i in range(7)] + [7 * CHUNK, 7 * CHUNK + third, 7 * CHUNK + 2 * third]
    # No checkpoint of the whole source: the only metadata calls record the handle and drop it.
    assert log.names().count("data_objects.modify_metadata") == 2
    assert session.data_objects.read(f"{coll}/a.bin") == data
    assert session.data_objects.calculate_checksum(f"{coll}/a.bin") == sha2(data)


def test_the_temporary_is_chosen_while_the_source_opens(session, irods_emulator, monkeypatch) -> None:
    from irods_provider.client.transfer import BytesFile

    coll = f"{HOME}/choose"
    session.collections.create(coll)
    data = random.Random(6).randbytes(4 * CHUNK)
    log = OpLog(monkeypatch)
    asked_at_open: list[bool] = []

    class SlowToOpen(BytesFile):
        def open(self, offset: int = 0) -> Any:
            # The zone is asked about the temporary (its records, by GenQuery) before the source is open.
            deadline = time.monotonic() + WAIT
            while "query.genquery" not in log.names() and time.monotonic() < deadline:
                time.sleep(0.01)
            asked_at_open.append("query.genquery" in log.names())
            return super().open(offset)

    result = upload_object(session, SlowToOpen(data), f"{coll}/a.bin", config=config())
    assert asked_at_open == [True]
    assert result.status is FileStatus.TRANSFERRED
    assert session.data_objects.read(f"{coll}/a.bin") == data
