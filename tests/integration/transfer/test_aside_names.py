"""The names an overwrite moves the old object aside to: one per writer, still the engine's temporaries.

Each writer moves ``<name>``'s object aside to ``.<name>.irods-old-<path key>-<nonce>`` (transfer/_upload
``aside_names``), so writers racing for one path never take each other's name, and the next attempt at the
path finds what a killed one moved aside whatever it knows of that attempt. The cleanup of abandoned
temporaries (``_async/_temporaries``), the listings and the hooks' tree signature (``hooks/_checks``) must
know these names as they knew ``.<name>.irods-old-<key>``: a killed writer's object is put back onto its
empty name, or removed once the name holds a newer object, and never listed as data.
"""

from __future__ import annotations

import pytest

from irods_provider.client._paths import NAME_MAX, is_temporary_name
from irods_provider.client.transfer._upload import aside_names, parked_start
from irods_provider.hooks._checks import signature_query

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods/aside"
LONG = "l" * 250 + ".bin"  # the name is shortened in its temporary's (NAME_MAX bytes at most)


def test_each_writer_has_its_own_name_and_every_writer_of_a_path_shares_its_start() -> None:
    """The start is the path's alone (not the transfer's: a retry whose source changed, or an upload without
    a stable key, must still find what a killed attempt moved aside)."""
    first, start = aside_names(f"{HOME}/a.bin", "key /a.bin", f"{HOME}/.a.bin.irods-part-0011")
    second, again = aside_names(f"{HOME}/a.bin", "key /a.bin", f"{HOME}/.a.bin.irods-part-2233")
    other, same = aside_names(f"{HOME}/a.bin", "another transfer", f"{HOME}/.a.bin.irods-part-0011")
    _, elsewhere = aside_names(f"{HOME}/b.bin", "key /a.bin", f"{HOME}/.b.bin.irods-part-0011")
    assert len({first, second, other}) == 3
    assert start == again == same == parked_start(f"{HOME}/a.bin")
    assert first.startswith(start)
    assert second.startswith(start)
    assert other.startswith(start)
    assert elsewhere != start
    for path in (first, second, other, aside_names(f"{HOME}/{LONG}", None, f"{HOME}/x")[0]):
        name = path.rpartition("/")[2]
        assert is_temporary_name(name), name
        assert len(name.encode()) <= NAME_MAX


def test_the_cleanup_puts_a_killed_writers_object_back_or_removes_it_once_superseded(session) -> None:
    """Killed between its two renames, a writer left ``<name>`` empty and its object aside: the cleanup
    renames it back; once ``<name>`` holds a newer object it removes it (also under a shortened long name,
    whose ``<name>`` is found again among the siblings by its digest)."""
    session.collections.create(HOME, intermediates=True)
    emptied, _ = aside_names(f"{HOME}/emptied.bin", "t1", "x")
    superseded, _ = aside_names(f"{HOME}/kept.bin", "t2", "x")
    long_one, _ = aside_names(f"{HOME}/{LONG}", "t3", "x")
    finals = ((f"{HOME}/kept.bin", b"new"), (f"{HOME}/{LONG[:-1]}", b"sibling"), (f"{HOME}/{LONG}", b"long"))
    for path, data in ((emptied, b"e"), (superseded, b"s"), (long_one, b"l"), *finals):
        session.data_objects.write(path, data)
    names = sorted(e.name for e in session.collections.iterate(HOME))
    assert names == sorted(["kept.bin", LONG, LONG[:-1]])  # never listed as data

    done = session.collections.remove_temporaries(HOME, min_age=0)
    assert [t.path for t in done.restored] == [emptied]
    assert sorted(t.path for t in done.removed) == sorted([superseded, long_one])
    assert done.failed == []
    assert session.data_objects.read(f"{HOME}/emptied.bin") == b"e"
    for path, data in finals:
        assert session.data_objects.read(path) == data


def test_the_hooks_tree_signature_leaves_them_out(session) -> None:
    session.collections.create(HOME, intermediates=True)
    session.data_objects.write(f"{HOME}/a.bin", b"12345")
    before = list(session.query.genquery(signature_query(HOME)))
    aside, _ = aside_names(f"{HOME}/a.bin", "t", "x")
    session.data_objects.write(aside, b"1234567")
    assert list(session.query.genquery(signature_query(HOME))) == before
