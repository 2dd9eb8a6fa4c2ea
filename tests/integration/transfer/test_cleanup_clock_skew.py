"""Removing abandoned temporaries when the server's clock is off this machine's (no NTP on one of them).

A temporary's age is its mtime, which the server stamps with its own clock (``time(NULL)``: irods 4.3.4
lib/core/src/rcMisc.cpp:1876-1882); measured against the client's clock, a server ten minutes behind made a
temporary being written *now* look ten minutes old, and a sweep with ``min_age`` five minutes shut its
writer's handles and removed it under a running upload. The sweep now reads the server's clock (a touch of
``<home>/.irods_provider/clock``, plugins/api/src/touch.cpp:255-271) and measures ages on it.
"""

from __future__ import annotations

import os
import threading
import time

from irods_provider.client import EntryKind
from irods_provider.client.transfer import TransferConfig, upload_object
from irods_provider.client.transfer._resume import HANDLE_ATTRIBUTE, temp_name

HOME = "/tempZone/home/rods"
BASE = f"{HOME}/skew"
CHUNK = 64 * 1024
CFG = TransferConfig(streams=2, chunk_size=CHUNK, small_file_threshold=CHUNK, backoff_base_seconds=0.0)
WAIT = 60  # a bound on every wait below, never reached unless the test fails


def _in_flight_upload(session, source: str, path: str) -> tuple[threading.Thread, threading.Event, dict]:
    """An upload of ``source`` held after its second chunk (its temporary written and its handle recorded)
    until the returned event is set; what it returned or raised lands in the dict."""
    reached, go, outcome = threading.Event(), threading.Event(), {}
    chunks = 0

    def on_chunk(_: int) -> None:
        nonlocal chunks
        chunks += 1
        if chunks == 2:
            reached.set()
            assert go.wait(WAIT)

    def run() -> None:
        try:
            outcome["result"] = upload_object(session, source, path, config=CFG, on_chunk=on_chunk)
        except Exception as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="in-flight-upload", daemon=True)
    thread.start()
    assert reached.wait(WAIT), outcome
    return thread, go, outcome


def test_a_server_clock_behind_never_ages_an_upload_in_flight(irods_emulator, session, tmp_path) -> None:
    session.collections.create(BASE)
    data = os.urandom(6 * CHUNK + 7)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    irods_emulator.set_limits(clock_offset_seconds=-600.0)  # the server's clock ten minutes behind
    thread, go, outcome = _in_flight_upload(session, str(source), f"{BASE}/big.bin")
    try:
        [temp] = [e.path for e in session.collections.iterate(BASE, include_temporaries=True)]
        assert HANDLE_ATTRIBUTE in [
            a.attribute for a in session.metadata.list(temp, kind=EntryKind.DATA_OBJECT)
        ]

        swept = session.collections.remove_temporaries(BASE, min_age=300)

        assert (swept.removed, swept.fresh) == ([], 1)
        assert session.data_objects.exists(temp)
    finally:
        go.set()
        thread.join(WAIT)
    assert "error" not in outcome, outcome
    assert session.data_objects.read(f"{BASE}/big.bin") == data


def test_a_server_clock_ahead_still_ages_an_abandoned_temporary(irods_emulator, session) -> None:
    # Abandoned 400 s ago by the server's clock, which runs ten minutes ahead: by the client's clock its
    # mtime is 200 s in the future, so it never looked old enough to go.
    session.collections.create(BASE)
    temp = temp_name(f"{BASE}/gone.bin", "ab0000000000a001")
    session.data_objects.write(temp, b"a prefix")
    irods_emulator.set_limits(clock_offset_seconds=600.0)
    session.data_objects.touch(temp, no_create=True, seconds_since_epoch=int(time.time()) + 600 - 400)

    swept = session.collections.remove_temporaries(BASE, min_age=300)

    assert ([t.path for t in swept.removed], swept.fresh) == ([temp], 0)
    assert not session.data_objects.exists(temp)
