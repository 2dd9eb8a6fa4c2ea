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
