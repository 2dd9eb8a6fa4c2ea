"""Issue 17, item 6: the first chunk of a parallel upload goes out as growing requests (1/8, 1/8, 1/4 and
1/2 of a chunk), so the first write leaves after 1/8 of a chunk is read instead of a whole one; every later
request is a whole chunk at a chunk boundary, the last chunk is still split over the streams, and a resume
after a failure within those first requests continues from the committed prefix.

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
RAMP = [CHUNK // 8, CHUNK // 8, CHUNK // 4, CHUNK // 2]  # 64, 64, 128 and 256 KiB


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


def test_the_first_chunk_goes_out_in_growing_requests(session, irods_emulator, monkeypatch) -> None:
    coll = f"{HOME}/ramp"
    session.collections.create(coll)
    data = random.Random(1).randbytes(5 * CHUNK + 300 * KIB)
    writes = Writes(monkeypatch)
    result = upload_object(session, io.BytesIO(data), f"{coll}/a.bin", size=len(data), config=config())
    got = writes.by_offset()
    assert writes.sent[0] == (0, CHUNK // 8)  # the first request sent is the smallest, at offset 0
    assert got[:4] == [(sum(RAMP[:i]), n) for i, n in enumerate(RAMP)]
    assert got[4:8] == [(i * CHUNK, CHUNK) for i in range(1, 5)]  # whole chunks at chunk boundaries
    assert got[8:] == [(5 * CHUNK + i * 100 * KIB, 100 * KIB) for i in range(3)]  # the last, per stream
    assert max(n for _, n in got) <= CHUNK
    assert session.data_objects.read(f"{coll}/a.bin") == data
    assert session.data_objects.calculate_checksum(f"{coll}/a.bin") == sha2(data) == result.checksum


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
    """The source fails after 200 KiB: the first two requests (128 KiB) were sent, the 72 KiB buffered for
    the third are dropped; the resume continues from 128 KiB, ramping again from there, and the object
    holds exactly the source's bytes."""
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
    start = 2 * (CHUNK // 8)
    assert result.resumed_from == start
    got = writes.by_offset()
    assert got[:4] == [(start + sum(RAMP[:i]), n) for i, n in enumerate(RAMP)]
    assert got[4] == (start + CHUNK, CHUNK)  # whole chunks again, from the ramp's end
    assert sum(n for _, n in got) == len(data) - start
    assert session.data_objects.read(path) == data
    assert result.checksum == session.data_objects.calculate_checksum(path) == sha2(data)
