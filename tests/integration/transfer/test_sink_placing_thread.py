"""A download into a sink with positioned writes (several SFTP connections) places each chunk from a placing
thread of its own: a reading thread goes on to its next ranged read while the sink still takes the chunk it
read, so the sink's pace never idles an iRODS stream while read-ahead room is left.

The sink here holds its first positioned write until more reads completed than there are reading threads
(bounded), so the overlap is observed, never timed; every byte is checked at its offset.
"""

from __future__ import annotations

import random
import threading

import pytest

from irods_provider.client.transfer import TransferConfig, open_reader
from irods_provider.client.transfer._sink_download import _Placing
from irods_provider.exceptions import IrodsIntegrityError

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"
CHUNK = 64 * 1024
STREAMS = 2
HOLD_SECONDS = 10.0


class _HoldingSink:
    """A positioned writer that keeps what it is handed; its first write waits until ``release`` is set."""

    def __init__(self, size: int) -> None:
        self.data = bytearray(size)
        self.handed: list[tuple[int, int]] = []
        self.release = threading.Event()
        self.released_in_time: bool | None = None
        self._lock = threading.Lock()

    def write_at(self, offset: int, data: bytes, /, *, stop: threading.Event | None = None) -> int:
        if self.released_in_time is None:
            self.released_in_time = self.release.wait(HOLD_SECONDS)
        view = memoryview(data)
        with self._lock:
            self.data[offset : offset + len(view)] = view
            self.handed.append((offset, len(view)))
        return len(view)


def _reader(session, path: str, size: int):  # type: ignore[no-untyped-def]
    config = TransferConfig(streams=STREAMS, queue_depth=3, chunk_size=CHUNK, backoff_base_seconds=0.0)
    return open_reader(session, path, config=config, size=size, reuse_buffers=True)


def test_reading_threads_read_on_while_the_sink_takes_a_chunk(session) -> None:
    data = random.Random(7).randbytes(20 * CHUNK + 321)
    session.data_objects.write(f"{HOME}/placing.bin", data)
    sink = _HoldingSink(len(data))
    completed = 0
    lock = threading.Lock()
    with _reader(session, f"{HOME}/placing.bin", len(data)) as reader:
        placing = _Placing(sink, offset=0)

        def fetched(offset: int, chunk: bytes) -> None:
            nonlocal completed
            with lock:
                completed += 1
                if completed > STREAMS:  # a reading thread read again while the first chunk was held
                    sink.release.set()
            placing.fetched(offset, chunk)

        reader.on_fetched(fetched)
        try:
            while chunk := reader.read_chunk():
                placing.write(chunk)
        finally:
            placing.stop()
    # Before: each reading thread placed its chunk itself, so with every thread held no further read
    # completed and the hold ran out.
    assert sink.released_in_time is True
    assert bytes(sink.data) == data
    handed = sorted(sink.handed)
    assert [offset for offset, _ in handed] == [
        0,
        *[sum(size for _, size in handed[:i]) for i in range(1, len(handed))],
    ]
    assert sum(size for _, size in handed) == len(data)  # every byte handed exactly once


def test_a_failed_placement_fails_the_copy_at_that_chunk(session) -> None:
    data = random.Random(8).randbytes(6 * CHUNK)
    session.data_objects.write(f"{HOME}/placing-fails.bin", data)

    class _Refusing(_HoldingSink):
        def write_at(self, offset: int, data: bytes, /, *, stop: threading.Event | None = None) -> int:
            if offset >= 2 * CHUNK:
                raise IrodsIntegrityError(f"refused at {offset}")
            return super().write_at(offset, data, stop=stop)

    sink = _Refusing(len(data))
    sink.release.set()
    with _reader(session, f"{HOME}/placing-fails.bin", len(data)) as reader:
        placing = _Placing(sink, offset=0)
        reader.on_fetched(placing.fetched)
        written = 0

        def copy() -> None:
            nonlocal written
            try:
                while chunk := reader.read_chunk():
                    placing.write(chunk)
                    written += len(chunk)
            finally:
                placing.stop()

        with pytest.raises(IrodsIntegrityError, match="refused at"):
            copy()
    assert written <= 2 * CHUNK  # nothing past the refused chunk counted as written
    assert bytes(sink.data[:written]) == data[:written]
