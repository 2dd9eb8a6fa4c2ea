"""The parallel writer: memory bound, ordering, small files, shutdown on every path, per-chunk retries."""

from __future__ import annotations

import io
import threading

import pytest

from irods_provider.client._paths import is_temporary_name
from irods_provider.client.transfer import (
    IrodsTransferCancelledError,
    ParallelWriter,
    TransferConfig,
    TransferSubscriber,
    copy,
    open_writer,
)
from irods_provider.exceptions import IrodsPermissionError, IrodsServerBusyError

P = "/tempZone/home/rods/obj"


class Recorder(TransferSubscriber):
    def __init__(self) -> None:
        self.amounts: list[int] = []
        self.queued: list[int | None] = []
        self.done: list[BaseException | None] = []
        self.lock = threading.Lock()

    def on_queued(self, *, path, size, **kwargs):
        self.queued.append(size)

    def on_progress(self, *, path, bytes_transferred, **kwargs):
        with self.lock:
            self.amounts.append(bytes_transferred)

    def on_done(self, *, path, error, **kwargs):
        self.done.append(error)


def cfg(**kw) -> TransferConfig:
    base = {"streams": 3, "chunk_size": 4, "small_file_threshold": 4, "backoff_base_seconds": 0.0}
    base.update(kw)
    return TransferConfig(**base)


def test_ordering_with_inline_executor(fake, inline_executor):
    w = ParallelWriter(fake, P, config=cfg(streams=2), executor=inline_executor)
    w.write(b"abcdefghij")
    w.close()
    assert bytes(fake.objects[P]) == b"abcdefghij"
    kinds = [c[0] for c in fake.calls]
    assert kinds == ["init", "write", "write", "write", "shutdown"]
    assert [(c[2], c[3]) for c in fake.writes()] == [(0, 4), (4, 4), (8, 2)]
    assert all(c[4] == "h1" and c[5] in (0, 1) for c in fake.writes())
    assert w.committed_bytes == 10


def test_small_file_is_one_request_without_handle(fake):
    with ParallelWriter(fake, P, config=cfg(chunk_size=8, small_file_threshold=8)) as w:
        w.write(b"tiny")
    assert [c[0] for c in fake.calls] == ["write"]
    assert fake.calls[0][4] is None
    assert bytes(fake.objects[P]) == b"tiny"


def test_zero_bytes_creates_empty_object(fake):
    with ParallelWriter(fake, P, config=cfg()):
        pass
    assert bytes(fake.objects[P]) == b""
    assert fake.calls == [("write", P, 0, 0, None, None)]


def test_memory_bound_max_in_flight_never_exceeded(fake):
    """Like s3transfer's test_limits_in_memory_chunks_for_fileobj: producers block at streams x depth."""
    gate = threading.Semaphore(0)
    fake.write_hook = lambda offset, data, idx: gate.acquire(timeout=10)
    config = cfg(streams=2, queue_depth=2, chunk_size=4)
    w = ParallelWriter(fake, P, config=config)
    produced = []

    def produce():
        for i in range(12):
            w.write(bytes([65 + i]) * 4)
            produced.append(i)

    t = threading.Thread(target=produce)
    t.start()
    # With no request finishing, exactly max_in_flight_chunks chunks get queued, then write() blocks.
    for _ in range(500):
        if len(produced) == config.max_in_flight_chunks:
            break
        threading.Event().wait(0.01)
    assert len(produced) == config.max_in_flight_chunks == 4
    assert fake.max_active <= 2
    for _ in range(12):
        gate.release()
    t.join(10)
    w.close()
    assert w.max_in_flight_seen == 4
    assert fake.max_active <= 2
    assert bytes(fake.objects[P]) == b"".join(bytes([65 + i]) * 4 for i in range(12))


def test_error_shuts_handle_down_and_raises(fake):
    def hook(offset, data, idx):
        if offset == 8:
            raise IrodsPermissionError("denied", path=P)

    fake.write_hook = hook
    w = ParallelWriter(fake, P, config=cfg())

    def run():
        with w:
            w.write(b"x" * 20)

    with pytest.raises(IrodsPermissionError, match="denied"):
        run()
    assert fake.handles == {}
    assert [c[0] for c in fake.calls].count("shutdown") == 1


def test_cancel_reaches_blocked_writer_and_shuts_down(fake):
    gate = threading.Event()
    fake.write_hook = lambda offset, data, idx: gate.wait(10)
    cancel = threading.Event()
    w = open_writer(fake, P, config=cfg(streams=1, queue_depth=1), cancel_event=cancel)
    errors = []

    def produce():
        try:
            for _ in range(10):
                w.write(b"z" * 4)
        except IrodsTransferCancelledError as exc:
            errors.append(exc)

    t = threading.Thread(target=produce)
    t.start()
    for _ in range(500):
        if fake.active:
            break
        threading.Event().wait(0.01)
    cancel.set()
    w.coordinator.cancel()
    t.join(10)
    assert not t.is_alive()
    assert len(errors) == 1
    assert "cancelled" in str(errors[0])
    gate.set()
    w.abort()
    assert fake.handles == {}
    assert w.closed


def test_copy_cancel_event_leaves_no_handle(fake):
    cancel = threading.Event()
    w = open_writer(fake, P, config=cfg(), cancel_event=cancel)

    def run():
        try:
            copy(
                io.BytesIO(b"q" * 64),
                w,
                chunk_size=4,
                coordinator=w.coordinator,
                on_chunk=lambda n: cancel.set() if n >= 12 else None,
            )
        finally:
            w.abort()

    with pytest.raises(IrodsTransferCancelledError):
        run()
    assert fake.handles == {}


def test_per_chunk_retry_reports_negative_progress(fake):
    failures = {"left": 2}

    def hook(offset, data, idx):
        if offset == 4 and failures["left"]:
            failures["left"] -= 1
            raise IrodsServerBusyError("busy", http_status=503)

    fake.write_hook = hook
    rec = Recorder()
    w = open_writer(fake, P, config=cfg(), subscribers=(rec,))
    w.write(b"0123456789AB")
    w.close()
    assert bytes(fake.objects[P]) == b"0123456789AB"
    assert sum(rec.amounts) == 12
    assert rec.amounts.count(-4) == 2
    assert len([c for c in fake.writes() if c[2] == 4]) == 3


def test_retries_exhausted_raise(fake):
    def hook(offset, data, idx):
        raise IrodsServerBusyError("busy", http_status=429)

    fake.write_hook = hook
    w = open_writer(fake, P, config=cfg(retries=1))

    def run():
        with w:
            w.write(b"x" * 8)

    with pytest.raises(IrodsServerBusyError):
        run()
    assert fake.handles == {}
    attempts_at_0 = [c for c in fake.writes() if c[2] == 0]
    assert len(attempts_at_0) == 2  # one retry per chunk, then the error wins


def test_stream_count_follows_size_hint(fake):
    w = ParallelWriter(fake, P, config=cfg(streams=3), size=6)
    w.write(b"abcdef")
    w.close()
    assert fake.calls[0] == ("init", P, 2, True)


def test_resume_offset_without_truncate(fake):
    fake.objects[P] = bytearray(b"01234567")
    w = open_writer(fake, P, config=cfg(), offset=8, truncate=False, size=16)
    w.write(b"89ABCDEF")
    w.close()
    assert bytes(fake.objects[P]) == b"0123456789ABCDEF"
    assert fake.calls[0] == ("init", P, 2, False)
    assert [c[2] for c in fake.writes()] == [8, 12]


def test_server_limits_cap_streams_and_chunk(fake):
    fake.limits.max_request_body_bytes = 1024
    fake.limits.max_streams_per_handle = 2
    w = open_writer(fake, P, streams=8, chunk_size=1 << 20)
    assert (w.config.streams, w.config.chunk_size) == (2, 1024)
    w.abort()


def test_single_stream_uses_plain_offset_writes(fake):
    fake.objects[P] = bytearray(b"old content that is longer than the new one")
    with ParallelWriter(fake, P, config=cfg(streams=1)) as w:
        w.write(b"0123456789")
    assert [c[0] for c in fake.calls] == ["write", "write", "write"]
    assert [(c[2], c[4]) for c in fake.writes()] == [(0, None), (4, None), (8, None)]
    assert bytes(fake.objects[P]) == b"0123456789"


def test_chunk_sized_bytes_are_sent_without_a_copy_and_mutable_buffers_are_copied(fake, inline_executor):
    sent: list[object] = []
    fake.write_hook = lambda offset, data, idx: sent.append(data)
    whole, mutable = b"abcd", bytearray(b"efgh")
    w = ParallelWriter(fake, P, config=cfg(streams=2), executor=inline_executor)
    w.write(whole)
    w.write(mutable)
    mutable[:] = b"XXXX"  # the caller reuses its buffer: what was queued must not change
    w.close()
    assert sent[0] is whole
    assert sent[1] == b"efgh"
    assert sent[1] is not mutable
    assert bytes(fake.objects[P]) == b"abcdefgh"


def test_open_writer_publishes_new_content_through_a_recorded_temporary(fake):
    """New content goes to the engine's temporary sibling (its handle recorded on it while open) and is
    renamed onto the target at close: the target holds the old bytes until then, never a partial object."""
    fake.objects[P] = bytearray(b"old")
    w = open_writer(fake, P, config=cfg(chunk_size=4, streams=2), size=10)
    assert w.path != P
    assert is_temporary_name(w.path.rsplit("/", 1)[1])
    w.write(b"0123456789")
    assert bytes(fake.objects[P]) == b"old"
    w.close()
    assert bytes(fake.objects[P]) == b"0123456789"
    assert w.path not in fake.objects
    init = [c for c in fake.calls if c[0] == "init"]
    assert [c[1] for c in init] == [w.path]


def test_open_writer_abort_removes_the_temporary_and_keeps_the_target(fake):
    fake.objects[P] = bytearray(b"old")
    w = open_writer(fake, P, config=cfg(chunk_size=4, streams=2), size=10)
    w.write(b"01234567")
    w.abort()
    assert bytes(fake.objects[P]) == b"old"
    assert w.path not in fake.objects
