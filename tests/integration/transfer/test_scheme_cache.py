"""The zone's checksum scheme, learned by one process, kept for the worker's next processes.

Each Airflow task runs in a fresh process: without what an earlier task learned, its first upload hashed the
bytes in MD5 as well as SHA-256 (MD5 costs 2.4x the CPU here). The kept scheme is a hint: a zone that
answers in the other scheme fails one attempt typed, nothing published, and the next attempt hashes both.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import time
from pathlib import Path

import pytest

from irods_provider.client.transfer import _copy, upload_object
from irods_provider.client.transfer._scheme_cache import CACHE_ENV, cached_scheme, keep_scheme, origin_of
from irods_provider.exceptions import IrodsIntegrityError, IrodsNotADataObjectError
from irods_provider.testing.pytest_plugin import irods_emulator_variants  # noqa: F401

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from checksum_schemes import CFG, HOME, OnePass, fresh_session, md5_hashed
from server_checksums import irods_checksum

DATA = bytes(range(256)) * 1024  # 256 KiB: several chunks


def test_a_later_session_hashes_only_the_scheme_an_earlier_one_learned(
    irods_emulator, kept, monkeypatch
) -> None:
    made = md5_hashed(monkeypatch)
    with fresh_session(irods_emulator) as first:
        result = upload_object(first, io.BytesIO(DATA), f"{HOME}/first.bin", size=len(DATA), config=CFG)
        assert result.checksum == irods_checksum("sha256", DATA)
    assert made == [True]  # nothing known yet: MD5 as well, so either answer can be verified
    (record,) = [json.loads(p.read_text()) for p in kept.glob("*.json")]
    assert (record["zone"], record["scheme"]) == ("tempZone", "sha256")
    assert record["origin"] == origin_of(first)
    assert "/irods-http-api" not in record["origin"]
    assert oct(kept.stat().st_mode & 0o777) == "0o700"
    made.clear()
    with fresh_session(irods_emulator) as later:
        result = upload_object(later, io.BytesIO(DATA), f"{HOME}/later.bin", size=len(DATA), config=CFG)
        assert result.checksum == irods_checksum("sha256", DATA)
        assert later.data_objects.read(f"{HOME}/later.bin") == DATA
    assert made == [False]


def test_off_keeps_nothing(irods_emulator, kept, monkeypatch) -> None:
    monkeypatch.setenv(CACHE_ENV, "off")
    made = md5_hashed(monkeypatch)
    for name in ("a.bin", "b.bin"):
        with fresh_session(irods_emulator) as s:
            upload_object(s, io.BytesIO(DATA), f"{HOME}/{name}", size=len(DATA), config=CFG)
    assert made == [True, True]
    assert not kept.exists() or not list(kept.glob("*.json"))


def test_an_entry_older_than_a_day_is_not_used(irods_emulator, kept, monkeypatch) -> None:
    with fresh_session(irods_emulator) as s:
        origin = origin_of(s)
    assert origin is not None
    keep_scheme(origin, "tempZone", _copy.ChecksumScheme.SHA256)
    assert cached_scheme(origin, "tempZone") is _copy.ChecksumScheme.SHA256
    assert cached_scheme(origin, "otherZone") is None
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 24 * 3600 + 1)
    assert cached_scheme(origin, "tempZone") is None


def test_a_directory_others_can_read_is_not_used(irods_emulator, kept, monkeypatch) -> None:
    kept.mkdir(parents=True)
    os.chmod(kept, 0o755)
    made = md5_hashed(monkeypatch)
    for name in ("a.bin", "b.bin"):
        with fresh_session(irods_emulator) as s:
            upload_object(s, io.BytesIO(DATA), f"{HOME}/{name}", size=len(DATA), config=CFG)
    assert made == [True, True]
    assert list(kept.glob("*.json")) == []


def test_a_zone_that_now_answers_md5_fails_one_attempt_typed_then_hashes_both(
    irods_emulator_variants,  # noqa: F811
    kept,
    monkeypatch,
) -> None:
    """A kept SHA-256 for a zone that answers MD5 (its scheme changed, or another server now answers at
    that address): only SHA-256 was computed from a source read once (a one-pass stream, as an SFTP file
    is: a local file or bytes are hashed again instead, test_resource_schemes.py), so the upload cannot be
    verified. Nothing is published, the error says why, the entry is replaced, and the next attempt
    succeeds, verified in MD5."""
    server = irods_emulator_variants(hash_scheme="md5")
    with fresh_session(server) as s:
        origin = origin_of(s)
    assert origin is not None
    keep_scheme(origin, "tempZone", _copy.ChecksumScheme.SHA256)
    made = md5_hashed(monkeypatch)
    path = f"{HOME}/changed-scheme.bin"
    with fresh_session(server) as s:
        with pytest.raises(IrodsIntegrityError, match="only SHA-256 was computed") as caught:
            upload_object(s, OnePass(DATA), path, size=len(DATA), config=CFG)
        assert "an earlier process learned that zone as SHA-256" in str(caught.value)
        assert str(kept) in str(caught.value)
        with pytest.raises(IrodsNotADataObjectError):
            s.data_objects.stat(path)  # nothing published
    assert cached_scheme(origin, "tempZone") is _copy.ChecksumScheme.MD5
    with fresh_session(server) as s:
        result = upload_object(s, io.BytesIO(DATA), path, size=len(DATA), config=CFG)
        assert result.checksum == hashlib.md5(DATA).hexdigest()
        assert s.data_objects.read(path) == DATA
    assert made == [False, True]


def test_a_pinned_scheme_is_not_kept_and_wins_over_a_kept_one(irods_emulator, kept, monkeypatch) -> None:
    made = md5_hashed(monkeypatch)
    with fresh_session(irods_emulator) as s:
        origin = origin_of(s)
        assert origin is not None
        keep_scheme(origin, "tempZone", _copy.ChecksumScheme.MD5)
        _copy.pin_checksum_scheme(s, "sha256")
        upload_object(s, io.BytesIO(DATA), f"{HOME}/pinned.bin", size=len(DATA), config=CFG)
    assert made == [False]
    # The answer (SHA-256, computed now) replaced the kept MD5: the zone's scheme, not the pin.
    assert cached_scheme(origin, "tempZone") is _copy.ChecksumScheme.SHA256


@pytest.mark.parametrize(
    ("base", "origin"),
    [
        ("https://irods.example.org/irods-http-api/0.7.0", "https://irods.example.org"),
        (
            "https://alice:s3cret@irods.example.org:8443/irods-http-api/0.7.0",
            "https://irods.example.org:8443",
        ),
        ("http://[::1]:9000/irods-http-api/0.6.0", "http://[::1]:9000"),
        ("https://IRODS.Example.org/api", "https://irods.example.org"),
        ("https://irods.example.org:notaport/api", None),
        ("", None),
    ],
)
def test_the_origin_keeps_no_credentials(base: str, origin: str | None) -> None:
    """The record is a file on disk: a base URL's ``user:password@`` never reaches it."""

    class Session:
        base_url = base

    assert origin_of(Session()) == origin
