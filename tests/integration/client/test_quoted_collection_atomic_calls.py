"""A data object in a collection named with one apostrophe ("John's data") on iRODS 4.3.

iRODS's atomic metadata and ACL APIs look the object up with a GenQuery1 string holding the path unescaped
(irods 4.3.4 plugins/api/src/atomic_apply_metadata_operations.cpp:158-167, atomic_apply_acl_operations.cpp:
183-190); 4.3's splitter cuts conditions only at an `` and `` after an even number of quotes
(lib/core/src/rcMisc.cpp:3130-3213), so the two conditions merge into one that matches nothing: metadata
answers SYS_INVALID_INPUT_PARAM (-130000), ACLs SYS_UNKNOWN_ERROR (-165000). 5.0 escapes quotes
(single_quotes_to_hex, 5.0.2 :159-167). Uploads record their parallel-write handles with that API: they must
still land there (offset writes, no record), and a user's atomic call must say why it cannot.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from irods_provider.client import AVU, BasicAuth, EntryKind, IrodsSession, PermissionOperation
from irods_provider.client.transfer import TransferConfig, download_object, upload_object
from irods_provider.exceptions import IrodsResponseError, IrodsUsageError
from irods_provider.testing import EmulatorServer

pytestmark = pytest.mark.timeout(120)

COLL = "/tempZone/home/rods/John's data"
Variants = Callable[..., EmulatorServer]


def _session(server: EmulatorServer) -> IrodsSession:
    return IrodsSession(server.base_url, auth=BasicAuth("rods", "rods-emulator"))


@pytest.fixture(params=["rods4.3.2", "rods5.0.1"])
def session(request: pytest.FixtureRequest, irods_emulator_variants: Variants) -> Iterator[IrodsSession]:
    server = irods_emulator_variants(irods_server_version=request.param)
    with _session(server) as s:
        s.collections.create(COLL)
        yield s


def test_a_parallel_upload_lands_in_the_collection(session: IrodsSession, tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 4321)
    (tmp_path / "big.bin").write_bytes(data)
    cfg = TransferConfig(streams=3, chunk_size=256 * 1024, small_file_threshold=64 * 1024)
    result = upload_object(session, tmp_path / "big.bin", f"{COLL}/big.bin", config=cfg)
    # (a plain read of such a path fails on 4.3 too: the download reads through a read alias)
    download_object(session, f"{COLL}/big.bin", tmp_path / "back.bin")
    assert hashlib.sha256((tmp_path / "back.bin").read_bytes()).digest() == hashlib.sha256(data).digest()
    assert result.checksum == session.data_objects.calculate_checksum(f"{COLL}/big.bin")
    names = [e.name for e in session.collections.iterate(COLL, include_temporaries=True)]
    assert names == ["big.bin"]


def test_an_atomic_call_says_why_iRODS_43_cannot_find_the_object(irods_emulator_variants: Variants) -> None:
    with _session(irods_emulator_variants(irods_server_version="rods4.3.2")) as s:
        s.collections.create(COLL)
        s.data_objects.write(f"{COLL}/f.txt", b"x")
        with pytest.raises(IrodsResponseError) as meta:
            s.metadata.add(f"{COLL}/f.txt", AVU("k", "v"))
        with pytest.raises(IrodsResponseError) as acl:
            s.data_objects.modify_permissions(f"{COLL}/f.txt", [PermissionOperation("rods", "own")])
        s.metadata.add(COLL, AVU("k", "v"))  # the collection itself is one condition: found
        assert s.metadata.list(COLL) == [AVU("k", "v")]
    assert (meta.value.irods_code, acl.value.irods_code) == (-130000, -165000)
    for caught in (meta.value, acl.value):
        assert caught.path == f"{COLL}/f.txt"
        assert "quote" in str(caught)
        assert "iRODS 4.3" in str(caught)


def test_iRODS_50_applies_the_same_calls(irods_emulator_variants: Variants) -> None:
    with _session(irods_emulator_variants(irods_server_version="rods5.0.1")) as s:
        s.collections.create(COLL)
        s.data_objects.write(f"{COLL}/f.txt", b"x")
        s.metadata.add(f"{COLL}/f.txt", AVU("k", "v"))
        assert s.metadata.list(f"{COLL}/f.txt") == [AVU("k", "v")]


NAMES = [
    ("it's", "f.txt"),
    ("it''s", "f.txt"),
    ("a'b'c'", "f.txt"),
    ("plain", "it's"),
    ("plain", "x's and y"),
    ("x's and y's", "f"),
    ("x and y", "it's"),
    ("a\\x41", "f"),
]


@pytest.mark.parametrize("release", ["rods4.3.2", "rods5.0.1"])
def test_the_clients_rule_agrees_with_the_emulators_model(
    irods_emulator_variants: Variants, release: str
) -> None:
    """``atomic_lookup_may_miss`` against the emulator's GenQuery1 model of each release (an implementation of
    its own: the whole 4.3 splitter and catalog binding, and 5.0's grammar), object by object."""
    from irods_provider.client._paths import atomic_lookup_may_miss

    with _session(irods_emulator_variants(irods_server_version=release)) as s:
        for coll, name in NAMES:
            path = f"/tempZone/home/rods/{coll}/{name}"
            s.collections.create(f"/tempZone/home/rods/{coll}", exist_ok=True)
            s.data_objects.write(path, b"x")
            code = 0
            try:
                s.metadata.add(path, AVU("k", "v"), kind=EntryKind.DATA_OBJECT)
            except IrodsResponseError as exc:
                code = exc.irods_code or 0
            assert code in (0, -130000), path
            assert atomic_lookup_may_miss(path, server_version=release) is (code != 0), path


def test_a_touch_says_why_iRODS_43_cannot_find_the_replica(irods_emulator_variants: Variants) -> None:
    """rs_touch finds the newest good replica with a pasted query too (touch.cpp:366-398 at 4.3.4): on 4.3 it
    answers SYS_NO_GOOD_REPLICA for a fine object, which otherwise means another client is writing it."""
    with _session(irods_emulator_variants(irods_server_version="rods4.3.2")) as s:
        s.collections.create(COLL)
        s.data_objects.write(f"{COLL}/f.txt", b"x")
        with pytest.raises(IrodsResponseError) as caught:
            s.data_objects.touch(f"{COLL}/f.txt", seconds_since_epoch=1000)
    assert caught.value.irods_code == -166000
    assert caught.value.path == f"{COLL}/f.txt"
    assert "quote" in str(caught.value)
    with _session(irods_emulator_variants(irods_server_version="rods5.0.1")) as s:
        s.collections.create(COLL)
        s.data_objects.write(f"{COLL}/f.txt", b"x")
        s.data_objects.touch(f"{COLL}/f.txt", seconds_since_epoch=1000)
        assert s.collections.lookup(f"{COLL}/f.txt").modified_at == 1000


def test_an_upload_asking_for_avus_there_is_refused_before_reading(
    irods_emulator_variants: Variants, tmp_path: Path
) -> None:
    """On 4.3 its AVUs could not be set at the end (the same lookup): refused before a byte is written."""
    (tmp_path / "a.bin").write_bytes(os.urandom(300_000))
    with _session(irods_emulator_variants(irods_server_version="rods4.3.2")) as s:
        s.collections.create(COLL)
        with pytest.raises(IrodsUsageError, match="quote"):
            upload_object(s, tmp_path / "a.bin", f"{COLL}/a.bin", metadata={"k": "v"})
        assert list(s.collections.iterate(COLL, include_temporaries=True)) == []
