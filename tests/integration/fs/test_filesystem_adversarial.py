"""IrodsFileSystem against an adversarial tester's findings: data loss on commit and rename, partial
downloads, listings in a federated zone and the error types of fsspec's contract (MemoryFileSystem and
LocalFileSystem are the reference), each over real HTTP against the emulator."""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

import fsspec
import pytest
from fsspec.callbacks import Callback
from fsspec.implementations.memory import MemoryFileSystem

from irods_provider.client.transfer._upload import aside_names
from irods_provider.exceptions import (
    IrodsNotACollectionError,
    IrodsNotADataObjectError,
    IrodsNotFoundError,
    IrodsResponseError,
    IrodsTemporaryTakenOverError,
)
from irods_provider.testing._errors import IrodsModelError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from claim_lease import lapse

HOME = "/tempZone/home/rods"
CHUNK = 64 * 1024  # the irods_fs fixture's chunk size


def _raw(fs, base: str) -> list[str]:
    """Everything under ``base``, the engine's hidden temporaries included."""
    entries = fs.session.collections.iterate(base, recursive=True, include_temporaries=True)
    return sorted(e.path for e in entries)


def _refuse_renames_onto(server, target: str) -> None:
    """Once nothing is at ``target`` any more, the server fails (SYS_INTERNAL_ERR) the rename that would
    put the new object there; putting back the object the engine moved aside goes through, and so does a
    rename onto an existing ``target`` (refused as the server refuses it)."""
    model = server.model
    real = model.rename_data_object

    def rename(caller: str, old: str, new: str) -> None:
        if new == target and ".irods-old-" not in old:
            try:
                model.stat_data_object(caller, target)
            except IrodsModelError:
                raise IrodsModelError("SYS_INTERNAL_ERR", "rename failed by the test") from None
        real(caller, old, new)

    model.rename_data_object = rename


# ---- 1, 2, 3: publishing ---------------------------------------------------------------------------------


def test_deferred_commit_keeps_its_temporary_while_another_writer_writes(
    irods_emulator, irods_fs, fs_factory
):
    """A closes inside a transaction; B writes the same path meanwhile: A's live lease keeps B off A's
    temporary (B writes through a fresh one), so A's commit publishes A's bytes and B then its own."""
    other = fs_factory(irods_emulator, chunk_size=CHUNK)
    path = f"{HOME}/tx/kept.csv"
    irods_fs.pipe(path, b"OLD")
    late = other.open(path, "wb")
    with irods_fs.transaction:
        with irods_fs.open(path, "wb") as f:
            f.write(b"A" * (CHUNK * 4))
        late.write(b"B" * (CHUNK * 2))  # B's first chunks: A's temporary is A's, B takes a fresh one
    assert irods_fs.cat(path) == b"A" * (CHUNK * 4)
    late.write(b"B" * (CHUNK * 2))
    late.close()
    assert irods_fs.cat(path) == b"B" * (CHUNK * 4)
    assert _raw(irods_fs, f"{HOME}/tx") == [path]


def test_deferred_commit_fails_when_another_writer_took_the_temporary_over(
    irods_emulator, irods_fs, fs_factory
):
    """A closes inside a transaction and stops renewing its lease (a stalled worker, a lease ago); B opens
    the same path (same derived temporary) and writes part of its content: A's commit must not publish B's
    half-written temporary: typed error, target untouched, and B still finishes and publishes its own
    bytes."""
    other = fs_factory(irods_emulator, chunk_size=CHUNK)
    path = f"{HOME}/tx/report.csv"
    irods_fs.pipe(path, b"OLD")
    late = other.open(path, "wb")

    def takeover_inside_a_transaction() -> None:
        with irods_fs.transaction:
            with irods_fs.open(path, "wb") as f:
                f.write(b"A" * (CHUNK * 4))
            writer = f._unpublished
            writer._stop_lease()
            lapse(irods_fs.session, writer.path)
            late.write(b"B" * (CHUNK * 2))  # B's first chunks: it takes the lapsed temporary over now

    with pytest.raises(IrodsTemporaryTakenOverError) as taken:
        takeover_inside_a_transaction()
    assert taken.value.path == path
    assert irods_fs.cat(path) == b"OLD"
    late.write(b"B" * (CHUNK * 2))
    late.close()
    assert irods_fs.cat(path) == b"B" * (CHUNK * 4)
    assert _raw(irods_fs, f"{HOME}/tx") == [path]


def test_failed_commit_keeps_the_object_it_would_replace(irods_emulator, irods_fs):
    path = f"{HOME}/cf/precious.csv"
    irods_fs.pipe(path, b"ORIGINAL CONTENT")
    _refuse_renames_onto(irods_emulator, path)
    with pytest.raises(IrodsResponseError), irods_fs.open(path, "wb") as f:
        f.write(b"N" * (CHUNK * 3))
    del irods_emulator.model.rename_data_object
    assert irods_fs.cat(path) == b"ORIGINAL CONTENT"
    assert _raw(irods_fs, f"{HOME}/cf") == [path]  # no temporary, nothing moved aside left


def test_failed_mv_onto_an_existing_object_keeps_both(irods_emulator, irods_fs):
    src, dst = f"{HOME}/mv/src", f"{HOME}/mv/dst"
    irods_fs.pipe({src: b"SRC", dst: b"DST-OLD"})
    _refuse_renames_onto(irods_emulator, dst)
    with pytest.raises(IrodsResponseError):
        irods_fs.mv(src, dst)
    del irods_emulator.model.rename_data_object
    assert (irods_fs.cat(src), irods_fs.cat(dst)) == (b"SRC", b"DST-OLD")
    assert _raw(irods_fs, f"{HOME}/mv") == [dst, src]
    irods_fs.mv(src, dst)
    assert irods_fs.cat(dst) == b"SRC"
    assert not irods_fs.exists(src)


def test_failed_mv_after_one_killed_between_its_renames_puts_the_old_object_back(irods_emulator, irods_fs):
    """A killed ``mv`` left ``dst`` empty, its object moved aside (the first of the publish's two renames);
    the next ``mv`` fails before it publishes: ``dst`` holds its old object again, nothing is left aside
    (before: ``dst`` stayed empty, its object hidden until the cleanup operator ran)."""
    src, dst = f"{HOME}/mvk/src", f"{HOME}/mvk/dst"
    irods_fs.pipe({src: b"SRC", dst: b"DST-OLD"})
    irods_fs.session.data_objects.rename(dst, aside_names(dst, None, src)[0])  # the killed attempt's
    _refuse_renames_onto(irods_emulator, dst)
    with pytest.raises(IrodsResponseError):
        irods_fs.mv(src, dst)
    del irods_emulator.model.rename_data_object
    assert (irods_fs.cat(src), irods_fs.cat(dst)) == (b"SRC", b"DST-OLD")
    assert _raw(irods_fs, f"{HOME}/mvk") == [dst, src]


def test_big_write_onto_a_collection_names_it_and_leaves_no_temporary(irods_fs, tmp_path):
    base = f"{HOME}/pc"
    irods_fs.makedirs(f"{base}/coll")
    local = tmp_path / "big.bin"
    local.write_bytes(b"A" * (CHUNK * 3))
    with pytest.raises(IrodsNotADataObjectError) as put:
        irods_fs.put_file(str(local), f"{base}/coll")
    with pytest.raises(IsADirectoryError) as opened, irods_fs.open(f"{base}/coll", "wb") as f:
        f.write(b"B" * (CHUNK * 3))
    assert put.value.path == opened.value.path == f"{base}/coll"
    assert _raw(irods_fs, base) == [f"{base}/coll"]


# ---- 4: downloads ----------------------------------------------------------------------------------------


class _Progress(Callback):
    def __init__(self, on_update=None) -> None:
        super().__init__()
        self.total = 0
        self._on_update = on_update

    def relative_update(self, inc: int = 1) -> None:
        super().relative_update(inc)
        self.total += inc
        if self._on_update is not None:
            self._on_update()


def test_get_file_failure_keeps_the_previous_local_file(irods_emulator, fs_factory, tmp_path):
    fs = fs_factory(irods_emulator, chunk_size=CHUNK, streams=1)
    data = os.urandom(CHUNK * 8)
    path = f"{HOME}/gf/big.bin"
    local = tmp_path / "big.bin"
    local.write_bytes(b"PREVIOUS GOOD COPY")
    fs.pipe(path, data)
    fails = _Progress(on_update=lambda: irods_emulator.set_faults(error_500=1.0))
    with pytest.raises(IrodsResponseError):
        fs.get_file(path, str(local), callback=fails)
    irods_emulator.set_faults(error_500=0.0)
    assert local.read_bytes() == b"PREVIOUS GOOD COPY"
    assert os.listdir(tmp_path) == ["big.bin"]  # no partial temporary left
    progress = _Progress()
    fs.get_file(path, str(local), callback=progress)
    assert local.read_bytes() == data
    assert (progress.size, progress.total) == (len(data), len(data))
    assert os.listdir(tmp_path) == ["big.bin"]


# ---- 5: federated zone -----------------------------------------------------------------------------------


def test_listings_in_a_federated_zone_match_the_local_zone(irods_emulator_variants, fs_factory):
    fs = fs_factory(irods_emulator_variants(federated_zones=["otherZone"]))
    for home in (HOME, "/otherZone/home/rods#tempZone"):
        base = f"{home}/fz"
        fs.pipe(f"{base}/f.txt", b"data")
        assert fs.ls(f"{base}/f.txt", detail=False) == [f"{base}/f.txt"]
        assert fs.find(f"{base}/f.txt") == [f"{base}/f.txt"]
        assert fs.find(f"{base}/missing") == []
        assert fs.glob(f"{base}/missing/*") == []
        with pytest.raises(FileNotFoundError):
            fs.ls(f"{base}/missing")
        fs.rm(f"{base}/f.txt", recursive=True)
        assert fs.ls(base) == []


# ---- 6, 7: reading what is no data object ----------------------------------------------------------------


def test_reading_a_collection_is_a_directory_error(irods_fs):
    coll = f"{HOME}/oc/dir"
    irods_fs.pipe(f"{coll}/child", b"x")
    for read in (lambda: irods_fs.open(coll, "rb").read(), lambda: irods_fs.head(coll)):
        with pytest.raises(IrodsNotADataObjectError) as error:
            read()
        assert isinstance(error.value, IsADirectoryError)
        assert error.value.path == coll


def test_cat_of_a_missing_path_is_file_not_found(irods_fs):
    missing = f"{HOME}/does-not-exist.txt"
    for cat in (irods_fs.cat, irods_fs.cat_file):
        with pytest.raises(FileNotFoundError) as error:
            cat(missing)
        assert not isinstance(error.value, IsADirectoryError)
        assert missing in str(error.value)


# ---- 8, 13, 14: removing and creating --------------------------------------------------------------------


def _tree(fs, base: str) -> None:
    fs.makedirs(f"{base}/sub/deep", exist_ok=True)
    fs.pipe({f"{base}/a": b"1", f"{base}/sub/b": b"2", f"{base}/sub/deep/c": b"3"})


def test_rm_with_maxdepth_behaves_like_memory_filesystem(irods_fs):
    base = f"{HOME}/rmd"
    memory = MemoryFileSystem(skip_instance_cache=True)
    for fs, root in ((irods_fs, base), (memory, "/rmd")):
        _tree(fs, root)
        with pytest.raises(OSError, match="not empty") as deeper:
            fs.rm(root, recursive=True, maxdepth=2)  # sub/deep still holds c
        assert deeper.value.errno == errno.ENOTEMPTY
        fs.rm(f"{root}/sub/deep/c")
        fs.rm(root, recursive=True, maxdepth=3)
        assert not fs.exists(root)
    _tree(irods_fs, base)
    with pytest.raises(IsADirectoryError):
        irods_fs.rm_file(f"{base}/sub")
    assert irods_fs.cat(f"{base}/sub/b") == b"2"


def test_error_types_of_rmdir_checksum_cp_file_and_makedirs(irods_fs):
    base = f"{HOME}/et"
    irods_fs.makedirs(f"{base}/d")
    irods_fs.pipe(f"{base}/f", b"x")
    with pytest.raises(FileNotFoundError):
        irods_fs.rmdir(f"{base}/missing")
    with pytest.raises(NotADirectoryError):
        irods_fs.rmdir(f"{base}/f")
    with pytest.raises(IsADirectoryError) as checksum:
        irods_fs.checksum(f"{base}/d")
    assert checksum.value.path == f"{base}/d"
    irods_fs.cp_file(f"{base}/f", f"{base}/f")
    assert irods_fs.cat(f"{base}/f") == b"x"
    with pytest.raises(FileNotFoundError):
        irods_fs.cp_file(f"{base}/missing", f"{base}/missing")
    with pytest.raises(IrodsNotACollectionError) as makedirs:
        irods_fs.makedirs(f"{base}/f/sub/deeper")
    assert makedirs.value.path == f"{base}/f/sub/deeper"
    assert f"{base}/f is a data object" in str(makedirs.value)
    assert _raw(irods_fs, base) == [f"{base}/d", f"{base}/f"]


# ---- 9, 10, 12: renames into a collection, cache keys, missing parents ----------------------------------


def test_mv_onto_a_trailing_slash_moves_into_that_collection(irods_fs):
    base = f"{HOME}/mvt"
    irods_fs.pipe({f"{base}/f1": b"1", f"{base}/d/f2": b"2"})
    irods_fs.mv(f"{base}/f1", f"{base}/newdir/")
    irods_fs.mv(f"irods://{base}/d", f"irods://{base}/newdir2/")
    assert irods_fs.find(base, withdirs=True) == [
        base,
        f"{base}/newdir",
        f"{base}/newdir/f1",
        f"{base}/newdir2",
        f"{base}/newdir2/d",
        f"{base}/newdir2/d/f2",
    ]


def test_ukey_changes_on_a_same_size_rewrite_and_filecache_serves_it(irods_fs, tmp_path):
    path = f"{HOME}/uk/data.csv"
    irods_fs.pipe(path, b"version=1")
    before = irods_fs.ukey(path)
    irods_fs.pipe(path, b"version=2")  # same size, same second
    assert irods_fs.ukey(path) != before
    cached = fsspec.filesystem(
        "filecache", fs=irods_fs, cache_storage=str(tmp_path), check_files=True, skip_instance_cache=True
    )
    with cached.open(path, "rb") as f:
        assert f.read() == b"version=2"
    irods_fs.pipe(path, b"version=3")
    with cached.open(path, "rb") as f:
        assert f.read() == b"version=3"


def test_big_write_without_auto_mkdir_names_the_missing_collection(irods_emulator, fs_factory):
    fs = fs_factory(irods_emulator, chunk_size=CHUNK, auto_mkdir=False)
    for size in (10, CHUNK * 3):
        with pytest.raises(IrodsNotFoundError) as error:
            fs.pipe(f"{HOME}/nope/x.bin", b"x" * size)
        assert f"{HOME}/nope" in str(error.value)
        assert ".irods-part-" not in str(error.value)
    assert not fs.exists(f"{HOME}/nope")


def test_paths_with_a_plus_are_answered_from_the_catalog(irods_fs):
    # A GET query string cannot carry '+' (the server decodes, then turns '+' into a space), so stat
    # cannot address these paths: info/exists/rm/created ask GenQuery, as isfile/ls already did.
    base = f"{HOME}/plus+dir"
    path = f"{base}/run+1.h5"
    irods_fs.pipe(path, b"data")
    irods_fs.pipe(f"{base}/run 1.h5", b"other!")  # what the server would read for the '+' name
    assert irods_fs.exists(path)
    assert irods_fs.exists(base)
    assert not irods_fs.exists(f"{base}/run+2.h5")
    info = irods_fs.info(path)
    assert (info["name"], info["type"], info["size"]) == (path, "file", 4)
    assert irods_fs.info(base)["type"] == "directory"
    assert irods_fs.created(path).year >= 2024
    assert irods_fs.created(base).year >= 2024
    with pytest.raises(FileNotFoundError):
        irods_fs.created(f"{base}/run+2.h5")
    irods_fs.rm(path)
    assert not irods_fs.exists(path)
    assert irods_fs.ls(base, detail=False) == [f"{base}/run 1.h5"]  # only the '+' one went
    irods_fs.rm(base, recursive=True)
    assert not irods_fs.exists(base)
