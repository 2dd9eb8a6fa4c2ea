"""copy_collection with after_copy: each object is finished under a hidden name and appears complete."""

from __future__ import annotations

import pytest

from irods_provider.client import AVU, EntryKind
from irods_provider.client._paths import is_temporary_name
from irods_provider.client.transfer import TransferConfig
from irods_provider.client.transfer._tree import copy_collection

HOME = "/tempZone/home/rods"
SRC = f"{HOME}/tree-src"
DST = f"{HOME}/tree-dst"


@pytest.fixture
def tree(session):
    session.collections.create(f"{SRC}/sub", intermediates=True)
    session.data_objects.write(f"{SRC}/a.txt", b"alpha")
    session.data_objects.write(f"{SRC}/sub/b.txt", b"beta")
    return SRC


def _objects(irods_emulator, prefix: str) -> list[str]:
    with irods_emulator.model.lock:
        return sorted(p for p in irods_emulator.model.data_objects if p.startswith(prefix + "/"))


def test_objects_get_their_avus_before_they_appear(session, irods_emulator, tree) -> None:
    seen: list[tuple[str, bool]] = []

    def finish(temp: str) -> None:
        final = temp.rsplit("/", 1)[0] + "/" + temp.rsplit("/", 1)[1][1:].split(".irods-part-", maxsplit=1)[0]
        seen.append((temp, session.data_objects.exists(final)))
        session.metadata.add(temp, AVU("published", "yes"), kind=EntryKind.DATA_OBJECT)

    report = copy_collection(
        session, tree, DST, config=TransferConfig(max_concurrent_files=2), after_copy=finish
    )
    assert report.transferred == 2
    assert all(is_temporary_name(t.rsplit("/", 1)[1]) for t, _ in seen)
    assert [there for _, there in seen] == [False, False]  # the destination did not exist yet
    for path, data in ((f"{DST}/a.txt", b"alpha"), (f"{DST}/sub/b.txt", b"beta")):
        assert session.data_objects.read(path) == data
        assert session.metadata.list(path, kind=EntryKind.DATA_OBJECT) == [AVU("published", "yes")]
    assert _objects(irods_emulator, DST) == [f"{DST}/a.txt", f"{DST}/sub/b.txt"]  # no temporaries left


def test_a_failing_finish_leaves_nothing_behind(session, irods_emulator, tree) -> None:
    def finish(temp: str) -> None:
        raise RuntimeError("ACL refused")

    with pytest.raises(RuntimeError, match="ACL refused"):
        copy_collection(session, tree, DST, config=TransferConfig(max_concurrent_files=1), after_copy=finish)
    assert _objects(irods_emulator, DST) == []  # neither the object nor its temporary


def test_checksum_skip_on_an_md5_zone(irods_emulator_variants) -> None:
    from irods_provider.client import BasicAuth, IrodsSession
    from irods_provider.client.transfer import OverwritePolicy, SkipPolicy

    server = irods_emulator_variants(hash_scheme="md5")
    with IrodsSession(server.base_url, auth=BasicAuth("rods", "rods-emulator")) as md5:
        md5.collections.create(f"{SRC}/sub", intermediates=True)
        md5.data_objects.write(f"{SRC}/a.txt", b"alpha")
        md5.data_objects.write(f"{SRC}/sub/b.txt", b"beta")
        copy_collection(md5, SRC, DST)
        md5.data_objects.write(f"{DST}/a.txt", b"ALPHA")  # same size, other bytes
        again = copy_collection(md5, SRC, DST, skip=SkipPolicy.CHECKSUM, overwrite=OverwritePolicy.OVERWRITE)
        assert [(f.destination, f.status.value) for f in again.files] == [
            (f"{DST}/a.txt", "transferred"),
            (f"{DST}/sub/b.txt", "skipped"),
        ]
        assert md5.data_objects.read(f"{DST}/a.txt") == b"alpha"
        assert md5.data_objects.calculate_checksum(f"{DST}/a.txt") == md5.data_objects.calculate_checksum(
            f"{SRC}/a.txt"
        )


def test_remove_temporaries_in_a_federated_zone(irods_emulator_variants) -> None:
    import time

    from irods_provider.client import BasicAuth, IrodsSession

    server = irods_emulator_variants(federated_zones=["otherZone"])
    remote = "/otherZone/home/rods#tempZone"
    temp = f"{remote}/.r.bin.irods-part-0123456789abcdef"
    with IrodsSession(server.base_url, auth=BasicAuth("rods", "rods-emulator")) as fed:
        fed.data_objects.write(temp, b"left behind")
        fed.data_objects.write(f"{remote}/r.bin", b"data")
        fed.data_objects.touch(temp, no_create=True, seconds_since_epoch=int(time.time()) - 7200)
        done = fed.collections.remove_temporaries(remote, min_age=3600)
        assert [t.path for t in done.removed] == [temp]
        assert not fed.data_objects.exists(temp)
        assert fed.data_objects.read(f"{remote}/r.bin") == b"data"
