"""What :func:`~._upload.upload_object` reads from, opened once: a local path, a binary stream or any
:class:`~._endpoints.Source`, with its size, its after-the-last-read change check, its resume key and (for
the CHECKSUM skip policy) its checksum, so the upload itself treats every kind alike."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, TypeAlias

from irods_provider.client._events import emit
from irods_provider.exceptions import IrodsUsageError

from . import _resume
from ._config import ChecksumScheme, TransferConfig
from ._copy import CopyResult, Rehash, StreamHasher, hasher_for
from ._integrity import local_source_change, open_local_source, raise_changed
from ._policy import Checksum, checksum_of, hashed_checksum

if TYPE_CHECKING:  # ._endpoints builds on ._atomic, which builds on ._upload: imported where used
    from ._endpoints import Reader, Source

__all__ = ["OpenedSource", "Uploadable", "open_upload_source", "rehasher", "source_checksum"]

Uploadable: TypeAlias = "str | os.PathLike[str] | IO[bytes] | Source"
"""What ``upload_object`` takes: a local path, a binary file object, or a :class:`Source`."""


@dataclass(frozen=True)
class OpenedSource:
    """One upload's source, whatever its kind."""

    fh: Any
    """The bytes from the first one on: a file object, or a :class:`SourceStream`."""
    name: str
    size: int | None
    mtime_ns: int | None
    check: Callable[[int], str | None] | None = None
    """After the last read (given the bytes read): what changed in the source, None when nothing."""
    rewind: Callable[[], None] | None = None
    """Start over from the first byte (a locked temporary's fresh retry); None when the source cannot."""
    digest: Callable[[ChecksumScheme], str] | None = None
    """The whole source's checksum as a zone of that scheme writes it (the CHECKSUM skip policy)."""
    key: Callable[[str], str] | None = None
    """The resume key of an upload to the given path; None: resumable only under a caller's key."""
    start: Callable[[], object] = lambda: None
    """Open the bytes for reading once the policy decided to upload (a Source is not opened to skip it)."""
    check_is_local: bool = False
    """``check`` makes no round trip (a local file's ``fstat``/``stat``): the upload runs it in line, not on a
    helper thread beside the last writes."""
    rereadable: bool = False
    """Reading it once more from :attr:`rewind` is cheap (a local file, a seekable stream, bytes): a server
    answering a scheme the upload did not hash gets it hashed again (:func:`rehasher`)."""


class SourceStream:
    """A :class:`Source` read from its first byte: opened on :meth:`start` (or the first read), reopened to
    start over. :meth:`read_chunk` hands the reader's own chunks on when it has them (zero copy)."""

    def __init__(self, source: Source, *, chunk_size: int) -> None:
        self.source = source
        self.name = source.name
        self.chunk_size = chunk_size
        self._reader: Reader | None = None

    def start(self) -> Reader:
        """The reader, opened at offset 0 the first time."""
        if self._reader is None:
            self._reader = self.source.open(0)
        return self._reader

    def read(self, n: int = -1, /) -> bytes:
        return self.start().read(n)

    def read_chunk(self) -> bytes:
        """The next chunk as the reader has it (``b""`` at the end)."""
        reader = self.start()
        chunk = getattr(reader, "read_chunk", None)
        return bytes(chunk()) if chunk is not None else reader.read(self.chunk_size)

    def restart(self) -> None:
        """Close the reader: the next read opens a fresh one at offset 0."""
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()

    def close(self) -> None:
        self.restart()


@contextlib.contextmanager
def open_upload_source(
    source: Uploadable,
    size: int | None,
    *,
    config: TransferConfig,
    follow_symlinks: bool = False,
    check: Callable[[], str | None] | None = None,
) -> Iterator[OpenedSource]:
    """The source opened for reading: a local path without following a symlink at its name (unless asked),
    with a stability check of its handle and path; a :class:`Source` checked by its :meth:`~Source.change`
    since its :meth:`~Source.state`; a file object as it is (``check`` from the caller)."""
    from ._endpoints import Source

    chunk = config.chunk_size
    if isinstance(source, str | os.PathLike):
        with _open_local(os.fspath(source), follow_symlinks=follow_symlinks, chunk=chunk) as opened:
            yield opened
        return
    if isinstance(source, Source):
        stream = SourceStream(source, chunk_size=chunk)
        try:
            yield _of_source(source, stream)
        finally:
            stream.close()
        return
    yield _of_stream(source, size, check, chunk=chunk)


@contextlib.contextmanager
def _open_local(local: str, *, follow_symlinks: bool, chunk: int) -> Iterator[OpenedSource]:
    fd, opened = open_local_source(local, follow_symlinks=follow_symlinks)
    with os.fdopen(fd, "rb") as fh:

        def rewind() -> None:
            fh.seek(0)

        def local_check(read: int) -> str | None:
            if read != opened.size:
                return f"size {opened.size} -> {read} bytes read"
            return local_source_change(fd, local, opened, follow_symlinks=follow_symlinks)

        absolute = os.path.abspath(local)
        yield OpenedSource(
            fh,
            local,
            opened.size,
            opened.mtime_ns,
            check=local_check,
            rewind=rewind,
            digest=lambda scheme: _stream_digest(fh, scheme, chunk=chunk),
            key=lambda path: _resume.resume_key(absolute, opened.size, opened.mtime_ns, path),
            check_is_local=True,
            rereadable=True,
        )


def _of_source(source: Source, stream: SourceStream) -> OpenedSource:
    """A :class:`Source`: its version taken first (``state``), its size, and its optional hooks."""
    from ._endpoints import BytesFile, ChecksummedSource, LocalFile, ResumableSource

    before: Hashable = source.state()
    size = source.size()

    def source_check(read: int) -> str | None:
        if read != size:
            return f"size {size} -> {read} bytes read"
        return source.change(before)

    def key(path: str) -> str:
        if isinstance(source, ResumableSource):
            return source.resume_key(path)
        return _resume.resume_key("source", source.name, size, repr(before), path)

    def digest(scheme: ChecksumScheme) -> str:
        if isinstance(source, ChecksummedSource):
            return source.checksum(scheme)
        reader = source.open(0)
        try:
            return _stream_digest(reader, scheme, chunk=stream.chunk_size)
        finally:
            reader.close()

    return OpenedSource(
        stream,
        source.name,
        size,
        None,
        check=source_check,
        rewind=stream.restart,
        digest=digest,
        key=key,
        start=stream.start,
        rereadable=isinstance(source, LocalFile | BytesFile),  # a remote one (SFTP) is read once
    )


def _of_stream(
    fh: IO[bytes], size: int | None, check: Callable[[], str | None] | None, *, chunk: int
) -> OpenedSource:
    """A binary file object: its size from ``size`` or by seeking, checked by its size and ``check``."""
    seekable = _seekable(fh)
    origin = fh.tell() if seekable else 0
    if size is None and seekable:
        size = fh.seek(0, os.SEEK_END) - origin
        fh.seek(origin)

    def stream_check(read: int) -> str | None:
        if size is not None and read != size:
            return f"size {size} -> {read} bytes read"
        return check() if check is not None else None

    name = str(getattr(fh, "name", "<stream>"))

    def digest(scheme: ChecksumScheme) -> str:
        if not seekable:
            raise IrodsUsageError("skip policy CHECKSUM needs a seekable source", path=name)
        return _stream_digest(fh, scheme, chunk=chunk)

    def rewind() -> None:
        fh.seek(origin)

    return OpenedSource(
        fh,
        name,
        size,
        None,
        check=stream_check,
        rewind=rewind if seekable else None,
        digest=digest,
        rereadable=seekable,
    )


def _seekable(fh: Any) -> bool:
    try:
        return bool(fh.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def _stream_digest(fh: Any, scheme: ChecksumScheme, *, chunk: int) -> str:
    """Hash ``fh`` from where it is to its end in ``scheme``, rewound afterwards when it can seek."""
    here = fh.tell() if _seekable(fh) else None
    hasher = hasher_for(scheme)
    while data := fh.read(chunk):
        hasher.update(data)
    if here is not None:
        fh.seek(here)
    digest = hasher.result()
    return checksum_of(digest, scheme)


def rehasher(src: OpenedSource, result: CopyResult, *, chunk: int) -> Rehash | None:
    """For a source that can be read again cheaply: hash it again from its first byte in the scheme a server
    answered that the upload did not compute (SHA-256 too); None for any other. What it hashes now
    must be what was uploaded (the same SHA-256, and the source's own check), else IrodsSourceChangedError:
    the server's checksum is then compared with bytes that were never sent."""
    rewind = src.rewind
    if not src.rereadable or rewind is None:
        return None

    def run(scheme: ChecksumScheme) -> CopyResult:
        emit("checksum_rehash", scheme=scheme.value)  # once per reading, however many replicas answered
        rewind()
        hasher = StreamHasher(schemes=(scheme,))
        while data := src.fh.read(chunk):
            hasher.update(data)
        again = hasher.result()
        change = src.check(again.size) if src.check is not None else None
        if change is None and again.sha256 != result.sha256:
            change = "its bytes hash differently now than when they were uploaded"
        if change is not None:
            raise_changed(src.name, change)
        return again

    return run


def source_checksum(src: OpenedSource) -> Checksum:
    """The source's checksum for the CHECKSUM policy: taken only when the policy asks."""

    def hash_in(scheme: ChecksumScheme) -> str:
        if src.digest is None:
            raise IrodsUsageError("skip policy CHECKSUM needs a source that can be hashed", path=src.name)
        return src.digest(scheme)

    return hashed_checksum(hash_in)
