"""The one multi-file runner: lanes bound concurrency, a failure stops, drains or is reported, a cancel stops
the rest, and the report (in plan order) rides on whatever is raised."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pytest

from irods_provider.client.transfer import FileResult, FileStatus
from irods_provider.client.transfer._runner import Lanes, run_files
from irods_provider.exceptions import IrodsTransferCancelledError


@dataclass(frozen=True)
class Item:
    source: str
    destination: str
    size: int | None


def _plan(sizes: list[int]) -> list[Item]:
    return [Item(f"s{i}", f"d{i}", size) for i, size in enumerate(sizes)]


class Recorder:
    """``one`` for the runner: sleeps a little, fails the named sources, records the peak concurrency."""

    def __init__(
        self,
        fail: set[str] = frozenset(),  # type: ignore[assignment]
        seconds: float = 0.02,
        started_before_failing: int = 0,
        small_peak: int = 0,
    ) -> None:
        self.fail, self.seconds = fail, seconds
        self.started_before_failing = started_before_failing  # a failing file waits for this many starts
        self.small_peak = small_peak  # small files wait (bounded) until this many ran at once
        self.small_deadline = time.monotonic() + 10  # a lane too narrow for ``small_peak`` never gets there
        self.running = {"small": 0, "large": 0}
        self.peak = {"small": 0, "large": 0}
        self.started: list[str] = []
        self.interrupted: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, item: Item, cancel: threading.Event) -> FileResult:
        lane = "small" if item.size is not None and item.size <= 10 else "large"
        with self._lock:
            self.started.append(item.source)
            self.running[lane] += 1
            self.peak[lane] = max(self.peak[lane], self.running[lane])
        try:
            if item.source in self.fail:
                time.sleep(0.05)
                deadline = time.monotonic() + 10  # on a loaded machine the files beside it may start later
                while len(self.started) < self.started_before_failing and time.monotonic() < deadline:
                    time.sleep(0.005)
                raise OSError(f"{item.source} broke")
            while lane == "small" and self.peak["small"] < self.small_peak:
                if time.monotonic() > self.small_deadline:
                    break
                time.sleep(0.005)
            if cancel.wait(self.seconds):
                self.interrupted.append(item.source)
                raise IrodsTransferCancelledError("cancelled", path=item.source)
            return FileResult(
                source=item.source,
                destination=item.destination,
                status=FileStatus.TRANSFERRED,
                size=item.size,
            )
        finally:
            with self._lock:
                self.running[lane] -= 1


def test_two_lanes_bound_concurrency_and_the_report_keeps_plan_order() -> None:
    # Small files hold on until three ran at once: with 20 ms sleeps alone, a loaded machine sometimes
    # started each small file after the one before had ended, and the peak stayed at 2.
    one = Recorder(small_peak=3)
    plan = _plan([5, 100] * 12)
    report = run_files(plan, one, lanes=Lanes(2, 4, small_bytes=10), on_error="stop")
    assert [f.source for f in report.files] == [p.source for p in plan]
    assert report.transferred == 24
    assert one.peak["large"] <= 2
    assert one.peak["small"] <= 4
    assert one.peak["small"] > 2  # the small lane really ran wider than the large one


def test_stop_cancels_the_running_files_and_raises_the_first_error_with_the_report() -> None:
    one = Recorder(fail={"s1"}, seconds=5.0)
    with pytest.raises(OSError, match="s1 broke") as caught:
        run_files(_plan([100] * 10), one, lanes=Lanes(3), on_error="stop")
    report = caught.value.report  # type: ignore[attr-defined]
    errors = {f.source: f.error for f in report.files}
    assert errors["s1"] == "OSError: s1 broke"
    assert set(one.interrupted) == {"s0", "s2"}  # the siblings running beside it were cancelled
    assert "IrodsTransferCancelledError" in (errors["s0"] or "")
    assert len(one.started) == 3  # nothing started after the failure


def test_drain_lets_the_running_files_finish_and_starts_no_more() -> None:
    one = Recorder(fail={"s1"}, seconds=0.2, started_before_failing=3)  # s0, s1, s2 run when s1 fails
    with pytest.raises(OSError, match="s1 broke") as caught:
        run_files(_plan([100] * 10), one, lanes=Lanes(3), on_error="drain")
    report = caught.value.report  # type: ignore[attr-defined]
    assert {f.source: f.status for f in report.files} == {
        "s0": FileStatus.TRANSFERRED,
        "s1": FileStatus.FAILED,
        "s2": FileStatus.TRANSFERRED,
    }
    assert one.interrupted == []


def test_continue_runs_every_file_and_reports_or_raises_the_failures() -> None:
    plan = _plan([100] * 6)
    report = run_files(plan, Recorder(fail={"s2", "s4"}), lanes=Lanes(2), on_error="continue")
    assert (report.transferred, report.failed) == (4, 2)
    assert "OSError: s2 broke" in (report.files[2].error or "")
    with pytest.raises(OSError, match=r"s[24] broke") as caught:
        run_files(plan, Recorder(fail={"s2", "s4"}), lanes=Lanes(2), on_error="continue", raise_failures=True)
    assert caught.value.report.failed == 2  # type: ignore[attr-defined]


def test_a_cancel_from_outside_raises_the_cancellation_with_what_was_done() -> None:
    cancel = threading.Event()
    one = Recorder(seconds=0.01)
    done: list[str] = []

    def cancelled_after_three(item: Item, event: threading.Event) -> FileResult:
        """The caller cancels (sets the task's event) once 3 files are done: no timer, whatever the load."""
        result = one(item, event)
        with one._lock:
            done.append(item.source)
            if len(done) == 3:
                cancel.set()
        return result

    with pytest.raises(IrodsTransferCancelledError, match=r"cancelled after \d+ of 40 files") as caught:
        run_files(
            _plan([100] * 40), cancelled_after_three, lanes=Lanes(2), on_error="continue", cancel_event=cancel
        )
    report = caught.value.report  # type: ignore[attr-defined]
    assert 3 <= report.transferred < 40
    # Only the files already started when the cancel came (one per lane at most) ran after it.
    assert len(one.started) <= 3 + 2
