"""Zones whose ``default_hash_scheme`` is sha512, sha1 or adler32 (irods/irods 4.3.4
lib/hasher/src/irods_hasher_factory.cpp:18-31 knows all five; server_config's value is any string).

Each writes its checksum its own way: ``sha512:``/``sha1:`` + base64 digest (SHA512Strategy.cpp:24-33,
SHA1Strategy.cpp:24-33), ``adler32:`` + 8 lowercase hex digits (ADLER32Strategy.cpp:43-51), recognised by that
prefix (irods_hasher_factory.cpp:52-72). Before, every upload to such a zone failed with IrodsIntegrityError
"unrecognised checksum scheme". The expected checksums here are computed with hashlib/zlib, not the provider.
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
import zlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from irods_provider.client.transfer import ChecksumScheme, SkipPolicy, download_object, upload_object
from irods_provider.client.transfer._scheme_cache import cached_scheme, origin_of
from irods_provider.exceptions import (
    IrodsChecksumMismatchError,
    IrodsIntegrityError,
    IrodsNotADataObjectError,
)
from irods_provider.testing import EmulatorServer
from irods_provider.testing.pytest_plugin import irods_emulator_variants  # noqa: F401

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from checksum_schemes import CFG, HOME, corrupt_before_hash, fresh_session, schemes_hashed
from server_checksums import irods_checksum

DATA = os.urandom(300_000)  # several chunks
SCHEMES = ["sha512", "sha1", "adler32"]


@pytest.fixture(params=SCHEMES)
def zone(request: pytest.FixtureRequest, irods_emulator_variants) -> EmulatorServer:  # noqa: F811
    """A zone whose servers are configured for ``default_hash_scheme`` = the parameter."""
    server: EmulatorServer = irods_emulator_variants(hash_scheme=request.param)
    return server


def _scheme(zone: EmulatorServer) -> str:
    return str(zone.model.config.hash_scheme)


class OneShot(io.RawIOBase):
    """A stream that can be read once, front to back (a pipe): never hashed a second time."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


@pytest.mark.parametrize("kind", ["path", "stream"])
def test_uploads_learn_the_scheme_and_store_its_checksum(
    zone, kept, monkeypatch, tmp_path, rehashed, kind: str
) -> None:
    scheme = _scheme(zone)
    source = tmp_path / "source.bin"
    source.write_bytes(DATA)
    made = schemes_hashed(monkeypatch)
    for n in range(2):
        path = f"{HOME}/{kind}-{n}.bin"
        with fresh_session(zone) as s, source.open("rb") as fh:
            result = upload_object(s, str(source) if kind == "path" else fh, path, config=CFG)
            assert result.checksum == irods_checksum(scheme, DATA)
            assert s.data_objects.stat(path).checksum == irods_checksum(scheme, DATA)
            assert s.data_objects.read(path) == DATA
            origin = origin_of(s)
    # Nothing known: SHA-256 and MD5, the answer in the zone's scheme hashed again once; kept on disk, so
    # the next process hashes the zone's scheme alone (SHA-256 is always computed).
    assert made == [(True, ()), (False, (scheme,))]
    assert rehashed == [scheme]
    assert origin is not None
    assert cached_scheme(origin, "tempZone") is ChecksumScheme(scheme)


def test_a_stream_read_once_fails_typed_then_the_retry_hashes_the_learned_scheme(zone, kept) -> None:
    scheme = _scheme(zone)
    path = f"{HOME}/once.bin"
    with fresh_session(zone) as s:
        with pytest.raises(IrodsIntegrityError, match="only SHA-256 and MD5 was computed") as caught:
            upload_object(s, OneShot(DATA), path, size=len(DATA), config=CFG)
        assert caught.value.path is not None
        with pytest.raises(IrodsNotADataObjectError):
            s.data_objects.stat(path)
    with fresh_session(zone) as s:  # a fresh process: the scheme was kept
        result = upload_object(s, OneShot(DATA), path, size=len(DATA), config=CFG)
        assert result.checksum == irods_checksum(scheme, DATA)
        assert s.data_objects.read(path) == DATA


def test_a_pinned_scheme_verifies_a_stream_read_once(zone) -> None:
    scheme = _scheme(zone)
    with fresh_session(zone) as s:
        config = replace(CFG, checksum_scheme=ChecksumScheme(scheme))
        result = upload_object(s, OneShot(DATA), f"{HOME}/pinned.bin", size=len(DATA), config=config)
        assert result.checksum == irods_checksum(scheme, DATA)


@pytest.mark.parametrize("learned", [False, True])
def test_a_corrupt_upload_is_caught_and_nothing_is_published(zone, kept, monkeypatch, learned: bool) -> None:
    scheme = _scheme(zone)
    with fresh_session(zone) as s:
        if learned:
            upload_object(s, io.BytesIO(b"first"), f"{HOME}/first.bin", size=5, config=CFG)
        corrupt_before_hash(monkeypatch, s, zone, "demoResc")
        path = f"{HOME}/corrupt.bin"
        with pytest.raises(IrodsChecksumMismatchError) as caught:
            upload_object(s, io.BytesIO(DATA), path, size=len(DATA), config=CFG)
        assert caught.value.expected == irods_checksum(scheme, DATA)
        assert caught.value.actual is not None
        assert caught.value.actual.startswith(f"{scheme}:")
        assert caught.value.actual != irods_checksum(scheme, DATA)
        with pytest.raises(IrodsNotADataObjectError):
            s.data_objects.stat(path)


def _put(zone: EmulatorServer, path: str, data: bytes) -> str:
    """Write ``path`` without the transfer engine and have the server store its checksum."""
    with fresh_session(zone) as s:
        s.data_objects.write(path, data, offset=0, truncate=True)
        return s.data_objects.calculate_checksum(path)


def test_a_stored_checksum_is_verified_on_download(zone, tmp_path) -> None:
    scheme = _scheme(zone)
    path = f"{HOME}/stored.bin"
    assert _put(zone, path, DATA) == irods_checksum(scheme, DATA)
    with fresh_session(zone) as s:
        result = download_object(s, path, tmp_path / "out.bin", config=CFG)
        assert result.checksum == irods_checksum(scheme, DATA)
        assert (tmp_path / "out.bin").read_bytes() == DATA
        # The same file again: skipped by its checksum, hashed in the stored checksum's scheme.
        again = download_object(s, path, tmp_path / "out.bin", config=CFG, skip=SkipPolicy.CHECKSUM)
        assert again.status.value == "skipped"
        zone.corrupt_replica(path, "demoResc")  # bit rot: the stored checksum is now the only witness
        with pytest.raises(IrodsChecksumMismatchError) as caught:
            download_object(s, path, tmp_path / "rotten.bin", config=CFG)
        assert caught.value.actual == irods_checksum(scheme, DATA)
        assert not (tmp_path / "rotten.bin").exists()


def test_a_sha512_checksum_cut_to_name_len_by_the_catalog_still_verifies(
    irods_emulator_variants,  # noqa: F811
    tmp_path,
) -> None:
    """4.3.4 rsFileChksum.cpp:410 copies the 95-character ``sha512:`` digest into a NAME_LEN (64) buffer:
    the catalog may keep its first 63 characters. They must still verify, and a wrong prefix must not."""
    zone: EmulatorServer = irods_emulator_variants(hash_scheme="sha512")
    path = f"{HOME}/cut.bin"
    full = _put(zone, path, DATA)
    with zone.model.lock:
        (replica,) = zone.model.data_objects[path].replicas
        replica.checksum = full[:63]
    with fresh_session(zone) as s:
        result = download_object(s, path, tmp_path / "out.bin", config=CFG)
        assert result.checksum == full[:63]
        assert (tmp_path / "out.bin").read_bytes() == DATA
        with zone.model.lock:
            replica.checksum = full[:62] + ("A" if full[62] != "A" else "B")
        with pytest.raises(IrodsChecksumMismatchError):
            download_object(s, path, tmp_path / "other.bin", config=CFG)


def test_fsspec_checksum_of_each_scheme(zone) -> None:
    from irods_provider.fs import IrodsFileSystem

    scheme = _scheme(zone)
    path = f"{HOME}/fs.bin"
    _put(zone, path, DATA)
    if scheme == "adler32":
        expected = zlib.adler32(DATA)
    else:
        expected = int.from_bytes(hashlib.new(scheme, DATA).digest(), "big")
    with fresh_session(zone) as s:
        fs = IrodsFileSystem(session=s, skip_instance_cache=True)
        assert fs.checksum(path) == expected
        with zone.model.lock:
            (replica,) = zone.model.data_objects[path].replicas
            replica.checksum = "blake3:AAAA"  # no scheme iRODS 4.3 writes: typed, naming the path
        with pytest.raises(IrodsIntegrityError, match="unrecognised checksum scheme") as caught:
            fs.checksum(path)
        assert caught.value.path == path


def test_replicas_of_two_schemes_are_each_verified_and_the_other_one_is_kept(
    irods_emulator_variants,  # noqa: F811
    kept,
    monkeypatch,
) -> None:
    """A replication resource whose second leaf's server hashes ADLER-32: each replica answers its own
    scheme (4.3.4 rsFileChksum.cpp:46-57); both are verified, and the root keeps the one SHA-256 does not
    cover, so the next process hashes it in the same pass (no second reading)."""
    zone: EmulatorServer = irods_emulator_variants(
        resources=("replResc:replication",), resource_hash_schemes={"replResc_ufs1": "adler32"}
    )
    made = schemes_hashed(monkeypatch)
    config = replace(CFG, resource="replResc", verify_replicas="all")
    for n in range(2):
        with fresh_session(zone) as s:
            path = f"{HOME}/both-{n}.bin"
            upload_object(s, io.BytesIO(DATA), path, size=len(DATA), config=config)
            checksums = {r.checksum for r in s.data_objects.replicas(path)}
            assert checksums == {irods_checksum("adler32", DATA), SHA256_OF_DATA}
            # The skip policy compares in the stored checksum's scheme: nothing is sent again.
            again = upload_object(
                s, io.BytesIO(DATA), path, size=len(DATA), config=config, skip=SkipPolicy.CHECKSUM
            )
            assert again.status.value == "skipped"
    assert made[0] == (True, ())  # nothing known: SHA-256 and MD5
    assert made[-1] == (False, ("adler32",))  # the root's kept scheme: ADLER-32 with SHA-256


SHA256_OF_DATA = irods_checksum("sha256", DATA)


def test_replicas_answering_two_schemes_neither_computed_are_each_hashed_again(
    irods_emulator_variants,  # noqa: F811
    kept,
    rehashed,
) -> None:
    """Leaves on servers of MD5 and ADLER-32, the zone's hint SHA-256: a re-readable source is hashed again
    once per answered scheme, in that scheme only, and both replicas verify."""
    zone: EmulatorServer = irods_emulator_variants(
        resources=("replResc:replication",),
        resource_hash_schemes={"replResc_ufs0": "md5", "replResc_ufs1": "adler32"},
    )
    config = replace(CFG, resource="replResc", verify_replicas="all")
    with fresh_session(zone) as s:
        upload_object(s, io.BytesIO(b"hint"), f"{HOME}/hint.bin", size=4, config=CFG)  # demoResc: SHA-256
        rehashed.clear()
        path = f"{HOME}/two-others.bin"
        upload_object(s, io.BytesIO(DATA), path, size=len(DATA), config=config)
        checksums = {r.checksum for r in s.data_objects.replicas(path)}
    assert checksums == {irods_checksum("adler32", DATA), hashlib.md5(DATA).hexdigest()}
    assert sorted(rehashed) == ["adler32", "md5"]
