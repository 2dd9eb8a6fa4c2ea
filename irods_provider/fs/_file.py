"""The file object of :class:`~irods_provider.fs.IrodsFileSystem`: ranged parallel reads, parallel writes.

Reading goes through fsspec's block cache; a fetch larger than one chunk is served by the transfer engine's
read-ahead reader (several ranged reads in flight). Writing buffers one chunk at a time: content that fits in
one request is written with a single request at close onto a temporary sibling, verified against the
server's checksum and renamed onto the target, as uploads are (a failed write leaves the target as it was);
bigger content goes through the parallel writer into a
temporary sibling that is renamed onto the target on commit (at close, or at the end of a transaction) by
the engine's publish (an object replaced there is moved aside and put back if the rename fails; a writer of
the same path that took the temporary over meanwhile makes the commit fail, nothing published), so readers
never see a half-written object and a failed ``with`` block leaves the target untouched. A file open for
reading is the object the path named at open (its catalog id, from the GenQuery that gives the open its
size); a ``read()`` that fetched confirms it once, so another writer's publish onto the path fails the next
read with IrodsSourceChangedError instead of joining two objects' bytes. A path holding ``+``
(no GET can address it) is read from one server-side copy made at the first read, its checksum compared with
the original's then, and removed at close (:mod:`irods_provider.client.transfer._alias`).

Appends (``ab``) are not atomic: they write into the object itself, so the chunks flushed before a failure
(every full chunk of a write bigger than one) stay appended; only an append of at most one chunk, written
at close, leaves the object untouched when the ``with`` block fails.
"""

from __future__ import annotations

import io
import logging
import threading
import warnings
from types import TracebackType
from typing import TYPE_CHECKING, Any

from fsspec.spec import AbstractBufferedFile

from irods_provider.client._deferred import defer, must_defer
from irods_provider.client.transfer import AtomicWriter
from irods_provider.client.transfer._alias import ReadAlias, needs_alias, source_stat
from irods_provider.exceptions import IrodsError, IrodsNotADataObjectError, IrodsNotFoundError

if TYPE_CHECKING:
    from irods_provider.client.transfer import ParallelWriter
    from irods_provider.fs._filesystem import IrodsFileSystem

__all__ = ["IrodsFile"]

log = logging.getLogger(__name__)

#: The writers of open files, held here too: a file left unclosed is freed by the cyclic collector with all
#: that only it refers to, whose weak references the collector clears first (a writer's thread pool then
#: finds its executor gone and its workers quit, so its close would wait for ever); held, a writer stays
#: whole for the close its file's finalizer hands over.
_LIVE_WRITERS: set[ParallelWriter] = set()


class IrodsFile(AbstractBufferedFile):  # type: ignore[misc]
    """A buffered binary file on an iRODS data object (modes ``rb``, ``wb``, ``ab``, ``xb``).

    Example:

    ```python
    from irods_provider.fs import IrodsFileSystem

    fs = IrodsFileSystem(conn_id="irods_default")
    with fs.open("/tempZone/home/alice/report.csv", "wb") as f:  # an IrodsFile
        f.write(b"sample,reads\\nA1,1200\\n")
    with fs.open("/tempZone/home/alice/report.csv", "rb") as f:
        header = f.readline()
    ```
    """

    fs: IrodsFileSystem
    buffer: io.BytesIO  # fsspec's, of a file being written

    def __init__(self, fs: IrodsFileSystem, path: str, mode: str = "rb", **kwargs: Any) -> None:
        self._alias: ReadAlias | None = None  # a '+' path's server-side copy, made at the first read
        self._data_id: str | None = None  # the catalog id of the object opened for reading
        self._unchecked = 0  # fetches since the object's identity was last confirmed
        self._checking = threading.Lock()
        try:
            if mode == "rb" and not needs_alias(path):
                self._identify(fs, path, sized=kwargs.get("size") is not None)
            super().__init__(fs, path, mode, **kwargs)
            if mode == "rb" and self.details.get("type") == "directory":
                raise IrodsNotADataObjectError(
                    "a collection, not a data object: it cannot be opened for reading",
                    operation="open",
                    path=path,
                )
        except BaseException:
            self.closed = True  # never handed out: nothing for __del__ to close or warn about
            raise
        self._writer: ParallelWriter | None = None
        self._unpublished: AtomicWriter | None = None
        self._append_at = 0
        self._pending_small: bytes | None = None

    # reading -------------------------------------------------------------------------------------------
    def _identify(self, fs: IrodsFileSystem, path: str, *, sized: bool) -> None:
        """Take the identity (catalog id) of the object opened, with its details from the same GenQuery
        (in place of the stat the open would ask; ``sized``: the caller gave the size, none is asked)."""
        found = fs.open_identity(path)
        if found is None:
            return  # nothing there: the open's own info says what is (a collection, or nothing)
        details, self._data_id = found
        if not sized:
            self._details = details

    def read(self, length: int = -1) -> bytes:
        """Read as fsspec does; what was fetched for it (or since the last confirmation) is proven to be the
        opened object's by one identity query after it, whatever the number of blocks or requests."""
        data: bytes = super().read(length)
        self._confirm_identity()
        return data

    def _confirm_identity(self) -> None:
        """Raise IrodsSourceChangedError if the path no longer names the object opened, once per read()
        that fetched (a background prefetch counts toward the next read())."""
        with self._checking:
            fetched, self._unchecked = self._unchecked, 0
        if fetched and self._data_id is not None:
            self.fs.check_same_object(self.path, self._data_id)

    def _fetch_range(self, start: int, end: int) -> bytes:
        if self._alias is None and needs_alias(self.path) and end > start:
            # No GET can address a '+' path: one server-side copy for the file's life, removed at close.
            # Reads are ranges in any order, so the copy's checksum is compared with the original's now.
            self._alias = ReadAlias(self.fs.session, self.path, verify=True, size=self.size)
        if self._alias is not None:  # a snapshot: one object whatever the path names now
            return self.fs.read_range(self.path, start, min(end, self.size), read_path=self._alias.path)
        end = min(end, self.size)
        if start == 0 and end == self.size and self.size < self.fs.read_config.chunk_size:
            # The whole object in one request, asked one byte more: as many bytes as the open saw are one
            # whole object of that size; more or fewer, the path may name another one now (checked).
            data = self.fs.session.data_objects.read(self.path, offset=0, count=self.size + 1)
            if len(data) == self.size:
                return data
            data = data[: self.size]
        else:
            # Each request reads whatever object the path names then: another writer's publish renamed
            # onto the path meanwhile must not join its bytes to the opened object's (checked by read()).
            try:
                data = self.fs.read_range(self.path, start, end)
            except IrodsError:  # a shorter object there now, or none: replaced, if its id says so
                if self._data_id is not None:
                    self.fs.check_same_object(self.path, self._data_id)
                raise
        with self._checking:
            self._unchecked += 1
        return data

    def close(self) -> None:
        """Close the file (publishing what was written) and remove the read alias of a ``+`` path."""
        try:
            super().close()
        finally:
            _LIVE_WRITERS.discard(getattr(self, "_writer", None))
            alias, self._alias = self._alias, None
            if alias is not None:
                alias.close()

    def __del__(self) -> None:
        """An unclosed file: a ResourceWarning (as Python's own files give), then closed as fsspec does (a
        write is published, a read alias removed), but never by a request in this thread when the garbage
        collector or an event loop runs here (:mod:`irods_provider.client._deferred`)."""
        if self.closed or getattr(self, "_unclosable", False):
            return
        try:
            warnings.warn(f"unclosed file {self!r}", ResourceWarning, stacklevel=2, source=self)
        finally:
            self._close_unclosed()

    def _close_unclosed(self) -> None:
        """Close now where that is safe, else hand the close to the cleanup thread with the buffered bytes
        copied out of the buffer the collector is about to close (or, lost already, abandon the write)."""
        if not must_defer():
            self.close()
            return
        if self.mode != "rb":
            try:  # the collector closes the buffer (an io object of this garbage) after this: keep a copy
                self.buffer = io.BytesIO(self.buffer.getvalue())
            except ValueError:  # closed already: the unflushed bytes are lost, so nothing is published
                defer(self._abandon, f"discarding the unclosed file {self.path}")
                return
        defer(self.close, f"closing the unclosed file {self.path}")

    def _abandon(self) -> None:
        """Drop a write whose unsent bytes are gone: a truncated object must not be published."""
        log.warning(
            "an unclosed file of %s lost its unwritten bytes to the garbage collector: not published",
            self.path,
        )
        try:
            self.discard()
        finally:
            self.closed = True

    # writing -------------------------------------------------------------------------------------------
    def _initiate_upload(self) -> None:
        if self.mode == "ab":
            self._append_at = self._existing_size()
            self.offset = self._append_at
        self.fs.ensure_parent(self.path)

    def _existing_size(self) -> int:
        """Where an append starts: the object's size (from the catalog for a ``+`` path, which no GET can
        address), 0 when there is none yet."""
        try:
            return source_stat(self.fs.session, self.path).size
        except (IrodsNotADataObjectError, IrodsNotFoundError):
            return 0

    def _upload_chunk(self, final: bool = False) -> bool:
        data = self.buffer.getvalue()
        if self._writer is None and final and len(data) <= self.fs.small_write_bytes:
            if self.mode == "ab":
                self._write_small(self.path, data, offset=self._append_at)
            elif self.autocommit:
                self._write_small(self.path, data)
            else:
                self._pending_small = data
            return True
        if self._writer is None:
            self._open_writer()
        assert self._writer is not None
        self._writer.write(data)
        if final:
            self._writer.close()
            if self.autocommit:
                self.commit()
        return True

    def _write_small(self, path: str, data: bytes, *, offset: int = 0) -> None:
        if offset == 0:  # the whole object: written and verified (see IrodsFileSystem.write_whole)
            self.fs.write_whole(path, data)
            return
        # An append keeps the replica that holds the bytes (no resource) and is not atomic (module docstring).
        self.fs.session.data_objects.write(path, data, offset=offset, truncate=False)

    def _open_writer(self) -> None:
        if self.mode == "ab":
            self._unpublished = None
            self._writer = self.fs.open_writer(self.path, offset=self._append_at, truncate=False)
            _LIVE_WRITERS.add(self._writer)
            return
        if not self.fs.auto_mkdir:
            self.fs.require_parent(self.path)  # else the engine's error would name its temporary
        # The engine's temporary sibling (its handle recorded, its name derived from the path, so a retry
        # after kill -9 unlocks and reuses it); published by commit(), at close or at the end of a
        # transaction: only then can another writer take it over meanwhile, so only then is it guarded.
        writer = self.fs.open_writer(self.path, publish=False, guard=not self.autocommit)
        assert isinstance(writer, AtomicWriter)  # new content at offset 0 always goes through one
        self._writer = self._unpublished = writer
        _LIVE_WRITERS.add(writer)

    def commit(self) -> None:
        """Publish what was written: the writer's publish renames its temporary onto the target (or write
        it, if small); a failed publish removes the temporary and keeps the object it would replace."""
        if self._pending_small is not None:
            data, self._pending_small = self._pending_small, None
            self.fs.ensure_parent(self.path)
            self._write_small(self.path, data)
        elif self._unpublished is not None:
            writer, self._unpublished = self._unpublished, None
            writer.publish()
        self.fs.invalidate_cache(self.path)

    def discard(self) -> None:
        """Drop what was written: abort the writer, whose failure cleanups (registered as it claimed its
        temporary object) remove that object, also once the writer is closed but not yet committed."""
        self._pending_small = None
        writer, unpublished, self._unpublished = self._writer, self._unpublished is not None, None
        _LIVE_WRITERS.discard(writer)
        if writer is not None and (unpublished or not writer.closed):
            writer.abort()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None and self.writable():
            try:
                self.discard()
            finally:
                self.closed = True
            return
        self.close()
