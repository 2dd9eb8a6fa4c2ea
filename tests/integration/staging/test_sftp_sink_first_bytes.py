"""A staged download (iRODS -> SFTP) hands the SFTP sink its first bytes before any full chunk arrived: the
reader's first ranged reads ramp up from a fraction of the chunk size. Seen as the order of events in this
process (each read's completion, each sink write), never by the clock; the bytes are checked by SHA-256 at
the final path, over one SFTP session and over two connections (the parallel writer, cut into pieces)."""

from __future__ import annotations

import hashlib
import itertools
import random
import threading
from typing import Any

import pytest

from irods_provider.client._sync._fs import DataObjects
from irods_provider.sftp._io import SftpWriter
from irods_provider.sftp._parallel import ParallelSftpWriter
from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"
KIB, MIB = 1024, 1024 * 1024
CHUNK = 4 * MIB


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int, int]]:
    """``("read", offset, count)`` as each ranged read completes, ``("write", 0, size)`` as the SFTP sink is
    handed bytes (one session or several), in the order they happen."""
    seen: list[tuple[str, int, int]] = []
    lock = threading.Lock()
    read_into = DataObjects.read_into
    single, parallel = SftpWriter.write, ParallelSftpWriter.write

    def recording_read_into(self, path, buffer, *, offset=0, **kwargs):  # type: ignore[no-untyped-def]
        got = read_into(self, path, buffer, offset=offset, **kwargs)
        with lock:
            seen.append(("read", offset, got))
        return got

    def recording(write: Any) -> Any:
        def wrapped(self, data):  # type: ignore[no-untyped-def]
            with lock:
                seen.append(("write", self.bytes_written, len(memoryview(data))))
            return write(self, data)

        return wrapped

    def recording_at(self, offset, data, **kwargs):  # type: ignore[no-untyped-def]
        with lock:
            seen.append(("write", offset, len(memoryview(data))))
        return write_at(self, offset, data, **kwargs)

    write_at = ParallelSftpWriter.write_at
    monkeypatch.setattr(DataObjects, "read_into", recording_read_into)
    monkeypatch.setattr(SftpWriter, "write", recording(single))
    monkeypatch.setattr(ParallelSftpWriter, "write", recording(parallel))
    monkeypatch.setattr(ParallelSftpWriter, "write_at", recording_at)
    return seen


@pytest.mark.parametrize("connections", [1, 2])
def test_the_sftp_sink_writes_before_any_full_chunk_arrived(remote, session, events, connections) -> None:
    data = random.Random(connections).randbytes(13 * MIB + 7)
    path = f"{HOME}/ramp{connections}.bin"
    session.data_objects.write(path, data[:CHUNK])
    for at in range(CHUNK, len(data), CHUNK):  # the server takes at most 8 MiB per request
        session.data_objects.write(path, data[at : at + CHUNK], offset=at, truncate=False)
    events.clear()
    report = IrodsToSFTPOperator(
        task_id="down",
        sftp_conn_id="cluster",
        source_path=path,
        destination_path=remote.path(f"ramp{connections}.bin"),
        chunk_size=CHUNK,
        sftp_connections=connections,
        sftp_retry_backoff=0.05,
    ).execute({})
    assert report["transferred"] == 1
    got = remote.files()[f"ramp{connections}.bin"]
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest()
    first_write = next(i for i, event in enumerate(events) if event[0] == "write")
    # Before: the first write waited for a whole 4 MiB read; now the first read is 1 MiB of 4 (ramp).
    assert all(count < CHUNK for kind, _, count in events[:first_write] if kind == "read")
    # The first bytes handed on are one of the ramp's first 1 MiB reads (with several connections each
    # read is written at its offset as it completes, so not necessarily the one at byte 0).
    _, at, count = events[first_write]
    assert count == 1 * MIB
    assert at in (0, 1 * MIB, 2 * MIB)
    written = sorted((offset, count) for kind, offset, count in events if kind == "write")
    assert [offset for offset, _ in written] == [0, *itertools.accumulate(c for _, c in written[:-1])]
    assert sum(count for _, count in written) == len(data)  # every byte handed on exactly once
    reads = sorted((offset, count) for kind, offset, count in events if kind == "read")
    # A download's default 6 streams: chunk * (j + 1) / (2 * 6), 64 KiB aligned, at least 1 MiB.
    assert reads[:5] == [
        (0, 1 * MIB),
        (1 * MIB, 1 * MIB),
        (2 * MIB, 1 * MIB),
        (3 * MIB, 1344 * KIB),
        (4416 * KIB, 1664 * KIB),
    ]
    assert sum(count for _, count in reads) == len(data)
