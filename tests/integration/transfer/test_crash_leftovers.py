"""What a worker killed with ``kill -9`` leaves must never be visible at a final path and must not outlive
the next attempt: streaming writers publish through a recorded temporary, resumable uploads checkpoint
their prefix, downloads sweep their hidden partial siblings. (The seeded kill harness is
tests/chaos/test_crash_consistency.py; these pin each mechanism down on its own.)"""

from __future__ import annotations

import io
import os

from irods_provider.client import AVU, EntryKind
from irods_provider.client._paths import is_temporary_name
from irods_provider.client.transfer import (
    OverwritePolicy,
    TransferConfig,
    download_object,
    open_writer,
    parallel_upload,
    upload_object,
)
from irods_provider.client.transfer._resume import (
    HANDLE_ATTRIBUTE,
    RESUME_ATTRIBUTE,
    ResumeState,
    resume_key,
    temp_name,
)

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


def test_resumable_upload_checkpoints_its_committed_prefix_while_running(session, irods_emulator, tmp_path):
    local = tmp_path / "data.bin"
    local.write_bytes(DATA)
    path = f"{HOME}/checkpointed.bin"
    st = os.stat(local)
    temp = temp_name(path, resume_key(str(local), st.st_size, st.st_mtime_ns, path))
    committed: list[int] = []

    def look(_: int) -> None:
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
