"""A zone whose resources answer different checksum schemes: the scheme is kept per resource.

iRODS hashes a replica on the server holding its leaf resource, in that server's ``default_hash_scheme``
(irods/irods 4.3.4 server/api/src/rsFileChksum.cpp:46-57 and file_checksum :297-300): a zone whose
catalog provider is configured for SHA-256 but whose ``archiveResc`` lives on a server configured for MD5
answers ``sha2:...`` for one resource and 32 hex digits for the other. A scheme kept for the whole zone
flipped at every upload and failed every other one with IrodsIntegrityError. Now the scheme is kept per
(origin, zone, resource), the zone's entry only a hint for an unknown resource, and a re-readable source
(a local file, bytes) is hashed again in the answered scheme instead of failing.
"""

from __future__ import annotations

import io
import os
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from irods_provider.client import IrodsSession
from irods_provider.client.transfer import _copy, upload_object
from irods_provider.client.transfer._scheme_cache import cached_scheme, origin_of
from irods_provider.exceptions import (
    IrodsChecksumMismatchError,
    IrodsNotADataObjectError,
    IrodsSourceChangedError,
)
from irods_provider.testing import EmulatorServer
from irods_provider.testing.pytest_plugin import irods_emulator_variants  # noqa: F401

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from checksum_schemes import CFG, HOME, OnePass, corrupt_before_hash, fresh_session, md5_hashed
from server_checksums import irods_checksum

DATA = bytes(range(256)) * 1024  # 256 KiB: several chunks
SHA2 = irods_checksum("sha256", DATA)
MD5 = irods_checksum("md5", DATA)
SHA256, MD5_SCHEME = _copy.ChecksumScheme.SHA256, _copy.ChecksumScheme.MD5


@pytest.fixture
def zone(irods_emulator_variants) -> EmulatorServer:  # noqa: F811
    """A SHA-256 zone whose ``archiveResc`` is held by a server configured for MD5."""
    server: EmulatorServer = irods_emulator_variants(
        resources=("archiveResc",), resource_hash_schemes={"archiveResc": "md5"}
    )
    return server


def _on(s: IrodsSession, path: str) -> str:
    (replica,) = s.data_objects.replicas(path)
    return replica.hierarchy


@pytest.mark.parametrize("kind", ["path", "stream"])
def test_alternating_uploads_to_resources_of_two_schemes_succeed_in_fresh_sessions(
    zone, kept, monkeypatch, tmp_path, rehashed, kind: str
) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(DATA)
    made = md5_hashed(monkeypatch)
    for n in range(2):
        for resource, expected in ((None, SHA2), ("archiveResc", MD5)):
            path = f"{HOME}/{kind}-{n}-{resource}.bin"
            with fresh_session(zone) as s, source.open("rb") as fh:
                what = str(source) if kind == "path" else fh
                result = upload_object(s, what, path, config=replace(CFG, resource=resource))
                assert result.checksum == expected
                assert s.data_objects.read(path) == DATA
                assert _on(s, path) == (resource or "demoResc")
    # Nothing known, then the zone's SHA-256 hint for the unknown archiveResc (its MD5 answer: hashed
    # again, once), then each resource's own scheme, kept on disk between the sessions.
    assert made == [True, False, False, True]
    assert rehashed == ["md5"]
    with fresh_session(zone) as s:
        origin = origin_of(s)
    assert origin is not None
    assert cached_scheme(origin, "tempZone") is SHA256
    assert cached_scheme(origin, "tempZone", "archiveResc") is MD5_SCHEME
    assert cached_scheme(origin, "tempZone", "demoResc") is None


def test_alternating_uploads_in_one_session_hash_each_resource_in_its_scheme(zone, monkeypatch) -> None:
    """The cache off (the suite's default): one session learns both resources and keeps them apart."""
    made = md5_hashed(monkeypatch)
    with fresh_session(zone) as s:
        for n in range(3):
            for resource, expected in (("archiveResc", MD5), ("demoResc", SHA2)):
                path = f"{HOME}/one-{n}-{resource}.bin"
                result = upload_object(
                    s, io.BytesIO(DATA), path, size=len(DATA), config=replace(CFG, resource=resource)
                )
                assert result.checksum == expected
    assert made == [True, True, True, False, True, False]


@pytest.mark.parametrize(("resource", "scheme"), [("demoResc", "sha2"), ("archiveResc", "md5")])
@pytest.mark.parametrize("known", [True, False])
def test_a_corrupt_upload_is_caught_in_either_scheme(
    zone, kept, monkeypatch, tmp_path, rehashed, resource: str, scheme: str, known: bool
) -> None:
    """Known: the resource's scheme was learned first. Unknown: the zone's SHA-256 hint is all there is, so
    an MD5 answer makes the source be hashed again, and the damaged bytes still do not match."""
    source = tmp_path / "source.bin"
    source.write_bytes(DATA)
    with fresh_session(zone) as s:
        upload_object(s, io.BytesIO(DATA), f"{HOME}/first.bin", size=len(DATA), config=CFG)  # zone: SHA-256
        if known:
            upload_object(s, str(source), f"{HOME}/learn.bin", config=replace(CFG, resource=resource))
        rehashed.clear()
        corrupt_before_hash(monkeypatch, s, zone, resource)
        path = f"{HOME}/corrupt.bin"
        with pytest.raises(IrodsChecksumMismatchError) as caught:
            upload_object(s, str(source), path, config=replace(CFG, resource=resource))
        assert caught.value.actual is not None
        assert caught.value.actual.startswith("sha2:") == (scheme == "sha2")
        assert caught.value.expected == (SHA2 if scheme == "sha2" else MD5)
        with pytest.raises(IrodsNotADataObjectError):
            s.data_objects.stat(path)  # nothing published
        assert [e for e in s.collections.iterate(HOME, include_temporaries=True) if "corrupt" in e.path] == []
    assert rehashed == (["md5"] if scheme == "md5" and not known else [])


def test_a_source_changed_before_it_is_hashed_again_is_not_published(zone, tmp_path, monkeypatch) -> None:
    """Same size and modification time, other bytes: only the second hash can tell, and it does (its
    SHA-256 differs from the one the upload computed), so nothing is published."""
    source = tmp_path / "source.bin"
    source.write_bytes(DATA)
    with fresh_session(zone) as s:
        upload_object(s, io.BytesIO(DATA), f"{HOME}/first.bin", size=len(DATA), config=CFG)  # zone: SHA-256
        real = s.data_objects.calculate_checksum

        def change_then_hash(path: str, **kwargs: object) -> str:
            before = source.stat()
            source.write_bytes(DATA[::-1])
            os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns))
            return real(path, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(s.data_objects, "calculate_checksum", change_then_hash)
        path = f"{HOME}/changed.bin"
        with pytest.raises(IrodsSourceChangedError):
            upload_object(s, str(source), path, config=replace(CFG, resource="archiveResc"))
        with pytest.raises(IrodsNotADataObjectError):
            s.data_objects.stat(path)


def test_a_federated_zone_of_the_other_scheme_keeps_its_own(
    irods_emulator_variants,  # noqa: F811
    kept,
    monkeypatch,
) -> None:
    server = irods_emulator_variants(federated_zones=["otherZone"], zone_hash_schemes={"otherZone": "md5"})
    made = md5_hashed(monkeypatch)
    remote = "/otherZone/home/rods#tempZone"
    for n in range(2):
        for home, expected in ((HOME, SHA2), (remote, MD5)):
            path = f"{home}/fed-{n}.bin"
            with fresh_session(server) as s:
                result = upload_object(s, io.BytesIO(DATA), path, size=len(DATA), config=CFG)
                assert result.checksum == expected
                assert s.data_objects.read(path) == DATA
    assert made == [True, True, False, True]


def test_a_replication_resource_over_servers_of_both_schemes_keeps_md5(
    irods_emulator_variants,  # noqa: F811
    monkeypatch,
) -> None:
    """Its first replica answers MD5, its second SHA-256: what is kept for the root is MD5 (SHA-256 is
    always computed too), whatever the order, so a one-pass source there verifies every time."""
    server = irods_emulator_variants(
        resources=("replResc:replication",), resource_hash_schemes={"replResc_ufs0": "md5"}
    )
    made = md5_hashed(monkeypatch)
    cfg = replace(CFG, resource="replResc")
    with fresh_session(server) as s:
        for n in range(3):
            path = f"{HOME}/repl-{n}.bin"
            result = upload_object(s, OnePass(DATA), path, size=len(DATA), config=cfg)
            assert result.checksum in (SHA2, MD5)
            assert sorted(r.hierarchy for r in s.data_objects.replicas(path)) == [
                "replResc;replResc_ufs0",
                "replResc;replResc_ufs1",
            ]
            assert s.data_objects.read(path) == DATA
    assert made == [True, True, True]
