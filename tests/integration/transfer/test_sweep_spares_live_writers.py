"""A sweep of abandoned temporaries never takes one from a writer still at work, however old its mtime.

A temporary's mtime only moves when a write handle on it closes (the catalog stamps a replica as its writer
closes it: irods 4.3.4 plugins/api/src/replica_close.cpp:246-253; parallel writes go to the open replica),
so a temporary an upload resumes two days after its first attempt, or writes for longer than the sweep's
``min_age``, looks abandoned for the whole upload. A live writer renews a lease on its temporary (the
engine's uploads, as ``open_writer`` already did), and the sweep leaves a temporary whose lease has not
lapsed alone (counted ``fresh``), as it leaves a live overwrite's backup.
"""

from __future__ import annotations

import io
import os
import threading
import time

import pytest

from irods_provider.client import EntryKind
from irods_provider.client._temporaries import LEASE_ATTRIBUTE, WRITER_ATTRIBUTE
from irods_provider.client.transfer import TransferConfig, open_writer, upload_object
from irods_provider.client.transfer._resume import RESUME_ATTRIBUTE, temp_name
from irods_provider.exceptions import IrodsConnectionError

HOME = "/tempZone/home/rods"
BASE = f"{HOME}/sweep"
CHUNK = 64 * 1024
CFG = TransferConfig(
    streams=2,
    chunk_size=CHUNK,
    small_file_threshold=CHUNK,
    backoff_base_seconds=0.0,
    resume_checkpoint_bytes=CHUNK,
)
DATA = os.urandom(8 * CHUNK + 5)
DAY = 24 * 3600
WAIT = 60  # a bound on every wait below, never reached unless the test fails


class _Breaks(io.RawIOBase):
    """The source of a first attempt that fails after ``fail_at`` bytes (a resumable temporary is kept)."""

    def __init__(self, fail_at: int) -> None:
        self.buf, self.fail_at = io.BytesIO(DATA), fail_at

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if self.buf.tell() >= self.fail_at:
            raise IrodsConnectionError("injected reset")
        return self.buf.read(n)


def _backdate(irods, path: str, seconds: float) -> None:
    """Make ``path``'s replicas ``seconds`` old (a locked object cannot be touched through the API)."""
    with irods.model.lock:
        for replica in irods.model.data_objects[path].replicas:
            replica.modify_time = int(time.time() - seconds)


def test_a_resumed_upload_of_an_old_temporary_is_not_swept_under_it(irods_emulator, session) -> None:
    session.collections.create(BASE)
    path, key = f"{BASE}/big.bin", "ab0000000000b001"
    with pytest.raises(IrodsConnectionError):
        upload_object(session, _Breaks(3 * CHUNK), path, config=CFG, resume_key=key, size=len(DATA))
    temp = temp_name(path, key)
    assert RESUME_ATTRIBUTE in [a.attribute for a in session.metadata.list(temp, kind=EntryKind.DATA_OBJECT)]
    _backdate(irods_emulator, temp, 3 * DAY)  # the task is cleared and rerun after a long weekend

    reached, go, outcome = threading.Event(), threading.Event(), {}

    def hold(_: int) -> None:
        if not reached.is_set():
            reached.set()
            assert go.wait(WAIT)

    def retry() -> None:
        try:
            outcome["result"] = upload_object(
                session, io.BytesIO(DATA), path, config=CFG, resume_key=key, size=len(DATA), on_chunk=hold
            )
        except Exception as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=retry, name="resumed-upload", daemon=True)
    thread.start()
    try:
        assert reached.wait(WAIT), outcome
        swept = session.collections.remove_temporaries(BASE, min_age=DAY)  # the daily sweep's default
        assert (swept.removed, swept.fresh) == ([], 1)
    finally:
        go.set()
        thread.join(WAIT)
    assert "error" not in outcome, outcome
    assert outcome["result"].resumed_from > 0
    assert session.data_objects.read(path) == DATA
    left = {a.attribute for a in session.metadata.list(path, kind=EntryKind.DATA_OBJECT)}
    assert not left & {WRITER_ATTRIBUTE, LEASE_ATTRIBUTE, RESUME_ATTRIBUTE}, left


def test_an_open_writer_writing_longer_than_min_age_is_not_swept(irods_emulator, session) -> None:
    session.collections.create(BASE)
    path = f"{BASE}/stream.bin"
    with open_writer(session, path, config=CFG, size=len(DATA)) as writer:
        writer.write(DATA[: 4 * CHUNK])
        [temp] = [e.path for e in session.collections.iterate(BASE, include_temporaries=True)]
        _backdate(irods_emulator, temp, 2 * 3600)  # written for two hours so far

        swept = session.collections.remove_temporaries(BASE, min_age=3600)

        assert (swept.removed, swept.fresh) == ([], 1)
        writer.write(DATA[4 * CHUNK :])
    assert session.data_objects.read(path) == DATA
