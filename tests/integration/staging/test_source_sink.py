"""The engine's Source and Sink protocols: every implementation conforms, and a copy between every pair of
them (local file, bytes, iRODS object on the emulator, SFTP file on the servers, fsspec files in memory and on
the emulator through IrodsFileSystem) arrives byte for byte (SHA-256), published atomically, with no
temporary left behind."""

from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import fsspec
import pytest

from irods_provider.client._paths import is_temporary_name
from irods_provider.client.transfer._endpoints import (
    BytesFile,
    IrodsObject,
    LocalFile,
    Sink,
    Source,
    copy_file,
    source_key,
)
from irods_provider.exceptions import IrodsAlreadyExistsError, IrodsSourceChangedError
from irods_provider.fs import IrodsFileSystem
from irods_provider.fs._endpoint import FsspecFile
from irods_provider.sftp._file import SftpFile

HOME = "/tempZone/home/rods"
KINDS = ("local", "bytes", "irods", "sftp", "fsspec", "fsspec-irods")


class Places:
    """Makes a file of each kind (with content, or empty as a sink) and reads back what one holds."""

    def __init__(self, tmp: Path, session, client, remote, memory) -> None:
        self.tmp, self.session, self.client, self.remote, self.memory = tmp, session, client, remote, memory
        self.irods_fs = IrodsFileSystem(session=session, skip_instance_cache=True)
        for collection in ("ss", "ssfs"):
            session.collections.create(f"{HOME}/{collection}", intermediates=True, exist_ok=True)
        self.bytes_sinks: dict[str, BytesFile] = {}

    def make(self, kind: str, name: str, data: bytes | None) -> Source | Sink:
        if kind == "local":
            path = self.tmp / name
            if data is not None:
                path.write_bytes(data)
            return LocalFile(path)
        if kind == "bytes":
            return self.bytes_sinks.setdefault(name, BytesFile(data, name=name))
        if kind == "irods":
            if data is not None:
                self.session.data_objects.write(f"{HOME}/ss/{name}", data)
            return IrodsObject(self.session, f"{HOME}/ss/{name}")
        if kind == "sftp":
            if data is not None:
                self.remote.put(name, data)
            return SftpFile(self.client, self.remote.path(name))
        if kind == "fsspec-irods":
            if data is not None:
                self.session.data_objects.write(f"{HOME}/ssfs/{name}", data)
            return FsspecFile(self.irods_fs, f"irods://{HOME}/ssfs/{name}")
        if data is not None:
            self.memory.pipe_file(f"/ss/{name}", data)
        return FsspecFile(self.memory, f"memory:///ss/{name}")

    def held(self, kind: str, name: str) -> bytes | None:
        readers: dict[str, Callable[[], bytes | None]] = {
            "local": lambda: (self.tmp / name).read_bytes() if (self.tmp / name).exists() else None,
            "bytes": lambda: self.bytes_sinks[name].data if name in self.bytes_sinks else None,
            "irods": lambda: (
                self.session.data_objects.read(f"{HOME}/ss/{name}")
                if self.session.data_objects.exists(f"{HOME}/ss/{name}")
                else None
            ),
            "sftp": lambda: self.remote.files().get(name),
            "fsspec": lambda: (
                self.memory.cat_file(f"/ss/{name}") if self.memory.exists(f"/ss/{name}") else None
            ),
            "fsspec-irods": lambda: (
                self.session.data_objects.read(f"{HOME}/ssfs/{name}")
                if self.session.data_objects.exists(f"{HOME}/ssfs/{name}")
                else None
            ),
        }
        return readers[kind]()

    def temporaries(self) -> list[str]:
        local = [p.name for p in self.tmp.iterdir() if is_temporary_name(p.name)]
        irods = [
            e.path
            for collection in ("ss", "ssfs")
            for e in self.session.collections.iterate(f"{HOME}/{collection}", include_temporaries=True)
        ]
        sftp = [n for n in self.remote.files() if is_temporary_name(n.rsplit("/", 1)[-1])]
        memory = [p for p in self.memory.find("/ss") if is_temporary_name(p.rsplit("/", 1)[-1])]
        return local + [p for p in irods if is_temporary_name(p.rsplit("/", 1)[-1])] + sftp + memory


@pytest.fixture
def places(tmp_path, session, remote) -> Iterator[Places]:
    from airflow.providers.sftp.hooks.sftp import SFTPHook

    from irods_provider.sftp import SftpEndpoint

    memory = fsspec.filesystem("memory", skip_instance_cache=True)
    memory.store.clear()
    local = tmp_path / "local"
    local.mkdir()
    with SftpEndpoint(SFTPHook(ssh_conn_id="cluster")) as sftp, sftp.channel() as client:
        yield Places(local, session, client, remote, memory)


def test_every_implementation_is_a_source_and_a_sink(places) -> None:
    for kind in KINDS:
        made = places.make(kind, f"proto-{kind}", b"x")
        assert isinstance(made, Source), kind
        assert isinstance(made, Sink), kind
    assert not isinstance(object(), Source)
    assert not isinstance(b"x", Sink)


def test_a_copy_between_every_pair_arrives_byte_for_byte(places) -> None:
    for n, (src, dst) in enumerate(itertools.product(KINDS, KINDS)):
        data = os.urandom(150_000 + n) + f"{src}->{dst}".encode()
        source = places.make(src, f"src-{n}", data)
        sink = places.make(dst, f"dst-{n}", None)
        assert isinstance(source, Source)
        assert isinstance(sink, Sink)
        result = copy_file(source, sink, chunk_size=64 * 1024)
        assert result.sha256 == hashlib.sha256(data).digest(), (src, dst)
        held = places.held(dst, f"dst-{n}")
        assert held is not None, (src, dst)
        assert hashlib.sha256(held).digest() == result.sha256, (src, dst)
    assert places.temporaries() == []


def test_an_existing_destination_is_refused_unless_overwrite(places) -> None:
    for kind in KINDS:
        places.make(kind, "there", b"old")
        with pytest.raises(IrodsAlreadyExistsError) as refused:
            copy_file(BytesFile(b"new"), places.make(kind, "there", None))
        assert refused.value.path.endswith("there"), kind
        assert places.held(kind, "there") == b"old", kind
        copy_file(BytesFile(b"new"), places.make(kind, "there", None), overwrite=True)
        assert places.held(kind, "there") == b"new", kind
    assert places.temporaries() == []


class _Appending(LocalFile):
    """A local source another process appends to while it is read."""

    def open(self, offset: int = 0):
        reader = super().open(offset)
        with open(self.path, "ab") as more:
            more.write(b"late line\n")
        return reader


def test_a_source_that_changes_while_read_is_never_published(places, tmp_path) -> None:
    path = tmp_path / "growing.log"
    path.write_bytes(b"first line\n" * 1000)
    for kind in ("irods", "sftp", "fsspec", "fsspec-irods", "local"):
        with pytest.raises(IrodsSourceChangedError) as changed:
            copy_file(_Appending(path), places.make(kind, "grown", None))
        assert changed.value.path == str(path), kind
        assert "size" in str(changed.value), kind
        assert places.held(kind, "grown") is None, kind
    assert places.temporaries() == []


def test_a_local_sink_resumes_its_temporary_and_hashes_the_prefix_from_the_source(places) -> None:
    data = os.urandom(300_000)
    source = BytesFile(data)
    sink = LocalFile(places.tmp / "resumed.bin")
    stale, _ = sink.open_temp(key="an older version of the source")
    stale.write(b"x" * 200_000)  # must never be taken for a prefix of this version
    stale.close()
    writer, offset = sink.open_temp(size=len(data), key=source_key(source))
    writer.write(data[:100_000])  # what a killed attempt left
    writer.close()
    assert offset == 0
    assert places.temporaries() == [os.path.basename(sink.temporary(source_key(source)))]  # stale removed
    sent: list[int] = []
    reader_open = source.open
    source.open = lambda offset=0: sent.append(offset) or reader_open(offset)  # type: ignore[method-assign]
    result = copy_file(source, sink, chunk_size=32 * 1024)
    assert sent == [0, 100_000]  # the prefix is hashed from the source, the rest sent from there
    assert result.sha256 == hashlib.sha256(data).digest()
    assert result.size == len(data)
    assert (places.tmp / "resumed.bin").read_bytes() == data
    assert places.temporaries() == []


def test_a_temporary_of_another_version_is_never_resumed(places) -> None:
    data = os.urandom(50_000)
    sink = LocalFile(places.tmp / "fresh.bin")
    stale, _ = sink.open_temp(key="another version")
    stale.write(b"y" * 10_000)
    stale.close()
    copy_file(BytesFile(data), sink)
    assert (places.tmp / "fresh.bin").read_bytes() == data
    assert places.temporaries() == []


@pytest.mark.parametrize("name", ["n" * 255, "é" * 127, "x" * 230 + ".bin"])
def test_a_local_sink_publishes_and_resumes_a_name_too_long_for_its_temporary(places, name: str) -> None:
    """Any legal name (255 bytes) can be written: its temporary's name is shortened, deterministically."""
    data = os.urandom(70_000)
    source = BytesFile(data)
    sink = LocalFile(places.tmp / name)
    temp = os.path.basename(sink.temporary(source_key(source)))
    assert len(os.fsencode(temp)) <= 255
    assert temp == os.path.basename(LocalFile(places.tmp / name).temporary(source_key(source)))
    writer, _ = sink.open_temp(size=len(data), key=source_key(source))
    writer.write(data[:30_000])  # what a killed attempt left
    writer.close()
    result = copy_file(source, sink, chunk_size=16 * 1024)
    assert result.sha256 == hashlib.sha256(data).digest()
    assert (places.tmp / name).read_bytes() == data
    assert places.temporaries() == []
