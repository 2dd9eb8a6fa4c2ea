"""A multi-GiB object through the engine: parallel upload, server checksum, parallel download, bytes compared.

Sized past 2**31 so 32-bit offset or length mistakes would show; the source is generated, not stored.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from irods_provider.client import BasicAuth, IrodsSession, RetryPolicy
from irods_provider.client.transfer import TransferConfig, parallel_download, parallel_upload
from irods_provider.testing import EmulatorConfig, EmulatorServer

HOME = "/tempZone/home/rods"
SIZE = 2 * 1024**3 + 12_345
BLOCK = 1024 * 1024


def _block(index: int) -> bytes:
    """A cheap, position-dependent 1 MiB block (a shifted offset would change the digest)."""
    return hashlib.sha256(index.to_bytes(8, "big")).digest() * (BLOCK // 32)


class Generated(io.RawIOBase):
    """``SIZE`` deterministic bytes, read in any piece sizes, never held whole in memory."""

    def __init__(self, size: int) -> None:
        self.size, self.pos = size, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        n = min(len(buffer), self.size - self.pos)
        view, done = memoryview(buffer), 0
        while done < n:
            index, start = divmod(self.pos + done, BLOCK)
            piece = _block(index)[start : start + n - done]
            view[done : done + len(piece)] = piece
            done += len(piece)
        self.pos += n
        return n


# The sha256 of ``Generated(SIZE)``'s bytes, computed once (generating and hashing 2 GiB again in every run
# cost ~3 CPU s): a change to the generator or to SIZE fails the upload's check below until it is updated.
EXPECTED_SHA256 = bytes.fromhex("cc768aada3f23b1b89555a600c08e2ab4b50e946f12fa623cfd7689b5ef915a3")


@pytest.fixture
def disk_session(disk_tmp_path: Path) -> Iterator[IrodsSession]:
    """A session with an emulator of its own whose spool is on disk, like the download target: the suite's
    temporary files may be on a tmpfs, and 4 GiB of them would sit in RAM."""
    with (
        EmulatorServer(EmulatorConfig(spool_dir=disk_tmp_path / "spool")) as server,
        IrodsSession(
            server.base_url,
            auth=BasicAuth("rods", "rods-emulator"),
            retry=RetryPolicy(initial_backoff=0.0, max_backoff=0.0),
        ) as session,
    ):
        yield session


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_two_gib_round_trip_is_byte_identical(disk_session: IrodsSession, disk_tmp_path: Path) -> None:
    session = disk_session
    expected = EXPECTED_SHA256
    path = f"{HOME}/two-gib.bin"
    config = TransferConfig(streams=3, chunk_size=8 * BLOCK)

    uploaded = parallel_upload(session, Generated(SIZE), path, config=config, size=SIZE)
    assert (uploaded.size, uploaded.sha256) == (SIZE, expected)
    assert session.data_objects.stat(path).size == SIZE

    target = disk_tmp_path / "two-gib.bin"
    downloaded = parallel_download(session, path, target, config=config, verify=True)
    assert (downloaded.size, downloaded.sha256) == (SIZE, expected)
    assert target.stat().st_size == SIZE
    digest = hashlib.sha256()
    with target.open("rb") as f:
        while chunk := f.read(8 * BLOCK):
            digest.update(chunk)
    assert digest.digest() == expected
