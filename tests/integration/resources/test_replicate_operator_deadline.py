"""IrodsReplicateOperator on a large object whose replication outlasts the server's request deadline.

The HTTP API cuts the request off at ``requests.timeout_in_seconds`` (30 s by default; core/src/session.cpp:78
at 0.7.0) and the client gives up reading after its own timeout (60 s by default), while the server goes on
replicating with the object locked. A resend then meets the lock (HIERARCHY_ERROR), so the task failed
although the replica was on its way. Scaled down (tests/support/deadline_site.py): a 0.4 s deadline, a
0.8 s read timeout in the connection, 6 MiB replicated at 4 MiB/s (1.5 s).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from irods_provider.operators.irods import IrodsReplicateOperator

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from deadline_site import BIG, DEADLINE, MIB, cut_work, slow_site

pytestmark = pytest.mark.timeout(120)

PATH = "/tempZone/home/rods/big.bin"


def test_a_replication_outlasting_the_deadline_and_the_read_timeout_is_waited_for(
    zone, session, monkeypatch
) -> None:
    uri = f"irods://rods:rods-emulator@127.0.0.1:{zone.port}/http?zone=tempZone&timeout={2 * DEADLINE}"
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_DEFAULT", uri)
    data = os.urandom(2 * BIG)
    for offset in range(0, len(data), MIB):
        session.data_objects.write(PATH, data[offset : offset + MIB], offset=offset, truncate=offset == 0)
    with slow_site(zone):
        result = IrodsReplicateOperator(task_id="rep", path=PATH, resource="archiveResc").execute({})
        assert cut_work(zone) == ["data-objects replicate"]
    assert result["replicated"] == [PATH]
    layout = [(r.root, r.status, r.size) for r in session.data_objects.replicas(PATH)]
    assert layout == [("demoResc", "1", len(data)), ("archiveResc", "1", len(data))]
    assert session.data_objects.read(PATH, resource="archiveResc") == data
