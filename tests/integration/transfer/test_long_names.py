"""Data object names near the 255-byte limit of a unixfilesystem vault's file names.

A real server keeps each replica's file under its logical path in the vault, so a name component over 255
bytes fails there (UNIX_FILE_CREATE_ERR - ENAMETOOLONG = -511036; a rename: UNIX_FILE_RENAME_ERR - 36); the
emulator refuses them alike. The engine's temporaries (``.<name>.irods-part-<key>``, ``.irods-old-``) of a
legal long name are shortened deterministically (a cut name plus a digest of the whole) to fit.
"""

from __future__ import annotations

import io
import time

import pytest

from irods_provider.client._paths import is_temporary_name, temporary_name
from irods_provider.client.transfer import OverwritePolicy, TransferConfig, parallel_upload, upload_object
from irods_provider.client.transfer._resume import resume_key, temp_name
from irods_provider.exceptions import IrodsResponseError

HOME = "/tempZone/home/rods"
CHUNK = 64 * 1024
CONFIG = TransferConfig(streams=2, chunk_size=CHUNK, small_file_threshold=CHUNK, backoff_base_seconds=0.0)
LONG = "n" * 246 + "é.h5"  # 251 bytes of UTF-8: legal, yet its temporaries' names would not be


def _names(session, collection: str) -> list[str]:
    return sorted(e.name for e in session.collections.iterate(collection, include_temporaries=True))


def test_the_emulator_refuses_a_name_over_255_bytes_as_a_vault_would(session) -> None:
    session.collections.create(f"{HOME}/vault", exist_ok=True)
    session.data_objects.write(f"{HOME}/vault/{'a' * 255}", b"x")  # exactly 255: fine
    with pytest.raises(IrodsResponseError) as create:
        session.data_objects.parallel_write_init(f"{HOME}/vault/{'a' * 256}", stream_count=1)
    assert create.value.irods_code in (-511036, -175000)  # the real code, or INVALID_HANDLE (dstream)
    with pytest.raises(IrodsResponseError) as rename:
        session.data_objects.rename(f"{HOME}/vault/{'a' * 255}", f"{HOME}/vault/{'b' * 256}")
    assert (rename.value.irods_code, rename.value.irods_name) == (-528036, "UNIX_FILE_RENAME_ERR")
    assert _names(session, f"{HOME}/vault") == ["a" * 255]


@pytest.mark.parametrize("size", [100, 5 * CHUNK + 7])  # one write, and parallel streams
def test_uploads_and_overwrites_of_a_long_name_use_temporaries_that_fit(session, size) -> None:
    collection = f"{HOME}/long-{size}"
    session.collections.create(collection)
    path = f"{collection}/{LONG}"
    for round_ in range(2):  # the second replaces the first: its old version is moved aside meanwhile
        data = bytes([round_ + 1]) * size
        policy = OverwritePolicy.OVERWRITE if round_ else OverwritePolicy.REFUSE
        upload_object(session, io.BytesIO(data), path, config=CONFIG, size=size, overwrite=policy)
        assert session.data_objects.read(path) == data
    data = b"\x07" * size  # the atomic writer (fsspec, SFTP): its own temporary, then the engine's publish
    parallel_upload(session, io.BytesIO(data), path, config=CONFIG, size=size)
    assert session.data_objects.read(path) == data
    assert _names(session, collection) == [LONG]  # no temporary left


def test_shortened_temporary_names_are_deterministic_and_hidden() -> None:
    key = resume_key("upload", "source", f"{HOME}/{LONG}")
    part = temp_name(f"{HOME}/{LONG}", key).rpartition("/")[2]
    assert part == temp_name(f"{HOME}/{LONG}", key).rpartition("/")[2]  # a resume finds it again
    old = temporary_name(LONG, "old", "0123456789ab")
    for name in (part, old, temporary_name(LONG, "part", f"{key}-0a1b2c3d")):
        assert len(name.encode()) <= 255
        assert is_temporary_name(name)
    # unchanged below 255 bytes, the extension kept after the key
    assert temporary_name("short.h5", "part", key) == f".short.h5.irods-part-{key}.h5"


def test_cleanup_finds_shortened_temporaries_and_never_guesses_a_lost_name(session) -> None:
    collection = f"{HOME}/long-clean"
    session.collections.create(collection)
    stale_part = f"{collection}/{temporary_name(LONG, 'part', '00ff00ff00ff00ff')}"
    superseded = f"{collection}/{temporary_name(LONG, 'old', '00aa00aa00aa')}"  # LONG holds the newer one
    orphan_name = "m" * 240 + ".h5"
    orphan = f"{collection}/{temporary_name(orphan_name, 'old', '00bb00bb00bb')}"  # its final is gone
    for path in (stale_part, superseded, orphan, f"{collection}/{LONG}"):
        session.data_objects.write(path, b"12345")
    done = session.collections.remove_temporaries(collection, min_age=3600, now=time.time() + 7200)
    assert sorted(t.path for t in done.removed) == sorted([stale_part, superseded])
    assert [t.path for t in done.failed] == [orphan]  # kept: its full name is lost, never a cut one
    assert "rename it back by hand" in (done.failed[0].error or "")
    assert done.restored == []
    assert _names(session, collection) == sorted([LONG, orphan.rpartition("/")[2]])


def test_fsspec_writes_of_a_long_name_fit_the_vault(session) -> None:
    from irods_provider.fs import IrodsFileSystem

    collection = f"{HOME}/long-fs"
    session.collections.create(collection)
    fs = IrodsFileSystem(session=session, chunk_size=CHUNK, skip_instance_cache=True)
    for data in (b"first", b"x" * (3 * CHUNK + 1)):  # a new object, then a replacement
        fs.pipe(f"{collection}/{LONG}", data)
        assert fs.cat(f"{collection}/{LONG}") == data
    assert _names(session, collection) == [LONG]
