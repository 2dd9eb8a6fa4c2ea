"""A file of any fsspec file system as the engine's :class:`~irods_provider.client.transfer._endpoints.Source`
and :class:`~irods_provider.client.transfer._endpoints.Sink`.

Written to a hidden temporary sibling (the engine's temporary-name rule) and moved onto its path with the
file system's ``mv``: atomic where the file system renames (local, iRODS), a copy and delete elsewhere
(object stores, which publish whole objects anyway). Its version is what ``info`` tells of it (size plus
mtime, ETag or creation time, whichever the file system reports).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from irods_provider.client.transfer._endpoints import Reader, Sink, Source, Writer, hidden_sibling
from irods_provider.exceptions import IrodsNotFoundError

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

__all__ = ["FsspecFile"]

#: The ``info`` fields that identify a version of a file, in the order they are compared.
_VERSION_FIELDS = ("size", "mtime", "modified", "LastModified", "ETag", "etag", "created", "checksum")


class FsspecFile:
    """One path of an fsspec file system, readable and writable through a temporary."""

    def __init__(self, fs: AbstractFileSystem, path: str) -> None:
        self.fs = fs
        self.path = str(fs._strip_protocol(path))
        self._temp: str | None = None

    @property
    def name(self) -> str:
        return self.path

    def size(self) -> int:
        return int(self.fs.size(self.path))

    def open(self, offset: int = 0) -> Reader:
        reader = self.fs.open(self.path, "rb")
        reader.seek(offset)
        return reader  # type: ignore[no-any-return]

    def state(self) -> tuple[Any, ...]:
        info = self.fs.info(self.path)
        return tuple(str(info.get(field)) for field in _VERSION_FIELDS)

    def change(self, since: object) -> str | None:
        try:
            now = self.state()
        except FileNotFoundError:
            return "removed"
        before = since if isinstance(since, tuple) else ()
        changed = [f"{f} {a} -> {b}" for f, a, b in zip(_VERSION_FIELDS, before, now, strict=False) if a != b]
        return ", ".join(changed) or (None if before == now else "unknown state")

    def exists(self) -> bool:
        return bool(self.fs.exists(self.path))

    def open_temp(self, *, size: int | None = None, resume: bool = True, key: str = "") -> tuple[Writer, int]:
        self._temp = hidden_sibling(self.path)
        return self.fs.open(self._temp, "wb"), 0

    def publish(self) -> None:
        temp, self._temp = self._temp, None
        if temp is None:
            raise IrodsNotFoundError("nothing was written", path=self.path)
        self.fs.mv(temp, self.path)

    def discard(self) -> None:
        temp, self._temp = self._temp, None
        if temp is not None:
            with contextlib.suppress(FileNotFoundError, OSError):
                self.fs.rm(temp)


if TYPE_CHECKING:  # mypy checks the implementation against the protocols here
    _SOURCE: type[Source] = FsspecFile
    _SINK: type[Sink] = FsspecFile
