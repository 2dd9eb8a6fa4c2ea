"""IT4I python-http-irods-client calls on our sync session: bytes and checksums round-trip (SHA-256 and MD5
zones), as thin aliases over the parallel engine."""

from __future__ import annotations

import base64
import hashlib
import io

import pytest

from irods_provider.client import BasicAuth, IrodsSession
from irods_provider.exceptions import IrodsNotADataObjectError

HOME = "/tempZone/home/rods"
CHUNK = 128 * 1024
DATA = hashlib.sha256(b"seed").digest() * (5 * CHUNK // 32) + b"tail"  # 5 chunks and a bit


def _sha2(data: bytes) -> str:
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_parallel_write_then_parallel_read_a_local_file(session, irods_emulator, tmp_path) -> None:
    source = tmp_path / "in.bin"
    source.write_bytes(DATA)
    written = session.data_objects.parallel_write(
        str(source), f"{HOME}/iti.bin", workers_count=4, chunk_size=CHUNK
    )
    assert written.size == len(DATA)
    assert written.sha256 == hashlib.sha256(DATA).digest()
    assert session.data_objects.calculate_checksum(f"{HOME}/iti.bin") == _sha2(DATA)
    assert session.data_objects.read(f"{HOME}/iti.bin") == DATA
    target = tmp_path / "out.bin"
    read = session.data_objects.parallel_read(f"{HOME}/iti.bin", target, workers_count=4, chunk_size=CHUNK)
    assert target.read_bytes() == DATA
    assert read.irods_checksum == _sha2(DATA)
    assert irods_emulator.open_parallel_write_handles() == 0


def test_file_objects_both_ways(session) -> None:
    session.data_objects.parallel_write(io.BytesIO(DATA), f"{HOME}/fo.bin", workers_count=2, chunk_size=CHUNK)
    sink = io.BytesIO()
    result = session.data_objects.parallel_read(f"{HOME}/fo.bin", sink, workers_count=3, chunk_size=CHUNK)
    assert sink.getvalue() == DATA
    assert result.sha256 == hashlib.sha256(DATA).digest()


def test_open_async_writer_takes_text_and_bytes(session, irods_emulator) -> None:
    afd = session.data_objects.open_async_writer(f"{HOME}/log.txt", workers_count=2)
    afd.write("héllo ")
    afd.write(b"bytes ")
    afd.write(DATA)
    afd.close()
    expected = "héllo ".encode() + b"bytes " + DATA
    assert afd.closed
    assert session.data_objects.read(f"{HOME}/log.txt") == expected
    assert session.data_objects.calculate_checksum(f"{HOME}/log.txt") == _sha2(expected)
    assert irods_emulator.open_parallel_write_handles() == 0
    reader = session.data_objects.open_async_reader(f"{HOME}/log.txt", workers_count=2, chunk_size=CHUNK)
    try:
        head = reader.read(6)
        rest = reader.read()
    finally:
        reader.close()
    assert head + rest == expected
    assert head == "héllo".encode()[:6]


def test_md5_zone_round_trip(irods_emulator_variants, tmp_path) -> None:
    server = irods_emulator_variants(hash_scheme="md5")
    with IrodsSession(server.base_url, auth=BasicAuth("rods", "rods-emulator")) as md5:
        md5.data_objects.parallel_write(io.BytesIO(DATA), f"{HOME}/m.bin", workers_count=3, chunk_size=CHUNK)
        assert md5.data_objects.calculate_checksum(f"{HOME}/m.bin") == hashlib.md5(DATA).hexdigest()
        sink = io.BytesIO()
        result = md5.data_objects.parallel_read(f"{HOME}/m.bin", sink, workers_count=3, chunk_size=CHUNK)
        assert sink.getvalue() == DATA
        assert result.md5 == hashlib.md5(DATA).digest()


def test_missing_object_and_bad_writer_input(session, tmp_path) -> None:
    with pytest.raises(IrodsNotADataObjectError) as missing:  # the server's stat says NOT_A_DATA_OBJECT
        session.data_objects.parallel_read(f"{HOME}/nope.bin", tmp_path / "x.bin")
    assert missing.value.path == f"{HOME}/nope.bin"
    assert not (tmp_path / "x.bin").exists()
    with pytest.raises(FileNotFoundError):
        session.data_objects.parallel_write(str(tmp_path / "absent.bin"), f"{HOME}/never.bin")
    assert not session.data_objects.exists(f"{HOME}/never.bin")
    afd = session.data_objects.open_async_writer(f"{HOME}/typed.txt")
    with pytest.raises(TypeError):
        afd.write(12345)
    afd.abort()
