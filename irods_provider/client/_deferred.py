"""Network cleanups that finalizers hand to one dedicated thread instead of running them where they are.

The cyclic garbage collector runs finalizers (``__del__``) in whatever thread happens to allocate: an event
loop's (a triggerer's, an in-process server's), or one holding a lock the cleanup's request needs. A
blocking HTTP request there stalls that loop, or deadlocks (a server thread waiting on a request to itself).
So a finalizer only queues its cleanup here (``SimpleQueue.put`` is safe in ``__del__``); one daemon thread,
``irods-provider-cleanup``, runs them in order, logs their failures, and at interpreter exit is given
:data:`EXIT_WAIT` seconds to finish what is queued. A process killed first leaves what the next sweep
removes (read aliases, temporaries).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import gc
import logging
import os
import queue
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["EXIT_WAIT", "defer", "in_collection", "must_defer", "wait_for_deferred"]

log = logging.getLogger(__name__)

#: Seconds the interpreter's exit waits for queued cleanups (each request is bounded by its own timeout too).
EXIT_WAIT = 10.0

_queue: queue.SimpleQueue[tuple[Callable[[], Any], str]] = queue.SimpleQueue()
# Taken without waiting: a finalizer may run inside the start (a collection in this thread or in the new
# thread's bootstrap, which the starter waits for); whoever holds it starts the thread that runs the queue.
_start_lock = threading.Lock()
_thread: threading.Thread | None = None
_exit_hook = False  # whether _finish_at_exit is registered
_collecting: set[int] = set()  # threads in which the cyclic collector is running


def _on_gc(phase: str, _info: dict[str, int]) -> None:
    if phase == "start":
        _collecting.add(threading.get_ident())
    else:
        _collecting.discard(threading.get_ident())


gc.callbacks.append(_on_gc)


def in_collection() -> bool:
    """Whether the cyclic garbage collector is running in this thread (so a finalizer runs at no chosen
    point: any thread, any lock held)."""
    return threading.get_ident() in _collecting


def must_defer() -> bool:
    """Whether a finalizer running now must hand its network I/O over: within a garbage collection, or in
    a thread running an event loop (a blocking request there stalls every task)."""
    if in_collection():
        return True
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _run_one(cleanup: Callable[[], Any], what: str) -> None:
    try:
        cleanup()
    except Exception as exc:  # a cleanup's failure must not end the thread that runs the others
        log.warning("deferred cleanup failed (%s): %s", what, exc)


def _run() -> None:
    while True:
        _run_one(*_queue.get())


def _ensure_thread() -> None:
    global _thread, _exit_hook
    if (_thread is not None and _thread.is_alive()) or not _start_lock.acquire(blocking=False):
        return
    try:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_run, name="irods-provider-cleanup", daemon=True)
            _thread.start()
        if not _exit_hook:
            _exit_hook = True
            atexit.register(_finish_at_exit)
    finally:
        _start_lock.release()


def defer(cleanup: Callable[[], Any], what: str) -> None:
    """Run ``cleanup`` soon in the cleanup thread (``what`` names it in logs); safe to call in ``__del__``."""
    _queue.put((cleanup, what))
    try:
        _ensure_thread()
    except RuntimeError:  # the interpreter is exiting (no new threads): nothing else runs now, so here
        with contextlib.suppress(queue.Empty):
            while True:
                _run_one(*_queue.get_nowait())


def wait_for_deferred(timeout: float | None = None) -> bool:
    """Wait until every cleanup queued so far has run; False if ``timeout`` seconds passed first (at once in
    the cleanup thread itself, which cannot wait for itself)."""
    if threading.current_thread() is _thread:
        return False
    done = threading.Event()
    defer(done.set, "wait")
    return done.wait(timeout)


def _finish_at_exit() -> None:
    if not wait_for_deferred(EXIT_WAIT):
        log.warning(
            "deferred cleanups still running at exit after %.0f s: left for the next sweep", EXIT_WAIT
        )


def _after_fork() -> None:
    """A forked child (a Celery prefork worker) has no cleanup thread and owns no lock: start afresh; the
    parent's queued cleanups are the parent's."""
    global _thread, _queue, _start_lock
    _thread, _queue, _start_lock = None, queue.SimpleQueue(), threading.Lock()
    _collecting.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
