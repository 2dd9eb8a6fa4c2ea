"""Uploads naming no resource on a site whose policy picks the resource by collection.

A site may choose the resource of a new object by its path (``acSetRescSchemeForCreate`` /
``msiSetDefaultResc`` on ``$objPath like "/zone/home/archive/*"``), and iRODS hashes a replica on the server
holding its resource, in that server's ``default_hash_scheme`` (irods/irods 4.3.4
server/api/src/rsFileChksum.cpp:46-57): one collection answers MD5, its sibling SHA-256. A scheme kept only
for the zone then flipped at every upload there (each answer in the other scheme hashed the source again).
Now the scheme of uploads naming no resource is kept per collection as well, and a new sub-collection takes
its deepest known ancestor's.
"""

from __future__ import annotations

import io
import json
import sys
import time
from pathlib import Path

import pytest

from irods_provider.client.transfer import _copy, _scheme_cache, upload_object
from irods_provider.exceptions import IrodsChecksumMismatchError, IrodsNotADataObjectError
from irods_provider.testing import EmulatorServer
from irods_provider.testing._config import RESOURCE_PRESET
from irods_provider.testing.pytest_plugin import irods_emulator_variants  # noqa: F401

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from checksum_schemes import CFG, HOME, corrupt_before_hash, fresh_session, md5_hashed, scheme_cache_on
from server_checksums import irods_checksum

ARCHIVE, PLAIN = f"{HOME}/archive", f"{HOME}/plain"
DATA = bytes(range(256)) * 1024
MD5 = irods_checksum("md5", DATA)


@pytest.fixture(params=["archiveResc", "replResc"])
def site(request, irods_emulator_variants, monkeypatch, tmp_path: Path) -> EmulatorServer:  # noqa: F811
    """A SHA-256 zone whose policy puts new objects under ``archive`` on a resource held by servers
    configured for MD5 (``archiveResc``, or the replication resource ``replResc``: two replicas, each
    verified); the on-disk cache on, in this test's own state directory."""
    scheme_cache_on(monkeypatch, tmp_path)
    server: EmulatorServer = irods_emulator_variants(
        resources=RESOURCE_PRESET, resource_hash_schemes={request.param: "md5"}
    )
    monkeypatch.setattr(server.config, "default_resources", ((ARCHIVE, request.param),))
    with fresh_session(server) as s:
        for collection in (ARCHIVE, PLAIN):
            s.collections.create(collection)
    return server


def _archive(server: EmulatorServer) -> str:
    """The resource the site's policy picks for the archive collection."""
    return dict(server.config.default_resources)[ARCHIVE]


def test_local_uploads_alternating_between_collections_rehash_once(site, monkeypatch, tmp_path, rehashed):
    source = tmp_path / "source.bin"
    source.write_bytes(DATA)
    made = md5_hashed(monkeypatch)
    for n in range(3):
        for collection in (PLAIN, ARCHIVE):
            path = f"{collection}/f{n}.bin"
            with fresh_session(site) as s:
                result = upload_object(s, str(source), path, config=CFG)
                assert (result.checksum == MD5) == (collection == ARCHIVE)
                assert s.data_objects.read(path) == DATA
                roots = {r.hierarchy.partition(";")[0] for r in s.data_objects.replicas(path)}
                assert roots == ({_archive(site)} if collection == ARCHIVE else {"demoResc"})
    # Nothing known; the zone's SHA-256 for the archive (hashed again once, MD5); the zone's MD5 for the plain
    # collection (the answer SHA-256: no rehash); after that each collection's own scheme.
    assert rehashed == ["md5"]
    assert made == [True, False, True, True, False, True]


def test_a_new_sub_collection_takes_its_deepest_known_ancestors_scheme(site, monkeypatch, rehashed):
    with fresh_session(site) as s:
        # Both collections learned; the zone's own entry ends as the plain collection's SHA-256.
        for n, collection in enumerate((PLAIN, ARCHIVE, PLAIN)):
            upload_object(s, io.BytesIO(DATA), f"{collection}/a{n}.bin", size=len(DATA), config=CFG)
    made = md5_hashed(monkeypatch)
    rehashed.clear()
    with fresh_session(site) as s:
        s.collections.create(f"{ARCHIVE}/2026/12", intermediates=True)
        result = upload_object(s, io.BytesIO(DATA), f"{ARCHIVE}/2026/12/b.bin", size=len(DATA), config=CFG)
        assert result.checksum == MD5
    assert made == [True]  # the archive's MD5 was the hint, not the zone's SHA-256
    assert rehashed == []


@pytest.mark.parametrize("collection", [PLAIN, ARCHIVE])
def test_a_corrupt_upload_is_still_caught_with_a_collection_hint(site, monkeypatch, collection: str) -> None:
    with fresh_session(site) as s:
        for n in range(2):  # both collections learned, kept on disk
            for learned in (PLAIN, ARCHIVE):
                upload_object(s, io.BytesIO(DATA), f"{learned}/l{n}.bin", size=len(DATA), config=CFG)
    with fresh_session(site) as s:
        leaf = {"archiveResc": "archiveResc", "replResc": "replResc_ufs1"}[_archive(site)]
        corrupt_before_hash(monkeypatch, s, site, leaf if collection == ARCHIVE else "demoResc")
        path = f"{collection}/corrupt.bin"
        with pytest.raises(IrodsChecksumMismatchError) as caught:
            upload_object(s, io.BytesIO(DATA), path, size=len(DATA), config=CFG)
        assert caught.value.actual is not None
        assert caught.value.actual.startswith("sha2:") == (collection == PLAIN)
        with pytest.raises(IrodsNotADataObjectError):
            s.data_objects.stat(path)


@pytest.fixture
def store(monkeypatch, tmp_path: Path) -> str:
    """The on-disk cache on, in this test's own state directory; an origin to keep entries for."""
    scheme_cache_on(monkeypatch, tmp_path)
    return "http://127.0.0.1:1"


def test_the_kept_collections_are_bounded_and_expire(store: str, monkeypatch) -> None:
    monkeypatch.setattr(_scheme_cache, "MAX_COLLECTIONS", 3)
    clock = [1_000_000.0]
    monkeypatch.setattr(_scheme_cache.time, "time", lambda: clock[0])
    for n in range(5):
        clock[0] += 1
        _scheme_cache.keep_collection(store, "tempZone", f"{HOME}/c{n}", _copy.ChecksumScheme.MD5)
    kept = _scheme_cache.cached_collections(store, "tempZone")
    assert sorted(kept) == [f"{HOME}/c2", f"{HOME}/c3", f"{HOME}/c4"]  # the most recently learned
    assert _scheme_cache.cached_collections(store, "otherZone") == {}
    clock[0] += _scheme_cache.MAX_AGE_SECONDS - 1.5  # c2 (learned at +3) is now older than a day
    assert sorted(_scheme_cache.cached_collections(store, "tempZone")) == [f"{HOME}/c3", f"{HOME}/c4"]


def test_a_damaged_collections_record_keeps_only_its_well_formed_entries(store: str, tmp_path: Path) -> None:
    _scheme_cache.keep_collection(store, "tempZone", f"{HOME}/good", _copy.ChecksumScheme.MD5)
    (record,) = (tmp_path / "state" / "checksum-schemes").glob("*.json")
    data = json.loads(record.read_text())
    data["collections"].update(
        {
            "bad-scheme": ["crc32", time.time()],
            "bad-time": ["md5", True],
            "short": ["md5"],
            "huge": ["md5", 10**400],
        }
    )
    record.write_text(json.dumps(data))
    assert list(_scheme_cache.cached_collections(store, "tempZone")) == [f"{HOME}/good"]
    record.write_text("[not a record")
    assert _scheme_cache.cached_collections(store, "tempZone") == {}


def test_a_confirmed_entry_is_kept_again_after_an_hour(site, monkeypatch) -> None:
    clock = [time.time()]
    monkeypatch.setattr(_scheme_cache.time, "time", lambda: clock[0])
    monkeypatch.setattr(_copy.time, "time", lambda: clock[0])
    for n, collection in enumerate((PLAIN, ARCHIVE)):
        with fresh_session(site) as s:
            upload_object(s, io.BytesIO(DATA), f"{collection}/a{n}.bin", size=len(DATA), config=CFG)
            origin = _scheme_cache.origin_of(s)
    assert origin is not None
    learned = _scheme_cache.cached_collections(origin, "tempZone")[ARCHIVE][1]
    for n, step in enumerate((60.0, _copy.REFRESH_SECONDS)):
        clock[0] += step
        with fresh_session(site) as s:
            upload_object(s, io.BytesIO(DATA), f"{ARCHIVE}/b{n}.bin", size=len(DATA), config=CFG)
        again = _scheme_cache.cached_collections(origin, "tempZone")[ARCHIVE][1]
        assert again == (learned if n == 0 else clock[0])  # kept again only once older than the refresh age
