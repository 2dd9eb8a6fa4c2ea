"""Two write requests in flight per parallel-write stream, never two writes at once on one stream.

The server does not lock a stream named by ``stream-index`` (irods_client_http_api 0.7.0,
data_objects/src/main.cpp: ``streams.at(sindex)``), and a header-form write seeks and streams into the
replica as its body arrives. A second request on a stream is therefore a form whose last bytes wait (the
``hold``) until the stream's previous request is answered: the server reads a form whole before it writes.
The fake session calls ``hold`` first, as that server would, and records what each stream applies at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass

import pytest

from irods_provider.client.transfer import ParallelWriter, TransferConfig
from irods_provider.client.transfer._config import MIB
from irods_provider.exceptions import IrodsPermissionError

P = "/tempZone/home/rods/obj"
DATA = bytes(range(256)) * 8  # 2,048 bytes: 32 chunks of 64


@dataclass
class Limits:
    max_request_body_bytes: int
    max_streams_per_handle: int = 3


def cfg(**kw) -> TransferConfig:
    base = {"streams": 3, "chunk_size": 64, "small_file_threshold": 64, "backoff_base_seconds": 0.0}
    base.update(kw)
    return TransferConfig(**base)


class PerStream:
    """What each stream applies at once (must stay <= 1), with a pause so requests pile up."""

    def __init__(self, pause: float = 0.01) -> None:
        self.pause = pause
        self.active: dict[int, int] = defaultdict(int)
        self.most = 0
        self.applied: dict[int, list[int]] = defaultdict(list)
        self.lock = threading.Lock()

    def __call__(self, offset: int, data: bytes, index: int | None) -> None:
        assert index is not None
        with self.lock:
            self.active[index] += 1
            self.most = max(self.most, self.active[index])
            self.applied[index].append(offset)
        time.sleep(self.pause)
        with self.lock:
            self.active[index] -= 1


def test_each_stream_has_a_second_request_in_flight_and_applies_one_at_a_time(fake):
    probe = PerStream()
    fake.write_hook = probe
    with ParallelWriter(fake, P, config=cfg(), size=len(DATA)) as w:
        w.write(DATA)
    assert bytes(fake.objects[P]) == DATA
    assert probe.most == 1  # a stream never applied two writes at once
    assert fake.max_in_call == 6  # 3 streams x 2 requests in flight
    for index in range(3):  # the first request of a stream is never held, later ones are
        on_stream = [held for i, held in fake.held if i == index]
        assert on_stream[0] is False
        assert any(on_stream)
    assert sorted(o for offsets in probe.applied.values() for o in offsets) == list(range(0, 2048, 64))


def test_one_request_per_stream_sends_nothing_held(fake):
    probe = PerStream()
    fake.write_hook = probe
    with ParallelWriter(fake, P, config=cfg(requests_per_stream=1), size=len(DATA)) as w:
        w.write(DATA)
    assert bytes(fake.objects[P]) == DATA
    assert probe.most == 1
    assert fake.max_in_call == 3
    assert not any(held for _, held in fake.held)


def test_a_failed_write_aborts_the_request_held_behind_it(fake):
    """Stream 0's first write fails for good: the request held behind it is never applied."""
    first_on_0 = threading.Event()

    def hook(offset: int, data: bytes, index: int | None) -> None:
        if index == 0 and not first_on_0.is_set():
            first_on_0.set()
            # Fail only once the next request on stream 0 is held behind this one (a fixed sleep raced a
            # loaded machine: the held request had not been sent yet).
            deadline = time.monotonic() + 10
            while (0, True) not in fake.held and time.monotonic() < deadline:
                time.sleep(0.005)
            raise IrodsPermissionError("refused", path=P)
        time.sleep(0.005)

    fake.write_hook = hook
    w = ParallelWriter(fake, P, config=cfg(), size=len(DATA))
    with pytest.raises(IrodsPermissionError), w:
        w.write(DATA)
    on_0 = [c for c in fake.writes() if c[5] == 0]
    assert len(on_0) == 1  # only the refused one reached stream 0
    assert [held for i, held in fake.held if i == 0][:2] == [False, True]
    assert fake.handles == {}  # shut down


def test_a_held_request_gives_up_after_a_quarter_of_the_request_timeout(fake, caplog):
    """Stream 0's first write takes 0.3 s; the request held behind it waits 0.1 s (0.4 / 4), is resent,
    and from then on every stream sends one request at a time: the bytes are still right."""
    slow = threading.Event()

    def hook(offset: int, data: bytes, index: int | None) -> None:
        if index == 0 and not slow.is_set():
            slow.set()
            time.sleep(0.3)

    fake.write_hook = hook
    config = cfg(request_timeout_seconds=0.4)
    with caplog.at_level(logging.WARNING), ParallelWriter(fake, P, config=config, size=len(DATA)) as w:
        w.write(DATA)
    assert bytes(fake.objects[P]) == DATA
    assert "one write per stream from now" in caplog.text
    on_0 = [held for i, held in fake.held if i == 0]
    # the slow first write, the held one that gave up, then its resend and the rest: none held
    assert on_0[:3] == [False, True, False]
    assert not any(on_0[2:])
    assert len(on_0) == len([c for c in fake.writes() if c[5] == 0]) + 1  # the held one never applied


@pytest.mark.parametrize(
    ("body", "requests", "reads", "expected"),
    [
        (8 * MIB, 2, False, (8 * MIB - 8 * 1024, 2)),  # a form with its framing fits the body limit
        (8 * MIB, 1, False, (8 * MIB, 1)),  # header-form writes carry the data only
        (8 * MIB, 2, True, (8 * MIB, 2)),  # reads are never forms
        (12 * 1024, 2, False, (12 * 1024, 1)),  # a form would have under half the body: not held
    ],
)
def test_for_server_fits_held_forms_in_the_body_limit(body, requests, reads, expected):
    config = TransferConfig(requests_per_stream=requests).for_server(
        Limits(max_request_body_bytes=body), reads=reads
    )
    assert (config.chunk_size, config.requests_per_stream) == expected
