"""The adaptive small-file lane: what the controller does given a sequence of outcomes (fake clock), and that
the runner admits files by its current limit, feeds it and lets a user pin the lane instead."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from irods_provider.client._events import emit
from irods_provider.client.transfer import FileResult, FileStatus, TransferConfig
from irods_provider.client.transfer._adaptive import AdaptiveLimit
from irods_provider.client.transfer._local import PlannedFile, _lanes
from irods_provider.client.transfer._runner import Lanes, run_files
from irods_provider.exceptions import IrodsServerBusyError


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _window(limit: AdaptiveLimit, clock: Clock, *, latency: float, seconds: float) -> None:
    """The files still settling from a cut (they judge nothing), then one full window of completions of
    ``latency`` each, spread over ``seconds``."""
    for _ in range(limit.settling):
        limit.completed(99.0)
    count = limit.window
    for _ in range(count):
        clock.now += seconds / count
        limit.completed(latency)


def test_grows_by_half_while_latency_stays_flat_up_to_the_maximum() -> None:
    clock = Clock()
    limit = AdaptiveLimit(16, maximum=48, clock=clock)
    seen = [limit.limit]
    for _ in range(4):
        _window(limit, clock, latency=0.1, seconds=0.1)
        seen.append(limit.limit)
    assert seen == [16, 24, 36, 48, 48]
    assert [(c.old, c.new) for c in limit.changes] == [(16, 24), (24, 36), (36, 48)]


def test_latency_rise_without_gain_shrinks_and_ends_the_fast_growth() -> None:
    clock = Clock()
    limit = AdaptiveLimit(16, maximum=64, clock=clock)
    _window(limit, clock, latency=0.1, seconds=0.10)  # 160 files/s, flat: 24
    _window(limit, clock, latency=0.25, seconds=0.20)  # 2.5x the best latency: 18
    assert [(c.old, c.new) for c in limit.changes] == [(16, 24), (24, 18)]
    assert "latency 2.5x" in limit.changes[-1].reason
    _window(limit, clock, latency=0.1, seconds=0.10)  # flat again: + a quarter, no longer + half
    assert limit.limit == 22


def test_latency_between_flat_and_rise_grows_only_while_files_per_second_rise() -> None:
    clock = Clock()
    limit = AdaptiveLimit(16, maximum=64, clock=clock)
    _window(limit, clock, latency=0.1, seconds=0.1)  # 160/s: 24
    _window(limit, clock, latency=0.15, seconds=0.1)  # 1.5x latency but 240/s: grows (24 -> 36)
    assert limit.limit == 36
    _window(limit, clock, latency=0.18, seconds=0.2)  # 1.8x, 180/s: no gain: holds
    assert limit.limit == 36
    _window(limit, clock, latency=0.1, seconds=0.1)  # flat: grows, by a quarter only after holding
    assert limit.limit == 45


def test_busy_server_halves_once_per_burst_and_never_below_the_minimum() -> None:
    clock = Clock()
    limit = AdaptiveLimit(32, maximum=64, clock=clock)
    for _ in range(5):  # a burst of 503s from requests already in flight: one cut
        limit.congested("HTTP 503")
    assert (limit.limit, limit.settling) == (16, 32)
    for _ in range(31):  # files started before the cut still report: no second cut, no decision
        clock.now += 0.01
        limit.completed(9.0)
        limit.congested("HTTP 429")
    assert (limit.limit, limit.settling) == (16, 1)
    limit.completed(9.0)
    for _ in range(16):  # a window of files started after the cut: latency flat, +a quarter (no more +half)
        clock.now += 0.01
        limit.completed(0.1)
    assert limit.limit == 20
    limit.congested("HTTP 429")
    assert limit.limit == 10
    for _ in range(10):
        for _ in range(limit.settling):
            limit.completed(0.1)
        limit.congested("timeout")
    assert limit.limit == 1
    reasons = [c.reason for c in limit.changes[:3]]
    assert reasons == ["HTTP 503", "100 files/s, latency 1.0x the best", "HTTP 429"]


def test_a_latency_cut_is_judged_only_by_files_started_after_it() -> None:
    clock = Clock()
    limit = AdaptiveLimit(16, maximum=64, clock=clock)
    _window(limit, clock, latency=0.1, seconds=0.1)  # 16 -> 24
    _window(limit, clock, latency=0.3, seconds=0.3)  # 3x: 24 -> 18, 24 in flight settle
    assert (limit.limit, limit.settling) == (18, 24)
    for _ in range(24):  # as slow as the window that caused the cut: they were started before it
        clock.now += 0.01
        limit.completed(0.3)
    assert [c.new for c in limit.changes] == [24, 18]


def test_initial_is_kept_within_bounds() -> None:
    assert AdaptiveLimit(16, maximum=8).limit == 8
    assert AdaptiveLimit(0, maximum=8).limit == 1
    assert AdaptiveLimit(4, minimum=6, maximum=8).limit == 6


@dataclass
class Session:
    pool_limits: object


@dataclass
class Pool:
    max_keepalive_connections: int


def _small(count: int) -> list[PlannedFile]:
    return [PlannedFile(f"s{i}", f"d{i}", 4096) for i in range(count)]


def test_lanes_are_picked_from_the_plan_the_pool_and_a_pin() -> None:
    lanes = _lanes(_small(200), TransferConfig(), Session(Pool(64)))
    assert lanes.adaptive is not None
    assert (lanes.adaptive.limit, lanes.adaptive.maximum) == (16, 64)
    lanes = _lanes(_small(200), TransferConfig(max_adaptive_small_files=100), Session(Pool(20)))
    assert lanes.adaptive is not None
    assert lanes.adaptive.maximum == 20  # never more than the kept-alive connections
    lanes = _lanes(_small(40), TransferConfig(), None)
    assert lanes.adaptive is not None
    assert lanes.adaptive.maximum == 40  # never more than the plan's small files
    assert _lanes(_small(10), TransferConfig(), None) == Lanes(4, 10, 1024 * 1024)  # all start at once
    assert _lanes(_small(200), TransferConfig(max_concurrent_small_files=12), None) == Lanes(
        4, 12, 1024 * 1024
    )


def test_runner_admits_by_the_current_limit_and_retry_events_cut_it() -> None:
    limit = AdaptiveLimit(4, maximum=8)
    running, peak = [0], [0]
    lock = threading.Lock()
    busy_once = threading.Event()

    def one(item: PlannedFile, cancel: threading.Event) -> FileResult:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        try:
            if item.source == "s20" and not busy_once.is_set():
                busy_once.set()
                # what the session emits for a 503 answer it then retries successfully
                emit("request", 3.0, endpoint="data-objects", operation="write", status="503")
            cancel.wait(0.01)
            return FileResult(source=item.source, destination=item.destination, status=FileStatus.TRANSFERRED)
        finally:
            with lock:
                running[0] -= 1

    report = run_files(_small(60), one, lanes=Lanes(2, 0, adaptive=limit), on_error="stop")
    assert report.transferred == 60
    assert peak[0] <= 8
    assert any(c.reason == "HTTP 503" for c in limit.changes), limit.changes
    emit("request", 3.0, endpoint="x", operation="y", status="503")  # outside a worker: nobody's lane
    assert [c.reason for c in limit.changes].count("HTTP 503") == 1


def test_a_file_failing_busy_counts_as_congestion() -> None:
    limit = AdaptiveLimit(16, maximum=16)

    def one(item: PlannedFile, cancel: threading.Event) -> FileResult:
        raise IrodsServerBusyError("busy", http_status=503, path=item.source)

    report = run_files(_small(20), one, lanes=Lanes(2, 0, adaptive=limit), on_error="continue")
    assert report.failed == 20
    assert limit.limit == 8
    assert limit.changes[0].reason == "IrodsServerBusyError"


def test_decides_every_half_limit_while_growing_fast_then_every_limit() -> None:
    clock = Clock()
    limit = AdaptiveLimit(32, maximum=64, clock=clock)
    assert limit.window == 16
    for _ in range(15):
        clock.now += 0.01
        limit.completed(0.1)
    assert limit.changes == []
    clock.now += 0.01
    limit.completed(0.1)
    assert limit.limit == 48
    limit.congested("HTTP 503")
    assert (limit.limit, limit.window) == (24, 24)
