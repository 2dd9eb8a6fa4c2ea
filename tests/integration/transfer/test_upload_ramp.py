"""Issue 17, item 6: a parallel upload starts with one request of 1/8 chunk per stream, then requests
doubling in size, each cut at the next chunk boundary (3 streams: 1/8, 1/8, 1/8, 2/8, 3/8 | 4/8, 4/8 of a
chunk), so every stream gets work after 1/8 of a chunk is read instead of a whole chunk each; every later
request is a whole chunk at a chunk boundary, the last chunk is still split over the streams, and a resume
after a failure within those first requests continues from the committed prefix, ramping again up to the
next chunk boundaries.

Checked on real sockets against the emulator by the requests it receives (offsets and body sizes), the
bytes it holds and its SHA-256 checksum; nothing here measures time.
"""

from __future__ import annotations

import base64
import hashlib
import io
import random
import threading
from typing import Any

import pytest

from irods_provider.client._sync._session import IrodsSession
from irods_provider.client.transfer import TransferConfig, upload_object
from irods_provider.exceptions import IrodsConnectionError

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"
KIB = 1024
CHUNK = 512 * KIB
UNIT = CHUNK // 8  # 64 KiB
RAMP = [UNIT, UNIT, UNIT, 2 * UNIT, 3 * UNIT, 4 * UNIT, 4 * UNIT]  # two chunks, one small request per stream


def sha2(data: bytes) -> str:
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def config(**overrides: Any) -> TransferConfig:
    return TransferConfig(chunk_size=CHUNK, small_file_threshold=CHUNK, **{"streams": 3, **overrides})


class Writes:
    """The ``data_objects.write`` requests the client sends, as (offset, body length), in sending order."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sent: list[tuple[int, int]] = []
        self._lock = threading.Lock()
        real = IrodsSession._send

        def send(session: Any, op: Any, *args: Any, **kwargs: Any) -> Any:
            if op.name == "data_objects.write":
                fields = {k: v for k, v in op.fields if isinstance(v, str)}
                fields |= {
                    k.removeprefix("irods-api-request-"): v
                    for k, v in op.headers
                    if k.startswith("irods-api")
                }
                body = op.content if op.content is not None else dict(op.fields).get("bytes", b"")
                if body:  # not an empty write that creates an object (the offset is left out at 0)
                    with self._lock:
                        self.sent.append((int(fields.get("offset", 0)), len(body)))
            return real(session, op, *args, **kwargs)

        monkeypatch.setattr(IrodsSession, "_send", send)

    def by_offset(self) -> list[tuple[int, int]]:
        with self._lock:
            return sorted(self.sent)


def test_the_first_chunks_go_out_in_growing_requests(session, irods_emulator, monkeypatch) -> None:
    coll = f"{HOME}/ramp"
    session.collections.create(coll)
    data = random.Random(1).randbytes(5 * CHUNK + 300 * KIB)
    writes = Writes(monkeypatch)
    result = upload_object(session, io.BytesIO(data), f"{coll}/a.bin", size=len(data), config=config())
    got = writes.by_offset()
    assert writes.sent[:3] == [(0, UNIT), (UNIT, UNIT), (2 * UNIT, UNIT)]  # one small one per stream first
    assert got[:7] == [(sum(RAMP[:i]), n) for i, n in enumerate(RAMP)]
    assert got[7:10] == [(i * CHUNK, CHUNK) for i in range(2, 5)]  # whole chunks at chunk boundaries
    assert got[10:] == [(5 * CHUNK + i * 100 * KIB, 100 * KIB) for i in range(3)]  # the last, per stream
    assert max(n for _, n in got) <= CHUNK
    assert session.data_objects.read(f"{coll}/a.bin") == data
    assert session.data_objects.calculate_checksum(f"{coll}/a.bin") == sha2(data) == result.checksum


def test_one_small_request_per_stream_then_doubling(session, irods_emulator, monkeypatch) -> None:
    """The ramp follows the stream count (in units of 1/8 chunk): over two streams (the emulator allows at
    most three, like the server's default) two units, then 2 and 4, which ends at the first chunk
    boundary, then whole chunks; the object is exact."""
    streams, ramp = 2, [1, 1, 2, 4]
    coll = f"{HOME}/ramp-{streams}"
    session.collections.create(coll)
    data = random.Random(4).randbytes(6 * CHUNK)
    writes = Writes(monkeypatch)
    upload_object(session, io.BytesIO(data), f"{coll}/a.bin", size=len(data), config=config(streams=streams))
    got = writes.by_offset()
    sizes = [n * UNIT for n in ramp]
    assert got[: len(sizes)] == [(sum(sizes[:i]), n) for i, n in enumerate(sizes)]
    whole = sum(sizes) // CHUNK
    assert got[len(sizes) : len(sizes) + 2] == [(whole * CHUNK, CHUNK), ((whole + 1) * CHUNK, CHUNK)]
    assert session.data_objects.calculate_checksum(f"{coll}/a.bin") == sha2(data)


@pytest.mark.parametrize(
    ("size", "streams"),
    [(2 * CHUNK - 1, 3), (6 * CHUNK, 1)],
    ids=["under-two-chunks", "one-stream"],
)
def test_no_ramp_where_it_cannot_help(session, irods_emulator, monkeypatch, size, streams) -> None:
    """Under two chunks, or over one stream, requests stay whole chunks from the first byte."""
    coll = f"{HOME}/noramp-{streams}"
    session.collections.create(coll)
    data = random.Random(2).randbytes(size)
    writes = Writes(monkeypatch)
    upload_object(session, io.BytesIO(data), f"{coll}/a.bin", size=len(data), config=config(streams=streams))
    got = writes.by_offset()
    assert got[0] == (0, CHUNK)
    assert all(offset % CHUNK == 0 for offset, _ in got[: size // CHUNK])
    assert session.data_objects.calculate_checksum(f"{coll}/a.bin") == sha2(data)


class ShortReadsFailing(io.RawIOBase):
    """Serves ``data`` in reads of at most ``step`` bytes; raises a reset once ``fail_at`` bytes are read."""

    def __init__(self, data: bytes, *, step: int, fail_at: int | None) -> None:
        self.buf = io.BytesIO(data)
        self.step, self.fail_at = step, fail_at

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1, /) -> bytes:
        if self.fail_at is not None and self.buf.tell() >= self.fail_at:
            raise IrodsConnectionError("injected reset")
        return self.buf.read(self.step if n < 0 else min(n, self.step))


def test_a_failure_within_the_ramp_resumes_from_the_committed_prefix(
    session, irods_emulator, monkeypatch
) -> None:
    """The source fails after 200 KiB: the first three requests (192 KiB) were sent, the 8 KiB buffered for
    the fourth are dropped; the resume continues from 192 KiB, ramping again from there (one small request
    per stream, then doubling, cut at the chunk boundaries: 64, 64, 64, 128 | 256, 256 KiB), whole chunks
    from the second chunk boundary on, and the object holds exactly the source's bytes."""
    coll = f"{HOME}/ramp-resume"
    session.collections.create(coll)
    path = f"{coll}/a.bin"
    data = random.Random(3).randbytes(5 * CHUNK + 7)
    cfg = config(resume_checkpoint_bytes=1)
    with pytest.raises(IrodsConnectionError):
        upload_object(
            session,
            ShortReadsFailing(data, step=40 * KIB, fail_at=200 * KIB),
            path,
            size=len(data),
            config=cfg,
            resume_key="ramp",
        )
    assert irods_emulator.open_parallel_write_streams() == 0
    assert not session.data_objects.exists(path)
    writes = Writes(monkeypatch)
    result = upload_object(
        session,
        ShortReadsFailing(data, step=40 * KIB, fail_at=None),
        path,
        size=len(data),
        config=cfg,
        resume_key="ramp",
    )
    start = 3 * UNIT
    assert result.resumed_from == start
    got = writes.by_offset()
    again = [UNIT, UNIT, UNIT, 2 * UNIT, 4 * UNIT, 4 * UNIT]
    assert got[:6] == [(start + sum(again[:i]), n) for i, n in enumerate(again)]
    assert got[6] == (2 * CHUNK, CHUNK)  # whole chunks again, at chunk boundaries
    assert sum(n for _, n in got) == len(data) - start
    assert session.data_objects.read(path) == data
    assert result.checksum == session.data_objects.calculate_checksum(path) == sha2(data)
