"""Issue 17, item 6: a staged download (iRODS -> SFTP) starts reading the data object as soon as the zone
has answered for it, while SSH connection #0 comes up and the SFTP destination is decided, at most
``streams * chunk_size`` bytes ahead; never where reading first could be wasted beyond that or wrong.

Seen at the emulator (the bytes its read handler serves, counted in this process) and by holding the SFTP
side (SSH connection #0's connect waits for an event), never by the clock; every copy is checked by
SHA-256 at its final path.
"""

from __future__ import annotations

import hashlib
import random
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from irods_provider.client.transfer import _sink_download
from irods_provider.client.transfer._reader import request_size
from irods_provider.exceptions import IrodsAlreadyExistsError, IrodsInvalidPathError
from irods_provider.sftp import _endpoint
from irods_provider.testing import _h_data_objects
from irods_provider.testing.sftp import EmbeddedSftpServer
from irods_provider.transfers import _staging
from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from ssh_connections import wait_all_closed

pytestmark = pytest.mark.timeout(90)

HOME = "/tempZone/home/rods"
KIB, MIB = 1024, 1024 * 1024
STREAMS = 3
HELD = 20.0  # seconds a held SSH connect waits for its event (a failure, not a pace)
QUIET = 1.0  # seconds given a wrong implementation to read more than allowed before the hold ends


@pytest.fixture(scope="module")
def sftp_server() -> Iterator[EmbeddedSftpServer]:
    with EmbeddedSftpServer() as server:
        yield server


@pytest.fixture(autouse=True)
def all_closed(sftp_server: EmbeddedSftpServer) -> Iterator[None]:
    """No SSH connection open before the test, none left after it (the task closed each)."""
    wait_all_closed(sftp_server)
    yield
    wait_all_closed(sftp_server)


class Served:
    """Bytes of data objects the emulator's read handler served, as it serves them (in this process)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.bytes = 0
        self.offsets: list[int] = []
        self.changed = threading.Condition()
        read_file, chunks = _h_data_objects._read_file, _h_data_objects._chunks

        def counted_read_file(path: Path, offset: int, count: int, chunk: int) -> bytes:
            data = read_file(path, offset, count, chunk)
            self._add(offset, len(data))
            return data

        async def counted_chunks(path: Path, offset: int, count: int, chunk: int) -> AsyncIterator[bytes]:
            first = True
            async for data in chunks(path, offset, count, chunk):
                self._add(offset if first else None, len(data))
                first = False
                yield data

        monkeypatch.setattr(_h_data_objects, "_read_file", counted_read_file)
        monkeypatch.setattr(_h_data_objects, "_chunks", counted_chunks)

    def _add(self, offset: int | None, count: int) -> None:
        with self.changed:
            if offset is not None:
                self.offsets.append(offset)
            self.bytes += count
            self.changed.notify_all()

    def wait(self, predicate: Any, timeout: float) -> bool:
        """Whether ``predicate(bytes served)`` came true within ``timeout`` seconds."""
        with self.changed:
            return self.changed.wait_for(lambda: predicate(self.bytes), timeout)


def hold_first_connection(monkeypatch: pytest.MonkeyPatch, until: Any) -> list[str]:
    """SSH connection #0 waits before connecting until ``until()`` returns (what it said is recorded)."""
    real = _endpoint.SftpEndpoint._open_link
    said: list[str] = []

    def open_link(self: _endpoint.SftpEndpoint, link: Any) -> None:
        if link.index == 0:
            said.append(until())
        real(self, link)

    monkeypatch.setattr(_endpoint.SftpEndpoint, "_open_link", open_link)
    return said


def early_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths the engine started reading early for (every :class:`EarlyRead` built)."""
    started: list[str] = []
    real = _sink_download.EarlyRead.__init__

    def init(self: Any, session: Any, path: str, **kwargs: Any) -> None:
        started.append(path)
        real(self, session, path, **kwargs)

    monkeypatch.setattr(_sink_download.EarlyRead, "__init__", init)
    return started


def reader_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("irods-read")]


def put_object(session: Any, path: str, data: bytes) -> None:
    step = 4 * MIB  # the emulator takes at most 8 MiB per request
    session.data_objects.write(path, data[:step])
    for at in range(step, len(data), step):
        session.data_objects.write(path, data[at : at + step], offset=at, truncate=False)


def down(chunk_size: int, **kwargs: Any) -> dict[str, Any]:
    return IrodsToSFTPOperator(
        task_id="down",
        sftp_conn_id="cluster",
        chunk_size=chunk_size,
        streams=STREAMS,
        remote_checksum=False,
        sftp_retry_backoff=0.05,
        **kwargs,
    ).execute({})


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def prefetched(size: int, chunk_size: int) -> int:
    """The bytes the early reads ask for with no consumer: the ramp's requests while they fit in the budget
    of ``streams * chunk_size`` bytes (at least one)."""
    budget, asked, index = STREAMS * chunk_size, 0, 0
    while asked < size:
        count = request_size(index, size - asked, chunk_size=chunk_size, streams=STREAMS)
        if index and asked + count > budget:
            break
        asked, index = asked + count, index + 1
    return asked


def test_the_first_read_reaches_the_zone_while_ssh_connects(remote, session, monkeypatch) -> None:
    """SSH connection #0 is held until a read of the object reached the emulator: only a download whose
    reads start with the plan gets through (before, the first read waited for the SFTP destination, so the
    hold ran out). Every byte is served once: the early reads are the copy's."""
    data = random.Random(1).randbytes(3 * MIB + 17)
    put_object(session, f"{HOME}/early.bin", data)
    served = Served(monkeypatch)
    said = hold_first_connection(
        monkeypatch, lambda: "read first" if served.wait(bool, HELD) else "held in vain"
    )
    report = down(256 * KIB, source_path=f"{HOME}/early.bin", destination_path=remote.path("early/"))
    assert said == ["read first"]
    assert report["transferred"] == 1
    assert {k: sha(v) for k, v in remote.files("early").items()} == {"early.bin": sha(data)}
    assert served.bytes == len(data)
    assert sorted(served.offsets) == sorted(set(served.offsets))  # no range read twice


@pytest.mark.parametrize("chunk_size", [256 * KIB, 4 * MIB], ids=["chunks", "ramp"])
def test_the_bytes_read_ahead_of_the_sftp_side_stay_within_the_budget(
    remote, session, monkeypatch, chunk_size
) -> None:
    """While SSH connection #0 is held the early reads stop at ``streams * chunk_size`` bytes asked: with
    equal chunks three requests, with the ramp's smaller first requests more of them (a budget in bytes,
    not in requests). Then the copy goes on from there, each byte served once."""
    data = random.Random(chunk_size).randbytes(8 * chunk_size + 5)
    put_object(session, f"{HOME}/bounded.bin", data)
    served = Served(monkeypatch)
    expected = prefetched(len(data), chunk_size)
    assert expected <= STREAMS * chunk_size
    at_release: list[int] = []

    def until() -> str:
        reached = served.wait(lambda n: n >= expected, HELD)
        more = served.wait(lambda n: n > expected, QUIET)  # a reader past its budget would show here
        at_release.append(served.bytes)
        return f"reached={reached} more={more}"

    said = hold_first_connection(monkeypatch, until)
    report = down(chunk_size, source_path=f"{HOME}/bounded.bin", destination_path=remote.path("b/"))
    assert said == ["reached=True more=False"]
    assert at_release == [expected]
    if chunk_size == 4 * MIB:
        assert len([o for o in served.offsets if o < expected]) > STREAMS  # more requests than streams
    assert report["transferred"] == 1
    assert {k: sha(v) for k, v in remote.files("b").items()} == {"bounded.bin": sha(data)}
    assert served.bytes == len(data)


def test_a_refused_destination_writes_nothing_and_stops_the_early_reads(remote, session, monkeypatch):
    """An existing file and no ``overwrite``: refused (typed) once the SFTP side answers; the early reads
    stopped within their budget (threads gone, no SSH connection left), the file there untouched, no
    temporary written."""
    data = random.Random(3).randbytes(2 * MIB + 3)
    put_object(session, f"{HOME}/taken.bin", data)
    theirs = remote.put("taken/taken.bin", b"someone else's")
    served = Served(monkeypatch)
    started = early_reads(monkeypatch)
    said = hold_first_connection(
        monkeypatch, lambda: "read first" if served.wait(bool, HELD) else "held in vain"
    )
    before = reader_threads()
    with pytest.raises(IrodsAlreadyExistsError) as refused:
        down(256 * KIB, source_path=f"{HOME}/taken.bin", destination_path=remote.path("taken/"))
    assert refused.value.path is not None
    assert refused.value.path.endswith("taken/taken.bin")
    assert said == ["read first"]
    assert started == [f"{HOME}/taken.bin"]
    assert served.bytes <= STREAMS * 256 * KIB
    assert reader_threads() == before == []
    assert sorted(p.name for p in theirs.parent.iterdir()) == ["taken.bin"]
    assert theirs.read_bytes() == b"someone else's"


@pytest.mark.parametrize("there", [True, False], ids=["skipped", "copied"])
def test_a_skip_policy_never_reads_a_byte_before_the_decision(remote, session, monkeypatch, there) -> None:
    """``skip='exists'``: nothing is read early; an existing file is skipped with no byte read at all, a
    missing one copied with its reads starting after SSH connection #0 (held a while: none came)."""
    data = random.Random(4).randbytes(2 * MIB + 1)
    put_object(session, f"{HOME}/maybe.bin", data)
    if there:
        remote.put("maybe/maybe.bin", b"already here")
    served = Served(monkeypatch)
    started = early_reads(monkeypatch)
    said = hold_first_connection(monkeypatch, lambda: f"read={served.wait(bool, QUIET)}")
    report = down(
        256 * KIB, source_path=f"{HOME}/maybe.bin", destination_path=remote.path("maybe/"), skip="exists"
    )
    assert said == ["read=False"]
    assert started == []
    if there:
        assert report["skipped"] == 1
        assert served.bytes == 0
        assert remote.files("maybe") == {"maybe.bin": b"already here"}
    else:
        assert report["transferred"] == 1
        assert served.bytes == len(data)
        assert {k: sha(v) for k, v in remote.files("maybe").items()} == {"maybe.bin": sha(data)}
    assert reader_threads() == []


def test_a_resumable_temporary_is_continued_not_read_early_from_zero(remote, session, irods, monkeypatch):
    """An attempt cancelled mid-copy leaves its recorded temporary; the next attempt reads nothing early
    (the task may resume: it continues from the verified prefix) and the file comes out whole."""
    data = random.Random(5).randbytes(3 * MIB + 9)
    put_object(session, f"{HOME}/again.bin", data)
    irods.set_faults(latency_seconds=0.02)
    op = IrodsToSFTPOperator(
        task_id="down",
        sftp_conn_id="cluster",
        source_path=f"{HOME}/again.bin",
        destination_path=remote.path("again/"),
        chunk_size=64 * KIB,
        streams=1,
        remote_checksum=False,
    )
    failed = _cancelled_once_written(op, remote.dir / "again", 4 * 64 * KIB)
    irods.set_faults(latency_seconds=0.0)
    assert failed is not None
    assert not (remote.dir / "again" / "again.bin").exists()
    started = early_reads(monkeypatch)
    report = down(64 * KIB, source_path=f"{HOME}/again.bin", destination_path=remote.path("again/"))
    assert started == []
    assert report["files"][0]["resumed_from"] >= 4 * 64 * KIB
    assert {k: sha(v) for k, v in remote.files("again").items()} == {"again.bin": sha(data)}
    # Published: the next task's first attempt reads early again.
    report = down(64 * KIB, source_path=f"{HOME}/again.bin", destination_path=remote.path("again2/"))
    assert started == [f"{HOME}/again.bin"]
    assert {k: sha(v) for k, v in remote.files("again2").items()} == {"again.bin": sha(data)}


def _cancelled_once_written(op: IrodsToSFTPOperator, partial: Path, size: int) -> BaseException | None:
    """Run ``op`` in a thread and ``on_kill`` it once a temporary in ``partial`` holds ``size`` bytes."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            op.execute({})
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and thread.is_alive():
        if any(p.stat().st_size >= size for p in partial.glob(".*.irods-part-*")):
            break
        time.sleep(0.005)  # polling, bounded by the deadline
    op.on_kill()
    thread.join(60)
    assert not thread.is_alive()
    return outcome[0] if outcome else None


def test_early_reads_no_copy_took_are_closed_when_the_task_fails_first(remote, session, monkeypatch) -> None:
    """Two objects of a collection start reading with the plan; making the destination directory then
    fails (refused here by a wrapped step): the task fails before either copy starts, and both early reads
    are closed (no reader thread left, no SSH connection, nothing written)."""
    session.collections.create(f"{HOME}/pair")
    for name in ("a.bin", "b.bin"):
        put_object(session, f"{HOME}/pair/{name}", random.Random(name).randbytes(MIB + 7))
    started = early_reads(monkeypatch)

    def refused(_sftp: Any, path: str, **_modes: Any) -> str:
        raise IrodsInvalidPathError("refused for the test", path=path)

    monkeypatch.setattr(_staging, "target_root", refused)  # what the operator's target_root calls
    with pytest.raises(IrodsInvalidPathError, match="refused for the test"):
        down(256 * KIB, source_path=f"{HOME}/pair", destination_path=remote.path("pair/"), recursive=True)
    assert sorted(started) == [f"{HOME}/pair/a.bin", f"{HOME}/pair/b.bin"]
    assert reader_threads() == []
    assert not (remote.dir / "pair").exists()
