"""Every failure of a download to a local path after its hidden temporary ``.<name>.irods-part-<hex>`` was
created removes it: the removal is registered with the transfer's coordinator where the temporary is created
and run once on failure (cancel mid-file, HTTP 500s from the emulator mid-file, a destination that appears
during the copy under REFUSE), while a success leaves only the final file."""

from __future__ import annotations

import hashlib
import os
import sys
import threading
from pathlib import Path

import pytest

from irods_provider.client.transfer import (
    OverwritePolicy,
    TransferConfig,
    download_object,
    parallel_download,
)
from irods_provider.exceptions import (
    IrodsAlreadyExistsError,
    IrodsResponseError,
    IrodsTransferCancelledError,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from first_progress import AfterFirstChunk

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"
CHUNK = 64 * 1024
CFG = TransferConfig(streams=2, chunk_size=CHUNK, retries=0, backoff_base_seconds=0.0)
DATA = os.urandom(24 * CHUNK + 5)


def _parts(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if ".irods-part-" in p.name)


def _created_temporaries(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the temporaries the engine creates (so a test can show one existed before the failure)."""
    from irods_provider.client.transfer._localdir import TargetDir

    created: list[str] = []
    real = TargetDir.create_temp

    def spy(self: TargetDir) -> tuple[str, int, int]:
        made = real(self)
        created.append(made[0])
        return made

    monkeypatch.setattr(TargetDir, "create_temp", spy)
    return created


@pytest.fixture
def source(session) -> str:
    path = f"{HOME}/clean.bin"
    session.data_objects.write(path, DATA)
    return path


def test_a_cancelled_download_leaves_no_temporary(session, source, tmp_path, monkeypatch) -> None:
    created = _created_temporaries(monkeypatch)
    cancel = threading.Event()
    with pytest.raises(IrodsTransferCancelledError):
        download_object(
            session,
            source,
            tmp_path / "clean.bin",
            config=CFG,
            cancel_event=cancel,
            subscribers=[AfterFirstChunk(cancel.set)],
        )
    assert len(created) == 1
    assert created[0].startswith(".clean.bin.irods-part-")
    assert _parts(tmp_path) == []
    assert not (tmp_path / "clean.bin").exists()


def test_server_errors_mid_file_leave_no_temporary(
    session, source, tmp_path, monkeypatch, irods_emulator
) -> None:
    created = _created_temporaries(monkeypatch)
    try:
        with pytest.raises(IrodsResponseError) as caught:
            download_object(
                session,
                source,
                tmp_path / "clean.bin",
                config=CFG,
                subscribers=[AfterFirstChunk(lambda: irods_emulator.set_faults(error_500=1.0))],
            )
    finally:
        irods_emulator.set_faults(error_500=0.0)
    assert caught.value.http_status == 500
    assert irods_emulator.injected_faults().get("error_500", 0) >= 1
    assert len(created) == 1
    assert _parts(tmp_path) == []
    assert not (tmp_path / "clean.bin").exists()


def test_a_destination_that_appears_under_refuse_keeps_it_and_removes_the_temporary(
    session, source, tmp_path, monkeypatch
) -> None:
    """The publish step fails after the temporary holds every verified byte: it is removed all the same."""
    created = _created_temporaries(monkeypatch)
    final = tmp_path / "clean.bin"
    with pytest.raises(IrodsAlreadyExistsError) as caught:
        download_object(
            session,
            source,
            final,
            config=CFG,
            overwrite=OverwritePolicy.REFUSE,
            subscribers=[AfterFirstChunk(lambda: final.write_bytes(b"someone else's"))],
        )
    assert caught.value.path == str(final)
    assert len(created) == 1
    assert _parts(tmp_path) == []
    assert final.read_bytes() == b"someone else's"


def test_a_success_leaves_only_the_final_file(session, source, tmp_path) -> None:
    result = download_object(session, source, tmp_path / "clean.bin", config=CFG)
    assert result.size == len(DATA)
    assert hashlib.sha256((tmp_path / "clean.bin").read_bytes()).digest() == hashlib.sha256(DATA).digest()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean.bin"]


def test_parallel_download_removes_the_file_it_created_exclusively_when_it_fails(
    session, source, tmp_path
) -> None:
    cancel = threading.Event()
    target = tmp_path / ".clean.bin.irods-part-0123456789ab"
    with pytest.raises(IrodsTransferCancelledError):
        parallel_download(
            session,
            source,
            target,
            config=CFG,
            exclusive=True,
            cancel_event=cancel,
            subscribers=[AfterFirstChunk(cancel.set)],
        )
    assert list(tmp_path.iterdir()) == []


def test_parallel_download_keeps_a_file_it_did_not_create_exclusively(session, source, tmp_path) -> None:
    """Without ``exclusive`` the caller owns the file: a failed download leaves it (as before)."""
    cancel = threading.Event()
    target = tmp_path / "mine.bin"
    with pytest.raises(IrodsTransferCancelledError):
        parallel_download(
            session,
            source,
            target,
            config=CFG,
            cancel_event=cancel,
            subscribers=[AfterFirstChunk(cancel.set)],
        )
    assert target.exists()
