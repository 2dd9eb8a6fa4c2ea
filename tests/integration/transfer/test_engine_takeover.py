"""An upload whose temporary another attempt of the same transfer took over fails typed and leaves it be.

The engine names an upload's temporary by the transfer (source identity and destination), so its next
attempt finds it and takes it over at once: shuts the handles recorded on it down and forgets them
(``_resume.release_handles``). When the first attempt is still running (an Airflow task declared a zombie
and retried elsewhere, or the same file mapped twice), its next write through its shut handle is refused
with HTTP 400 (a handle the server no longer knows: endpoints/data_objects/src/main.cpp:1081-1085 at HTTP
API 0.7.0). It raised that bare ``IrodsBadRequestError`` and then recorded its own resume state on the
temporary the other attempt now writes (a stale record the publish could carry onto the final object).
"""

from __future__ import annotations

import io
import os

import pytest

from irods_provider.client import EntryKind
from irods_provider.client.transfer import TransferConfig, _resume, upload_object
from irods_provider.exceptions import IrodsTemporaryTakenOverError

HOME = "/tempZone/home/rods"
CHUNK = 64 * 1024
# No checkpoints while writing: whatever the temporary carries after the takeover is the failure's doing.
CFG = TransferConfig(
    streams=2,
    chunk_size=CHUNK,
    small_file_threshold=CHUNK,
    backoff_base_seconds=0.0,
    resume_checkpoint_bytes=1 << 40,
)
DATA = os.urandom(8 * CHUNK + 3)
KEY = "7a0000000000c001"


def _avus(session, path: str) -> list[tuple[str, str]]:
    return sorted((a.attribute, a.value) for a in session.metadata.list(path, kind=EntryKind.DATA_OBJECT))


def test_an_attempt_taken_over_mid_write_fails_typed_and_records_nothing(irods_emulator, session) -> None:
    path = f"{HOME}/taken.bin"
    temp = _resume.temp_name(path, KEY)
    after_takeover: list[list[tuple[str, str]]] = []

    def take_over(count: int) -> None:
        if count == 2 * CHUNK:  # the handle is open and recorded: another attempt of this transfer arrives
            record = _resume.inspect(session, temp)
            assert record.handles
            _resume.release_handles(session, temp, record.handles, lease=record.lease)
            after_takeover.append(_avus(session, temp))

    with pytest.raises(IrodsTemporaryTakenOverError) as failed:
        upload_object(
            session, io.BytesIO(DATA), path, config=CFG, resume_key=KEY, size=len(DATA), on_chunk=take_over
        )

    assert failed.value.path == path
    assert "took over its temporary object" in str(failed.value)
    assert session.data_objects.exists(temp)  # the taker's now: neither removed nor written on
    assert _avus(session, temp) == after_takeover[0]
    assert not session.data_objects.exists(path)
