"""What a worker killed with ``kill -9`` leaves must never be visible at a final path and must not outlive
the next attempt: streaming writers publish through a recorded temporary, resumable uploads checkpoint
their prefix, downloads sweep their hidden partial siblings. (The seeded kill harness is
tests/chaos/_crash_harness.py; these pin each mechanism down on its own.)"""

from __future__ import annotations

import io
import os
import threading
from dataclasses import replace

import pytest

from irods_provider.client import AVU, EntryKind
from irods_provider.client._paths import is_temporary_name
from irods_provider.client.transfer import (
    OverwritePolicy,
    TransferConfig,
    _resume,
    download_object,
    open_writer,
    parallel_upload,
    upload_object,
)
from irods_provider.client.transfer._coordinator import TransferCoordinator
from irods_provider.client.transfer._resume import (
    HANDLE_ATTRIBUTE,
    RESUME_ATTRIBUTE,
    ResumeState,
    resume_key,
    temp_name,
)
from irods_provider.exceptions import IrodsConnectionError

HOME = "/tempZone/home/rods"
CHUNK = 64 * 1024
CFG = TransferConfig(streams=3, chunk_size=CHUNK, small_file_threshold=CHUNK, backoff_base_seconds=0.0)
DATA = (bytes(range(251)) * 2000)[: 4 * CHUNK + 11]


def _names(irods_emulator, parent: str) -> list[str]:
    with irods_emulator.model.lock:
        return sorted(
            p.rsplit("/", 1)[1] for p in irods_emulator.model.data_objects if p.rsplit("/", 1)[0] == parent
        )


def _spy_writes(session, seen: list[tuple[str, bool]], final: str):
    """Record, for each write request, where it went and whether ``final`` existed at that moment."""
    api = session.data_objects
    original = api.write

    def spy(p, data, **kwargs):
        seen.append((p, session.data_objects.exists(final)))
        return original(p, data, **kwargs)

    api.write = spy


def test_parallel_upload_writes_a_temporary_and_publishes_it_whole(session, irods_emulator):
    parent = f"{HOME}/pu"
    session.collections.create(parent)
    path = f"{parent}/data.bin"
    seen: list[tuple[str, bool]] = []
    _spy_writes(session, seen, path)
    try:
        result = parallel_upload(session, io.BytesIO(DATA), path, config=CFG, size=len(DATA))
    finally:
        del session.data_objects.write
    assert len(seen) == 5
    assert all(is_temporary_name(p.rsplit("/", 1)[1]) and not exists for p, exists in seen), seen
    assert session.data_objects.read(path) == DATA
    assert result.size == len(DATA)
    assert _names(irods_emulator, parent) == ["data.bin"]
    assert session.metadata.list(path, kind=EntryKind.DATA_OBJECT) == []


def test_parallel_upload_retry_shuts_down_a_killed_attempts_recorded_handle(session, irods_emulator):
    parent = f"{HOME}/pu-killed"
    session.collections.create(parent)
    path = f"{parent}/data.bin"
    temp = temp_name(path, resume_key("atomic-writer", path))
    handle = session.data_objects.parallel_write_init(temp, stream_count=2)
    session.data_objects.write(
        temp, DATA[:CHUNK], offset=0, truncate=False, parallel_write_handle=handle, stream_index=0
    )
    session.metadata.add(temp, AVU(HANDLE_ATTRIBUTE, handle), kind=EntryKind.DATA_OBJECT)
    assert irods_emulator.open_parallel_write_handles() == 1

    parallel_upload(session, io.BytesIO(DATA), path, config=CFG, size=len(DATA))

    assert session.data_objects.read(path) == DATA
    assert _names(irods_emulator, parent) == ["data.bin"]
    assert irods_emulator.open_parallel_write_handles() == 0


def test_open_writer_keeps_the_old_object_until_close(session, irods_emulator):
    parent = f"{HOME}/ow"
    session.collections.create(parent)
    path = f"{parent}/data.bin"
    session.data_objects.write(path, b"old content")
    with open_writer(session, path, config=CFG, size=len(DATA)) as writer:
        for i in range(0, len(DATA), 10_000):
            writer.write(DATA[i : i + 10_000])
            assert session.data_objects.read(path) == b"old content"
    assert session.data_objects.read(path) == DATA
    assert _names(irods_emulator, parent) == ["data.bin"]
    assert irods_emulator.open_parallel_write_handles() == 0


def test_resumable_upload_checkpoints_its_committed_prefix_while_running(
    session, irods_emulator, tmp_path, monkeypatch
):
    local = tmp_path / "data.bin"
    local.write_bytes(DATA)
    path = f"{HOME}/checkpointed.bin"
    st = os.stat(local)
    temp = temp_name(path, resume_key(str(local), st.st_size, st.st_mtime_ns, path))
    committed: list[int] = []
    written = threading.Event()
    save_state = _resume.save_state

    def saved(*args, **kwargs) -> None:
        save_state(*args, **kwargs)
        written.set()

    monkeypatch.setattr(_resume, "save_state", saved)

    def look(total: int) -> None:
        if total == len(DATA):
            # The checkpoints were asked for by now (the prefix passed CHUNK two chunks ago), but a helper
            # thread writes them beside the upload (bff7bf4): wait for the first one, bounded, or a starved
            # helper loses the race with the upload's end (seen at load 20: no record seen while it ran).
            assert written.wait(60), "no checkpoint was written while the upload ran"
        with irods_emulator.model.lock:
            obj = irods_emulator.model.data_objects.get(temp)
            values = [a.value for a in obj.avus if a.attribute == RESUME_ATTRIBUTE] if obj else []
        committed.extend(s.committed for v in values if (s := ResumeState.from_value(v)) is not None)

    # One chunk in flight: when the next one is queued the previous one is acknowledged, so the committed
    # prefix grows at every chunk and the checkpoints are deterministic.
    config = TransferConfig(
        streams=1, queue_depth=1, chunk_size=CHUNK, small_file_threshold=CHUNK, resume_checkpoint_bytes=CHUNK
    )
    upload_object(session, str(local), path, config=config, on_chunk=look)
    assert committed, "no checkpoint was recorded while the upload ran"
    assert all(c % CHUNK == 0 and 0 < c < len(DATA) for c in committed), committed
    assert session.data_objects.read(path) == DATA
    assert session.metadata.list(path, kind=EntryKind.DATA_OBJECT) == []


def test_download_removes_partial_siblings_left_by_killed_attempts(session, tmp_path):
    session.data_objects.write(f"{HOME}/down.bin", DATA[:CHUNK])
    out = tmp_path / "out"
    out.mkdir()
    stale = out / ".data.bin.irods-part-0123456789ab"
    stale.write_bytes(b"partial")
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"keep me")
    planted = out / ".data.bin.irods-part-feedfeedfeed"
    planted.symlink_to(outside)
    other = out / ".other.bin.irods-part-0123456789ab"
    other.write_bytes(b"another file's partial")

    download_object(session, f"{HOME}/down.bin", out / "data.bin", overwrite=OverwritePolicy.OVERWRITE)

    assert (out / "data.bin").read_bytes() == DATA[:CHUNK]
    assert not stale.exists()
    assert planted.is_symlink()  # never followed nor removed: not a partial file of ours
    assert outside.read_bytes() == b"keep me"
    assert other.read_bytes() == b"another file's partial"


def _published_finish(session, path: str) -> tuple[list[tuple[str, str]], list[str]]:
    avus = session.metadata.list(path, kind=EntryKind.DATA_OBJECT)
    grants = session.data_objects.stat(path).permissions
    return sorted((a.attribute, a.value) for a in avus), sorted(f"{p.name}:{p.perm}" for p in grants)


@pytest.mark.parametrize("size", [10, 4 * CHUNK + 11], ids=["one-request", "parallel"])
def test_a_retry_never_publishes_the_avus_or_grants_of_a_killed_attempt(
    session, irods_emulator, tmp_path, monkeypatch, size
):
    """A worker killed between finishing its temporary (AVUs added, access granted) and the rename leaves it
    behind; the retry, asked for other AVUs and no grant, publishes only its own (the killed attempt's
    temporary is not the one it writes), and a retry asked for the same reuses it: nothing left over."""
    local = tmp_path / "src.bin"
    local.write_bytes(DATA[:size])
    parent = f"{HOME}/finish-{size}"
    session.collections.create(parent)
    path = f"{parent}/data.bin"

    def killed_before_rename(metadata, permissions=None) -> None:
        with monkeypatch.context() as patch:  # kill -9: the rename never happens, no cleanup runs
            patch.setattr(TransferCoordinator, "run_failure_cleanups", lambda self, exc: None)
            patch.setattr(session.data_objects, "rename", _raise(_Killed))
            with pytest.raises(_Killed):
                upload_object(
                    session, str(local), path, config=CFG, metadata=metadata, permissions=permissions
                )

    killed_before_rename({"run": "try-1"}, {"public": "read"})
    upload_object(session, str(local), path, config=CFG, metadata={"run": "try-2"})
    assert _published_finish(session, path) == ([("run", "try-2")], ["rods:own"])
    assert session.data_objects.read(path) == DATA[:size]

    session.data_objects.remove(path, no_trash=True)
    for name in _names(irods_emulator, parent):  # the first attempt's: a cleanup operator's to sweep
        session.data_objects.remove(f"{parent}/{name}", no_trash=True)
    killed_before_rename({"run": "same"})
    upload_object(session, str(local), path, config=CFG, metadata={"run": "same"})
    assert _published_finish(session, path) == ([("run", "same")], ["rods:own"])
    assert _names(irods_emulator, parent) == ["data.bin"]


@pytest.mark.parametrize("size", [10, 4 * CHUNK + 11], ids=["one-request", "parallel"])
def test_a_finished_temporary_is_removed_when_its_rename_fails(session, irods_emulator, tmp_path, size):
    """Once finished (AVUs set, resume record dropped) a temporary can only be written afresh by a retry:
    a rename that fails for good removes it instead of leaving it, with its AVUs, behind."""
    local = tmp_path / "src.bin"
    local.write_bytes(DATA[:size])
    parent = f"{HOME}/unrenamed-{size}"
    session.collections.create(parent)
    session.data_objects.rename = _raise(IrodsConnectionError("injected reset", operation="rename"))
    with pytest.raises(IrodsConnectionError):
        upload_object(
            session, str(local), f"{parent}/data.bin", config=replace(CFG, retries=0), metadata={"run": "1"}
        )
    assert _names(irods_emulator, parent) == []


class _Killed(BaseException):
    """Stands for the worker's death at that point."""


def _raise(error):
    def fail(*args, **kwargs):
        raise error if isinstance(error, BaseException) else error()

    return fail
