"""The five checksum formats of iRODS 4.3.4 (lib/hasher/src/*Strategy.cpp; recognised by prefix in
irods_hasher_factory.cpp:52-72), as the client parses, computes, compares and keeps them. Expected values
come from hashlib/zlib, never from the provider."""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from pathlib import Path

import pytest

from irods_provider._provider_info import CHECKSUM_LABELS
from irods_provider.client.transfer import (
    ChecksumScheme,
    StreamHasher,
    _scheme_cache,
    same_stored_checksum,
    scheme_of,
)
from irods_provider.hooks._connection import CHECKSUM_SCHEMES

DATA = bytes(range(256)) * 40
B64 = {"sha256": "sha2:", "sha512": "sha512:", "sha1": "sha1:"}


def irods_checksum(scheme: str, data: bytes) -> str:
    if scheme == "adler32":
        return f"adler32:{zlib.adler32(data):08x}"
    if scheme == "md5":
        return hashlib.md5(data).hexdigest()
    return B64[scheme] + base64.b64encode(hashlib.new(scheme, data).digest()).decode()


@pytest.mark.parametrize("scheme", list(ChecksumScheme))
def test_each_scheme_is_hashed_recognised_and_compared(scheme: ChecksumScheme) -> None:
    hasher = StreamHasher(schemes=(scheme,))
    for offset in range(0, len(DATA), 1000):  # fed in pieces: ADLER-32 carries its state across them
        hasher.update(memoryview(DATA)[offset : offset + 1000])
    ours = hasher.result().checksum_in(scheme)
    assert ours == irods_checksum(scheme.value, DATA)
    assert scheme_of(ours) is scheme
    assert same_stored_checksum(ours, ours)
    assert not same_stored_checksum(irods_checksum(scheme.value, DATA + b"x"), ours)


def test_a_hasher_computes_only_what_it_is_asked_and_sha256_always() -> None:
    result = StreamHasher(schemes=(ChecksumScheme.ADLER32,)).result()
    assert result.checksum_in(ChecksumScheme.SHA256) is not None
    assert result.checksum_in(ChecksumScheme.ADLER32) == "adler32:00000001"  # empty input: a=1, b=0
    for missing in (ChecksumScheme.MD5, ChecksumScheme.SHA512, ChecksumScheme.SHA1):
        assert result.checksum_in(missing) is None


def test_recognition_follows_the_servers_prefixes() -> None:
    assert scheme_of("sha512:AAAA") is ChecksumScheme.SHA512
    assert scheme_of("sha1:AAAA") is ChecksumScheme.SHA1
    assert scheme_of("adler32:0badf00d") is ChecksumScheme.ADLER32
    assert scheme_of("sha2:AAAA") is ChecksumScheme.SHA256
    assert scheme_of("0" * 32) is ChecksumScheme.MD5
    for unknown in ("sha384:AAAA", "blake3:AAAA", "", None, "z" * 32):
        assert scheme_of(unknown) is None


def test_hex_compares_case_insensitively_base64_exactly() -> None:
    adler = irods_checksum("adler32", DATA)
    assert same_stored_checksum("adler32:" + adler.split(":")[1].upper(), adler)
    sha1 = irods_checksum("sha1", DATA)
    assert not same_stored_checksum(sha1.swapcase().replace("SHA1:", "sha1:"), sha1)


def test_a_sha512_checksum_cut_by_the_catalog_matches_only_a_long_enough_prefix() -> None:
    """4.3.4 rsFileChksum.cpp:410 copies at most NAME_LEN (64) bytes of the 95-character sha512 digest."""
    full = irods_checksum("sha512", DATA)
    assert len(full) == 95
    assert same_stored_checksum(full[:63], full)
    assert not same_stored_checksum(full[:40], full)  # too short to prove anything: refused
    assert not same_stored_checksum(full[:62] + ("A" if full[62] != "A" else "B"), full)
    assert not same_stored_checksum(irods_checksum("sha256", DATA)[:63], full)


def test_the_connection_form_and_extra_offer_every_scheme() -> None:
    assert set(CHECKSUM_SCHEMES) == {scheme.value for scheme in ChecksumScheme}
    assert set(CHECKSUM_LABELS) == {"auto", *CHECKSUM_SCHEMES}
    assert "32-bit" in CHECKSUM_LABELS["adler32"]


@pytest.mark.parametrize("scheme", ["sha512", "sha1", "adler32"])
def test_the_checksum_scheme_extra_accepts_each(scheme: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from irods_provider.hooks.irods import IrodsHook

    extra = {"checksum_scheme": scheme.upper()}
    conn = {"conn_type": "irods", "host": "h", "login": "rods", "password": "pw", "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_SCHEME", json.dumps(conn))
    assert IrodsHook("irods_scheme").settings.checksum_scheme == scheme


@pytest.mark.parametrize("scheme", ["sha512", "sha1", "adler32"])
def test_the_scheme_cache_keeps_and_reuses_each(
    scheme: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(_scheme_cache.CACHE_ENV, "on")
    monkeypatch.setenv("IRODS_PROVIDER_STATE_DIR", str(tmp_path))
    origin, kept = "http://127.0.0.1:1", ChecksumScheme(scheme)
    _scheme_cache.keep_scheme(origin, "tempZone", kept)
    _scheme_cache.keep_scheme(origin, "tempZone", kept, "archiveResc")
    _scheme_cache.keep_collection(origin, "tempZone", "/tempZone/home/rods/c", kept)
    assert _scheme_cache.cached_scheme(origin, "tempZone") is kept
    assert _scheme_cache.cached_scheme(origin, "tempZone", "archiveResc") is kept
    assert _scheme_cache.cached_collections(origin, "tempZone")["/tempZone/home/rods/c"][0] is kept
