"""fsspec reads of data objects whose path holds ``+`` (no GET can address them): through a server-side copy
in the user's home collection, verified against the original's checksum, removed when the read ends (an open
file makes one copy for its life and removes it at close)."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import pytest

from irods_provider.client.transfer._alias import ALIAS_PREFIX
from irods_provider.exceptions import IrodsChecksumMismatchError

HOME = "/tempZone/home/rods"
CHUNK = 64 * 1024
PATHS = [f"{HOME}/a+b.bin", f"{HOME}/plus+dir/run-2026-12-06T10:00:00+01:00.h5"]
SIZES = {"small": 1000, "parallel": 5 * CHUNK + 7}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def aliases(fs) -> list[str]:
    entries = fs.session.collections.iterate(HOME, include_temporaries=True)
    return [e.name for e in entries if e.name.startswith(ALIAS_PREFIX)]


def put(fs, path: str, size: int) -> bytes:
    data = os.urandom(size)
    fs.pipe(path, data)
    fs.pipe(path.replace("+", " "), b"what a GET would read")
    return data


@pytest.mark.parametrize("path", PATHS, ids=["home", "plus-collection"])
@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_cat_open_and_get_read_plus_paths(irods_fs, tmp_path, path, size) -> None:
    data = put(irods_fs, path, size)
    assert sha(irods_fs.cat(path)) == sha(data)
    assert irods_fs.cat_file(path, start=3, end=size - 2) == data[3:-2]
    with irods_fs.open(path, "rb") as f:
        assert f.read(10) == data[:10]
        f.seek(size // 2)
        assert sha(f.read()) == sha(data[size // 2 :])
        assert sha(f.read()) == sha(b"")
        f.seek(0)
        assert sha(f.read()) == sha(data)
        assert len(aliases(irods_fs)) == 1  # one copy for the file's life
    assert aliases(irods_fs) == []
    irods_fs.get(path, str(tmp_path / "got.h5"))
    assert sha((tmp_path / "got.h5").read_bytes()) == sha(data)
    assert aliases(irods_fs) == []


def corrupt_copies(monkeypatch, fs) -> None:
    """Every server-side copy gets other bytes of the same size right after it is made (a bad copy)."""
    api_type = type(fs.session.data_objects)
    original = api_type.copy

    def copy(self, src: str, dst: str, **kwargs: Any) -> None:
        original(self, src, dst, **kwargs)
        self.write(dst, b"\0" * fs.session.collections.lookup(dst).size)

    monkeypatch.setattr(api_type, "copy", copy)


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_a_corrupted_alias_is_detected_by_every_read(irods_fs, tmp_path, monkeypatch, size) -> None:
    path = PATHS[1]
    put(irods_fs, path, size)
    corrupt_copies(monkeypatch, irods_fs)
    with pytest.raises(IrodsChecksumMismatchError):
        irods_fs.cat(path)
    with pytest.raises(IrodsChecksumMismatchError):
        irods_fs.cat_file(path, start=1, end=5)
    with pytest.raises(IrodsChecksumMismatchError), irods_fs.open(path, "rb") as f:
        f.read()
    with pytest.raises(IrodsChecksumMismatchError):
        irods_fs.get(path, str(tmp_path / "got.h5"))
    assert os.listdir(tmp_path) == []
    assert aliases(irods_fs) == []


def store_md5(fs, path: str, data: bytes) -> None:
    """The original keeps an MD5 checksum in this SHA-256 zone (set before the zone's scheme changed)."""
    fs.session.data_objects.modify_replica(
        path, {"checksum": hashlib.md5(data).hexdigest()}, replica_number=0
    )


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_an_original_checksum_of_another_scheme_still_verifies_ranged_reads(
    irods_fs, monkeypatch, size
) -> None:
    """The server hashes the copy in the zone's scheme only (SHA-256 here) while the original answers its
    stored MD5: the copy's bytes are hashed in MD5 to compare, not refused as a mismatch (and a bad copy is
    still one)."""
    path = PATHS[0]
    data = put(irods_fs, path, size)
    store_md5(irods_fs, path, data)
    assert irods_fs.cat_file(path, start=3, end=size - 2) == data[3:-2]
    with irods_fs.open(path, "rb") as f:
        f.seek(size // 2)
        assert sha(f.read()) == sha(data[size // 2 :])
    assert aliases(irods_fs) == []
    corrupt_copies(monkeypatch, irods_fs)
    with pytest.raises(IrodsChecksumMismatchError) as error:
        irods_fs.cat_file(path, start=1, end=5)
    assert error.value.expected == hashlib.md5(data).hexdigest()
    assert aliases(irods_fs) == []
