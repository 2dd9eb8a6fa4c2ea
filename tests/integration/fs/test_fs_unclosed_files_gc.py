"""Unclosed irods:// files freed by the cyclic garbage collector, which runs in whatever thread allocates
at the time: here the emulator's event-loop thread (the deadlock the last adversarial pass met), as it could
be a triggerer's loop or a thread holding a lock. Their close (a ``+`` path's alias removal, a write's
publish) must not be a network request in that thread: it is handed to the provider's cleanup thread, and
still happens (no alias left, the written bytes published)."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import irods_provider.testing._h_other as emulator_queries
from irods_provider.client import IrodsSession, RetryPolicy
from irods_provider.client._auth import BasicAuth
from irods_provider.client._deferred import wait_for_deferred
from irods_provider.client.transfer._alias import ALIAS_PREFIX
from irods_provider.fs import IrodsFileSystem

pytestmark = pytest.mark.timeout(180)

#: Seconds a request waits for its reply. What it guards: a close run in the server's own thread is a request
#: to itself, which blocks that thread until the close's request times out after the same REQUEST_TIMEOUT, so
#: the test's request (sent first) always times out first, whatever the value. It was 5 s: on a starved
#: host (nice 19 beside busy processes, ~1.5% of a core) the server thread's full collection alone took
#: 1.5 s of wall time for 0.05 s of CPU, and one run's GenQuery timed out (the collection finished after the
#: test's `pytest.warns` block: "DID NOT WARN", then the warning at teardown).
REQUEST_TIMEOUT = 30.0

HOME = "/tempZone/home/rods"
PLUS = f"{HOME}/run+1.h5"
CHUNK = 64 * 1024


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def fs(irods_emulator) -> Iterator[IrodsFileSystem]:
    """A filesystem whose requests give up after REQUEST_TIMEOUT, not retried: a request stuck behind a
    blocked server fails (retried, it would succeed once the server is free again, hiding the stall)."""
    auth = BasicAuth("rods", "rods-emulator")
    retry = RetryPolicy(max_attempts=1)
    session = IrodsSession(irods_emulator.base_url, auth=auth, timeout=REQUEST_TIMEOUT, retry=retry)
    fs = IrodsFileSystem(session=session, skip_instance_cache=True, chunk_size=CHUNK)
    try:
        yield fs
    finally:
        session.close()


@pytest.fixture
def collect_in_server(monkeypatch) -> Callable[[], threading.Event]:
    """``arm()``: the emulator's next GenQuery first runs a full garbage collection in its event-loop thread
    (the returned event is set once it ran there)."""

    def arm() -> threading.Event:
        ran = threading.Event()
        original = emulator_queries.execute_genquery1

        def execute_genquery1(*args: Any, **kwargs: Any) -> Any:
            if not ran.is_set():
                gc.collect()
                ran.set()
            return original(*args, **kwargs)

        monkeypatch.setattr(emulator_queries, "execute_genquery1", execute_genquery1)
        return ran

    return arm


def aliases(fs: IrodsFileSystem) -> list[str]:
    entries = fs.session.collections.iterate(HOME, include_temporaries=True)
    return [e.name for e in entries if e.name.startswith(ALIAS_PREFIX)]


@pytest.mark.parametrize("size", [1000, 5 * CHUNK + 7], ids=["small", "parallel"])
def test_an_unclosed_plus_path_read_is_collected_in_the_server_thread(
    fs, collect_in_server, tmp_path, size
) -> None:
    data = os.urandom(size)
    fs.pipe(PLUS, data)
    gc.collect()
    gc.disable()  # the collection below is the emulator thread's, not one the test happens to trigger
    try:
        assert sha(fs.open(PLUS, "rb").read()) == sha(data)  # left unclosed: its alias stays meanwhile
        assert len(aliases(fs)) == 1
        ran = collect_in_server()
        with pytest.warns(ResourceWarning, match="unclosed file"):
            fs.get(
                PLUS, str(tmp_path / "got.h5")
            )  # its GenQuery frees the unclosed file in the server thread
    finally:
        gc.enable()
    assert ran.is_set()
    assert sha((tmp_path / "got.h5").read_bytes()) == sha(data)
    assert wait_for_deferred(60)
    assert aliases(fs) == []


@pytest.mark.parametrize("size", [1000, 5 * CHUNK + 7], ids=["in-buffer", "writer-started"])
def test_an_unclosed_write_is_published_when_collected_in_the_server_thread(
    fs, collect_in_server, size
) -> None:
    """All of the file's bytes still in its buffer, or full chunks already sent by its parallel writer (which
    the collector must not tear down: its thread pool's workers quit when its weak reference is cleared)."""
    path = f"{HOME}/unclosed.bin"
    data = os.urandom(size)
    gc.collect()
    gc.disable()
    try:
        f = fs.open(path, "wb", block_size=CHUNK)
        f.write(data)
        if f._writer is not None:
            f._writer._drain()  # its chunks answered: nothing in flight refers to the writer but the file
        f.cycle = f  # only the cyclic collector can free it
        del f
        ran = collect_in_server()
        with pytest.warns(ResourceWarning, match="unclosed file"):
            fs.ls(HOME)  # a GenQuery: the collection runs in the server thread
    finally:
        gc.enable()
    assert ran.is_set()
    assert wait_for_deferred(60)  # the deferred publish: a few requests on a starved host
    assert sha(fs.cat(path)) == sha(data)


def test_buffered_bytes_the_collector_closed_first_publish_nothing(fs, collect_in_server) -> None:
    """The collector finalizes every io object of the garbage, the file's buffer too, in no set order: when
    the buffer went first, the bytes not yet sent are lost, so the writer is aborted (its temporary removed)
    rather than a truncated object published."""
    path = f"{HOME}/lost-tail.bin"
    gc.collect()
    gc.disable()
    try:
        f = fs.open(path, "wb", block_size=CHUNK)
        f.write(os.urandom(3 * CHUNK + 7))  # full chunks already went to the writer's temporary
        f.buffer.close()  # as the collector does to the buffer when it comes first
        f.cycle = f
        del f
        ran = collect_in_server()
        with pytest.warns(ResourceWarning, match="unclosed file"):
            fs.ls(HOME)
    finally:
        gc.enable()
    assert ran.is_set()
    assert wait_for_deferred(60)
    assert not fs.exists(path)
    assert [e.name for e in fs.session.collections.iterate(HOME, include_temporaries=True)] == []


def recording_writes(monkeypatch, fs: IrodsFileSystem) -> list[str]:
    """The names of the threads that send ``data_objects.write`` requests, in order."""
    threads: list[str] = []
    api = type(fs.session.data_objects)
    original = api.write

    def write(self: Any, *args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread().name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(api, "write", write)
    return threads


def test_an_unclosed_write_dropped_in_an_event_loop_is_published_by_the_cleanup_thread(
    fs, monkeypatch
) -> None:
    """A file dropped in a coroutine (a triggerer's loop): its publish would block every task of the loop."""
    path = f"{HOME}/from-a-loop.bin"
    data = os.urandom(1000)
    threads = recording_writes(monkeypatch, fs)

    async def drop() -> None:
        f = fs.open(path, "wb")
        f.write(data)
        with pytest.warns(ResourceWarning, match="unclosed file"):
            del f

    asyncio.run(drop())
    assert wait_for_deferred(60)
    assert threads == ["irods-provider-cleanup"]
    assert sha(fs.cat(path)) == sha(data)


def test_an_unclosed_write_dropped_in_a_plain_thread_is_published_at_once(fs, monkeypatch) -> None:
    """Outside a collection and an event loop, the file is closed where it is dropped, as fsspec does:
    its bytes are there for the next line (and a ResourceWarning says it was left unclosed)."""
    path = f"{HOME}/dropped.bin"
    data = os.urandom(1000)
    threads = recording_writes(monkeypatch, fs)
    f = fs.open(path, "wb")
    f.write(data)
    with pytest.warns(ResourceWarning, match="unclosed file"):
        del f
    assert threads == [threading.current_thread().name]
    assert sha(fs.cat(path)) == sha(data)
