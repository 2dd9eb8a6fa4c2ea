"""A download into a sink reads the data object in ranges of at most ``SINK_READ_SIZE`` (4 MiB), whatever
the configured chunk size above it; a parallel sink reads as many bytes ahead as ``queue_depth`` configured
chunks per stream, in more of those smaller reads. The copy hashes chunks in order, so a lagging ranged
read holds the read-ahead until it completes: a smaller one lags for less (measured on the WAN model of
``benchmarks/staging.py``; here only the sizes and the bytes are checked, never a time)."""

from __future__ import annotations

import hashlib
import itertools
import random
import threading
from typing import Any

import pytest

from irods_provider.client._sync._fs import DataObjects
from irods_provider.client.transfer import TransferConfig
from irods_provider.client.transfer._reader import ParallelReader
from irods_provider.client.transfer._sink_download import SINK_READ_SIZE
from irods_provider.sftp._parallel import ParallelSftpWriter
from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator

pytestmark = pytest.mark.timeout(120)

HOME = "/tempZone/home/rods"
MIB = 1024 * 1024


class _Recorded:
    """Every ranged read's offset and size, the read-ahead depths asked for, the ranges handed to the
    parallel SFTP writer."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.reads: list[tuple[int, int]] = []
        self.depths: list[tuple[int, int]] = []  # (depth, the reader's read size)
        self.placed = 0
        self._lock = threading.Lock()
        read_into, further, write_at = (
            DataObjects.read_into,
            ParallelReader.read_further_ahead,
            ParallelSftpWriter.write_at,
        )
        seen = self

        def recording_read_into(self, path, buffer, *, offset=0, **kwargs):  # type: ignore[no-untyped-def]
            with seen._lock:
                seen.reads.append((offset, len(memoryview(buffer))))
            return read_into(self, path, buffer, offset=offset, **kwargs)

        def recording_further(self, queue_depth):  # type: ignore[no-untyped-def]
            seen.depths.append((queue_depth, self.config.chunk_size))
            return further(self, queue_depth)

        def recording_write_at(self, offset, data, **kwargs):  # type: ignore[no-untyped-def]
            with seen._lock:
                seen.placed += len(memoryview(data))
            return write_at(self, offset, data, **kwargs)

        monkeypatch.setattr(DataObjects, "read_into", recording_read_into)
        monkeypatch.setattr(ParallelReader, "read_further_ahead", recording_further)
        monkeypatch.setattr(ParallelSftpWriter, "write_at", recording_write_at)


def _put(session: Any, path: str, data: bytes) -> None:
    for at in range(0, len(data), 8 * MIB):  # the server takes at most 8 MiB per request
        session.data_objects.write(path, data[at : at + 8 * MIB], offset=at, truncate=at == 0)


def test_a_staged_download_reads_at_most_4_mib_per_request_with_the_same_bytes_ahead(
    remote, session, monkeypatch
) -> None:
    data = random.Random(31).randbytes(40 * MIB + 17)
    _put(session, f"{HOME}/reads.bin", data)
    seen = _Recorded(monkeypatch)
    report = IrodsToSFTPOperator(
        task_id="down",
        sftp_conn_id="cluster",
        source_path=f"{HOME}/reads.bin",
        destination_path=remote.path("reads.bin"),
        sftp_connections=2,
    ).execute({})
    assert report["transferred"] == 1
    assert hashlib.sha256(remote.files()["reads.bin"]).digest() == hashlib.sha256(data).digest()
    assert seen.placed == len(data)  # the parallel writer took every byte at its offset
    reads = sorted(seen.reads)
    assert sum(size for _, size in reads) == len(data)
    assert [offset for offset, _ in reads] == [0, *itertools.accumulate(size for _, size in reads[:-1])]
    # Before: up to the configured 8 MiB (the ramp's reads grew towards it), two per stream ahead.
    assert SINK_READ_SIZE == 4 * MIB
    assert max(size for _, size in reads) <= 4 * MIB
    assert max(size for _, size in reads) > 2 * MIB
    config = TransferConfig()
    assert (config.queue_depth, config.chunk_size) == (2, 8 * MIB)
    assert seen.depths == [(4, 4 * MIB)]  # the same 2 x 8 MiB per stream read ahead, in 4 MiB reads


def test_a_chunk_size_below_4_mib_is_read_as_configured(remote, session, monkeypatch) -> None:
    data = random.Random(32).randbytes(9 * MIB + 5)
    _put(session, f"{HOME}/small-reads.bin", data)
    seen = _Recorded(monkeypatch)
    report = IrodsToSFTPOperator(
        task_id="down",
        sftp_conn_id="cluster",
        source_path=f"{HOME}/small-reads.bin",
        destination_path=remote.path("small-reads.bin"),
        sftp_connections=2,
        chunk_size=MIB,
    ).execute({})
    assert report["transferred"] == 1
    assert remote.files()["small-reads.bin"] == data
    assert max(size for _, size in seen.reads) == MIB
    assert seen.depths == [(TransferConfig().queue_depth, MIB)]
