"""Uploads onto a storage resource whose vault fills up mid-write (the emulator's ``set_vault_free``: the
unixfilesystem plugin's ``UNIX_FILE_WRITE_ERR - errno``, irods 4.3.4
plugins/resources/unixfilesystem/src/unixfilesystem.cpp:768-777). The HTTP API 0.7.0 acknowledges the
write that failed when it was its request's last and refuses the stream's next one (data_objects
main.cpp:447-493, :1196-1211): nothing reaches the final path, the error names the cause when the server
tells it, and the resume record claims no byte the vault did not take, so the next attempt, once space is
freed, publishes the right bytes."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator

import pytest

from irods_provider.client.transfer import RESUME_ATTRIBUTE, TransferConfig, parallel_upload, upload_files
from irods_provider.exceptions import IrodsResponseError
from irods_provider.testing import EmulatorServer

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"
CHUNK = 64 * 1024
CFG = TransferConfig(streams=2, chunk_size=CHUNK, small_file_threshold=CHUNK, backoff_base_seconds=0.0)


@pytest.fixture
def vault(irods_emulator: EmulatorServer) -> Iterator[EmulatorServer]:
    yield irods_emulator
    irods_emulator.set_vault_free("demoResc", None)


def test_a_full_vault_is_named_by_its_errno_and_nothing_is_published(session, vault) -> None:
    """A server built to expose the library's codes (iRODS >= 5.1) tells UNIX_FILE_WRITE_ERR - ENOSPC
    (-513028): the error says ENOSPC, not an unknown code."""
    vault.set_limits(dstream_exposes_irods_error_codes=True)
    vault.set_vault_free("demoResc", 100 * 1024)
    with pytest.raises(IrodsResponseError) as caught:
        parallel_upload(session, io.BytesIO(os.urandom(400 * 1024)), f"{HOME}/full.bin", config=CFG)
    assert caught.value.irods_name == "UNIX_FILE_WRITE_ERR"
    assert caught.value.errno_name == "ENOSPC"
    assert "UNIX_FILE_WRITE_ERR -513028 (ENOSPC" in str(caught.value)
    assert ".full.bin.irods-part-" in str(caught.value.path)
    assert not session.data_objects.exists(f"{HOME}/full.bin")


def _temporaries(server: EmulatorServer, parent: str) -> list[str]:
    with server.model.lock:
        return [p for p in server.model.data_objects if p.startswith(f"{parent}/.") and "irods-part" in p]


def _recorded(server: EmulatorServer, temp: str) -> int:
    with server.model.lock:
        values = [a.value for a in server.model.data_objects[temp].avus if a.attribute == RESUME_ATTRIBUTE]
    return json.loads(values[0])["committed"] if values else 0


@pytest.mark.parametrize("exposed", [False, True])
def test_the_resume_record_claims_no_write_the_full_vault_dropped(
    session, vault, tmp_path, exposed: bool
) -> None:
    """100 KiB free, a 300 KiB file over two streams: a write is cut short and acknowledged, whichever
    stream's it is; the recorded prefix is bytes the temporary really holds, and the next attempt (space
    freed) publishes the file at its first try."""
    vault.set_limits(dstream_exposes_irods_error_codes=exposed)
    source = tmp_path / "src"
    source.mkdir()
    data = os.urandom(300 * 1024)
    (source / "a.bin").write_bytes(data)
    vault.set_vault_free("demoResc", 100 * 1024)
    first = upload_files(session, str(source), f"{HOME}/up", config=CFG, continue_on_error=True)
    assert [f.status.value for f in first.files] == ["failed"]
    assert not session.data_objects.exists(f"{HOME}/up/a.bin")
    (temp,) = _temporaries(vault, f"{HOME}/up")
    committed = _recorded(vault, temp)
    held = session.data_objects.read(temp)
    assert held[:committed] == data[:committed], (
        f"the record claims {committed} bytes, the vault holds {len(held)}"
    )
    vault.set_vault_free("demoResc", None)
    again = upload_files(session, str(source), f"{HOME}/up", config=CFG)
    assert [f.status.value for f in again.files] == ["transferred"]
    assert session.data_objects.read(f"{HOME}/up/a.bin") == data
    assert _temporaries(vault, f"{HOME}/up") == []
