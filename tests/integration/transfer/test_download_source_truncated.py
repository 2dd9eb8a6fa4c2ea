"""A data object rewritten shorter while it is downloaded: the reads past its new end are refused with a
bare 500 (irods_client_http_api 0.7.0 endpoints/data_objects/src/main.cpp:762-789: ``count`` becomes
``data_object_size - offset``, negative past the end, and the buffer of that size throws, answered 500 at
:1013-1016), which says nothing of why. The download is refused as a source that changed, naming the object
and its sizes, and leaves nothing in the target directory."""

from __future__ import annotations

import os
import threading

import pytest

from irods_provider.client.transfer import TransferConfig, TransferSubscriber, download_object
from irods_provider.exceptions import IrodsSourceChangedError

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"
CHUNK = 64 * 1024
CFG = TransferConfig(streams=2, chunk_size=CHUNK, small_file_threshold=CHUNK, backoff_base_seconds=0.0)
WAIT = 20.0  # seconds the first read may take (a failure, not a pace)


class _PauseAtFirstBytes(TransferSubscriber):
    """Holds the first progress report (one read answered) until the test changed the source."""

    def __init__(self) -> None:
        self.reached, self.go = threading.Event(), threading.Event()

    def on_progress(self, **kwargs: object) -> None:
        if not self.reached.is_set():
            self.reached.set()
            self.go.wait(WAIT)


def test_a_source_rewritten_shorter_mid_download_is_a_changed_source(session, tmp_path) -> None:
    size = 64 * CHUNK  # more reads than the read-ahead window: most are sent after the rewrite
    session.data_objects.write(f"{HOME}/big", os.urandom(size))
    pause = _PauseAtFirstBytes()
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            download_object(session, f"{HOME}/big", tmp_path / "big", config=CFG, subscribers=[pause])
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert pause.reached.wait(WAIT)
        session.data_objects.write(f"{HOME}/big", b"short")
    finally:
        pause.go.set()
        thread.join(WAIT)
    (error,) = outcome
    assert isinstance(error, IrodsSourceChangedError), repr(error)
    assert error.path == f"{HOME}/big"
    assert f"size {size} -> 5" in str(error)
    assert os.listdir(tmp_path) == []
