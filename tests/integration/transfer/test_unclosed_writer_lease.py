"""An atomic writer dropped before it finished (never closed, or closed but never published) stops renewing
its lease when it is garbage collected, warns naming the path, publishes nothing and leaves its temporary
for the next writer, which takes it over once the lease lapsed. Before, its renewal thread renewed the lease
until the process exited, keeping every later writer off the shared temporary. The renewal's end is
observed as its thread ending (joined, bounded), never by the clock."""

from __future__ import annotations

import gc
import hashlib
import logging
import random
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from irods_provider.client._temporaries import LEASE_ATTRIBUTE
from irods_provider.client.transfer import TransferConfig, open_writer

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from claim_lease import lapse

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"
CHUNK = 64 * 1024
CFG = TransferConfig(streams=2, chunk_size=CHUNK, small_file_threshold=CHUNK, backoff_base_seconds=0.0)
DATA = random.Random(20).randbytes(3 * CHUNK)  # whole chunks: sent by write(), a handle and a lease


def _lease_thread(temp: str) -> threading.Thread:
    found = [t for t in threading.enumerate() if t.name == f"irods-claim-lease {temp}"]
    assert len(found) == 1, [t.name for t in threading.enumerate()]
    return found[0]


def _drop_unfinished(session, target: str, *, close: bool) -> tuple[str, threading.Thread]:
    """Write ``DATA`` through an atomic writer (every chunk sent: the pool is shut down), maybe close it
    without publishing, and drop it: its temporary and its lease's renewal thread."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        writer = open_writer(session, target, config=CFG, executor=pool, publish=not close)
        writer.write(DATA)
    if close:
        writer.close()
    temp = writer.path
    renewing = _lease_thread(temp)
    assert renewing.is_alive()
    del writer
    gc.collect()
    renewing.join(30)  # a bound, not a pace: the collected writer's finalizer stops the renewal at once
    return temp, renewing


@pytest.mark.parametrize("close", [False, True], ids=["never-closed", "closed-unpublished"])
def test_a_dropped_writer_stops_renewing_and_publishes_nothing(session, caplog, close: bool) -> None:
    target = f"{HOME}/dropped-{close}.bin"
    with caplog.at_level(logging.WARNING):
        temp, renewing = _drop_unfinished(session, target, close=close)
    assert not renewing.is_alive()
    assert not session.data_objects.exists(target)
    assert session.data_objects.exists(temp)  # left for the next writer's recovery
    assert [a.attribute for a in session.metadata.list(temp)].count(LEASE_ATTRIBUTE) == 1
    said = "closed but never published" if close else "never closed"
    assert any(target in m and temp in m and said in m for m in caplog.messages), caplog.messages


def test_the_next_writer_takes_the_dropped_writers_temporary_over_once_its_lease_lapsed(session) -> None:
    target = f"{HOME}/dropped-then-written.bin"
    temp, renewing = _drop_unfinished(session, target, close=False)
    assert not renewing.is_alive()
    lapse(session, temp)  # as a lease ago: no renewal can undo it now
    fresh = random.Random(21).randbytes(2 * CHUNK + 5)
    with open_writer(session, target, config=CFG) as writer:
        assert writer.path == temp  # taken over, not written around
        writer.write(fresh)
    assert hashlib.sha256(session.data_objects.read(target)).digest() == hashlib.sha256(fresh).digest()
    assert not session.data_objects.exists(temp)
