"""The data-object calls of IT4I's python-http-irods-client (LEXIS Platform 2), as thin aliases over our
transfer engine, so LEXIS code ports by changing an import: ``parallel_write``, ``open_async_writer`` and the
reader counterparts ``parallel_read`` / ``open_async_reader``.

Only the writer names (and their ``workers_count`` / ``chunk_size`` arguments) are known from the talk; the
reader names are ours, symmetric to them (source first: ``parallel_read(path, file)`` copies the object to
the file as ``parallel_write(file, path)`` copies the file to the object). Sync sessions only: the engine
runs worker threads; "async" in the names means the writes are queued, as in the original.
"""

from __future__ import annotations

import os
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from irods_provider.client.transfer import CopyResult, ParallelReader, ParallelWriter

__all__ = ["AsyncItiDataObjectsMixin", "ItiDataObjectsMixin", "QueuedWriter"]

#: The chunk size the IT4I client's examples use.
ITI_CHUNK_SIZE = 128 * 1024
LocalFile = str | os.PathLike[str] | IO[bytes]


class QueuedWriter:
    """What ``open_async_writer`` returns: ``write(str | bytes)`` queues the bytes (``str`` encoded with
    ``encoding``) to the parallel writer; ``close()`` waits for every chunk and commits the object."""

    def __init__(self, writer: ParallelWriter, *, encoding: str = "utf-8") -> None:
        self._writer = writer
        self.encoding = encoding

    def write(self, data: str | bytes | bytearray | memoryview) -> int:
        """Queue ``data``; returns the number of bytes queued."""
        raw = data.encode(self.encoding) if isinstance(data, str) else data
        return self._writer.write(raw)

    def close(self) -> None:
        """Wait for every queued chunk, then shut the parallel-write handle down (the bytes are committed)."""
        self._writer.close()

    def abort(self) -> None:
        """Stop without committing the rest (the handle is shut down)."""
        self._writer.abort()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` or :meth:`abort` ran."""
        return self._writer.closed

    def __enter__(self) -> QueuedWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class AsyncItiDataObjectsMixin:
    """The async ``session.data_objects`` has none of the IT4I calls (the engine is thread-based)."""


class ItiDataObjectsMixin:
    """IT4I-style data-object calls on the sync ``session.data_objects``."""

    _s: Any

    def parallel_write(
        self, file: LocalFile, path: str, workers_count: int = 4, chunk_size: int = ITI_CHUNK_SIZE
    ) -> CopyResult:
        """Upload a local file (path or binary file object) to ``path`` over ``workers_count`` parallel
        streams, verified against the server's checksum; returns the size and digests."""
        from irods_provider.client.transfer import parallel_upload

        if isinstance(file, str | os.PathLike):
            with open(file, "rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                return parallel_upload(
                    self._s, handle, path, streams=workers_count, chunk_size=chunk_size, size=size
                )
        return parallel_upload(self._s, file, path, streams=workers_count, chunk_size=chunk_size)

    def open_async_writer(
        self, path: str, workers_count: int = 2, chunk_size: int = ITI_CHUNK_SIZE, encoding: str = "utf-8"
    ) -> QueuedWriter:
        """A writer on ``path`` (created or truncated) whose ``write`` queues text or bytes; ``close()``
        commits."""
        from irods_provider.client.transfer import open_writer

        return QueuedWriter(
            open_writer(self._s, path, streams=workers_count, chunk_size=chunk_size), encoding=encoding
        )

    def parallel_read(
        self, path: str, file: LocalFile, workers_count: int = 4, chunk_size: int = ITI_CHUNK_SIZE
    ) -> CopyResult:
        """Download ``path`` into a local file (path or binary file object) over ``workers_count`` ranged
        readers, verified against the server's checksum; returns the size and digests."""
        from irods_provider.client.transfer import (
            copy,
            hasher_for,
            open_reader,
            parallel_download,
            verify_checksum,
        )

        if isinstance(file, str | os.PathLike):
            return parallel_download(self._s, path, file, streams=workers_count, chunk_size=chunk_size)
        with open_reader(self._s, path, streams=workers_count, chunk_size=chunk_size) as reader:
            result = copy(reader, file, chunk_size=chunk_size, hasher=hasher_for(None, self._s, path))
        verify_checksum(self._s, path, result, learn=False)  # a mismatch raises IrodsChecksumMismatchError
        return result

    def open_async_reader(
        self, path: str, workers_count: int = 2, chunk_size: int = ITI_CHUNK_SIZE
    ) -> ParallelReader:
        """A read-ahead reader on ``path``: ``read(n)`` returns bytes in order; ``close()`` stops it."""
        from irods_provider.client.transfer import open_reader

        return open_reader(self._s, path, streams=workers_count, chunk_size=chunk_size)
