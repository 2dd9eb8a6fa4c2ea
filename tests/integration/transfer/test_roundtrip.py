"""Uploads and downloads against the emulator: byte-identical, verified, resumable, cancellable, atomic."""

from __future__ import annotations

import io
import os
import threading

import pytest

from irods_provider.client.transfer import (
    IrodsTransferCancelledError,
    OverwritePolicy,
    SkipPolicy,
    TransferConfig,
    open_reader,
    parallel_download,
    parallel_upload,
    upload_object,
)
from irods_provider.exceptions import (
    IrodsAlreadyExistsError,
    IrodsChecksumMismatchError,
    IrodsConnectionError,
)

HOME = "/tempZone/home/rods"  # the emulator's default home (see conftest.py)
CHUNK = 64 * 1024
CFG = TransferConfig(streams=3, chunk_size=CHUNK, small_file_threshold=CHUNK, backoff_base_seconds=0.0)


def payload(n: int) -> bytes:
    return (bytes(range(251)) * (n // 251 + 1))[:n]


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK + 7])
def test_round_trip_sizes(session, irods_emulator, tmp_path, size):
    data = payload(size)
    path = f"{HOME}/rt-{size}.bin"
    result = parallel_upload(session, io.BytesIO(data), path, config=CFG, size=size)
    assert result.size == size
    assert session.data_objects.read(path) == data if size else session.data_objects.stat(path).size == 0
    local = tmp_path / "out.bin"
    down = parallel_download(session, path, local, config=CFG)
    assert local.read_bytes() == data
    assert down.sha256 == result.sha256
    with open_reader(session, path, config=CFG) as reader:
        assert reader.read(3) + reader.read() == data
    assert irods_emulator.open_parallel_write_streams() == 0


def test_64_mib_round_trip_four_streams(session, irods_emulator, tmp_path):
    data = os.urandom(64 * 1024 * 1024)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    cfg = TransferConfig(chunk_size=4 * 1024 * 1024)
    res = upload_object(session, src, f"{HOME}/big.bin", config=cfg)
    assert res.size == len(data)
    out = tmp_path / "big.out"
    parallel_download(session, f"{HOME}/big.bin", out, config=cfg)
    assert out.read_bytes() == data
    assert irods_emulator.open_parallel_write_streams() == 0


def test_overwrite_refused_by_default_names_path(session, tmp_path):
    src = tmp_path / "a.txt"
    src.write_bytes(b"first")
    path = f"{HOME}/a.txt"
    upload_object(session, src, path, config=CFG)
    src.write_bytes(b"second!")
    with pytest.raises(IrodsAlreadyExistsError, match=r"/tempZone/home/rods/a\.txt") as info:
        upload_object(session, src, path, config=CFG)
    assert info.value.path == path
    assert session.data_objects.read(path) == b"first"
    res = upload_object(session, src, path, config=CFG, overwrite=OverwritePolicy.OVERWRITE)
    assert res.status.value == "transferred"
    assert session.data_objects.read(path) == b"second!"
    names = session.collections.list(HOME)
    assert [n for n in names if "irods-part" in n or "irods-old" in n] == []


def test_skip_policies_and_dry_run(session, tmp_path):
    src = tmp_path / "s.txt"
    src.write_bytes(b"same bytes")
    path = f"{HOME}/s.txt"
    plan = upload_object(session, src, path, config=CFG, dry_run=True)
    assert (plan.status.value, plan.reason) == ("planned", "new")
    assert not session.data_objects.exists(path)
    upload_object(session, src, path, config=CFG)
    for policy in (SkipPolicy.EXISTS, SkipPolicy.SIZE, SkipPolicy.CHECKSUM):
        res = upload_object(session, src, path, config=CFG, skip=policy)
        assert res.status.value == "skipped", policy
    src.write_bytes(b"diff bytes")  # same size, other content
    assert upload_object(session, src, path, config=CFG, skip=SkipPolicy.SIZE).status.value == "skipped"
    res = upload_object(
        session, src, path, config=CFG, skip=SkipPolicy.CHECKSUM, overwrite=OverwritePolicy.OVERWRITE
    )
    assert res.status.value == "transferred"
    assert session.data_objects.read(path) == b"diff bytes"


def test_checksum_mismatch_is_an_error(session, tmp_path):
    data = payload(3 * CHUNK)
    src = tmp_path / "c.bin"
    src.write_bytes(data)
    path = f"{HOME}/c.bin"
    temp_paths = []

    def corrupt(total):
        if total == len(data):
            # Overwrite one byte of the temporary object behind the engine's back, once everything is queued.
            temp_paths.append(True)

    original = session.data_objects.calculate_checksum

    def tampered(p, **kw):
        session.data_objects.write(p, b"X", offset=5, truncate=False)
        return original(p, **kw)

    session.data_objects.calculate_checksum = tampered
    try:
        with pytest.raises(IrodsChecksumMismatchError) as info:
            upload_object(session, src, path, config=CFG, on_chunk=corrupt)
    finally:
        del session.data_objects.calculate_checksum
    assert info.value.actual != info.value.expected
    assert not session.data_objects.exists(path)
    assert [n for n in session.collections.list(HOME) if "irods-part" in n] == []


class FailingSource(io.RawIOBase):
    """Serves ``data`` and raises a reset after ``fail_at`` bytes (once)."""

    def __init__(self, data: bytes, fail_at: int | None) -> None:
        self.buf = io.BytesIO(data)
        self.fail_at = fail_at

    def readable(self):
        return True

    def read(self, n=-1):
        if self.fail_at is not None and self.buf.tell() >= self.fail_at:
            raise IrodsConnectionError("injected reset")
        return self.buf.read(n)


def test_resume_after_injected_failure(session, irods_emulator):
    data = payload(10 * CHUNK + 123)
    path = f"{HOME}/resume.bin"
    with pytest.raises(IrodsConnectionError):
        upload_object(
            session, FailingSource(data, 6 * CHUNK), path, config=CFG, resume_key="k1", size=len(data)
        )
    assert irods_emulator.open_parallel_write_streams() == 0
    assert not session.data_objects.exists(path)
    sent = []
    original = session.data_objects.write

    def counting(p, d, **kw):
        sent.append(len(d))
        return original(p, d, **kw)

    session.data_objects.write = counting
    try:
        res = upload_object(
            session, FailingSource(data, None), path, config=CFG, resume_key="k1", size=len(data)
        )
    finally:
        del session.data_objects.write
    assert res.resumed_from == 6 * CHUNK
    assert sum(sent) == len(data) - 6 * CHUNK
    assert session.data_objects.read(path) == data
    assert res.checksum == session.data_objects.calculate_checksum(path)
    assert session.metadata.list(path) == []


def test_resume_after_emulator_faults(session, irods_emulator, tmp_path):
    data = payload(12 * CHUNK)
    src = tmp_path / "f.bin"
    src.write_bytes(data)
    path = f"{HOME}/faults.bin"
    irods_emulator.set_faults(error_503=0.3, seed=7)
    cfg = TransferConfig(streams=3, chunk_size=CHUNK, retries=8, backoff_base_seconds=0.0)
    res = upload_object(session, src, path, config=cfg)
    irods_emulator.set_faults(error_503=0.0)
    assert session.data_objects.read(path) == data
    assert res.size == len(data)
    assert irods_emulator.open_parallel_write_streams() == 0


def test_cancellation_leaves_no_open_streams(session, irods_emulator, tmp_path):
    data = payload(20 * CHUNK)
    src = tmp_path / "x.bin"
    src.write_bytes(data)
    cancel = threading.Event()
    with pytest.raises(IrodsTransferCancelledError):
        upload_object(
            session,
            src,
            f"{HOME}/x.bin",
            config=CFG,
            cancel_event=cancel,
            on_chunk=lambda n: cancel.set() if n >= 4 * CHUNK else None,
        )
    assert irods_emulator.open_parallel_write_streams() == 0
    assert irods_emulator.open_parallel_write_handles() == 0
    assert not session.data_objects.exists(f"{HOME}/x.bin")


def test_metadata_and_permissions_applied_before_publish(session, irods_emulator, tmp_path):
    irods_emulator.add_user("alice", "apass")
    src = tmp_path / "m.txt"
    src.write_bytes(b"meta")
    path = f"{HOME}/m.txt"
    upload_object(session, src, path, config=CFG, metadata={"project": "p1"}, permissions={"alice": "read"})
    avus = session.metadata.list(path)
    assert [(a.attribute, a.value) for a in avus] == [("project", "p1")]
    perms = {p.name: p.perm for p in session.data_objects.stat(path).permissions}
    assert perms.get("alice") in ("read", "read_object")
