"""Issue 17, item 6: a staged upload (SFTP -> iRODS) starts moving bytes as soon as the source is open.

Proved by the order of events, never by the clock: the file's own handle (on connection #0) reads before
the other SSH connections are up, and their range readers join once they are, each checked to have opened
that same file (a file swapped meanwhile fails typed, nothing published); the source opens while the engine
asks the zone about the destination (only without a skip policy: a file that may be skipped is never
opened first); a relative source's ``lstat`` shares the round trip of the ``realpath`` that resolves it.
Every published object is checked byte for byte by SHA-256 (the server's checksum).
"""

from __future__ import annotations

import base64
import hashlib
import os
import random
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest
from paramiko.sftp import CMD_NAMES, CMD_OPEN, CMD_READ

from irods_provider.client import Kinds
from irods_provider.client._sync._fs import DataObjects
from irods_provider.exceptions import IrodsAlreadyExistsError, IrodsSourceChangedError
from irods_provider.sftp import _endpoint, _io
from irods_provider.testing.sftp import EmbeddedSftpServer
from irods_provider.transfers import _staging
from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from ssh_connections import assert_no_open_files, wait_all_closed

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"
KIB, MIB = 1024, 1024 * 1024
CHUNK = 256 * KIB
HELD = 20.0  # seconds a held step waits for its event (a failure, not a pace: loaded SSH connects took > 5 s)
PAST = 1_600_000_000


@pytest.fixture(scope="module")
def sftp_server() -> Iterator[EmbeddedSftpServer]:
    with EmbeddedSftpServer() as server:
        yield server


@pytest.fixture(autouse=True)
def fresh_counts(sftp_server: EmbeddedSftpServer) -> Iterator[None]:
    wait_all_closed(sftp_server)
    sftp_server.reset_connection_stats()
    yield
    sftp_server.inject()


@pytest.fixture
def small_auto(monkeypatch: pytest.MonkeyPatch) -> None:
    """The automatic count at one connection per MiB: a 3 MiB file opens three in the background."""
    monkeypatch.setattr(_staging, "AUTO_BYTES_PER_CONNECTION", MIB)


def up(**kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("chunk_size", CHUNK)
    return SFTPToIrodsOperator(task_id="up", sftp_conn_id="cluster", **kwargs).execute({})


def irods_sha256(session: Any, path: str) -> str:
    return session.data_objects.calculate_checksum(path)


def sha2(data: bytes) -> str:
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def objects(session: Any) -> list[str]:
    """Every data object below the home collection, hidden temporaries included."""
    found = session.collections.iterate(HOME, recursive=True, kinds=Kinds.DATA_OBJECTS)
    return sorted(e.path for e in found)


class Requests:
    """Every SFTP request the process sends, in order (command, first argument), plus marks of its own."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.events: list[tuple[str, str]] = []
        self.sent = {CMD_READ: threading.Event(), CMD_OPEN: threading.Event()}
        self._lock = threading.Lock()
        real = paramiko.SFTPClient._async_request  # type: ignore[attr-defined]

        def async_request(client: paramiko.SFTPClient, fileobj: Any, t: int, *args: Any) -> Any:
            first = args[0] if args else b""
            self.add(CMD_NAMES.get(t, str(t)), first.decode() if isinstance(first, bytes) else str(first))
            if t in self.sent:
                self.sent[t].set()
            return real(client, fileobj, t, *args)

        monkeypatch.setattr(paramiko.SFTPClient, "_async_request", async_request)

    def add(self, what: str, detail: str = "") -> None:
        with self._lock:
            self.events.append((what, detail))

    def index(self, what: str, detail: str | None = None) -> int:
        """Where the first such event is (an AssertionError naming every event when there is none)."""
        found = [i for i, (w, d) in enumerate(self.events) if w == what and detail in (None, d)]
        assert found, f"no {what} {detail or ''} in {self.events}"
        return found[0]


def hold_siblings(
    monkeypatch: pytest.MonkeyPatch, requests: Requests, *, then: Any = None
) -> threading.Event:
    """Hold SSH connections #1.. before they connect until a READ went out (``then()`` runs once, right
    after); the file's own reader waits after its first answer until they are up (so they join, on
    loopback too). Returns the event set once they are up."""
    real_open, real_next = _endpoint.SftpEndpoint._open_link, _io._ReadPipeline.next_piece
    up_now, lock, left = threading.Event(), threading.Lock(), [0]

    def open_link(self: _endpoint.SftpEndpoint, link: Any) -> None:
        if link.index == 0:
            return real_open(self, link)
        with lock:
            left[0] += 1
        requests.add(f"held #{link.index}", "read first" if requests.sent[CMD_READ].wait(HELD) else "")
        with lock:
            if then is not None and not getattr(then, "done", False):
                then()
                then.done = True
        try:
            real_open(self, link)
        finally:
            requests.add(f"connected #{link.index}")
            with lock:
                left[0] -= 1
                if not left[0]:
                    up_now.set()

    def next_piece(self: _io._ReadPipeline) -> bytes:
        data = real_next(self)
        if threading.current_thread().name == "sftp-range-0":
            up_now.wait(HELD)
        return data

    monkeypatch.setattr(_endpoint.SftpEndpoint, "_open_link", open_link)
    monkeypatch.setattr(_io._ReadPipeline, "next_piece", next_piece)
    return up_now


def test_the_first_connection_reads_before_the_others_are_up(
    remote, session, sftp_server, monkeypatch, small_auto
):
    """Connections #1 and #2 are held until a READ goes out: only an upload whose own handle reads at once
    gets through (the old range readers waited for every connection first, so the held ones gave up and
    the file ran on one). Then the two join: the bytes go over all three connections."""
    blob = random.Random(11).randbytes(3 * MIB + 5)
    remote.put("one.bin", blob)
    requests = Requests(monkeypatch)
    hold_siblings(monkeypatch, requests)
    report = up(source_path=remote.path("one.bin"), destination_path=f"{HOME}/one.bin")
    assert report["transferred"] == 1
    assert irods_sha256(session, f"{HOME}/one.bin") == sha2(blob)
    held = sorted(d for w, d in requests.events if w.startswith("held #"))
    assert held == ["read first", "read first"], requests.events
    first_read = requests.index("read")
    assert first_read < requests.index("connected #1")
    assert first_read < requests.index("connected #2")
    stats = wait_all_closed(sftp_server)
    assert stats["accepted"] == 3
    assert len([n for n in stats["data_bytes"] if n >= CHUNK]) == 3  # the late readers did read


@pytest.mark.parametrize("one_up_before_joining", [False, True], ids=["joins-as-up", "already-up"])
def test_a_late_reader_joins_as_soon_as_its_own_connection_is_up(
    remote, session, sftp_server, monkeypatch, small_auto, one_up_before_joining
):
    """Connection #2 is held until a reader other than the file's own has read: only readers that join
    each as its connection comes up get through (waiting for every connection first, none could).
    ``already-up``: connection #1 is up before the reader starts taking channels (seen under load: it was
    then left idle until #2 was up too, and #2 held in vain)."""
    blob = random.Random(18).randbytes(3 * MIB + 9)
    remote.put("each.bin", blob)
    requests = Requests(monkeypatch)
    joined_read, events = threading.Event(), []
    real_open, real_next = _endpoint.SftpEndpoint._open_link, _io._ReadPipeline.next_piece
    real_request = paramiko.SFTPClient._async_request  # type: ignore[attr-defined]
    real_as_up = _endpoint.SftpEndpoint.channels_as_up

    def async_request(client: paramiko.SFTPClient, fileobj: Any, t: int, *args: Any) -> Any:
        if t == CMD_READ and threading.current_thread().name not in ("sftp-range-0", "MainThread"):
            joined_read.set()
        return real_request(client, fileobj, t, *args)

    def open_link(self: _endpoint.SftpEndpoint, link: Any) -> None:
        if link.index == 2:
            events.append("#2 after a joined read" if joined_read.wait(HELD) else "#2 held in vain")
        real_open(self, link)

    def next_piece(self: _io._ReadPipeline) -> bytes:
        data = real_next(self)
        if threading.current_thread().name == "sftp-range-0":
            joined_read.wait(HELD)  # the file's own reader leaves the joined one something to read
        return data

    def channels_as_up(self: _endpoint.SftpEndpoint, count: int) -> Iterator[paramiko.SFTPClient]:
        if one_up_before_joining:
            assert wait_for(lambda: len(self._links) > 1 and self._links[1].transport is not None)
        yield from real_as_up(self, count)

    monkeypatch.setattr(paramiko.SFTPClient, "_async_request", async_request)
    monkeypatch.setattr(_endpoint.SftpEndpoint, "_open_link", open_link)
    monkeypatch.setattr(_endpoint.SftpEndpoint, "channels_as_up", channels_as_up)
    monkeypatch.setattr(_io._ReadPipeline, "next_piece", next_piece)
    report = up(source_path=remote.path("each.bin"), destination_path=f"{HOME}/each.bin")
    assert report["transferred"] == 1
    assert irods_sha256(session, f"{HOME}/each.bin") == sha2(blob)
    assert events == ["#2 after a joined read"], requests.events
    stats = wait_all_closed(sftp_server)
    assert stats["accepted"] == 3
    assert len([n for n in stats["data_bytes"] if n >= CHUNK]) >= 2  # #0's own reader and #1's at least


def wait_for(condition: Any, deadline: float = HELD) -> bool:
    """Poll ``condition`` until it holds (True) or ``deadline`` seconds passed (False)."""
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.01)
    return True


def test_a_late_range_reader_that_opens_a_swapped_file_fails_typed(
    remote, session, sftp_server, monkeypatch, small_auto
):
    """The file is replaced (same size, another mtime) after its own handle opened and began reading, before
    the other connections are up: their readers open the new file, see it is not the one being read, and
    the task fails with IrodsSourceChangedError; nothing reaches iRODS, not even a temporary."""
    blob = random.Random(12).randbytes(3 * MIB + 5)
    path = remote.put("swap.bin", blob)
    os.utime(path, (PAST, PAST))
    requests = Requests(monkeypatch)

    def swap() -> None:
        other = remote.put("swap.new", random.Random(13).randbytes(len(blob)))
        os.utime(other, (PAST + 100, PAST + 100))
        os.replace(other, path)

    hold_siblings(monkeypatch, requests, then=swap)
    with pytest.raises(IrodsSourceChangedError) as caught:
        up(source_path=remote.path("swap.bin"), destination_path=f"{HOME}/swap.bin")
    assert "a range reader opened another file" in str(caught.value)
    assert "mtime" in (caught.value.changed or "")
    assert caught.value.path.endswith("swap.bin")
    assert objects(session) == []


def test_the_source_opens_while_the_engine_asks_the_zone(remote, session, monkeypatch):
    """The engine's first request to the zone for the file (the listing of its temporary's record; the
    destination itself was asked while SSH connected) is held until the source's OPEN went out: only an
    upload that opens the source alongside gets through at once (before, it opened after the answers)."""
    from irods_provider.client._sync._catalog import Metadata

    blob = random.Random(14).randbytes(2 * MIB + 3)
    remote.put("early.bin", blob)
    requests = Requests(monkeypatch)
    real_list, destination = Metadata.list, f"{HOME}/early.bin"

    def listing(self: Metadata, path: str, *args: Any, **kwargs: Any) -> Any:
        if ".early.bin.irods-part-" in path:
            requests.add("temporary listed", "open first" if requests.sent[CMD_OPEN].wait(HELD) else "")
        return real_list(self, path, *args, **kwargs)

    monkeypatch.setattr(Metadata, "list", listing)
    report = up(source_path=remote.path("early.bin"), destination_path=destination)
    assert report["transferred"] == 1
    assert irods_sha256(session, destination) == sha2(blob)
    assert ("temporary listed", "open first") in requests.events, requests.events


def test_a_file_that_may_be_skipped_is_not_opened_first(remote, session, monkeypatch):
    """With a skip policy the decision comes first: a file skipped as the same size is never opened."""
    blob = random.Random(15).randbytes(2 * MIB + 3)
    remote.put("skip.bin", blob)
    session.data_objects.write(f"{HOME}/skip.bin", blob)
    requests = Requests(monkeypatch)
    report = up(source_path=remote.path("skip.bin"), destination_path=f"{HOME}/skip.bin", skip="size")
    assert (report["transferred"], report["skipped"]) == (0, 1)
    assert [e for e in requests.events if e[0] == "open"] == []


def test_a_refused_upload_closes_the_source_it_opened_alongside(remote, session, sftp_server):
    """The destination exists and the policy refuses: the handle opened alongside is closed on the server."""
    blob = random.Random(16).randbytes(2 * MIB + 3)
    remote.put("taken.bin", blob)
    session.data_objects.write(f"{HOME}/taken.bin", b"already here")
    with pytest.raises(IrodsAlreadyExistsError):
        up(source_path=remote.path("taken.bin"), destination_path=f"{HOME}/taken.bin")
    assert session.data_objects.read(f"{HOME}/taken.bin") == b"already here"
    assert_no_open_files(sftp_server)


def test_a_relative_source_is_resolved_and_lstat_ed_in_one_round_trip(remote, session, monkeypatch):
    """The plan's ``lstat`` of a relative source goes out before the ``realpath .`` that resolves it is
    answered (one round trip for both), and the source is ``lstat``-ed three times in all, as before (plan,
    open, after the last read)."""
    blob = random.Random(17).randbytes(300 * KIB)
    relative = remote.path("rel.bin")
    remote.put("rel.bin", blob)
    requests = Requests(monkeypatch)
    real_normalize = paramiko.SFTPClient.normalize

    def normalize(self: paramiko.SFTPClient, path: str) -> str:
        try:
            return real_normalize(self, path)
        finally:
            requests.add("realpath answered", path)

    monkeypatch.setattr(paramiko.SFTPClient, "normalize", normalize)
    report = up(source_path=relative, destination_path=f"{HOME}/rel.bin")
    assert report["transferred"] == 1
    assert irods_sha256(session, f"{HOME}/rel.bin") == sha2(blob)
    assert requests.index("lstat", relative) < requests.index("realpath answered", ".")
    lstats = [d for w, d in requests.events if w == "lstat" and d.endswith("rel.bin")]
    assert len(lstats) == 3, requests.events  # the plan's, the open's, the check after the last read


def test_a_single_file_creates_no_parent_collection_that_exists(remote, session, monkeypatch):
    """The parent of a single file's target is asked alongside the target (one round trip): an existing
    one is not created again (no create and stat on the way to the first byte); a missing one still is."""
    from irods_provider.client._sync._fs import Collections

    created: list[str] = []
    real = Collections.create

    def create(self: Collections, path: str, **kwargs: Any) -> bool:
        created.append(path)
        return real(self, path, **kwargs)

    monkeypatch.setattr(Collections, "create", create)
    blob = random.Random(19).randbytes(200 * KIB)
    remote.put("single.bin", blob)
    up(source_path=remote.path("single.bin"), destination_path=f"{HOME}/single.bin")
    assert created == []
    up(source_path=remote.path("single.bin"), destination_path=f"{HOME}/new/deeper/single.bin")
    assert created == [f"{HOME}/new/deeper"]
    assert irods_sha256(session, f"{HOME}/single.bin") == sha2(blob)
    assert irods_sha256(session, f"{HOME}/new/deeper/single.bin") == sha2(blob)


class Wire:
    """Every SFTP request sent and every answer read, in order, with the thread that did it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.events: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()
        real_request = paramiko.SFTPClient._async_request  # type: ignore[attr-defined]
        real_read = paramiko.SFTPClient._read_response  # type: ignore[attr-defined]

        def async_request(client: paramiko.SFTPClient, fileobj: Any, t: int, *args: Any) -> Any:
            first = args[0] if args else b""
            self.add(
                CMD_NAMES.get(t, str(t)), first.decode(errors="replace") if isinstance(first, bytes) else ""
            )
            return real_request(client, fileobj, t, *args)

        def read_response(client: paramiko.SFTPClient, *args: Any) -> Any:
            try:
                return real_read(client, *args)
            finally:
                self.add("answer")

        monkeypatch.setattr(paramiko.SFTPClient, "_async_request", async_request)
        monkeypatch.setattr(paramiko.SFTPClient, "_read_response", read_response)

    def add(self, what: str, detail: str = "") -> None:
        with self._lock:
            self.events.append((threading.current_thread().name, what, detail))

    def on(self, thread: str) -> list[str]:
        """What one thread sent and read, in order."""
        return [what for name, what, _ in self.events if name == thread]


def test_the_source_is_lstat_ed_and_opened_in_one_round_trip_and_fstat_ed_with_its_first_reads(
    remote, session, monkeypatch
):
    """The open goes out behind the source's ``lstat`` before that is answered, and the open handle's
    ``fstat`` goes out with its first READs (before, each waited for the previous answer: three round trips
    before the first read). The bytes still count only after both matched: the content is verified."""
    blob = random.Random(21).randbytes(3 * MIB + 7)
    remote.put("trip.bin", blob)
    wire = Wire(monkeypatch)
    report = up(source_path=remote.path("trip.bin"), destination_path=f"{HOME}/trip.bin", sftp_connections=2)
    assert report["transferred"] == 1
    assert irods_sha256(session, f"{HOME}/trip.bin") == sha2(blob)
    opening = wire.on("sftp-open-ahead")
    assert opening[:4] == ["lstat", "open", "answer", "answer"], wire.events
    own = wire.on("sftp-range-0")
    assert own[0] == "fstat", wire.events
    assert own[1] == "read", wire.events
    assert own.index("answer") > 1, wire.events


def test_a_source_swapped_for_a_link_is_refused_and_its_handle_closed_unread(
    remote, session, sftp_server, monkeypatch
):
    """The source is replaced by a symbolic link after the listing: its ``lstat`` (sent with the open) says
    link, so the task fails with IrodsSymlinkError, the handle opened alongside is closed without a READ,
    and nothing reaches iRODS."""
    from irods_provider.exceptions import IrodsSymlinkError
    from irods_provider.sftp._ranged import SftpRangedSource

    blob = random.Random(22).randbytes(3 * MIB + 1)
    path = remote.put("linked.bin", blob)
    remote.put("target.bin", blob)
    real_ahead = SftpRangedSource.open_ahead

    def open_ahead(self: SftpRangedSource) -> None:
        os.remove(path)
        os.symlink("target.bin", path)
        real_ahead(self)

    monkeypatch.setattr(SftpRangedSource, "open_ahead", open_ahead)
    wire = Wire(monkeypatch)
    with pytest.raises(IrodsSymlinkError) as caught:
        up(source_path=remote.path("linked.bin"), destination_path=f"{HOME}/linked.bin", sftp_retries=0)
    assert caught.value.path.endswith("linked.bin")
    assert [w for _, w, _ in wire.events if w == "read"] == []
    opened = [d for t, w, d in wire.events if (t, w) == ("sftp-open-ahead", "open")]
    assert [d.endswith("/linked.bin") for d in opened] == [True], wire.events  # sent with the lstat
    assert objects(session) == []
    assert_no_open_files(sftp_server)


def test_a_source_swapped_between_its_lstat_and_open_fails_before_a_byte_counts(remote, session, monkeypatch):
    """The file is replaced (same size, another mtime) after its ``lstat`` was answered and before the open
    sent behind it: the handle's ``fstat`` (sent with the first reads) shows another file, so the task fails
    with IrodsSourceChangedError and nothing reaches iRODS, not even a temporary. The other connection's
    range reader, which would see the swap too, opens only once the reader failed: the handle's own check
    is the one asserted (it once lost that race under load and the message named the range reader)."""
    blob = random.Random(23).randbytes(3 * MIB + 3)
    path = remote.put("race.bin", blob)
    os.utime(path, (PAST, PAST))
    real_request = paramiko.SFTPClient._async_request  # type: ignore[attr-defined]
    real_fail = _io.ParallelSftpRangeReader.fail
    swapped: list[str] = []
    failed = threading.Event()

    def fail(self: _io.ParallelSftpRangeReader, exc: BaseException) -> None:
        real_fail(self, exc)
        failed.set()

    def async_request(client: paramiko.SFTPClient, fileobj: Any, t: int, *args: Any) -> Any:
        if t == CMD_OPEN and threading.current_thread().name == "sftp-open-ahead" and not swapped:
            client._read_response()  # type: ignore[attr-defined]  # the lstat's answer first
            other = remote.put("race.new", random.Random(24).randbytes(len(blob)))
            os.utime(other, (PAST + 100, PAST + 100))
            os.replace(other, path)
            swapped.append("after the lstat")
        elif (
            t == CMD_OPEN
            and threading.current_thread().name.startswith("sftp-range-")
            and not failed.is_set()
        ):
            failed.wait(HELD)  # a joining range reader: after the handle's own check
        return real_request(client, fileobj, t, *args)

    monkeypatch.setattr(_io.ParallelSftpRangeReader, "fail", fail)
    monkeypatch.setattr(paramiko.SFTPClient, "_async_request", async_request)
    with pytest.raises(IrodsSourceChangedError) as caught:
        up(source_path=remote.path("race.bin"), destination_path=f"{HOME}/race.bin", sftp_connections=2)
    assert swapped == ["after the lstat"]
    assert "swapped or changed before it was opened" in str(caught.value)
    assert "mtime" in (caught.value.changed or "")
    assert objects(session) == []


def test_the_zone_is_asked_about_the_destination_while_ssh_connects(remote, session, monkeypatch):
    """SSH connection #0 is held until the zone was asked whether the destination (and its parent) is a
    collection: only a task that asks before the SFTP listing gets through at once (before, that followed
    the listing's answer). Each is asked once, and the data object at the destination once (the engine)."""
    from irods_provider.client._sync._fs import Collections

    blob = random.Random(25).randbytes(2 * MIB + 5)
    remote.put("ahead.bin", blob)
    destination = f"{HOME}/ahead.bin"
    asked = {destination: threading.Event(), HOME: threading.Event()}
    events: list[str] = []
    stats: list[str] = []
    collections: list[str] = []
    real_exists, real_stat = Collections.exists, DataObjects.stat
    real_open = _endpoint.SftpEndpoint._open_link

    def exists(self: Collections, path: str, *args: Any, **kwargs: Any) -> bool:
        if path in asked:
            collections.append(path)
            asked[path].set()
        return real_exists(self, path, *args, **kwargs)

    def stat(self: DataObjects, path: str, *args: Any, **kwargs: Any) -> Any:
        if path == destination:
            stats.append(path)
        return real_stat(self, path, *args, **kwargs)

    def open_link(self: _endpoint.SftpEndpoint, link: Any) -> None:
        if link.index == 0 and not events:
            events.append("zone first" if all(e.wait(HELD) for e in asked.values()) else "held in vain")
        return real_open(self, link)

    monkeypatch.setattr(Collections, "exists", exists)
    monkeypatch.setattr(DataObjects, "stat", stat)
    monkeypatch.setattr(_endpoint.SftpEndpoint, "_open_link", open_link)
    report = up(source_path=remote.path("ahead.bin"), destination_path=destination)
    assert report["transferred"] == 1
    assert events == ["zone first"]
    assert sorted(collections) == sorted(asked)
    assert stats == [destination]
    assert irods_sha256(session, destination) == sha2(blob)


@pytest.mark.parametrize("connections", [1, 3], ids=["one-connection", "range-readers"])
def test_the_first_irods_write_leaves_before_a_whole_chunk_is_read(
    remote, session, monkeypatch, connections
) -> None:
    """Once a quarter of the first chunk is read in order, the SFTP reads are held until an iRODS write went
    out: only an upload whose reader hands the first chunk on as its leading pieces are read, and whose writer
    sends a first request of 1/8 chunk, gets through (before, with range readers, the first write waited
    for a whole chunk, so the reads were held in vain). The first request is that 1/8 chunk at offset 0,
    the first two chunks go out as the writer's ramp; the object is exact. One connection (one pipelined
    reader) hands its answers on as they come."""
    chunk = MIB
    blob = random.Random(20).randbytes(3 * chunk + 5)
    remote.put("ramp.bin", blob)
    wrote, lock = threading.Event(), threading.Lock()
    pieces: list[tuple[int, int]] = []  # (offset, length) of every answer read, by any session
    held: list[str] = []
    first_writes: list[tuple[int, int]] = []
    real_write, real_next = DataObjects.write, _io._ReadPipeline.next_piece

    def write(self: DataObjects, path: str, data: Any, *args: Any, **kwargs: Any) -> Any:
        if len(data):
            first_writes.append((kwargs.get("offset", 0), len(data)))
            wrote.set()
        return real_write(self, path, data, *args, **kwargs)

    def in_order() -> int:
        """Bytes read from offset 0 without a gap: what the writer can have been handed."""
        end = 0
        for offset, length in sorted(pieces):
            if offset > end:
                break
            end = max(end, offset + length)
        return end

    def next_piece(self: Any) -> bytes:
        # Held once the in-order prefix holds a quarter chunk: a session that lags with an earlier piece is
        # not held before that piece is read (the writer could not have had it: held in vain by the test).
        self._fill()
        offset = self._pending[0][1] if self._pending else None
        with lock:
            hold = in_order() >= chunk // 4 and not held
        if hold:  # once: a reader held in vain is let go (a failure, not a hang)
            held.append("write first" if wrote.wait(HELD) else "held in vain")
        data = real_next(self)
        if offset is not None and data:
            with lock:
                pieces.append((offset, len(data)))
        return data

    monkeypatch.setattr(DataObjects, "write", write)
    monkeypatch.setattr(_io._ReadPipeline, "next_piece", next_piece)
    report = up(
        source_path=remote.path("ramp.bin"),
        destination_path=f"{HOME}/ramp.bin",
        chunk_size=chunk,
        sftp_connections=connections,
    )
    assert report["transferred"] == 1
    assert held[:1] == ["write first"], held
    assert first_writes[0] == (0, chunk // 8)
    ramp = [n * chunk // 8 for n in (1, 1, 1, 2, 3, 4, 4)]  # one 1/8 per stream, then doubling: two chunks
    assert sorted(first_writes)[:7] == [(sum(ramp[:i]), n) for i, n in enumerate(ramp)]
    assert sorted(first_writes)[7] == (2 * chunk, chunk)
    assert session.data_objects.read(f"{HOME}/ramp.bin") == blob
    assert irods_sha256(session, f"{HOME}/ramp.bin") == sha2(blob)
