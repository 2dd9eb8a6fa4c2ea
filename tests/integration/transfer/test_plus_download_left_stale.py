"""A ``+`` data object whose write failed is never downloaded as complete.

No GET can carry a ``+`` (the HTTP API turns it into a space), so a ``+`` object is read through an alias: a
server-side copy under the user's home. A write whose agent died leaves the object's replicas stale (irods
4.3.4 initServer.cpp ``finalize_replica_opened_for_create_or_write``), and the server still opens it for the
copy's read through a stale replica (it votes low, not zero: voting.cpp:42-93); the alias closes good. A
plain path's stat answers SYS_NO_GOOD_REPLICA, but the ``+`` path's catalog lookup let it through: the
download reported TRANSFERRED with the failed write's partial bytes (no checksum to check them against).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from irods_provider.client import IrodsSession
from irods_provider.client._locks import NO_GOOD_REPLICA
from irods_provider.client.transfer import download_object
from irods_provider.exceptions import IrodsLockedError, IrodsResponseError

pytestmark = pytest.mark.timeout(120)

HOME = "/tempZone/home/rods"


@pytest.mark.parametrize("name", ["run+1.bin", "stale.bin"], ids=["plus", "plain"])
def test_a_download_of_an_object_left_stale_is_refused(
    session: IrodsSession, irods_emulator: Any, tmp_path: Path, name: str
) -> None:
    path = f"{HOME}/{name}"
    session.data_objects.write(path, b"the complete old content")
    handle = session.data_objects.parallel_write_init(path, stream_count=1)
    session.data_objects.write(None, b"half", parallel_write_handle=handle, stream_index=0, offset=0)
    assert irods_emulator.drop_parallel_writes(path) == 1  # its writer died: the only replica is stale

    with pytest.raises(IrodsResponseError) as raised:
        download_object(session, path, str(tmp_path / "out.bin"))
    assert raised.value.irods_code == NO_GOOD_REPLICA
    assert not isinstance(raised.value, IrodsLockedError)
    assert raised.value.path == path
    assert not (tmp_path / "out.bin").exists()
    assert [e.name for e in session.collections.iterate(HOME)] == [name]  # no alias left behind
