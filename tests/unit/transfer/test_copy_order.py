"""The copy loop hands each chunk to the sink before hashing it: an upload's first write does not wait for
the hash of its chunk (issue 17, item 6). The digest is still over every byte, in order."""

from __future__ import annotations

import hashlib
import io
import random

from irods_provider.client.transfer._copy import StreamHasher, copy

CHUNK = 64 * 1024


class Recording:
    """A sink noting how many bytes the hasher had seen as each chunk arrived."""

    def __init__(self, hasher: StreamHasher) -> None:
        self.hasher = hasher
        self.seen_at_write: list[int] = []
        self.data = bytearray()

    def write(self, data: bytes) -> int:
        self.seen_at_write.append(self.hasher.count)
        self.data += data
        return len(data)


def test_each_chunk_reaches_the_sink_before_it_is_hashed() -> None:
    blob = random.Random(5).randbytes(3 * CHUNK + 17)
    hasher = StreamHasher(md5=True)
    sink = Recording(hasher)
    result = copy(io.BytesIO(blob), sink, chunk_size=CHUNK, hasher=hasher, report_progress=False)
    assert sink.seen_at_write == [0, CHUNK, 2 * CHUNK, 3 * CHUNK]
    assert bytes(sink.data) == blob
    assert result.size == len(blob)
    assert result.sha256 == hashlib.sha256(blob).digest()
    assert result.md5 == hashlib.md5(blob).digest()
