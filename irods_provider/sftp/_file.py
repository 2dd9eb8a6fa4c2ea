"""A file on an SFTP server as the engine's :class:`~irods_provider.client.transfer._endpoints.Source` and
:class:`~irods_provider.client.transfer._endpoints.Sink`.

Built from this package's pieces: :func:`~._integrity.open_source` (no link, no swap since the ``lstat``),
:class:`~._io.SftpRangeReader` (pipelined reads), :func:`~._integrity.create_exclusive` (a hidden temporary
sibling created with ``CREATE | EXCL``, private while written: :mod:`._modes`), :class:`~._io.SftpWriter`
(size checked at close) and :func:`~._integrity.publish` (``posix-rename``, never onto a link or directory).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from irods_provider.client.transfer._endpoints import Reader, Sink, Source, Writer, hidden_sibling
from irods_provider.exceptions import IrodsNotFoundError

from ._integrity import SftpState, create_exclusive, open_source, publish
from ._io import SftpRangeReader, SftpWriter
from ._modes import note_mode_refused, temporary_modes

if TYPE_CHECKING:
    import paramiko

__all__ = ["SftpFile"]


class SftpFile:
    """One remote path through an open SFTP channel, readable and writable atomically; written, it gets
    ``file_mode`` when given (:mod:`._modes`; a refusal fails the publish), else the default mode."""

    def __init__(
        self,
        client: paramiko.SFTPClient,
        path: str,
        *,
        follow_symlinks: bool = False,
        file_mode: int | None = None,
    ) -> None:
        self.client = client
        self.file_mode = file_mode
        self.path = path
        self.follow_symlinks = follow_symlinks
        self._writer: SftpWriter | None = None

    @property
    def name(self) -> str:
        return self.path

    def _attrs(self) -> paramiko.SFTPAttributes:
        return self.client.stat(self.path) if self.follow_symlinks else self.client.lstat(self.path)

    def size(self) -> int:
        return int(self._attrs().st_size or 0)

    def open(self, offset: int = 0) -> Reader:
        attrs = self._attrs()
        handle, opened = open_source(
            self.client,
            self.path,
            listed_size=attrs.st_size,
            listed_mtime=attrs.st_mtime,
            follow_symlinks=self.follow_symlinks,
        )
        reader = SftpRangeReader(handle, offset=offset, length=max(0, (opened.size or 0) - offset))
        reader.name = self.path
        return reader

    def state(self) -> SftpState:
        return SftpState.of(self._attrs())

    def change(self, since: object) -> str | None:
        try:
            now = self.state()
        except FileNotFoundError:
            return "removed"
        return since.differences(now) if isinstance(since, SftpState) else "not an SFTP file's state"

    def exists(self) -> bool:
        try:
            self.client.lstat(self.path)
        except FileNotFoundError:
            return False
        return True

    def open_temp(self, *, size: int | None = None, resume: bool = True, key: str = "") -> tuple[Writer, int]:
        """A hidden temporary sibling, private while written (:func:`~._modes.temporary_modes`)."""
        temp = hidden_sibling(self.path)
        perm, at_close = temporary_modes(self.client, self.path, chosen=self.file_mode)
        handle = create_exclusive(self.client, temp, perm=perm)
        handle.set_pipelined(True)
        self._writer = SftpWriter(self.client, temp, handle)
        self._writer.mode_at_close = at_close
        return self._writer, 0

    def publish(self) -> None:
        writer, self._writer = self._writer, None
        if writer is None:
            raise IrodsNotFoundError("nothing was written", path=self.path)
        note_mode_refused(self.client, self.path, writer.mode_error, chosen=self.file_mode)
        publish(self.client, writer.path, self.path, size=writer.bytes_written)

    def discard(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.abort()
            with contextlib.suppress(OSError):
                self.client.remove(writer.path)


if TYPE_CHECKING:  # mypy checks the implementation against the protocols here
    _SOURCE: type[Source] = SftpFile
    _SINK: type[Sink] = SftpFile
