"""The cleanup thread finalizers hand their network I/O to: runs cleanups in order, outside the caller's
thread, survives a failing one, and tells a finalizer when it must hand over (a collection or an event loop
in its thread)."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import select
import signal
import threading

import pytest

from irods_provider.client import _deferred
from irods_provider.client._deferred import defer, in_collection, must_defer, wait_for_deferred

pytestmark = pytest.mark.timeout(60)


def test_cleanups_run_in_order_in_the_cleanup_thread_and_survive_a_failure(caplog) -> None:
    ran: list[tuple[int, str]] = []

    def fail() -> None:
        raise OSError("connection refused")

    defer(lambda: ran.append((1, threading.current_thread().name)), "first")
    defer(fail, "removing the read alias /tempZone/home/rods/.x")
    defer(lambda: ran.append((2, threading.current_thread().name)), "second")
    with caplog.at_level(logging.WARNING, logger=_deferred.__name__):
        assert wait_for_deferred(30)
    assert ran == [(1, "irods-provider-cleanup"), (2, "irods-provider-cleanup")]
    assert "removing the read alias /tempZone/home/rods/.x" in caplog.text
    assert "connection refused" in caplog.text


class _Finalized:
    def __init__(self, seen: list[tuple[bool, bool]]) -> None:
        self.seen = seen
        self.cycle = self

    def __del__(self) -> None:
        self.seen.append((in_collection(), must_defer()))


def test_a_finalizer_knows_when_the_collector_runs_it() -> None:
    seen: list[tuple[bool, bool]] = []
    gc.collect()
    gc.disable()
    try:
        _Finalized(seen)
        assert seen == []  # a cycle: only the collector frees it
        gc.collect()
        assert seen == [(True, True)]
        del _Finalized(seen).cycle  # no cycle left: freed at once, outside any collection
        assert seen == [(True, True), (False, False)]
    finally:
        gc.enable()
    assert not in_collection()


def test_a_finalizer_in_an_event_loop_must_hand_over() -> None:
    async def inside() -> bool:
        return must_defer()

    assert asyncio.run(inside()) is True
    assert must_defer() is False


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_starts_afresh_even_when_forked_mid_start() -> None:
    """A Celery prefork worker forked while another thread of the parent held the start lock: the child
    (where that thread does not exist) still gets a cleanup thread, instead of waiting for ever."""
    assert wait_for_deferred(30)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with _deferred._start_lock:
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(30)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        ok = wait_for_deferred(10)
        os.write(write, b"1" if ok else b"0")
        os._exit(0)
    release.set()
    holder.join()
    os.close(write)
    try:
        ready, _, _ = select.select([read], [], [], 20)
        assert ready, "the forked child never ran a cleanup"
        assert os.read(read, 1) == b"1"
    finally:
        os.close(read)
        if not ready:
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
