"""The parallel range reader keeps requests on the wire across chunk boundaries (embedded asyncssh server)."""

from __future__ import annotations

import asyncio
import hashlib
import random
import threading
import time
from collections import Counter
from typing import Any

import paramiko
import pytest
from paramiko.sftp import CMD_READ

from irods_provider.sftp._io import ParallelSftpRangeReader, open_sftp_channels
from irods_provider.testing.sftp import EmbeddedSftpServer, _FaultySftpServer, paramiko_client

CHUNK = 1024 * 1024


class _Wire:
    """Per paramiko SFTP client: requests sent whose answer it has not read yet, and its furthest READ."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.lock = threading.Lock()
        self.outstanding: Counter[int] = Counter()
        self.furthest: dict[int, int] = {}
        self.held_by: int | None = None  # the client whose READ the server holds
        self.watching = threading.Event()  # set while the server holds that READ
        self.drained: list[int] = []  # another client read an answer and had nothing more on the wire
        send, take = paramiko.SFTPClient._async_request, paramiko.SFTPClient._read_packet

        def async_request(client: Any, fileobj: Any, t: int, *args: Any) -> int:
            with self.lock:
                self.outstanding[id(client)] += 1
                if t == CMD_READ:
                    self.furthest[id(client)] = max(self.furthest.get(id(client), -1), int(args[1]))
                    if int(args[1]) == CHUNK:
                        self.held_by = id(client)
            return int(send(client, fileobj, t, *args))

        def read_packet(client: Any) -> Any:
            packet = take(client)
            with self.lock:
                self.outstanding[id(client)] -= 1
                other = id(client) != self.held_by and self.furthest.get(id(client), -1) >= CHUNK
                if self.watching.is_set() and other and self.outstanding[id(client)] == 0:
                    self.drained.append(id(client))
            return packet

        monkeypatch.setattr(paramiko.SFTPClient, "_async_request", async_request)
        monkeypatch.setattr(paramiko.SFTPClient, "_read_packet", read_packet)

    def other_idle(self) -> bool:
        """Whether a client other than the held one, having asked for chunk 1 on, has nothing on the wire."""
        with self.lock:
            others = [c for c, at in self.furthest.items() if c != self.held_by and at >= CHUNK]
            return any(self.outstanding[c] == 0 for c in others)

    def other_furthest(self) -> int:
        with self.lock:
            return max((at for c, at in self.furthest.items() if c != self.held_by), default=-1)


def test_parallel_reader_keeps_requests_on_the_wire_across_chunk_boundaries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """K=2 sessions, 1 MiB chunks, a consumer that takes each chunk at once; the server holds the first
    READ of chunk 1 (one slow connection) while the consumer waits for that chunk. The other session never
    sits with nothing on the wire: its requests run on into chunk 3 (claimed past the two chunks it may
    read) and wait there, instead of its pipeline draining at the chunk boundary (one idle round trip per
    chunk per connection on a WAN). Bytes checked by SHA-256."""
    data = random.Random(7).randbytes(6 * CHUNK + 333)
    release = threading.Event()
    holding = threading.Event()
    original = _FaultySftpServer.read

    async def read(self: _FaultySftpServer, file_obj: object, offset: int, size: int) -> bytes:
        if offset == CHUNK and not release.is_set():
            wire.watching.set()
            holding.set()
            while not release.is_set():
                await asyncio.sleep(0.005)
        return await original(self, file_obj, offset, size)

    wire = _Wire(monkeypatch)
    monkeypatch.setattr(_FaultySftpServer, "read", read)
    outcome: dict[str, int] = {}

    def watch() -> None:
        """Release the held READ once the other session either sent a READ in chunk 3 or drained."""
        deadline = time.monotonic() + 20
        if holding.wait(20):
            while time.monotonic() < deadline and wire.other_furthest() < 3 * CHUNK:
                if wire.drained or wire.other_idle():
                    break
                time.sleep(0.002)
            outcome["furthest"] = wire.other_furthest()
            outcome["drained"] = len(wire.drained) + wire.other_idle()
            wire.watching.clear()
        release.set()

    watcher = threading.Thread(target=watch, daemon=True)
    with EmbeddedSftpServer() as server:
        (server.root / "held.bin").write_bytes(data)
        client = paramiko_client(server, auth="key")
        try:
            transport = client.get_transport()
            assert transport is not None
            channels = open_sftp_channels(transport, 2)
            digest = hashlib.sha256()
            watcher.start()
            with ParallelSftpRangeReader(channels, "held.bin", chunk_size=CHUNK) as reader:
                for block in reader:
                    digest.update(block)
            watcher.join(30)
            for channel in channels:
                channel.close()
        finally:
            release.set()
            client.close()
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()
    assert reader.max_buffered_bytes <= 2 * CHUNK
    # Today's claim-gated reader: the other session read chunks 1 and 2 and sat idle with nothing on the wire
    # (drained 2, furthest READ at 2.875 MiB: the last request of chunk 2).
    assert outcome["drained"] == 0, outcome
    assert outcome["furthest"] >= 3 * CHUNK, outcome
