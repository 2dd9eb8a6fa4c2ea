"""fsspec ``info`` of a data object whose last write failed (its writer died: every replica stale) says so,
whatever characters its path holds.

A plain path's ``info`` asks the server's stat, which finds no good replica (irods 4.3.4 filesystem.cpp
:745-763, ``DATA_REPL_STATUS = '1'``) and answers SYS_NO_GOOD_REPLICA. A path holding ``'`` or ``+`` is asked
of the catalog instead (the stat of an HTTP API built with iRODS 4.3 misses ``'``; no GET carries ``+``),
and that answer reported the failed write's partial size as a healthy file: a size comparison (``fs.size``,
a sync that skips same-sized files) took the broken object for a complete one. It raises the same error now.
"""

from __future__ import annotations

import pytest

from irods_provider.client._locks import NO_GOOD_REPLICA
from irods_provider.exceptions import IrodsLockedError, IrodsResponseError

HOME = "/tempZone/home/rods"
OLD = b"the complete old content"


@pytest.mark.parametrize(
    "name",
    ["stale.bin", "Bob's stale.bin", "it's/stale.bin", "run+1.bin"],
    ids=["plain", "quote", "dir", "plus"],
)
def test_info_of_an_object_left_stale_raises_no_good_replica(irods_fs, irods_emulator, name: str) -> None:
    path = f"{HOME}/{name}"
    session = irods_fs.session
    session.collections.create(path.rsplit("/", 1)[0], intermediates=True, exist_ok=True)
    session.data_objects.write(path, OLD)
    handle = session.data_objects.parallel_write_init(path, stream_count=1)
    session.data_objects.write(None, b"half", parallel_write_handle=handle, stream_index=0, offset=0)
    assert irods_emulator.drop_parallel_writes(path) == 1  # its writer died: the only replica is stale

    with pytest.raises(IrodsResponseError) as caught:
        irods_fs.info(path)
    assert caught.value.irods_code == NO_GOOD_REPLICA
    assert not isinstance(caught.value, IrodsLockedError)
    assert caught.value.path == path
    assert irods_fs.exists(path) is True  # something is there: it cannot be read now
    with pytest.raises(IrodsResponseError):
        irods_fs.cat_file(path)
