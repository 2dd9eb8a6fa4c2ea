"""Issue 17: ``upload_object`` takes any engine ``Source`` (a local file, bytes, a listed SFTP file read by
parallel range readers), lands its bytes in iRODS under the server's checksum of exactly those bytes, and
never publishes a source that changed while it was read (typed ``IrodsSourceChangedError``, no object nor
temporary left). Against the emulator and the SFTP servers of this directory's conftest."""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from irods_provider.client import Kinds
from irods_provider.client.transfer import (
    BytesFile,
    FileStatus,
    LocalFile,
    SkipPolicy,
    TransferConfig,
    sha2_checksum,
    upload_object,
)
from irods_provider.client.transfer._endpoints import ChecksummedSource, ResumableSource, Source
from irods_provider.exceptions import IrodsAlreadyExistsError, IrodsSourceChangedError
from irods_provider.sftp import SftpEndpoint, SftpRangedSource, SftpReadOptions, _ranged

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from ssh_connections import assert_no_open_files

HOME = "/tempZone/home/rods"
KIB = 1024
CHUNK = 64 * KIB
CFG = TransferConfig(chunk_size=CHUNK, small_file_threshold=CHUNK)
PAST = 1_600_000_000  # SFTP mtimes have whole seconds: sources start old, as staged job outputs are
SIZES = {"small": 4 * KIB, "multi-chunk": 5 * CHUNK + 7}


@pytest.fixture
def sftp(remote) -> Iterator[SftpEndpoint]:
    from airflow.providers.sftp.hooks.sftp import SFTPHook

    with SftpEndpoint(SFTPHook(ssh_conn_id="cluster")) as endpoint:
        yield endpoint


def objects(session, collection: str = HOME) -> list[str]:
    """Every data object below ``collection``, hidden temporaries included."""
    return sorted(
        e.path for e in session.collections.iterate(collection, recursive=True, kinds=Kinds.DATA_OBJECTS)
    )


def checksum(data: bytes) -> str:
    return sha2_checksum(hashlib.sha256(data).digest())


def sftp_source(sftp: SftpEndpoint, client, remote, name: str, data: bytes, readers: int) -> SftpRangedSource:
    path = remote.put(name, data)
    os.utime(path, (PAST, PAST))
    options = SftpReadOptions(range_readers=readers, chunk_size=CHUNK)
    return SftpRangedSource(sftp, client, remote.path(name), size=len(data), mtime=PAST, options=options)


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_local_and_bytes_sources_arrive_byte_for_byte(session, tmp_path, size) -> None:
    data = os.urandom(size)
    (tmp_path / "a.bin").write_bytes(data)
    sources: dict[str, Source] = {"local": LocalFile(tmp_path / "a.bin"), "bytes": BytesFile(data, name="b")}
    for kind, source in sources.items():
        result = upload_object(session, source, f"{HOME}/{kind}.bin", config=CFG)
        assert (result.status, result.size, result.source) == (FileStatus.TRANSFERRED, size, source.name)
        assert result.checksum == checksum(data)
        assert session.data_objects.read(f"{HOME}/{kind}.bin") == data
    assert objects(session) == [f"{HOME}/bytes.bin", f"{HOME}/local.bin"]  # no temporary left


@pytest.mark.parametrize("readers", [1, 3], ids=["one-reader", "range-readers"])
def test_the_ranged_sftp_source_arrives_byte_for_byte(session, remote, sftp, readers) -> None:
    data = os.urandom(SIZES["multi-chunk"])
    with sftp.channel() as client, sftp_source(sftp, client, remote, "job/out.h5", data, readers) as source:
        assert isinstance(source, ResumableSource)
        assert isinstance(source, ChecksummedSource)
        result = upload_object(session, source, f"{HOME}/out.h5", config=CFG)
        assert source.change(source.state()) is None  # the same file, still there
    assert (result.status, result.size) == (FileStatus.TRANSFERRED, len(data))
    assert result.checksum == checksum(data)
    assert result.source == remote.path("job/out.h5")
    assert session.data_objects.read(f"{HOME}/out.h5") == data
    assert objects(session) == [f"{HOME}/out.h5"]


def test_an_uploads_range_readers_read_up_to_three_chunks_ahead(session, remote, sftp, monkeypatch) -> None:
    """The parallel writer frees its chunks in pairs (a stream's held request is answered right after the one
    before it): the source may read three chunks ahead of the one the writer holds, never more."""
    made: list[_ranged.ParallelSftpRangeReader] = []

    class Recorded(_ranged.ParallelSftpRangeReader):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(_ranged, "ParallelSftpRangeReader", Recorded)
    data = os.urandom(12 * CHUNK + 5)
    with sftp.channel() as client, sftp_source(sftp, client, remote, "ahead.bin", data, 3) as source:
        result = upload_object(session, source, f"{HOME}/ahead.bin", config=CFG)
    assert result.checksum == checksum(data)
    assert [reader.read_ahead for reader in made] == [_ranged.UPLOAD_READ_AHEAD_CHUNKS] == [3]
    assert made[0].max_buffered_bytes <= 3 * CHUNK


def test_an_sftp_source_not_listed_with_size_and_mtime_is_taken_as_it_is(session, remote, sftp) -> None:
    data = os.urandom(2 * CHUNK + 3)
    remote.put("unlisted.bin", data)
    with sftp.channel() as client:
        with SftpRangedSource(sftp, client, remote.path("unlisted.bin"), size=None, mtime=None) as source:
            assert source.change(source.state()) == "never opened"
            assert source.size() == len(data)
            result = upload_object(session, source, f"{HOME}/unlisted.bin", config=CFG)
        assert result.checksum == checksum(data)
        gone = SftpRangedSource(sftp, client, remote.path("missing.bin"), size=None, mtime=None)
        with pytest.raises(IrodsSourceChangedError, match="removed"):
            upload_object(session, gone, f"{HOME}/missing.bin", config=CFG)
    assert objects(session) == [f"{HOME}/unlisted.bin"]


def test_the_sftp_resume_key_names_the_configured_server_and_the_listed_version(remote, sftp) -> None:
    data = b"x" * 100
    with sftp.channel() as client:
        first = sftp_source(sftp, client, remote, "k.bin", data, 1)
        again = sftp_source(sftp, client, remote, "k.bin", data, 2)
        newer = SftpRangedSource(sftp, client, remote.path("k.bin"), size=100, mtime=PAST + 1)
    assert first.resume_key(f"{HOME}/k.bin") == again.resume_key(f"{HOME}/k.bin")  # reading options aside
    assert first.resume_key(f"{HOME}/k.bin") != newer.resume_key(f"{HOME}/k.bin")
    assert first.resume_key(f"{HOME}/k.bin") != first.resume_key(f"{HOME}/other.bin")


def _append(path) -> None:
    with open(path, "ab") as fh:
        fh.write(b"appended")


def _changing(kind: str, tmp_path, remote, sftp, client) -> tuple[Source, Callable[[], None], str]:
    """A multi-chunk source of ``kind``, how to change it mid-read, and what the error must name."""
    data = os.urandom(SIZES["multi-chunk"])
    if kind == "local":
        path = tmp_path / "grow.bin"
        path.write_bytes(data)
        return LocalFile(path), lambda: _append(path), "size"
    if kind == "bytes":
        source = BytesFile(data, name="mem")

        def replace() -> None:
            source.data = os.urandom(len(data))  # the same size, other bytes

        return source, replace, "replaced"
    readers = 1 if kind == "sftp" else 3
    ranged = sftp_source(sftp, client, remote, "grow.bin", data, readers)
    return ranged, lambda: _append(remote.dir / "grow.bin"), "size"


@pytest.mark.parametrize("kind", ["local", "bytes", "sftp", "sftp-range-readers"])
def test_a_source_changed_during_the_upload_is_never_published(session, tmp_path, remote, sftp, kind) -> None:
    with sftp.channel() as client:
        source, change, named = _changing(kind, tmp_path, remote, sftp, client)
        chunks: list[int] = []

        def on_chunk(total: int) -> None:
            chunks.append(total)
            if len(chunks) == 1:
                change()

        with pytest.raises(IrodsSourceChangedError) as caught:
            upload_object(session, source, f"{HOME}/changed.bin", config=CFG, on_chunk=on_chunk)
        if isinstance(source, SftpRangedSource):
            source.close()
    assert chunks, "the change was never made"
    assert caught.value.path == source.name
    assert named in caught.value.changed
    assert objects(session) == [], "a changed source (or its temporary object) reached iRODS"


def test_checksum_skip_asks_a_checksummed_source_and_never_opens_it(session, remote, sftp) -> None:
    data = os.urandom(SIZES["multi-chunk"])
    session.data_objects.write(f"{HOME}/same.bin", data)
    with sftp.channel() as client, sftp_source(sftp, client, remote, "same.bin", data, 3) as source:
        opened: list[int] = []
        real_open = source.open
        source.open = lambda offset=0: opened.append(offset) or real_open(offset)  # type: ignore[method-assign]
        skipped = upload_object(session, source, f"{HOME}/same.bin", config=CFG, skip=SkipPolicy.CHECKSUM)
        assert (skipped.status, skipped.reason) == (FileStatus.SKIPPED, "same checksum")
        assert opened == []  # hashed where it lies (sha256sum, or read through its own SFTP channel)
        remote.put("same.bin", os.urandom(len(data)))  # same size, other bytes: not skipped, refused
        os.utime(remote.dir / "same.bin", (PAST, PAST))
        with pytest.raises(IrodsAlreadyExistsError) as refused:
            upload_object(session, source, f"{HOME}/same.bin", config=CFG, skip=SkipPolicy.CHECKSUM)
    assert refused.value.path == f"{HOME}/same.bin"
    assert session.data_objects.read(f"{HOME}/same.bin") == data


def test_checksum_skip_hashes_a_plain_source_by_reading_it(session) -> None:
    data = os.urandom(3 * CHUNK)
    session.data_objects.write(f"{HOME}/plain.bin", data)
    same = upload_object(session, BytesFile(data), f"{HOME}/plain.bin", config=CFG, skip=SkipPolicy.CHECKSUM)
    assert (same.status, same.reason) == (FileStatus.SKIPPED, "same checksum")
    other = BytesFile(os.urandom(len(data)))
    with pytest.raises(IrodsAlreadyExistsError):
        upload_object(session, other, f"{HOME}/plain.bin", config=CFG, skip=SkipPolicy.CHECKSUM)
    assert session.data_objects.read(f"{HOME}/plain.bin") == data


def test_the_source_handle_closed_without_waiting_is_closed_on_the_server(
    session, remote, sftp, sftp_server
) -> None:
    # The read handle's close is sent without waiting for its answer (off the file's critical path); the
    # server must still close it, and the channel must go on answering its next requests.
    if not hasattr(sftp_server, "_faults"):
        pytest.skip("only the embedded server tells its open files")
    data = os.urandom(3 * CHUNK + 1)
    with sftp.channel() as client:
        with sftp_source(sftp, client, remote, "job/closed.h5", data, 1) as source:
            upload_object(session, source, f"{HOME}/closed.h5", config=CFG)
            handle = source._handle  # held here: paramiko's own close on garbage collection cannot stand in
            assert handle is not None
        assert client.stat(remote.path("job/closed.h5")).st_size == len(data)  # the channel still answers
        assert_no_open_files(sftp_server)
        assert handle.closed
    assert session.data_objects.read(f"{HOME}/closed.h5") == data
