"""Fast paramiko SFTP I/O against both servers: byte-identical round trips, order, bounded memory, publish."""

from __future__ import annotations

import hashlib
import os
import random
import sys
import threading
from pathlib import Path

import paramiko
import pytest

from irods_provider.client.transfer._sftp import (
    PIPELINE_BYTES,
    ParallelSftpRangeReader,
    open_sftp_channels,
    open_sftp_reader,
    open_sftp_writer,
    publish_atomically,
)
from irods_provider.sftp._io import FIRST_CHUNK_PIECES_PER_SESSION
from irods_provider.sftp._session import read_request_size
from irods_provider.testing.sftp import SshTestServer

CHUNK = 64 * 1024
SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 20 * 1024 * 1024 + 12_345]
_BIG: dict[int, bytes] = {}


def _payload(size: int) -> bytes:
    if size not in _BIG:
        _BIG[size] = random.Random(size).randbytes(size)
    return _BIG[size]


def _pieces(data: bytes, step: int = 1_000_003) -> list[bytes]:
    return [data[i : i + step] for i in range(0, len(data), step)] or [b""]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s}B")
def test_writer_then_reader_round_trip(
    sftp_server: SshTestServer, sftp: paramiko.SFTPClient, size: int
) -> None:
    data = _payload(size)
    with open_sftp_writer(sftp, f"rt-{size}.bin") as writer:
        for piece in _pieces(data):
            writer.write(piece)
    assert writer.bytes_written == size
    assert (sftp_server.root / f"rt-{size}.bin").read_bytes() == data
    got = bytearray()
    with open_sftp_reader(sftp, f"rt-{size}.bin") as reader:
        while block := reader.read(777_777):
            got += block
    assert bytes(got) == data


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s}B")
def test_parallel_reader_in_order_and_bounded(
    sftp_server: SshTestServer, ssh_client: paramiko.SSHClient, size: int
) -> None:
    data = _payload(size)
    (sftp_server.root / f"par-{size}.bin").write_bytes(data)
    transport = ssh_client.get_transport()
    assert transport is not None
    clients = open_sftp_channels(transport, 3)
    chunk = CHUNK if size < 1024 * 1024 else 1024 * 1024
    digest = hashlib.sha256()
    sizes = []
    with ParallelSftpRangeReader(clients, f"par-{size}.bin", chunk_size=chunk) as reader:
        for block in reader:
            digest.update(block)
            sizes.append(len(block))
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()
    assert sum(sizes) == size == reader.bytes_delivered
    assert all(s == chunk for s in sizes[:-1])
    assert reader.max_buffered_bytes <= 2 * chunk  # the chunk held and the next one, whatever K
    if size > 8 * chunk:
        assert reader.max_buffered_bytes > chunk  # the workers really ran ahead in parallel
    for client in clients:
        client.close()


def test_parallel_reader_first_chunks_in_pieces(
    sftp_server: SshTestServer, ssh_client: paramiko.SSHClient
) -> None:
    """``in_pieces=2``: the first two chunks come as their pieces (each cut as finely as the first), in byte
    order (an upload's first, smaller requests need not wait for whole chunks), every later one whole; the
    bytes in order and the two-chunk bound."""
    chunk = 1024 * 1024
    data = _payload(6 * chunk + 321)
    (sftp_server.root / "first-pieces.bin").write_bytes(data)
    transport = ssh_client.get_transport()
    assert transport is not None
    clients = open_sftp_channels(transport, 3)
    digest, sizes = hashlib.sha256(), []
    with ParallelSftpRangeReader(clients, "first-pieces.bin", chunk_size=chunk, in_pieces=2) as reader:
        first, second = ([n for _, n in pieces] for pieces in reader.pieces[:2])
        assert [at for at, _ in reader.pieces[1]] == [chunk + sum(second[:i]) for i in range(len(second))]
        for block in reader:
            digest.update(block)
            sizes.append(len(block))
    assert len(first) == len(second) > 3  # finer than one per session (32 KiB aligned)
    assert sizes == [*first, *second, *[chunk] * 4, 321]
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()
    assert reader.bytes_delivered == len(data)
    assert reader.max_buffered_bytes <= 2 * chunk
    for client in clients:
        client.close()


def test_reader_offset_and_length(sftp_server: SshTestServer, sftp: paramiko.SFTPClient) -> None:
    data = _payload(3 * CHUNK + 5)
    (sftp_server.root / "range.bin").write_bytes(data)
    with open_sftp_reader(sftp, "range.bin", offset=CHUNK - 3, length=CHUNK + 7) as reader:
        assert reader.read() == data[CHUNK - 3 : 2 * CHUNK + 4]
        assert reader.read(10) == b""
    with open_sftp_reader(sftp, "range.bin", offset=2 * CHUNK) as reader:
        assert reader.read() == data[2 * CHUNK :]


def test_parallel_reader_range_and_early_close(
    sftp_server: SshTestServer, ssh_client: paramiko.SSHClient
) -> None:
    data = _payload(20 * 1024 * 1024 + 12_345)
    (sftp_server.root / "partial.bin").write_bytes(data)
    transport = ssh_client.get_transport()
    assert transport is not None
    clients = open_sftp_channels(transport, 2)
    reader = ParallelSftpRangeReader(clients, "partial.bin", chunk_size=CHUNK, offset=1000, length=5 * CHUNK)
    assert b"".join(reader) == data[1000 : 1000 + 5 * CHUNK]
    early = ParallelSftpRangeReader(clients, "partial.bin", chunk_size=CHUNK)
    with early:
        first = next(iter(early))
    assert first == data[:CHUNK]
    assert not any(worker.thread.is_alive() for worker in early.workers)
    assert sftp_server.root.joinpath("partial.bin").stat().st_size == len(data)


def test_parallel_reader_missing_file_raises(ssh_client: paramiko.SSHClient) -> None:
    transport = ssh_client.get_transport()
    assert transport is not None
    clients = open_sftp_channels(transport, 2)
    with pytest.raises(FileNotFoundError):
        ParallelSftpRangeReader(clients, "no-such-file.bin")
    reader = ParallelSftpRangeReader(clients, "no-such-file.bin", length=3 * CHUNK, chunk_size=CHUNK)
    with pytest.raises(FileNotFoundError):
        list(reader)


def test_publish_atomically_success_leaves_no_temp(
    sftp_server: SshTestServer, sftp: paramiko.SFTPClient
) -> None:
    sftp.mkdir("pub-ok")
    (sftp_server.root / "pub-ok" / "final.bin").write_bytes(b"old contents")
    data = os.urandom(200_000)
    with publish_atomically(sftp, "pub-ok/final.bin") as writer:
        writer.write(data)
        assert (sftp_server.root / "pub-ok" / "final.bin").read_bytes() == b"old contents"
    assert sorted(sftp.listdir("pub-ok")) == ["final.bin"]
    assert (sftp_server.root / "pub-ok" / "final.bin").read_bytes() == data


def test_publish_atomically_failure_leaves_nothing(sftp: paramiko.SFTPClient) -> None:
    sftp.mkdir("pub-fail")

    def failing_upload() -> None:
        with publish_atomically(sftp, "pub-fail/final.bin") as writer:
            writer.write(b"x" * 100_000)
            raise RuntimeError("injected failure mid-transfer")

    with pytest.raises(RuntimeError, match="injected"):
        failing_upload()
    assert sftp.listdir("pub-fail") == []


def test_writer_close_checks_size(sftp_server: SshTestServer, sftp: paramiko.SFTPClient) -> None:
    writer = open_sftp_writer(sftp, "short.bin")
    writer.write(b"y" * 1000)
    writer.bytes_written += 1  # pretend one byte went missing on the way
    with pytest.raises(OSError, match="1000 bytes, 1001 were sent"):
        writer.close()


def test_reader_keeps_a_bounded_pipeline(sftp_server: SshTestServer, sftp: paramiko.SFTPClient) -> None:
    """At most PIPELINE_BYTES of READ requests are on the wire, whatever the file size."""
    data = _payload(20 * 1024 * 1024 + 12_345)
    (sftp_server.root / "bounded.bin").write_bytes(data)
    digest = hashlib.sha256()
    most = 0
    with open_sftp_reader(sftp, "bounded.bin") as reader:
        size = read_request_size(sftp)  # the server's limits are known once the file is open
        limit = PIPELINE_BYTES // size
        while piece := reader.read_chunk():
            digest.update(piece)
            assert len(piece) <= size
            most = max(most, len(sftp._expecting))  # type: ignore[attr-defined]
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()
    assert 1 < most <= limit
    assert len(sftp._expecting) == 0  # type: ignore[attr-defined]


@pytest.mark.parametrize("read_ahead", [2, 3])
def test_parallel_reader_bound_with_a_lagging_consumer(
    sftp_server: SshTestServer, ssh_client: paramiko.SSHClient, read_ahead: int
) -> None:
    """K=2 sessions, 1 MiB chunks cut into two pieces (the first into eight, for sessions joining late), a
    consumer that lags: buffered bytes and requests stay within bounds (bytes read: ``read_ahead`` chunks,
    whatever K, the chunk held and the next one or two (an upload's source reads three); requests: up to two
    chunks further, at most a pipeline per session, their answers left unread on the wire)."""
    data = _payload(12 * 1024 * 1024 + 777)
    (sftp_server.root / "lag.bin").write_bytes(data)
    transport = ssh_client.get_transport()
    assert transport is not None
    clients = open_sftp_channels(transport, 2)
    chunk = 1024 * 1024
    digest = hashlib.sha256()
    last = read_ahead - 1  # the furthest chunk that may be read while the consumer holds chunk 0
    with ParallelSftpRangeReader(clients, "lag.bin", chunk_size=chunk, read_ahead=read_ahead) as reader:
        assert [len(p) for p in reader.pieces[:2]] == [2 * FIRST_CHUNK_PIECES_PER_SESSION, 2]
        for number, block in enumerate(reader):
            if number == 0:  # lag: let the workers read all they may before consuming anything
                # Every chunk up to the last one allowed, not only that one: a session may finish chunk 2's
                # pieces while another still reads a piece of chunk 1 (seen under load in CI).
                allowed = [p for n in range(last + 1) for p in reader._by_chunk[n]]
                while not all(p.done for p in allowed) and reader.workers[0].thread.is_alive():
                    reader.workers[0].thread.join(0.01)
                claimed = {piece.chunk for piece in reader._queue[: reader._next]}
                assert max(claimed) in (last + 1, last + 2)  # requests ran on past it, two chunks at most
            for client in clients:
                assert len(client._expecting) <= PIPELINE_BYTES // read_request_size(client)  # type: ignore[attr-defined]
            digest.update(block)
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()
    assert reader.max_buffered_bytes == read_ahead * chunk  # the lag let the workers fill up, no further
    for client in clients:
        client.close()


def test_parallel_writer_copies_pieces_so_the_caller_may_reuse_its_buffer(
    sftp_server: SshTestServer, ssh_client: paramiko.SSHClient
) -> None:
    """Each chunk is cut into a piece per session (all three carry every chunk) and copied into that
    session's two reused buffers: a caller refilling one buffer for every chunk still gets its bytes."""
    from irods_provider.sftp._parallel import ParallelSftpWriter

    data = _payload(9 * 1024 * 1024 + 4321)
    transport = ssh_client.get_transport()
    assert transport is not None
    clients = open_sftp_channels(transport, 3)
    first = open_sftp_writer(clients[0], "pw.bin")
    others = [c.open("pw.bin", "r+b", bufsize=0) for c in clients[1:]]
    writer = ParallelSftpWriter(first, others)
    chunk = 1024 * 1024
    buffer = bytearray(chunk)
    for at in range(0, len(data), chunk):
        piece = data[at : at + chunk]
        view = memoryview(buffer)[: len(piece)]
        view[:] = piece
        writer.write(view)
        view[:] = b"\xff" * len(piece)  # reused at once, as a pooled reader does
    writer.close()
    assert (sftp_server.root / "pw.bin").read_bytes() == data
    returned = [writer.free.get_nowait() for _ in range(writer.free.qsize())]
    # Every buffer came back, two per session, each allocated once and reused for all ten chunks.
    assert sorted(session.index for session, _ in returned) == [0, 0, 1, 1, 2, 2]
    assert len({id(buffer) for _, buffer in returned if buffer is not None}) == 6
    for client in clients:
        client.close()


def test_parallel_writer_gives_a_lagging_session_fewer_pieces(
    sftp_server: SshTestServer, ssh_client: paramiko.SSHClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A piece goes to whichever session's buffer came back first: a session whose answers lag (its TCP
    connection slowed down) carries fewer pieces instead of holding every chunk up, and the file is whole."""
    from irods_provider.sftp._parallel import ParallelSftpWriter, _WriteSession

    data = _payload(12 * 1024 * 1024 + 99)
    transport = ssh_client.get_transport()
    assert transport is not None
    clients = open_sftp_channels(transport, 3)
    first = open_sftp_writer(clients[0], "lagging.bin")
    others = [c.open("lagging.bin", "r+b", bufsize=0) for c in clients[1:]]
    writer = ParallelSftpWriter(first, others)
    lagging = writer._sessions[0]
    acknowledged = _WriteSession._acknowledged
    pieces = {0: 0, 1: 0, 2: 0}
    caught_up = threading.Event()

    def counted(self, start, end, numbers, buffer):  # type: ignore[no-untyped-def]
        if self is lagging and not caught_up.is_set():
            caught_up.wait(5)  # its answers lag until every other piece was handed (bounded)
            caught_up.set()
        pieces[self.index] += 1
        return acknowledged(self, start, end, numbers, buffer)

    monkeypatch.setattr(_WriteSession, "_acknowledged", counted)
    chunk = 1024 * 1024
    for at in range(0, len(data), chunk):
        writer.write(data[at : at + chunk])
    caught_up.set()
    writer.close()
    assert (sftp_server.root / "lagging.bin").read_bytes() == data
    # Before: every session carried a piece of every chunk (13 each), so the writes waited on the lag.
    assert pieces[0] == 2  # its first two, handed before it lagged
    assert sum(pieces.values()) == 12 * 3 + 1  # three pieces per whole chunk, one for the 99-byte tail
    for client in clients:
        client.close()


def test_parallel_writer_closes_each_handle_behind_its_last_writes(
    sftp_server: SshTestServer, ssh_client: paramiko.SSHClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each session's ``CLOSE`` goes out right behind its last writes, before their answers are read (one
    round trip for both, not two); the size ``STAT`` follows, unless the caller checks the size itself
    (``check_size=False``, as the staging sink's publish does); the bytes land whole and a short file is
    still refused."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
    from sftp_wire import SftpWire

    from irods_provider.sftp._parallel import ParallelSftpWriter

    data = _payload(3 * 1024 * 1024 + 77)
    transport = ssh_client.get_transport()
    assert transport is not None
    clients = open_sftp_channels(transport, 2)
    for name, check_size in (("sized.bin", True), ("unchecked.bin", False)):
        first = open_sftp_writer(clients[0], name)
        first.check_size = check_size
        writer = ParallelSftpWriter(first, [clients[1].open(name, "r+b", bufsize=0)])
        with monkeypatch.context() as patch:
            wire = SftpWire().install(patch)
            for piece in _pieces(data):
                writer.write(piece)
            writer.close()
        answered_before_close = 0
        for client in clients:
            events = wire.events[id(client)]
            close = next(i for i, (kind, what) in enumerate(events) if what.startswith("close"))
            writes = sum(what == "write" for _, what in events[:close])
            answered = sum(kind == "answer" for kind, _ in events[:close])
            assert answered < writes, events  # the CLOSE left before the last writes were answered
            answered_before_close += answered
            later = [what for kind, what in events[close + 1 :] if kind == "send"]
            assert later == ([f"stat {name}"] if check_size and client is clients[0] else []), events
        # Answers are read one piece behind while writing: with two buffers per session, the fifth piece
        # waits for one. Which session that was is the work-stealing's choice (one that carried a single
        # piece reads none before its CLOSE), so only the total is certain.
        assert answered_before_close > 0
        landed = (sftp_server.root / name).read_bytes()
        assert hashlib.sha256(landed).digest() == hashlib.sha256(data).digest()

    short = ParallelSftpWriter(
        open_sftp_writer(clients[0], "short2.bin"), [clients[1].open("short2.bin", "r+b", bufsize=0)]
    )
    short.write(b"z" * 100_000)
    short.bytes_written += 1  # one byte "lost" on the way: the pipelined STAT must still catch it
    with pytest.raises(OSError, match="100000 bytes, 100001 were sent"):
        short.close()
    for client in clients:
        client.close()
