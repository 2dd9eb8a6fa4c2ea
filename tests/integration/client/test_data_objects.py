import hashlib

import pytest

from irods_provider.exceptions import (
    IrodsAlreadyExistsError,
    IrodsNotADataObjectError,
    IrodsNotFoundError,
    IrodsUsageError,
)

HOME = "/tempZone/home/rods"
SOME_DATA_SHA2 = "sha2:EweZDmulyhRes16ZGCqb7EZTG8VN32VqYCx4D6AkDe4="


def test_write_read_stat_checksum(session):
    path = f"{HOME}/f.bin"
    payload = bytes(range(256)) * 3 + b"+=&%"
    session.data_objects.write(path, payload)
    assert session.data_objects.exists(path)
    assert session.data_objects.read(path) == payload
    assert session.data_objects.read(path, offset=250, count=10) == payload[250:260]
    stat = session.data_objects.stat(path)
    assert (stat.path, stat.size, stat.checksum) == (path, len(payload), None)
    session.data_objects.write(path, b"some data")
    assert session.data_objects.calculate_checksum(path) == SOME_DATA_SHA2
    assert session.data_objects.stat(path).checksum == SOME_DATA_SHA2
    assert session.data_objects.verify_checksum(path).ok


def test_offset_writes_append_truncate(session):
    path = f"{HOME}/parts"
    session.data_objects.write(path, b"AAAA")
    session.data_objects.write(path, b"BB", offset=4, truncate=False)
    session.data_objects.write(path, b"C", append=True)
    assert session.data_objects.read(path) == b"AAAABBC"
    session.data_objects.truncate(path, 3)
    assert session.data_objects.read(path) == b"AAA"
    session.data_objects.truncate(path, 5)
    assert session.data_objects.read(path) == b"AAA\x00\x00"


def test_streamed_read_in_pages(session, irods_emulator):
    irods_emulator.set_limits(read_buffer_bytes=4096)
    path = f"{HOME}/big"
    payload = hashlib.sha256(b"seed").digest() * 2048  # 64 KiB
    session.data_objects.write(path, payload)
    chunks = list(session.data_objects.iter_read(path, chunk_size=10_000))
    assert b"".join(chunks) == payload
    assert max(len(c) for c in chunks) <= 10_000
    assert b"".join(session.data_objects.iter_read(path, offset=100, count=5000)) == payload[100:5100]


def test_copy_rename_remove_touch(session):
    src, dst, moved = f"{HOME}/src", f"{HOME}/dst", f"{HOME}/moved"
    session.data_objects.write(src, b"some data")
    session.data_objects.copy(src, dst)
    assert session.data_objects.read(dst) == b"some data"
    with pytest.raises(IrodsAlreadyExistsError) as info:
        session.data_objects.copy(src, dst)
    assert info.value.irods_code == -312000
    session.data_objects.write(src, b"different data")
    session.data_objects.copy(src, dst, overwrite=True)
    assert session.data_objects.read(dst) == b"different data"
    session.data_objects.rename(dst, moved)
    assert not session.data_objects.exists(dst)
    session.data_objects.touch(moved, seconds_since_epoch=1_600_000_000)
    assert session.data_objects.stat(moved).modified_at == 1_600_000_000
    session.data_objects.touch(f"{HOME}/empty")
    assert session.data_objects.stat(f"{HOME}/empty").size == 0
    session.data_objects.remove(moved, no_trash=True)
    assert not session.data_objects.exists(moved)


def test_data_object_errors(session):
    missing = f"{HOME}/nope"
    with pytest.raises(IrodsNotADataObjectError) as info:
        session.data_objects.stat(missing)
    assert (info.value.irods_code, info.value.path) == (-171000, missing)
    with pytest.raises(IrodsNotFoundError) as info:
        session.data_objects.read(missing)
    assert info.value.http_status == 404
    with pytest.raises(IrodsNotADataObjectError) as info:
        session.data_objects.copy(missing, f"{HOME}/x")
    assert info.value.http_status == 400
    with pytest.raises(IrodsNotFoundError) as info:
        session.data_objects.calculate_checksum(missing)
    assert info.value.irods_code == -808000
    with pytest.raises(IrodsNotADataObjectError):
        session.data_objects.touch(HOME)
    assert not session.data_objects.exists(HOME)


def test_write_larger_than_body_limit_is_refused_before_sending(session, irods_emulator):
    irods_emulator.set_limits(max_body_bytes=1024)
    session._limits = None
    with pytest.raises(IrodsUsageError, match="body limit"):
        session.data_objects.write(f"{HOME}/big", b"x" * 2048)


def test_parallel_write_handshake(session, irods_emulator):
    path = f"{HOME}/par"
    handle = session.data_objects.parallel_write_init(path, stream_count=3)
    try:
        for index, letter in enumerate(b"ABC"):
            session.data_objects.write(
                None,
                bytes([letter]) * 10,
                parallel_write_handle=handle,
                stream_index=index,
                offset=index * 10,
            )
        assert irods_emulator.open_parallel_write_streams() == 3
    finally:
        session.data_objects.parallel_write_shutdown(handle)
    assert irods_emulator.open_parallel_write_streams() == 0
    assert session.data_objects.read(path) == b"A" * 10 + b"B" * 10 + b"C" * 10
    assert (
        session.data_objects.calculate_checksum(path) == "sha2:40ghWJg094XKraNmQ+nnzxCJp0ugME9rfaZsVd/A4Sc="
    )


def test_non_ascii_path_write_uses_multipart(session):
    path = f"{HOME}/données é ü.bin"
    session.data_objects.write(path, b"\x00\xffbinary")
    assert session.data_objects.read(path) == b"\x00\xffbinary"
