"""The one copy loop for any file-like source and sink, and checksum verification against the server."""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from irods_provider.exceptions import (
    IrodsChecksumMismatchError,
    IrodsIntegrityError,
    IrodsTransferCancelledError,
)

from ._api import SessionLike
from ._config import MIB, ChecksumScheme
from ._coordinator import TransferCoordinator


class Readable(Protocol):
    """Anything with ``read(n) -> bytes`` (local files, SFTP files, fsspec files, our reader)."""

    def read(self, n: int = ..., /) -> bytes: ...


class Writable(Protocol):
    """Anything with ``write(bytes)`` (local files, SFTP files, fsspec files, our writer)."""

    def write(self, data: bytes, /) -> Any: ...


@dataclass(frozen=True)
class CopyResult:
    """What one copy moved: byte count and digests of the bytes in order."""

    size: int
    sha256: bytes
    md5: bytes | None = None

    @property
    def irods_checksum(self) -> str:
        """The checksum as iRODS writes it for the default scheme: ``sha2:`` + base64 SHA-256."""
        return sha2_checksum(self.sha256)


def sha2_checksum(digest: bytes) -> str:
    """Format a SHA-256 digest the way iRODS stores it."""
    return "sha2:" + base64.b64encode(digest).decode("ascii")


class StreamHasher:
    """SHA-256 (and optionally MD5) over bytes fed in order."""

    def __init__(self, *, md5: bool = False) -> None:
        self._sha = hashlib.sha256()
        self._md5 = hashlib.md5(usedforsecurity=False) if md5 else None
        self.count = 0

    def update(self, data: bytes | memoryview) -> None:
        """Feed the next bytes."""
        self._sha.update(data)
        if self._md5 is not None:
            self._md5.update(data)
        self.count += len(data)

    def result(self) -> CopyResult:
        """The byte count and digests so far."""
        md5 = self._md5.digest() if self._md5 is not None else None
        return CopyResult(size=self.count, sha256=self._sha.digest(), md5=md5)


def copy(
    source: Readable,
    sink: Writable,
    *,
    chunk_size: int = 8 * MIB,
    limit: int | None = None,
    hasher: StreamHasher | None = None,
    coordinator: TransferCoordinator | None = None,
    cancel_event: threading.Event | None = None,
    report_progress: bool = True,
    on_chunk: Callable[[int], object] | None = None,
) -> CopyResult:
    """Copy ``source`` to ``sink`` in ``chunk_size`` reads (at most ``limit`` bytes), hashing in byte order.

    Cancellation (``cancel_event`` or the coordinator's) and the coordinator's first error are checked before
    every read. The sink is neither closed nor aborted here: its owner decides (so a cancelled writer is
    aborted
    and its parallel-write handle shut down). ``on_chunk(total)`` runs after each chunk (a test hook).
    """
    hasher = hasher or StreamHasher()
    cancel = cancel_event or (coordinator.cancel_event if coordinator is not None else None)
    remaining = limit
    read_chunk = getattr(source, "read_chunk", None)
    while remaining is None or remaining > 0:
        if cancel is not None and cancel.is_set():
            raise IrodsTransferCancelledError(
                "transfer cancelled", path=coordinator.path if coordinator is not None else None
            )
        if coordinator is not None:
            coordinator.raise_if_failed()
        want = chunk_size if remaining is None else min(chunk_size, remaining)
        data = read_chunk() if read_chunk is not None and remaining is None else source.read(want)
        if not data:
            break
        hasher.update(data)
        sink.write(data)
        if remaining is not None:
            remaining -= len(data)
        if report_progress and coordinator is not None:
            coordinator.progress(len(data))
        if on_chunk is not None:
            on_chunk(hasher.count)
    return hasher.result()


def skip_bytes(source: Readable, count: int, *, hasher: StreamHasher, chunk_size: int = 8 * MIB) -> None:
    """Advance ``source`` by ``count`` bytes, hashing them (the prefix a resumed upload does not resend)."""
    if count <= 0:
        return
    left = count
    while left > 0:
        data = source.read(min(chunk_size, left))
        if not data:
            raise IrodsIntegrityError(f"source ended {left} bytes before the committed offset {count}")
        hasher.update(data)
        left -= len(data)


def server_checksum_matches(server: str, result: CopyResult) -> bool | None:
    """Compare a ``calculate_checksum`` answer with local digests; None when the local digest is missing."""
    if server.startswith("sha2:"):
        return server == sha2_checksum(result.sha256)
    if len(server) == 32 and all(c in "0123456789abcdefABCDEF" for c in server):
        return None if result.md5 is None else server.lower() == result.md5.hex()
    raise IrodsIntegrityError(f"unrecognised checksum scheme in server answer {server!r}")


def verify_checksum(session: SessionLike, path: str, result: CopyResult, *, force: bool = False) -> str:
    """Ask the server for ``path``'s checksum and compare it; a mismatch raises, never warns. Returns it."""
    server = session.data_objects.calculate_checksum(path, force=force)
    verdict = server_checksum_matches(server, result)
    if verdict is None:
        raise IrodsIntegrityError(
            "the zone answers MD5 checksums but MD5 was not computed; use checksum_scheme=ChecksumScheme.MD5",
            operation="verify",
            path=path,
        )
    if not verdict:
        expected = sha2_checksum(result.sha256) if server.startswith("sha2:") else (result.md5 or b"").hex()
        raise IrodsChecksumMismatchError(
            "checksum mismatch after transfer",
            expected=expected,
            actual=server,
            operation="verify",
            path=path,
        )
    return server


def hasher_for(scheme: ChecksumScheme) -> StreamHasher:
    """A hasher computing what the zone's scheme needs (SHA-256 always, MD5 too for MD5 zones)."""
    return StreamHasher(md5=scheme is ChecksumScheme.MD5)
