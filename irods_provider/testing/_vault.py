"""A storage resource whose vault runs out of space: the fault a full disk under a unixfilesystem resource
gives. The plugin's write returns ``UNIX_FILE_WRITE_ERR - errno`` (irods 4.3.4
plugins/resources/unixfilesystem/src/unixfilesystem.cpp:763-777, ``unix_file_write``), the library's
output stream goes bad, and the HTTP API answers what its write loop sees next (``_h_write``)."""

from __future__ import annotations

import errno
import os
from collections.abc import AsyncIterator, Callable

from irods_provider.testing._catalog import ModelBase

UNIX_FILE_WRITE_ERR = -513000


class VaultWriteFailed(Exception):
    """A write into a vault failed part-way: ``code`` is the plugin's ``UNIX_FILE_WRITE_ERR - errno``,
    ``more``: whether the request still had bytes after the failing write (the HTTP API's loop then
    checks the bad stream and answers 500; after the last one it answers success, data_objects
    main.cpp:447-493 at 0.7.0)."""

    def __init__(self, code: int, *, more: bool) -> None:
        super().__init__(code)
        self.code = code
        self.more = more


class VaultSpaceMixin(ModelBase):
    """Test hook: how many more bytes each resource's vault takes (absent: unlimited)."""

    vault_free: dict[str, int]

    def set_vault_free(self, resource: str, free_bytes: int | None) -> None:
        """From now on the vault of ``resource`` (a leaf) takes ``free_bytes`` more bytes, then every write
        into it fails with ENOSPC; None: unlimited again."""
        with self.lock:
            if free_bytes is None:
                self.vault_free.pop(resource, None)
            else:
                self.vault_free[resource] = max(0, int(free_bytes))

    def vault_taker(self, resource: str) -> Callable[[int], int]:
        """A function that reserves up to n bytes in ``resource``'s vault and says how many fit."""

        def take(n: int) -> int:
            with self.lock:
                free = self.vault_free.get(resource)
                if free is None:
                    return n
                fits = min(free, n)
                self.vault_free[resource] = free - fits
                return fits

        return take


async def pwrite_all(
    fd: int,
    offset: int,
    chunks: AsyncIterator[bytes],
    *,
    limit: int | None = None,
    take: Callable[[int], int] | None = None,
) -> int:
    """Write chunks at increasing offsets (never buffering the whole body); returns the end offset.
    ``take`` rations the vault's space: bytes that fit are written, then VaultWriteFailed (a real OSError
    from the disk too), the rest of the body read and dropped."""
    from irods_provider.testing._http import HttpError

    total = 0
    async for chunk in chunks:
        total += len(chunk)
        if limit is not None and total > limit:
            raise HttpError(500)
        fits = len(chunk) if take is None else take(len(chunk))
        try:
            offset = _pwrite(fd, memoryview(chunk)[:fits], offset)
            if fits < len(chunk):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        except OSError as e:
            more = False
            async for rest in chunks:
                more = more or bool(rest)
            raise VaultWriteFailed(UNIX_FILE_WRITE_ERR - (e.errno or errno.EIO), more=more) from e
    return offset


def _pwrite(fd: int, view: memoryview, offset: int) -> int:
    while view:
        written = os.pwrite(fd, view, offset)
        offset += written
        view = view[written:]
    return offset
