"""A file open for reading is the object the path named at open(), identified by its catalog id (DATA_ID,
taken from the same GenQuery that gives the open its size: no request more than the stat it replaces).

Another writer's publish renames a new object onto the path (a new DATA_ID); a read after that fails with
IrodsSourceChangedError, also when it happened before the first block was read (the old code took the id
at the first block, so it read the new object's bytes under the old size). The id is confirmed once per
read() call, however many blocks that read fetched (the old code asked once per block: small-block random
access paid one GenQuery per block).
"""

from __future__ import annotations

import random
import sys
from collections import Counter
from pathlib import Path

import httpx2
import pytest

from irods_provider.exceptions import IrodsSourceChangedError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from op_counter import request_op
from query_counter import count_query_requests

HOME = "/tempZone/home/rods"
CHUNK = 64 * 1024  # the irods_fs fixture's chunk size
SIZE = 6 * CHUNK

pytestmark = pytest.mark.timeout(60)


def _data(seed: int, size: int = SIZE) -> bytes:
    return random.Random(seed).randbytes(size)


def test_a_replacement_before_the_first_block_fails_typed(irods_emulator, irods_fs, fs_factory) -> None:
    other = fs_factory(irods_emulator, chunk_size=CHUNK)
    path = f"{HOME}/before_first.bin"
    irods_fs.pipe(path, _data(1))
    with irods_fs.open(path, "rb", block_size=CHUNK, cache_type="none") as f:
        other.pipe(path, _data(2))  # republished between the open and the first read
        with pytest.raises(IrodsSourceChangedError) as changed:
            f.read()
    assert (changed.value.path, changed.value.changed) == (path, "replaced")


def test_a_bigger_replacement_before_a_whole_read_fails_typed(irods_emulator, irods_fs, fs_factory) -> None:
    """A small object read whole in one request: replaced by a bigger one after the open, the read must
    not return the new object's prefix cut at the old size."""
    other = fs_factory(irods_emulator, chunk_size=1024)  # 2000 bytes: published by a rename
    path = f"{HOME}/whole.bin"
    irods_fs.pipe(path, _data(3, 1000))
    with irods_fs.open(path, "rb") as f:
        other.pipe(path, _data(4, 2000))
        with pytest.raises(IrodsSourceChangedError):
            f.read()


def count_requests(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every request this process sends over real sockets, by operation."""
    seen: Counter[str] = Counter()
    real = httpx2.HTTPTransport.handle_request

    def handle(self: httpx2.HTTPTransport, request: httpx2.Request) -> httpx2.Response:
        seen[request_op(request)] += 1
        return real(self, request)

    monkeypatch.setattr(httpx2.HTTPTransport, "handle_request", handle)
    return seen


def test_the_open_asks_one_request_and_a_whole_read_no_identity_query(
    irods_emulator, irods_fs, monkeypatch
) -> None:
    path = f"{HOME}/small.bin"
    data = _data(5, 1000)
    irods_fs.pipe(path, data)
    requests = count_requests(monkeypatch)
    with irods_fs.open(path, "rb") as f:
        assert requests == {"execute_genquery": 1}  # the identity and the details, in place of a stat
        assert f.size == len(data)
        assert f.read() == data
    assert requests == {"execute_genquery": 1, "read": 1}  # one request read it all, as the open saw it


def test_one_identity_query_per_read_however_many_blocks(
    irods_emulator, irods_fs, fs_factory, monkeypatch
) -> None:
    other = fs_factory(irods_emulator, chunk_size=CHUNK)
    path = f"{HOME}/random.bin"
    data = _data(6)
    irods_fs.pipe(path, data)
    queries = count_query_requests(monkeypatch)
    with irods_fs.open(path, "rb", block_size=16 * 1024, cache_type="blockcache") as f:
        queries.clear()
        for at in (1000, 3 * CHUNK + 7, 70_000):
            f.seek(at)
            assert f.read(CHUNK) == data[at : at + CHUNK]  # five 16 KiB blocks each
        assert queries == {"execute_genquery": 3}  # one per read(), not one per block
        other.pipe(path, _data(7))
        f.seek(5 * CHUNK)
        with pytest.raises(IrodsSourceChangedError):
            f.read(CHUNK)  # detection is not weakened: still caught at the next read
