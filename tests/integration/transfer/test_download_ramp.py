"""A download's first ranged reads are small and grow to the chunk size (the sink gets bytes after a
fraction of a chunk's time), its last ones shrink; counted on the client's read calls against the emulator
over a real socket, the bytes checked by SHA-256."""

from __future__ import annotations

import hashlib
import random
import threading
from pathlib import Path

import pytest

from irods_provider.client._sync._fs import DataObjects
from irods_provider.client.transfer import TransferConfig, download_object, open_reader

HOME = "/tempZone/home/rods"
KIB, MIB = 1024, 1024 * 1024
CFG = TransferConfig(streams=3, chunk_size=4 * MIB, backoff_base_seconds=0.0)
# chunk * (j + 1) / (2 * streams), 64 KiB aligned, at least 1 MiB: 4 MiB * 1/6 -> 1 MiB, 2/6 -> 1344 KiB, ...
RAMP = [1 * MIB, 1344 * KIB, 2 * MIB, 2688 * KIB, 3392 * KIB, 4 * MIB]


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Every ranged read the client sends, as ``(offset, count)`` (both the pooled and the plain read)."""
    seen: list[tuple[int, int]] = []
    lock = threading.Lock()
    read, read_into = DataObjects.read, DataObjects.read_into

    def recording_read(self, path, *, offset=0, count=None, **kwargs):  # type: ignore[no-untyped-def]
        with lock:
            seen.append((offset, count))
        return read(self, path, offset=offset, count=count, **kwargs)

    def recording_read_into(self, path, buffer, *, offset=0, **kwargs):  # type: ignore[no-untyped-def]
        with lock:
            seen.append((offset, len(memoryview(buffer))))
        return read_into(self, path, buffer, offset=offset, **kwargs)

    monkeypatch.setattr(DataObjects, "read", recording_read)
    monkeypatch.setattr(DataObjects, "read_into", recording_read_into)
    return seen


def stored(session, name: str, size: int, seed: int) -> tuple[str, bytes]:
    data = random.Random(seed).randbytes(size)
    path = f"{HOME}/{name}"
    piece = 4 * MIB  # one write request each (the server's body limit is 8 MiB)
    session.data_objects.write(path, data[:piece])
    for at in range(piece, size, piece):
        session.data_objects.write(path, data[at : at + piece], offset=at, truncate=False)
    return path, data


def test_a_local_download_ramps_its_first_reads_and_tapers_its_last(session, reads, tmp_path: Path) -> None:
    path, data = stored(session, "ramp.bin", 26 * MIB + 5, 1)
    reads.clear()
    result = download_object(session, path, tmp_path / "ramp.bin", config=CFG)
    assert result.checksum is not None
    assert hashlib.sha256((tmp_path / "ramp.bin").read_bytes()).digest() == hashlib.sha256(data).digest()
    ranges = sorted(reads)
    assert [count for _, count in ranges[: len(RAMP)]] == RAMP  # before: 4 MiB from the first one on
    # Contiguous, each byte once; the taper: the last reads are smaller than a chunk and shrink.
    assert [offset for offset, _ in ranges] == [sum(c for _, c in ranges[:i]) for i in range(len(ranges))]
    assert sum(count for _, count in ranges) == len(data)
    # (remaining + chunk) / streams at the end: the streams freed a third of a chunk apart end together.
    assert [count for _, count in ranges[len(RAMP) :]] == [4 * MIB, 3968 * KIB, 2688 * KIB, 1280 * KIB + 5]


def test_a_resumed_read_ramps_from_its_offset(session, reads) -> None:
    path, data = stored(session, "resumed.bin", 15 * MIB + 3, 2)
    start = 5 * MIB + 17
    reads.clear()
    digest = hashlib.sha256()
    with open_reader(session, path, config=CFG, offset=start, reuse_buffers=True) as reader:
        while chunk := reader.read_chunk():
            digest.update(chunk)
    assert digest.digest() == hashlib.sha256(data[start:]).digest()
    ranges = sorted(reads)
    assert ranges[0] == (start, 1 * MIB)
    assert ranges[1] == (start + 1 * MIB, 1344 * KIB)
    assert sum(count for _, count in ranges) == len(data) - start


def test_a_download_smaller_than_the_ramp_reads_each_byte_once(session, reads, tmp_path: Path) -> None:
    path, data = stored(session, "small.bin", 3 * MIB + 1, 3)
    reads.clear()
    download_object(session, path, tmp_path / "small.bin", config=CFG)
    assert (tmp_path / "small.bin").read_bytes() == data
    # 1 MiB, then the rest (a second 1344 KiB read would leave a runt under 1 MiB): two streams, not one.
    assert sorted(reads) == [(0, 1 * MIB), (1 * MIB, 2 * MIB + 1)]


def test_a_read_of_a_range_stops_at_its_end(session, reads) -> None:
    path, data = stored(session, "range.bin", 12 * MIB, 4)
    with open_reader(session, path, config=CFG, offset=MIB, size=9 * MIB) as reader:
        got = reader.read()
    assert got == data[MIB : 9 * MIB]
    assert max(offset + count for offset, count in reads) == 9 * MIB
