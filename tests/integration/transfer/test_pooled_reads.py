"""``data_objects.read_into`` and the pooled ``open_reader(reuse_buffers=True)``: exact bytes, few buffers."""

from __future__ import annotations

import hashlib

import pytest

from irods_provider.client.transfer import TransferConfig, open_reader
from irods_provider.exceptions import IrodsNotFoundError

HOME = "/tempZone/home/rods"
CHUNK = 64 * 1024


def payload(n: int) -> bytes:
    return (bytes(range(251)) * (n // 251 + 1))[:n]


def test_read_into_fills_the_buffer_from_the_offset(session) -> None:
    data = payload(300_000)
    session.data_objects.write(f"{HOME}/into.bin", data)
    buffer = bytearray(b"\xee" * 100_000)
    assert session.data_objects.read_into(f"{HOME}/into.bin", buffer, offset=12_345) == 100_000
    assert bytes(buffer) == data[12_345:112_345]
    # Past the end: only what is there, the rest of the buffer untouched.
    tail = bytearray(b"\xee" * 1000)
    assert session.data_objects.read_into(f"{HOME}/into.bin", memoryview(tail)[:900], offset=299_500) == 500
    assert bytes(tail) == data[299_500:] + b"\xee" * 500
    assert session.data_objects.read_into(f"{HOME}/into.bin", bytearray()) == 0


def test_read_into_a_missing_object_raises_not_found(session) -> None:
    # The real server answers a read of a missing object with HTTP 404 (irods-http-api-0.7.md §1.5).
    with pytest.raises(IrodsNotFoundError):
        session.data_objects.read_into(f"{HOME}/no-such.bin", bytearray(10))


def test_pooled_reader_delivers_every_byte_from_a_bounded_pool(session) -> None:
    data = payload(23 * CHUNK + 77)
    session.data_objects.write(f"{HOME}/pooled.bin", data)
    cfg = TransferConfig(streams=3, queue_depth=1, chunk_size=CHUNK, backoff_base_seconds=0.0)
    digest = hashlib.sha256()
    buffers: set[int] = set()
    sizes = []
    with open_reader(session, f"{HOME}/pooled.bin", config=cfg, reuse_buffers=True) as reader:
        while chunk := reader.read_chunk():
            assert isinstance(chunk, memoryview)  # a view into the pool, valid until the next read
            buffers.add(id(chunk.obj))
            digest.update(chunk)
            sizes.append(len(chunk))
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()
    assert sizes == [CHUNK] * 23 + [77]
    # The window (3 chunks in flight) plus the one the caller holds: never a buffer per chunk.
    assert len(buffers) <= cfg.max_in_flight_chunks + 1 < len(sizes)


def test_pooled_reader_read_copies_out_what_it_returns(session) -> None:
    data = payload(7 * CHUNK + 3)
    session.data_objects.write(f"{HOME}/pooled-read.bin", data)
    cfg = TransferConfig(streams=2, queue_depth=1, chunk_size=CHUNK, backoff_base_seconds=0.0)
    with open_reader(session, f"{HOME}/pooled-read.bin", config=cfg, reuse_buffers=True) as reader:
        head = reader.read(CHUNK + 5)
        rest = reader.read()
    assert isinstance(head, bytes)
    assert isinstance(rest, bytes)
    assert head + rest == data  # later reads reused the buffers: what was returned stayed intact
