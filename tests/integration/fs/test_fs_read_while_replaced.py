"""A file open for reading whose object another writer replaces mid-read (the provider's own atomic publish:
a temporary renamed onto the path) fails with IrodsSourceChangedError instead of joining the old object's
bytes to the new one's: each block is a ranged read of whatever object the path names now. The object's
catalog id (DATA_ID: a rename carries the temporary's id onto the path) is compared after each block of a
read that needs several requests; a POSIX reader likewise keeps the inode it opened, never a mix."""

from __future__ import annotations

import pytest

from irods_provider.exceptions import IrodsSourceChangedError

HOME = "/tempZone/home/rods"
CHUNK = 64 * 1024  # the irods_fs fixture's chunk size
SIZE = 6 * CHUNK


def test_a_reader_never_joins_two_objects(irods_emulator, irods_fs, fs_factory) -> None:
    other = fs_factory(irods_emulator, chunk_size=CHUNK)
    path = f"{HOME}/result.bin"
    irods_fs.pipe(path, b"A" * SIZE)
    with irods_fs.open(path, "rb", block_size=CHUNK, cache_type="none") as f:
        assert f.read(CHUNK + 10) == b"A" * (CHUNK + 10)
        other.pipe(path, b"B" * SIZE)  # another run republishes it: temporary renamed onto the path
        with pytest.raises(IrodsSourceChangedError) as changed:
            f.read()
    assert (changed.value.path, changed.value.changed) == (path, "replaced")
    assert irods_fs.cat(path) == b"B" * SIZE


def test_a_path_read_through_its_alias_reads_the_snapshot(irods_emulator, irods_fs, fs_factory) -> None:
    """A ``'`` or ``+`` path is read from one server-side copy made at the first read: the old bytes."""
    other = fs_factory(irods_emulator, chunk_size=CHUNK)
    path = f"{HOME}/q'uote/result.bin"
    irods_fs.pipe(path, b"A" * SIZE)
    with irods_fs.open(path, "rb", block_size=CHUNK, cache_type="none") as f:
        first = f.read(CHUNK + 10)
        other.pipe(path, b"B" * SIZE)
        assert first + f.read() == b"A" * SIZE


def test_appends_and_whole_reads_are_not_taken_for_a_replacement(
    irods_emulator, irods_fs, fs_factory
) -> None:
    other = fs_factory(irods_emulator, chunk_size=CHUNK)
    path = f"{HOME}/growing.log"
    irods_fs.pipe(path, b"A" * SIZE)
    with irods_fs.open(path, "rb", block_size=CHUNK, cache_type="none") as f:
        first = f.read(CHUNK)
        with other.open(path, "ab") as g:  # in place: the same object, its prefix unchanged
            g.write(b"tail")
        assert first + f.read() == b"A" * SIZE  # up to the size seen at open
    with irods_fs.open(path, "rb", block_size=10 * SIZE) as f:  # one request: one object
        assert f.read() == b"A" * SIZE + b"tail"


def test_cat_of_several_requests_never_joins_two_objects(irods_emulator, irods_fs, fs_factory) -> None:
    """``cat`` of more than one chunk reads ranges in parallel: replaced after its first range came back."""
    other = fs_factory(irods_emulator, chunk_size=CHUNK)
    path = f"{HOME}/cat.bin"
    irods_fs.pipe(path, b"A" * SIZE)
    api = irods_fs.session.data_objects
    read, replaced = api.read, []

    def read_then_replace(*args, **kwargs):
        data = read(*args, **kwargs)
        if not replaced:
            replaced.append(True)
            other.pipe(path, b"B" * SIZE)
        return data

    api.read = read_then_replace
    try:
        with pytest.raises(IrodsSourceChangedError) as changed:
            irods_fs.cat(path)
    finally:
        del api.read
    assert replaced == [True]
    assert changed.value.path == path
    assert irods_fs.cat(path) == b"B" * SIZE
